package playback

import (
	"testing"
	"time"

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
