// Package servicegraph derives the service dependency graph from trace spans: a span whose parent
// belongs to another service is one call on the edge caller → callee, and a client span naming a
// peer it has no child span for (a third party, a database) is one call to that peer. Each edge
// keeps cumulative request, error and duration counters, written as Prometheus series
// (sextant_edge_requests_total, sextant_edge_errors_total, sextant_edge_duration_seconds_sum and
// _count, labelled caller and callee) so the metrics engine can give rates over any window. Raw
// spans are held only for a short window, long enough for a parent and a child exported by
// different services to meet.
package servicegraph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// Span is what the graph needs of a span.
type Span struct {
	TraceID, SpanID, ParentID string
	Service                   string
	// Kind is the OpenTelemetry span kind: server, client, consumer, producer or internal.
	Kind     string
	Duration time.Duration
	Error    bool
	// Peer is the peer a client span names (peer.service, server.address, db.system).
	Peer string
	End  time.Time
}

// Edge is one dependency with its cumulative counters.
type Edge struct {
	Caller, Callee string
	Requests       float64
	Errors         float64
	DurationSum    float64 // seconds
	// Since is when the edge was first seen; its counters start from zero there.
	Since time.Time
}

type key struct{ caller, callee string }

type held struct {
	span    Span
	matched bool // a child in another service was seen, so the client span is not a peer call
	at      time.Time
}

// maxHeld bounds the spans held at once, so a burst of traces cannot exhaust memory: past it,
// new spans still count against parents already held but are not held themselves.
const maxHeld = 500_000

// Graph accumulates edges from spans.
type Graph struct {
	// Window is how long a span is held waiting for its parent or children (default 2 minutes).
	Window time.Duration

	mu      sync.Mutex
	spans   map[string]*held // span id → held span
	waiting map[string][]Span
	edges   map[key]*Edge
	written map[key]bool // edges whose zero start was written
}

// New returns an empty graph.
func New(window time.Duration) *Graph {
	if window <= 0 {
		window = 2 * time.Minute
	}
	return &Graph{Window: window, spans: map[string]*held{}, waiting: map[string][]Span{}, edges: map[key]*Edge{}, written: map[key]bool{}}
}

// Add takes spans (from any service, in any order within the window).
func (g *Graph) Add(spans []Span, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range spans {
		if s.SpanID == "" || s.Service == "" {
			continue
		}
		if _, seen := g.spans[s.SpanID]; seen {
			continue // a redelivered span counts once
		}
		h := &held{span: s, at: now}
		if len(g.spans) < maxHeld {
			g.spans[s.SpanID] = h
		}
		if s.ParentID != "" {
			if parent, ok := g.spans[s.ParentID]; ok {
				g.link(parent, s)
			} else if len(g.waiting) < maxHeld {
				g.waiting[s.ParentID] = append(g.waiting[s.ParentID], s)
			}
		}
		for _, child := range g.waiting[s.SpanID] {
			g.link(h, child)
		}
		delete(g.waiting, s.SpanID)
	}
}

// link counts a call when a child span is in another service than its parent.
func (g *Graph) link(parent *held, child Span) {
	if parent.span.Service == child.Service {
		return
	}
	parent.matched = true
	g.count(parent.span.Service, child.Service, child)
}

func (g *Graph) count(caller, callee string, s Span) {
	k := key{caller, callee}
	e := g.edges[k]
	if e == nil {
		e = &Edge{Caller: caller, Callee: callee, Since: s.End}
		g.edges[k] = e
	}
	e.Requests++
	if s.Error {
		e.Errors++
	}
	e.DurationSum += s.Duration.Seconds()
}

// Expire drops spans older than the window. A client span that named a peer and never met a
// child span in another service counts as a call to that peer.
func (g *Graph) Expire(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, h := range g.spans {
		if now.Sub(h.at) < g.Window {
			continue
		}
		if h.span.Kind == "client" && h.span.Peer != "" && !h.matched && h.span.Peer != h.span.Service {
			g.count(h.span.Service, h.span.Peer, h.span)
		}
		delete(g.spans, id)
	}
	for id, children := range g.waiting {
		if len(children) > 0 && now.Sub(children[0].End) > 2*g.Window {
			delete(g.waiting, id)
		}
	}
}

// Edges returns a copy of the edges.
func (g *Graph) Edges() []Edge {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Edge, 0, len(g.edges))
	for _, e := range g.edges {
		out = append(out, *e)
	}
	return out
}

// Held is how many spans are held now, for bounding memory.
func (g *Graph) Held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.spans)
}

// Write appends every edge's counters at time t. The first time an edge is written, a zero is
// written at the moment it was first seen, so that its first calls count in rates.
func (g *Graph) Write(ctx context.Context, db storage.Appendable, t time.Time) error {
	app := db.Appender(ctx)
	ts := t.UnixMilli()
	var started []key
	for _, e := range g.Edges() {
		k := key{e.Caller, e.Callee}
		g.mu.Lock()
		first := !g.written[k]
		g.mu.Unlock()
		for _, s := range []struct {
			name string
			v    float64
		}{{"sextant_edge_requests_total", e.Requests}, {"sextant_edge_errors_total", e.Errors},
			{"sextant_edge_duration_seconds_sum", e.DurationSum}, {"sextant_edge_duration_seconds_count", e.Requests}} {
			l := labels.FromStrings("__name__", s.name, "caller", e.Caller, "callee", e.Callee)
			if since := e.Since.UnixMilli(); first && !e.Since.IsZero() && since < ts {
				if _, err := app.Append(0, l, since, 0); err != nil {
					app.Rollback()
					return fmt.Errorf("write edge %s → %s: %w", e.Caller, e.Callee, err)
				}
			}
			if _, err := app.Append(0, l, ts, s.v); err != nil {
				app.Rollback()
				return fmt.Errorf("write edge %s → %s: %w", e.Caller, e.Callee, err)
			}
		}
		if first {
			started = append(started, k)
		}
	}
	if err := app.Commit(); err != nil {
		return err
	}
	g.mu.Lock()
	for _, k := range started {
		g.written[k] = true
	}
	g.mu.Unlock()
	return nil
}

// Run expires spans and writes the edges every interval until ctx ends.
func (g *Graph) Run(ctx context.Context, db storage.Appendable, interval time.Duration, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			g.Expire(now)
			if err := g.Write(ctx, db, now); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}
