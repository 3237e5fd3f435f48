package incident

import (
	"fmt"
	"testing"
	"time"
)

// busyLog builds a valid log of n events with the mix of a long, busy incident: notes, chat,
// observations, hypotheses and their re-ratings, actions through their lifecycle, corrections,
// role hand-overs and status moves.
func busyLog(n int) []Event {
	b := declared()
	var hyps, acts []string
	for len(b.events) < n {
		i := len(b.events)
		switch i % 10 {
		case 0, 1:
			b.add(Note{Text: fmt.Sprintf("note %d about what we see", i)})
		case 2:
			b.add(ChatImported{Text: "anyone looking at the cache?", Author: "dev"})
		case 3:
			b.add(Observation{Text: fmt.Sprintf("p99 %dms", i), StaleAfter: Duration(15 * time.Minute)})
		case 4:
			b.add(HypothesisProposed{Text: fmt.Sprintf("hypothesis %d", i)})
			hyps = append(hyps, b.events[len(b.events)-1].ID)
		case 5:
			b.add(HypothesisStatusChanged{Hypothesis: hyps[len(hyps)-1], Status: HypothesisRefuted})
		case 6:
			b.add(ActionPlanned{Text: fmt.Sprintf("action %d", i), ExpectedEffect: "errors down"})
			acts = append(acts, b.events[len(b.events)-1].ID)
		case 7:
			b.add(ActionStarted{Action: acts[len(acts)-1]})
		case 8:
			b.add(ActionFinished{Action: acts[len(acts)-1], Outcome: "done"})
		case 9:
			if i%20 == 9 {
				b.addRefs(Observation{Text: "corrected"}, Refs{Supersedes: b.events[i-6].ID})
			} else {
				b.add(RoleAssigned{Role: RoleScribe, Person: Person{Name: fmt.Sprintf("scribe %d", i)}})
			}
		}
	}
	return b.events
}

// BenchmarkProject10k measures projecting the state card of an incident with 10,000 events.
// Run: go test ./internal/incident -run XXX -bench Project10k
func BenchmarkProject10k(b *testing.B) {
	events := busyLog(10_000)
	now := t0.Add(48 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		s := Project("inc-1", events)
		_ = s.Card(now)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/projection")
}

func TestBusyLogIsValid(t *testing.T) {
	events := busyLog(2_000)
	s := New("inc-1")
	for _, ev := range events {
		if err := s.Apply(ev); err != nil {
			t.Fatalf("seq %d: %v", ev.Seq, err)
		}
	}
}
