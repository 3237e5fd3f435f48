package logstore

import (
	"context"
	"fmt"
	"github.com/sextant-sre/sextant/internal/logparse"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// lines makes n log lines over 200 streams (50 services × 4 instances), one every 100 µs of
// log time, with 5 message shapes, one line in ten an error (a refused connection).
func benchLines(n int, start time.Time) []Line {
	streams := make([]labels.Labels, 200)
	for i := range streams {
		streams[i] = labels.FromStrings("service", fmt.Sprintf("svc-%d", i/4), "instance", fmt.Sprintf("i-%d", i%4), "environment", "prod")
	}
	shapes := []string{"GET /api/items/%d 200 in %dms", "cache miss for key user:%d:%d", "connected to db-%d in %dms",
		"job %d finished after %d retries", "dial tcp 10.0.0.%d:%d: connect: connection refused"}
	out := make([]Line, n)
	for i := range out {
		sev := Info
		if i%10 == 9 {
			sev = Error
		}
		out[i] = Line{Time: start.Add(time.Duration(i) * 100 * time.Microsecond), Labels: streams[i%len(streams)], Severity: sev,
			Body: fmt.Sprintf(shapes[i%len(shapes)], i%997, i%113)}
	}
	return out
}

// BenchmarkAppend measures log intake into the store (template ids computed, chunks compressed
// and synced), in batches of 1,000 lines as an OTLP exporter sends them.
// Run: go test ./internal/logstore -run XXX -bench Append -benchtime 500000x
func BenchmarkAppend(b *testing.B) {
	b.Run("hashed", func(b *testing.B) { benchmarkAppend(b, nil) })
	// The server's templater: each line's template mined (logparse.Miner).
	b.Run("mined", func(b *testing.B) { benchmarkAppend(b, logparse.NewMiner().TemplateID) })
}

func benchmarkAppend(b *testing.B, templater func(string) uint32) {
	s, err := Open(b.TempDir(), Options{FlushEvery: time.Hour, Templater: templater})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	lines := benchLines(100_000, time.Now().Add(-time.Hour))
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		j := i % len(lines)
		if err := s.Append(lines[j : j+min(1000, b.N-i)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkSelect10M measures a filtered query over 10 million stored lines (about 17 minutes of
// log time at 10,000 lines/s): the errors of one service in the last 5 minutes containing a word.
// The setup (storing the lines) is not timed.
// Run: go test ./internal/logstore -run XXX -bench Select10M -benchtime 20x
func BenchmarkSelect10M(b *testing.B) {
	s, err := Open(b.TempDir(), Options{FlushEvery: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const total = 10_000_000
	start := time.Now().Add(-time.Hour)
	for i := 0; i < total; i += 100_000 {
		batch := benchLines(100_000, start.Add(time.Duration(i)*100*time.Microsecond))
		if err := s.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	s.Flush()
	end := start.Add(total * 100 * time.Microsecond)
	q := Query{Start: end.Add(-5 * time.Minute), End: end, MinSeverity: Error, Contains: "refused", Fold: true, Limit: 1000,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "service", "svc-7")}}
	ctx := context.Background()
	b.ResetTimer()
	var n int
	for b.Loop() {
		lines, err := s.Select(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		n = len(lines)
	}
	if n == 0 {
		b.Fatal("the query matched nothing")
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
	b.ReportMetric(float64(n), "lines-matched")
}
