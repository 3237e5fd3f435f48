package servicegraph

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
)

var t0 = time.Date(2026, 4, 6, 14, 0, 0, 0, time.UTC)

func edges(g *Graph) []string {
	var out []string
	for _, e := range g.Edges() {
		out = append(out, fmt.Sprintf("%s→%s %v/%v %.3f", e.Caller, e.Callee, e.Requests, e.Errors, e.DurationSum))
	}
	slices.Sort(out)
	return out
}

func TestEdges(t *testing.T) {
	g := New(time.Minute)
	// frontend SERVER → frontend CLIENT → checkout SERVER (error) → checkout CLIENT → payments SERVER
	g.Add([]Span{
		{SpanID: "a", Service: "frontend", Kind: "server"},
		{SpanID: "b", ParentID: "a", Service: "frontend", Kind: "client", Peer: "checkout"},
	}, t0)
	// checkout exports later, and its client span's child arrives before it.
	g.Add([]Span{{SpanID: "d", ParentID: "c", Service: "payments", Kind: "server", Duration: 30 * time.Millisecond}}, t0.Add(time.Second))
	g.Add([]Span{
		{SpanID: "c", ParentID: "b", Service: "checkout", Kind: "server", Duration: 120 * time.Millisecond, Error: true},
		{SpanID: "e", ParentID: "c", Service: "checkout", Kind: "client", Peer: "api.stripe.com", Duration: 80 * time.Millisecond},
	}, t0.Add(2*time.Second))
	// A sender retrying a batch it thinks was lost: nothing counts twice.
	g.Add([]Span{{SpanID: "c", ParentID: "b", Service: "checkout", Kind: "server", Duration: 120 * time.Millisecond, Error: true}}, t0.Add(3*time.Second))
	want := []string{"checkout→payments 1/0 0.030", "frontend→checkout 1/1 0.120"}
	if got := edges(g); !slices.Equal(got, want) {
		t.Fatalf("\n got %v\nwant %v", got, want)
	}
	// Once the window passes, the client span that named a peer and had no child is a call to it;
	// the frontend client span, whose child was seen, is not counted again.
	g.Expire(t0.Add(2 * time.Minute))
	want = []string{"checkout→api.stripe.com 1/0 0.080", "checkout→payments 1/0 0.030", "frontend→checkout 1/1 0.120"}
	if got := edges(g); !slices.Equal(got, want) {
		t.Fatalf("after expiry\n got %v\nwant %v", got, want)
	}
	if g.Held() != 0 {
		t.Fatalf("%d spans still held", g.Held())
	}
}

func TestWriteSeries(t *testing.T) {
	db, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	g := New(time.Minute)
	g.Add([]Span{{SpanID: "a", Service: "web"}, {SpanID: "b", ParentID: "a", Service: "api", Duration: time.Second}}, t0)
	now := time.Now()
	if err := g.Write(context.Background(), db, now); err != nil {
		t.Fatal(err)
	}
	q, _ := db.Querier(now.Add(-time.Minute).UnixMilli(), now.Add(time.Minute).UnixMilli())
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "caller", "web"))
	var names []string
	for set.Next() {
		names = append(names, set.At().Labels().Get("__name__"))
	}
	want := []string{"sextant_edge_duration_seconds_count", "sextant_edge_duration_seconds_sum", "sextant_edge_errors_total", "sextant_edge_requests_total"}
	if !slices.Equal(names, want) {
		t.Fatalf("series %v", names)
	}
}
