package logstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

var t0 = time.Date(2026, 4, 6, 13, 30, 0, 0, time.UTC)

func svc(name, instance string) labels.Labels {
	return labels.FromStrings("service", name, "instance", instance, "environment", "prod")
}

// fill writes an hour of lines across the half-hour mark: checkout logs normal traffic and,
// from 14:02, "bind: address already in use" errors; search logs only info.
func fill(t testing.TB, s *Store) {
	var lines []Line
	for i := range 3600 {
		at := t0.Add(time.Duration(i) * time.Second)
		lines = append(lines,
			Line{Time: at, Labels: svc("checkout", fmt.Sprintf("c-%d", i%3)), Severity: Info, Body: fmt.Sprintf("POST /checkout 200 in %dms", 20+i%50)},
			Line{Time: at, Labels: svc("search", "s-0"), Severity: Info, Body: fmt.Sprintf("query took %dms", i%90)})
		if at.After(time.Date(2026, 4, 6, 14, 2, 0, 0, time.UTC)) && i%2 == 0 {
			lines = append(lines, Line{Time: at, Labels: svc("checkout", "c-1"), Severity: Error,
				Body: fmt.Sprintf("dial tcp 10.0.%d.%d:11211: bind: address already in use", i%7, i%200), TraceID: fmt.Sprintf("%032x", i)})
		}
	}
	if err := s.Append(lines); err != nil {
		t.Fatal(err)
	}
}

func open(t testing.TB, dir string) *Store {
	s, err := Open(dir, Options{ChunkLines: 500, FlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSelectAndPatterns(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	fill(t, s)
	ctx := context.Background()
	all := Query{Start: t0, End: t0.Add(2 * time.Hour), Limit: 100000}

	errs, err := s.Select(ctx, Query{Start: all.Start, End: all.End, MinSeverity: Error, Limit: 5})
	if err != nil || len(errs) != 5 || !errs[0].Time.After(errs[4].Time) || errs[0].Labels.Get("instance") != "c-1" || errs[0].TraceID == "" {
		t.Fatalf("newest errors: %+v %v", errs, err)
	}
	checkout, _ := s.Select(ctx, Query{Start: all.Start, End: all.End, Limit: 100000,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "service", "checkout")}})
	search, _ := s.Select(ctx, Query{Start: all.Start, End: all.End, Limit: 100000,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "service", "sea.*")}})
	if len(search) != 3600 || len(checkout) <= 3600 {
		t.Fatalf("by stream: checkout %d, search %d", len(checkout), len(search))
	}
	text, _ := s.Select(ctx, Query{Start: all.Start, End: all.End, Contains: "ADDRESS ALREADY", Fold: true, Limit: 100000})
	if len(text) != len(checkout)-3600 {
		t.Fatalf("text match: %d, want %d", len(text), len(checkout)-3600)
	}
	window, _ := s.Select(ctx, Query{Start: t0.Add(10 * time.Minute), End: t0.Add(11*time.Minute - time.Nanosecond), Limit: 100000})
	if len(window) != 120 {
		t.Fatalf("a one-minute window: %d lines", len(window))
	}

	pats, err := s.Patterns(ctx, Query{Start: all.Start, End: all.End, Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "service", "checkout")}})
	if err != nil || len(pats) != 2 {
		t.Fatalf("checkout has two patterns (normal traffic and the bind error): %+v %v", pats, err)
	}
	bind := pats[1]
	if !strings.Contains(bind.Example, "bind") || bind.First.Before(time.Date(2026, 4, 6, 14, 2, 0, 0, time.UTC)) {
		t.Fatalf("the bind pattern: %+v", bind)
	}
	only, _ := s.Select(ctx, Query{Start: all.Start, End: all.End, Templates: []uint32{bind.Template}, Limit: 100000})
	if len(only) != bind.Count {
		t.Fatalf("by template: %d, want %d", len(only), bind.Count)
	}

	// Everything survives a restart, across both hourly partitions.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	again, _ := s.Select(ctx, all)
	before := len(checkout) + len(search)
	if len(again) != before {
		t.Fatalf("after reopening: %d lines, want %d", len(again), before)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(files) != 2 {
		t.Fatalf("partitions: %v", files)
	}
}

func TestTornWriteIsRepaired(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	fill(t, s)
	s.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	st, _ := os.Stat(files[0])
	if err := os.Truncate(files[0], st.Size()-10); err != nil { // a crash in the middle of the last chunk
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	lines, err := s.Select(context.Background(), Query{Start: t0, End: t0.Add(2 * time.Hour), Limit: 1 << 20})
	if err != nil || len(lines) == 0 {
		t.Fatalf("after a torn write: %d lines, %v", len(lines), err)
	}
	if err := s.Append([]Line{{Time: t0, Labels: svc("x", "y"), Body: "after repair"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestRetention(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Retention: time.Hour, FlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s)
	s.Flush()
	s.applyRetention(t0.Add(4 * time.Hour))
	left, _ := s.Select(context.Background(), Query{Start: t0, End: t0.Add(2 * time.Hour)})
	if len(left) != 0 {
		t.Fatalf("%d lines outlived the retention", len(left))
	}
}

func TestDefaultTemplate(t *testing.T) {
	same := [][2]string{
		{"POST /checkout 200 in 23ms", "POST /checkout 500 in 1043ms"},
		{"dial tcp 10.0.3.17:11211: bind: address already in use", "dial tcp 10.0.1.2:11211: bind: address already in use"},
		{"user=4f9a2c logged in", "user=77b0e1 logged in"},
	}
	for _, p := range same {
		if DefaultTemplate(p[0]) != DefaultTemplate(p[1]) {
			t.Errorf("%q and %q should share a template", p[0], p[1])
		}
	}
	if DefaultTemplate("connection refused") == DefaultTemplate("connection reset") {
		t.Error("different words must give different templates")
	}
}

func TestSeverity(t *testing.T) {
	for n, want := range map[int32]Severity{0: Unspecified, 1: Trace, 5: Debug, 9: Info, 13: Warn, 17: Error, 21: Fatal, 24: Fatal, 25: Unspecified} {
		if got := FromOTel(n); got != want {
			t.Errorf("%d: %s, want %s", n, got, want)
		}
	}
	if s, err := ParseSeverity("WARN"); err != nil || s != Warn {
		t.Fatal(s, err)
	}
	if _, err := ParseSeverity("loud"); err == nil {
		t.Fatal("unknown severity parsed")
	}
}

// FuzzChunkIndex feeds arbitrary bytes to the chunk index decoder used when opening partitions.
func FuzzChunkIndex(f *testing.F) {
	b := newBuilder()
	b.add(1, 1, Info, 7, "hello", "")
	f.Add(encodeMeta(b.build()))
	f.Add([]byte("SXLC"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, n, used, err := decodeMeta(raw)
		if err == nil && (n < 0 || used > len(raw) || m.n < 0) {
			t.Fatalf("accepted a bad index: %+v %d %d", m, n, used)
		}
	})
}

// The flusher measures retention against the store's clock: a store of a recorded past keeps
// it, however old it is by the wall's.
func TestRetentionUsesTheStoresClock(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Retention: time.Hour, FlushEvery: 10 * time.Millisecond, Now: func() time.Time { return t0.Add(30 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fill(t, s)
	time.Sleep(100 * time.Millisecond) // several flushes, each applying retention
	left, _ := s.Select(context.Background(), Query{Start: t0, End: t0.Add(2 * time.Hour)})
	if len(left) == 0 {
		t.Fatal("the flusher dropped lines that are recent by the store's clock")
	}
}
