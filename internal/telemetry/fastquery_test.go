package telemetry

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
)

// TestFastRangeMatchesEngine evaluates queries of the fast path's shape both ways, through the
// fast path and through the PromQL engine, over random counters with resets, gaps, jittered
// scrapes and staleness markers, and requires the same series, the same steps and the same
// values (to float rounding: the fast path sums in another order) and the same warnings.
func TestFastRangeMatchesEngine(t *testing.T) {
	e := openTest(t)
	rng := rand.New(rand.NewPCG(5, 6))
	end := time.Now().Truncate(time.Minute)
	app := e.Storage().Appender(context.Background())
	for i := range 60 {
		for _, name := range []string{"requests_total", "queue_depth"} {
			l := labels.FromStrings("__name__", name, "service", fmt.Sprintf("svc-%d", i%4), "instance", fmt.Sprintf("i-%d", i), "zone", fmt.Sprintf("z%d", i%3))
			v := float64(rng.IntN(1000))
			ts := end.Add(-2 * time.Hour).UnixMilli()
			for ts < end.UnixMilli() {
				ts += 15_000 + int64(rng.IntN(2000)) - 1000 // jittered scrapes
				switch r := rng.IntN(100); {
				case r < 3:
					ts += int64(rng.IntN(300_000)) // a gap
				case r < 5:
					v = float64(rng.IntN(20)) // a counter reset
				case r < 6 && i%5 == 0:
					if _, err := app.Append(0, l, ts, math.Float64frombits(value.StaleNaN)); err != nil {
						t.Fatal(err)
					}
					continue
				}
				v += rng.Float64() * 50
				if _, err := app.Append(0, l, ts, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	queries := []string{
		`sum by (service) (rate(requests_total[1m]))`,
		`sum(rate(requests_total[5m]))`,
		`sum without (instance) (increase(requests_total{zone!="z1"}[2m]))`,
		`max by (zone) (rate(requests_total[90s]))`,
		`min by (service, zone) (increase(requests_total[1m]))`,
		`count by (service) (rate(requests_total[30s]))`,
		`rate(requests_total{service="svc-1"}[1m])`,
		`(sum by (service) (rate(queue_depth[3m])))`,
	}
	ranges := []Range{
		{Start: end.Add(-90 * time.Minute), End: end, Step: 15 * time.Second},
		{Start: end.Add(-2*time.Hour - 7*time.Second), End: end.Add(-time.Minute), Step: 7 * time.Second},
		{Start: end.Add(-time.Hour), End: end, Step: time.Minute},
	}
	ctx := context.Background()
	for _, q := range queries {
		shape, ok := matchFastShape(q)
		if !ok {
			t.Fatalf("%s: not taken by the fast path", q)
		}
		for _, r := range ranges {
			want, err := e.rangePiece(ctx, q, r)
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := e.fastRange(ctx, shape, r)
			if err != nil || !ok {
				t.Fatalf("%s: %v %v", q, ok, err)
			}
			if msg := sameMatrix(want.Matrix(), got.Matrix()); msg != "" {
				t.Errorf("%s over %v step %v: %s", q, r.End.Sub(r.Start), r.Step, msg)
			}
			if !slices.Equal(want.Warnings, got.Warnings) {
				t.Errorf("%s: warnings %q, want %q", q, got.Warnings, want.Warnings)
			}
		}
	}
}

func sameMatrix(want, got promql.Matrix) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d series, want %d", len(got), len(want))
	}
	for i := range want {
		if !labels.Equal(want[i].Metric, got[i].Metric) {
			return fmt.Sprintf("series %d is %s, want %s", i, got[i].Metric, want[i].Metric)
		}
		w, g := want[i].Floats, got[i].Floats
		if len(w) != len(g) {
			return fmt.Sprintf("%s: %d points, want %d", want[i].Metric, len(g), len(w))
		}
		for j := range w {
			if w[j].T != g[j].T || math.Abs(w[j].F-g[j].F) > 1e-9*math.Max(1, math.Abs(w[j].F)) {
				return fmt.Sprintf("%s: point %d is %v, want %v", want[i].Metric, j, g[j], w[j])
			}
		}
	}
	return ""
}

func TestFastShape(t *testing.T) {
	cases := []struct {
		q    string
		fast bool
	}{
		{`sum by (service) (rate(http_requests_total[1m]))`, true},
		{`rate(x_total[5m])`, true},
		{`count without (pod) (increase(x_total{a="b"}[1h]))`, true},
		{`avg by (service) (rate(x_total[1m]))`, false},
		{`sum(rate(x_total[1m] offset 5m))`, false},
		{`sum(rate(x_total[1m] @ 100))`, false},
		{`sum(rate({__name__=~"x.*"}[1m]))`, false},
		{`topk(3, rate(x_total[1m]))`, false},
		{`sum(irate(x_total[1m]))`, false},
		{`sum(rate(x_total[5m:1m]))`, false},
		{`rate(x_total[1m]) * 2`, false},
		{`not promql (`, false},
	}
	for _, c := range cases {
		if _, ok := matchFastShape(c.q); ok != c.fast {
			t.Errorf("%s: fast %v, want %v", c.q, ok, c.fast)
		}
	}
}
