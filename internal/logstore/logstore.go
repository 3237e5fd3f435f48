// Package logstore is Sextant's embedded log store. Lines belong to streams (a label set such as
// service, instance, environment), carry a severity and a template id (the pattern the line is an
// instance of, so analysis can count patterns), and are kept in hourly partitions on disk, each a
// series of compressed chunks whose small index (time range, streams, severities, templates)
// lets a query skip what cannot match before decompressing anything.
package logstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Severity is a line's level, as OpenTelemetry's severity number ranges.
type Severity uint8

const (
	Unspecified Severity = iota
	Trace
	Debug
	Info
	Warn
	Error
	Fatal
)

var severityNames = []string{"unspecified", "trace", "debug", "info", "warn", "error", "fatal"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return "unspecified"
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("severity %q is not one of %s", s, strings.Join(severityNames[1:], ", "))
}

// FromOTel maps an OpenTelemetry severity number (1–24) to a severity.
func FromOTel(n int32) Severity {
	if n <= 0 || n > 24 {
		return Unspecified
	}
	return Severity((n-1)/4 + 1)
}

// Line is one log line.
type Line struct {
	Time     time.Time
	Labels   labels.Labels // the stream's labels
	Severity Severity
	Template uint32
	Body     string
	TraceID  string
}

// Options tunes a store.
type Options struct {
	// Retention is how long lines are kept (default 7 days).
	Retention time.Duration
	// ChunkLines is how many lines a chunk holds before it is sealed (default 8192).
	ChunkLines int
	// FlushEvery is how often the open chunk is sealed to disk even if not full (default 5 s).
	FlushEvery time.Duration
	// Templater gives a line's template id; default: DefaultTemplate.
	Templater func(body string) uint32
	Logger    *slog.Logger
	// Now is the clock retention is measured against (default time.Now): a store filled with a
	// recorded past (a replay, an evaluation) keeps that past by its own clock.
	Now func() time.Time
}

// Store is the log store. Appends and queries may run concurrently.
type Store struct {
	dir string
	opt Options

	mu      sync.RWMutex
	streams *streamTable
	// open holds the chunk being filled for each stream: a chunk holds one stream, so a query
	// for a few streams reads only their chunks.
	open    map[uint32]*builder
	parts   map[int64]*partition
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
}

// Open opens (creating if needed) the store in dir and starts its flusher.
func Open(dir string, opt Options) (*Store, error) {
	if opt.Retention <= 0 {
		opt.Retention = 7 * 24 * time.Hour
	}
	if opt.ChunkLines <= 0 {
		opt.ChunkLines = 8192
	}
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = 5 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Templater == nil {
		opt.Templater = DefaultTemplate
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create log store: %w", err)
	}
	st, err := openStreams(filepath.Join(dir, "streams"))
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, opt: opt, streams: st, open: map[uint32]*builder{}, parts: map[int64]*partition{},
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := s.load(); err != nil {
		st.close()
		return nil, err
	}
	go s.flusher()
	return s, nil
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("log store is closed")

// Append adds lines. They are queryable at once, and on disk within FlushEvery.
func (s *Store) Append(lines []Line) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, l := range lines {
		id, err := s.streams.id(l.Labels)
		if err != nil {
			return err
		}
		tmpl := l.Template
		if tmpl == 0 {
			tmpl = s.opt.Templater(l.Body)
		}
		b := s.open[id]
		if b == nil {
			b = newBuilder()
			s.open[id] = b
		}
		b.add(l.Time.UnixNano(), id, l.Severity, tmpl, l.Body, l.TraceID)
		if b.len() >= s.opt.ChunkLines {
			touched := map[*partition]bool{}
			if err := s.sealLocked(id, touched); err != nil {
				return err
			}
			if err := syncAll(touched); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush seals the open chunks to disk.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sealAllLocked()
}

func (s *Store) sealAllLocked() error {
	touched := map[*partition]bool{}
	for id := range s.open {
		if err := s.sealLocked(id, touched); err != nil {
			return err
		}
	}
	return syncAll(touched)
}

func syncAll(parts map[*partition]bool) error {
	for p := range parts {
		if err := p.sync(); err != nil {
			return err
		}
	}
	return nil
}

// sealLocked writes a stream's open chunk into the partitions of its lines' hours, noting the
// partitions written in touched (synced once by the caller, not once per chunk).
func (s *Store) sealLocked(id uint32, touched map[*partition]bool) error {
	open := s.open[id]
	if open == nil || open.len() == 0 {
		return nil
	}
	for hour, b := range open.splitByHour() {
		p := s.parts[hour]
		if p == nil {
			var err error
			if p, err = createPartition(s.dir, hour); err != nil {
				return err
			}
			s.parts[hour] = p
		}
		if err := p.write(b.build()); err != nil {
			return err
		}
		touched[p] = true
	}
	delete(s.open, id)
	return nil
}

func (s *Store) flusher() {
	defer close(s.stopped)
	t := time.NewTicker(s.opt.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.Flush(); err != nil {
				s.opt.Logger.Error("log store flush", "err", err)
			}
			s.applyRetention(s.opt.Now())
		}
	}
}

// applyRetention drops partitions wholly older than the retention.
func (s *Store) applyRetention(now time.Time) {
	cutoff := now.Add(-s.opt.Retention).Truncate(time.Hour).Add(-time.Hour).Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	for hour, p := range s.parts {
		if hour < cutoff {
			delete(s.parts, hour)
			if err := p.remove(); err != nil {
				s.opt.Logger.Error("log store retention", "partition", hour, "err", err)
			}
		}
	}
}

// Close seals what is open and closes the store.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	err := s.sealAllLocked()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.parts {
		err = errors.Join(err, p.close())
	}
	return errors.Join(err, s.streams.close())
}

