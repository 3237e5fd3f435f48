// Package live fans committed events out to the subscribers of live streams (one incident's room,
// or the incident list). It never blocks the publisher: a subscriber that falls behind is cut
// off, and its client resumes from the last event it saw, so nothing is lost and nothing is sent
// twice.
package live

import (
	"sync"

	"github.com/sextant-sre/sextant/internal/store"
)

// Hub routes committed events to subscribers.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*Sub]struct{} // incident id ("" for all incidents) → subscribers
}

// Sub is one subscription. Read C until it is closed; then Overflowed says whether the
// subscriber was cut off for falling behind (rather than unsubscribed).
type Sub struct {
	C          <-chan store.Committed
	c          chan store.Committed
	key        string
	overflowed bool
}

// Overflowed reports whether the subscription was cut off because its buffer filled up. Only
// valid after C is closed.
func (s *Sub) Overflowed() bool { return s.overflowed }

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[*Sub]struct{}{}} }

// Subscribe registers a subscriber for one incident, or for every incident when incidentID is
// empty. buffer is how many events may wait unread before the subscriber is cut off.
func (h *Hub) Subscribe(incidentID string, buffer int) *Sub {
	c := make(chan store.Committed, buffer)
	s := &Sub{C: c, c: c, key: incidentID}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[incidentID] == nil {
		h.subs[incidentID] = map[*Sub]struct{}{}
	}
	h.subs[incidentID][s] = struct{}{}
	return s
}

// Unsubscribe removes s and closes its channel; it is safe to call more than once.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remove(s)
}

func (h *Hub) remove(s *Sub) {
	set := h.subs[s.key]
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(h.subs, s.key)
	}
	close(s.c)
}

// Publish delivers committed events, in order, to the subscribers of their incidents and of all
// incidents. It is called by the store after each commit and never blocks.
func (h *Hub) Publish(batch []store.Committed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range batch {
		h.send(h.subs[c.Event.IncidentID], c)
		h.send(h.subs[""], c)
	}
}

func (h *Hub) send(set map[*Sub]struct{}, c store.Committed) {
	for s := range set {
		select {
		case s.c <- c:
		default:
			s.overflowed = true
			h.remove(s)
		}
	}
}

// Count returns the number of subscribers, for metrics.
func (h *Hub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.subs {
		n += len(set)
	}
	return n
}
