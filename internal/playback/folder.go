package playback

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/sim"
)

// A scenario folder holds a scenario as files: manifest.jsonl lists the deliveries in the order
// they are sent (one JSON object a line), each body is a gzip file under deliveries/, and
// truth.json is what really happened. The same world, seed and options give the same bytes.

// ManifestEntry is one line of manifest.jsonl: one delivery.
type ManifestEntry struct {
	Seq         int               `json:"seq"`
	At          time.Time         `json:"at"`
	Path        string            `json:"path"`
	ContentType string            `json:"content_type"`
	Header      map[string]string `json:"header,omitempty"`
	Sign        string            `json:"sign,omitempty"`
	File        string            `json:"file"`
}

// ExportOptions says what to export.
type ExportOptions struct {
	Until time.Time
	// Earlier are changes made before the stream's start (a deploy days before the onset),
	// exported first.
	Earlier []sim.Change
	// Interventions act at the given simulated times.
	Interventions []Timed
}

// Timed is an intervention at a time.
type Timed struct {
	At time.Time
	sim.Intervention
}

// ExportStats says what an export wrote.
type ExportStats struct {
	Deliveries int
	Bytes      int64
}

// Export steps the stream until opt.Until and writes every delivery into dir, with the truth.
// dir must be empty or not exist, so that an export is never mixed with an older one.
func Export(ctx context.Context, st *sim.Stream, truth sim.Truth, dir string, opt ExportOptions) (ExportStats, error) {
	var stats ExportStats
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return stats, fmt.Errorf("export: %s is not empty", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "deliveries"), 0o755); err != nil {
		return stats, fmt.Errorf("export: %w", err)
	}
	mf, err := os.Create(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		return stats, fmt.Errorf("export: %w", err)
	}
	defer mf.Close()
	manifest := bufio.NewWriter(mf)
	write := func(d sim.Delivery) error {
		stats.Deliveries++
		name := fmt.Sprintf("deliveries/%06d.json.gz", stats.Deliveries)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf) // no name and no time in the header: the bytes depend on the body only
		if _, err := zw.Write(d.Body); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		stats.Bytes += int64(buf.Len())
		line, err := json.Marshal(ManifestEntry{Seq: stats.Deliveries, At: d.At.UTC(), Path: d.Path, ContentType: d.ContentType, Header: d.Header, Sign: d.Sign, File: name})
		if err != nil {
			return err
		}
		_, err = manifest.Write(append(line, '\n'))
		return err
	}
	for _, c := range opt.Earlier {
		d, err := sim.ChangeDelivery(c)
		if err != nil {
			return stats, err
		}
		if err := write(d); err != nil {
			return stats, err
		}
	}
	pending := opt.Interventions
	for st.Sim.Now().Before(opt.Until) {
		if err := ctx.Err(); err != nil {
			return stats, err
		}
		for len(pending) > 0 && !pending[0].At.After(st.Sim.Now()) {
			if err := st.Sim.Apply(pending[0].Intervention); err != nil {
				return stats, fmt.Errorf("export: %w", err)
			}
			pending = pending[1:]
		}
		_, ds, err := st.Next()
		if err != nil {
			return stats, err
		}
		for _, d := range ds {
			if err := write(d); err != nil {
				return stats, err
			}
		}
	}
	applied := st.Sim.Applied()
	if err := manifest.Flush(); err != nil {
		return stats, fmt.Errorf("export: %w", err)
	}
	if err := mf.Close(); err != nil {
		return stats, fmt.Errorf("export: %w", err)
	}
	doc := struct {
		sim.Truth
		Applied []sim.AppliedIntervention `json:"interventions_applied"`
	}{truth, applied}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return stats, err
	}
	return stats, os.WriteFile(filepath.Join(dir, "truth.json"), append(raw, '\n'), 0o644)
}

// ReplayOptions tunes a replay.
type ReplayOptions struct {
	// Speed is how much faster than recorded the deliveries are sent; 0 sends them as fast
	// as Sextant takes them.
	Speed float64
	// Shift moves every timestamp in the payloads by this much (ShiftToNow works it out).
	Shift time.Duration
	// Progress, if set, is called after each delivery.
	Progress func(done, total int)
}