// Query selects lines.
type Query struct {
	Start, End time.Time
	// Matchers select streams by their labels (all must match); none selects every stream.
	Matchers []*labels.Matcher
	// MinSeverity keeps lines at or above it.
	MinSeverity Severity
	// Templates, if not empty, keeps lines of these templates.
	Templates []uint32
	// Contains keeps lines whose body contains it (case-insensitively if Fold).
	Contains string
	Fold     bool
	// Limit bounds the lines returned (newest first); default 1000.
	Limit int
}

// Select returns the lines matching q, newest first.
func (s *Store) Select(ctx context.Context, q Query) ([]Line, error) {
	if q.Limit <= 0 {
		q.Limit = 1000
	}
	var out []Line
	err := s.scan(ctx, q, func(l Line) bool {
		out = append(out, l)
		return true
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// PatternCount is how many lines of a template matched, with one example.
type PatternCount struct {
	Template uint32    `json:"template"`
	Count    int       `json:"count"`
	Example  string    `json:"example"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// Patterns counts the matching lines per template, most frequent first.
func (s *Store) Patterns(ctx context.Context, q Query) ([]PatternCount, error) {
	counts := map[uint32]*PatternCount{}
	err := s.scan(ctx, q, func(l Line) bool {
		c := counts[l.Template]
		if c == nil {
			c = &PatternCount{Template: l.Template, Example: l.Body, First: l.Time, Last: l.Time}
			counts[l.Template] = c
		}
		c.Count++
		if l.Time.Before(c.First) {
			c.First = l.Time
		}
		if l.Time.After(c.Last) {
			c.Last = l.Time
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make([]PatternCount, 0, len(counts))
	for _, c := range counts {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b PatternCount) int { return b.Count - a.Count })
	return out, nil
}

// scan calls fn for every matching line, in no particular order.
func (s *Store) scan(ctx context.Context, q Query, fn func(Line) bool) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	ids := s.streams.matching(q.Matchers)
	var open []*chunk // a snapshot of the lines not yet sealed
	for id, b := range s.open {
		if ids == nil || ids[id] {
			open = append(open, b.build())
		}
	}
	var parts []*partition
	for hour, p := range s.parts {
		if hour*1e9 <= q.End.UnixNano() && (hour+3600)*1e9 > q.Start.UnixNano() {
			parts = append(parts, p)
		}
	}
	labelsOf := s.streams.labelsFunc()
	s.mu.RUnlock()

	f := newFilter(q, ids)
	for _, c := range open {
		if err := c.scan(f, labelsOf, fn); err != nil {
			return err
		}
	}
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.scan(f, labelsOf, fn); err != nil {
			return err
		}
	}
	return nil
}
