package playback

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/sim"
)

// historySim is scenario n's world started span before live, with routine deploys.
func historySim(t testing.TB, n int, onset time.Time, span time.Duration) (*sim.Sim, time.Time) {
	t.Helper()
	sc, err := sim.Build(n, onset, 1)
	if err != nil {
		t.Fatal(err)
	}
	live := onset.Add(-30 * time.Minute)
	start := live.Add(-span)
	sc = sc.WithRoutineChanges(1, start, onset.Add(2*time.Hour))
	s, err := sim.New(sim.DefaultWorld(), sc, 1, start)
	if err != nil {
		t.Fatal(err)
	}
	return s, live
}

func BenchmarkBackfill7d(b *testing.B) {
	for range b.N {
		dir := b.TempDir()
		logs, err := logstore.Open(filepath.Join(dir, "logs"), logstore.Options{Retention: 30 * 24 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		s, live := historySim(b, 1, sim.ReferenceOnset(1), 7*24*time.Hour)
		n := 0
		began := time.Now()
		st, err := Backfill(context.Background(), s, live, History{MetricsDir: filepath.Join(dir, "metrics"), Logs: logs,
			Changes: func(context.Context, changes.Change) error { n++; return nil }})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(began).Seconds(), "s/history")
		b.ReportMetric(float64(st.Samples), "samples")
		b.ReportMetric(float64(st.Lines), "lines")
		b.ReportMetric(float64(st.Blocks), "blocks")
		logs.Close()
	}
}
