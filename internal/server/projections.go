package server

import (
	"context"
	"sync"
	"time"

	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

// projections caches the projected state of recently read incidents, and brings one up to date
// by applying only the events recorded since it was last read. Every viewer of a room re-reads
// the card after each event, so re-projecting the whole log each time would not scale.
type projections struct {
	mu sync.Mutex
	m  map[string]*projection
}

type projection struct {
	mu sync.Mutex
	st *incident.State
}

const maxProjections = 256

func newProjections() *projections { return &projections{m: map[string]*projection{}} }

// card returns the current state card of an incident, with freshness judged at now.
func (p *projections) card(ctx context.Context, s store.Store, h incident.Headline, now time.Time) (incident.Card, error) {
	p.mu.Lock()
	e := p.m[h.ID]
	if e == nil {
		for id := range p.m {
			if len(p.m) < maxProjections {
				break
			}
			delete(p.m, id)
		}
		e = &projection{st: incident.New(h.ID)}
		p.m[h.ID] = e
	}
	p.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st.LastSeq < h.LastSeq {
		events, err := s.Events(ctx, h.ID, e.st.LastSeq, 0)
		if err != nil {
			return incident.Card{}, err
		}
		for _, ev := range events {
			e.st.Replay(ev)
		}
	}
	e.st.Number = h.Number
	return e.st.Card(now), nil
}
