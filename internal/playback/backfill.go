package playback

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/sim"
)

// History is where a backfill writes.
type History struct {
	// MetricsDir is the metrics store's directory. It must not be open: blocks are written into
	// it the way promtool tsdb create-blocks-from does, and the store picks them up when opened.
	MetricsDir string
	// Logs is the log store; nil writes no logs.
	Logs *logstore.Store
	// Changes records changes (the store's RecordChange).
	Changes func(ctx context.Context, c changes.Change) error
	// MetricsEvery is how many steps apart metric samples are written (default 4: one a minute).
	MetricsEvery int
	Logger       *slog.Logger
}

// blockSpan is the time a written block covers: 18 hours is one of the TSDB's compaction
// ranges (2h × 3 × 3), so the blocks need no compaction when the store opens them.
const blockSpan = 18 * time.Hour

// HistoryStats says what a backfill wrote.
type HistoryStats struct {
	Steps, Samples, Lines, Changes int
	Blocks                         int
}

// Backfill steps s until it reaches until, writing what the world emits straight into the
// stores: metric samples into TSDB blocks, log lines into the log store, changes into the
// change records, each normalised exactly as the intake would. The world's steps and the
// writing run side by side.
func Backfill(ctx context.Context, s *sim.Sim, until time.Time, h History) (HistoryStats, error) {
	every := h.MetricsEvery
	if every <= 0 {
		every = 4
	}
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var st HistoryStats
	s.NoTraces = true
	defer func() { s.NoTraces = false }()
	// Three stages on their own goroutines: the world's steps, turning frames into samples and
	// lines, and writing them.
	frames := make(chan sim.Frame, 16)
	batches := make(chan historyBatch, 16)
	done := make(chan error, 1)
	go func() { done <- writeHistory(ctx, batches, h, log, &st) }()
	go func() {
		defer close(batches)
		var series []labels.Labels
		lines := historyLines{}
		step := 0
		for f := range frames {
			step++
			b := historyBatch{t: f.Time.UnixMilli(), changes: f.Changes, lines: lines.convert(f.Logs)}
			if step%every == 0 {
				b.values = sim.PromValues(f, nil)
				if len(b.values) != len(series) {
					series = promLabels(f)
					b.series = series
				}
			}
			batches <- b
		}
	}()
	var err error
	for s.Now().Before(until) {
		if err = ctx.Err(); err != nil {
			break
		}
		f := s.Step()
		st.Steps++
		select {
		case frames <- f:
		case err = <-done:
			close(frames)
			return st, err
		}
	}
	close(frames)
	if werr := <-done; err == nil {
		err = werr
	}
	return st, err
}

// historyLines turns simulated log records into log store lines the way the OTLP log intake
// does (intake.LogLines; a test holds the two together), without the OTLP round trip.
type historyLines map[string]labels.Labels

func (h historyLines) convert(recs []sim.LogRecord) []logstore.Line {
	out := make([]logstore.Line, len(recs))
	for i, r := range recs {
		ls, ok := h[r.Instance]
		if !ok {
			ls = labels.FromStrings("environment", sim.Environment, "instance", r.Instance, "pod", r.Instance, "service", r.Service)
			h[r.Instance] = ls
		}
		out[i] = logstore.Line{Time: r.Time.UTC(), Labels: ls, Severity: logstore.FromOTel(r.Severity.OTelNumber()), Body: r.Body, TraceID: r.TraceID}
	}
	return out
}

// historyBatch is what one step writes; series is set when the series change.
type historyBatch struct {
	t       int64
	series  []labels.Labels
	values  []float64
	lines   []logstore.Line
	changes []sim.Change
}

func promLabels(f sim.Frame) []labels.Labels {
	var out []labels.Labels
	for _, s := range sim.PromSamples(f) {
		b := labels.NewScratchBuilder(len(s.Labels))
		for _, kv := range s.Labels {
			b.Add(kv[0], kv[1])
		}
		out = append(out, b.Labels())
	}
	return out
}

func writeHistory(ctx context.Context, batches <-chan historyBatch, h History, log *slog.Logger, st *HistoryStats) (err error) {
	defer func() {
		for range batches { // let the producer finish after an error
		}
	}()
	var (
		w       *tsdb.BlockWriter
		window  int64 = -1
		series  []labels.Labels
		refs    []storage.SeriesRef
		pending []logstore.Line
	)
	flush := func() error {
		if w == nil {
			return nil
		}
		if _, err := w.Flush(ctx); err != nil {
			return fmt.Errorf("write history block: %w", err)
		}
		st.Blocks++
		err := w.Close()
		w = nil
		clear(refs)
		return err
	}
	for b := range batches {
		for _, c := range b.changes {
			ch, err := NormalisedChange(c)
			if err != nil {
				return err
			}
			if err := h.Changes(ctx, ch); err != nil {
				return fmt.Errorf("record change %s: %w", c.ID, err)
			}
			st.Changes++
		}
		if h.Logs != nil {
			pending = append(pending, b.lines...)
		}
		if len(pending) >= 20000 {
			if err := h.Logs.Append(pending); err != nil {
				return fmt.Errorf("write history logs: %w", err)
			}
			st.Lines += len(pending)
			pending = pending[:0]
		}
		if b.series != nil {
			series, refs = b.series, make([]storage.SeriesRef, len(b.series))
		}
		if b.values == nil {
			continue
		}
		if win := b.t / blockSpan.Milliseconds(); win != window {
			if err := flush(); err != nil {
				return err
			}
			if w, err = tsdb.NewBlockWriter(log, h.MetricsDir, blockSpan.Milliseconds()); err != nil {
				return fmt.Errorf("open block writer: %w", err)
			}
			window = win
		}
		app := w.Appender(ctx)
		for i, v := range b.values {
			ref, err := app.Append(refs[i], series[i], b.t, v)
			if err != nil {
				_ = app.Rollback()
				return fmt.Errorf("append history sample of %s: %w", series[i], err)
			}
			refs[i] = ref
		}
		if err := app.Commit(); err != nil {
			return fmt.Errorf("commit history samples: %w", err)
		}
		st.Samples += len(b.values)
	}
	if len(pending) > 0 {
		if err := h.Logs.Append(pending); err != nil {
			return fmt.Errorf("write history logs: %w", err)
		}
		st.Lines += len(pending)
	}
	return flush()
}

// NormalisedChange is a simulated change as the intake that receives it would record it.
func NormalisedChange(c sim.Change) (changes.Change, error) {
	d, err := sim.ChangeDelivery(c)
	if err != nil {
		return changes.Change{}, err
	}
	var out changes.Change
	switch d.Path {
	case "/api/intake/cloudevents":
		var ce struct {
			ID   string          `json:"id"`
			Type string          `json:"type"`
			Time time.Time       `json:"time"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(d.Body, &ce); err != nil {
			return changes.Change{}, fmt.Errorf("change %s: %w", c.ID, err)
		}
		out, err = changes.FromCDEvent(ce.ID, ce.Type, ce.Time, ce.Data)
	case "/api/intake/github":
		out, _, err = changes.FromGitHub("deployment_status", d.Body)
	case "/api/intake/unleash":
		out, _, err = changes.FromUnleash(d.Body)
	default:
		out, err = changes.FromPlain(d.Body, c.At)
	}
	if err != nil {
		return changes.Change{}, fmt.Errorf("change %s: %w", c.ID, err)
	}
	return out, nil
}