// ReadManifest reads a scenario folder's manifest.
func ReadManifest(dir string) ([]ManifestEntry, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	out, err := ParseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("replay: %s: %w", dir, err)
	}
	return out, nil
}

// ParseManifest reads manifest.jsonl: every line must be a delivery with an intake path and a
// file inside the folder, in time order.
func ParseManifest(raw []byte) ([]ManifestEntry, error) {
	var out []ManifestEntry
	for i, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var e ManifestEntry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("manifest.jsonl line %d: %w", i+1, err)
		}
		if !strings.HasPrefix(e.Path, "/") || strings.ContainsAny(e.Path, "?#") {
			return nil, fmt.Errorf("manifest.jsonl line %d: path: %q is not an intake path", i+1, e.Path)
		}
		if e.File == "" || !filepath.IsLocal(e.File) {
			return nil, fmt.Errorf("manifest.jsonl line %d: file: %q is not a file inside the folder", i+1, e.File)
		}
		if i > 0 && e.At.Before(out[i-1].At) {
			return nil, fmt.Errorf("manifest.jsonl line %d: at: deliveries must be in time order", i+1)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errors.New("manifest.jsonl lists no deliveries")
	}
	return out, nil
}

// ShiftToNow is the shift that moves the folder's last delivery to now.
func ShiftToNow(entries []ManifestEntry, now time.Time) time.Duration {
	return now.Sub(entries[len(entries)-1].At).Truncate(time.Second)
}

// Replay sends a scenario folder's deliveries in order.
func Replay(ctx context.Context, dir string, entries []ManifestEntry, snd *Sender, opt ReplayOptions) error {
	start := time.Now()
	for i, e := range entries {
		if opt.Speed > 0 {
			due := start.Add(time.Duration(float64(e.At.Sub(entries[0].At)) / opt.Speed))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait):
				}
			}
		}
		body, err := readGzip(filepath.Join(dir, e.File))
		if err != nil {
			return fmt.Errorf("replay: %s: %w", e.File, err)
		}
		if opt.Shift != 0 {
			if body, err = ShiftTimes(body, opt.Shift); err != nil {
				return fmt.Errorf("replay: %s: %w", e.File, err)
			}
		}
		d := sim.Delivery{At: e.At.Add(opt.Shift), Path: e.Path, ContentType: e.ContentType, Header: e.Header, Sign: e.Sign, Body: body}
		if err := snd.Send(ctx, d); err != nil {
			return fmt.Errorf("replay: delivery %d (%s): %w", e.Seq, e.File, err)
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(entries))
		}
	}
	return nil
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, 256<<20))
}

// ShiftTimes moves every timestamp in a JSON payload by d: OTLP's *UnixNano fields (decimal
// strings or numbers) and RFC 3339 strings anywhere (CloudEvents, CDEvents, webhooks, alerts).
func ShiftTimes(body []byte, d time.Duration) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	v = shift(v, "", d)
	return json.Marshal(v)
}

func shift(v any, key string, d time.Duration) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = shift(e, k, d)
		}
	case []any:
		for i, e := range x {
			x[i] = shift(e, key, d)
		}
	case string:
		if strings.HasSuffix(key, "UnixNano") {
			if n, err := strconv.ParseInt(x, 10, 64); err == nil && n > 0 {
				return strconv.FormatInt(n+d.Nanoseconds(), 10)
			}
		}
		if len(x) >= 20 && x[4] == '-' && x[10] == 'T' {
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil && !t.IsZero() && t.Year() > 1 {
				return t.Add(d).Format(time.RFC3339Nano)
			}
		}
	case json.Number:
		if strings.HasSuffix(key, "UnixNano") {
			if n, err := x.Int64(); err == nil && n > 0 {
				return json.Number(strconv.FormatInt(n+d.Nanoseconds(), 10))
			}
		}
	}
	return v
}
