package live

import (
	"testing"

	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

func committed(incidentID string, pos int64) store.Committed {
	return store.Committed{Event: incident.Event{IncidentID: incidentID, Pos: pos, Seq: pos}}
}

func TestRouting(t *testing.T) {
	h := NewHub()
	a := h.Subscribe("a", 10)
	all := h.Subscribe("", 10)
	h.Publish([]store.Committed{committed("a", 1), committed("b", 2)})
	if got := (<-a.C).Event.Pos; got != 1 || len(a.C) != 0 {
		t.Fatalf("incident subscriber got pos %d and %d more", got, len(a.C))
	}
	if p1, p2 := (<-all.C).Event.Pos, (<-all.C).Event.Pos; p1 != 1 || p2 != 2 {
		t.Fatalf("all-incidents subscriber got %d, %d", p1, p2)
	}
	if h.Count() != 2 {
		t.Fatalf("count %d", h.Count())
	}
	h.Unsubscribe(a)
	h.Unsubscribe(a) // twice is fine
	if _, ok := <-a.C; ok || a.Overflowed() || h.Count() != 1 {
		t.Fatal("unsubscribe must close the channel without marking overflow")
	}
}

// A subscriber that falls behind is cut off rather than blocking the publisher (the store's
// writer): its client resumes from the last event it saw.
func TestSlowSubscriberIsCutOffNotWaitedFor(t *testing.T) {
	h := NewHub()
	slow := h.Subscribe("a", 2)
	fast := h.Subscribe("a", 100)
	for i := range 5 {
		h.Publish([]store.Committed{committed("a", int64(i+1))})
	}
	n := 0
	for range slow.C {
		n++
	}
	if n != 2 || !slow.Overflowed() {
		t.Fatalf("slow subscriber: %d events, overflowed %v", n, slow.Overflowed())
	}
	if len(fast.C) != 5 {
		t.Fatalf("fast subscriber got %d of 5", len(fast.C))
	}
}
