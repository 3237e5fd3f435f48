package telemetry

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

func openTest(t *testing.T) *Embedded {
	t.Helper()
	e, err := OpenEmbedded("embedded", t.TempDir(), EmbeddedOptions{OutOfOrderWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// fill writes a counter per service rising by `rate` per second, one sample every 15 s for an hour.
func fill(t *testing.T, e *Embedded, end time.Time, rates map[string]float64) {
	app := e.Storage().Appender(context.Background())
	for svc, rate := range rates {
		l := labels.FromStrings("__name__", "requests_total", "service", svc)
		for i := 0; i <= 240; i++ {
			ts := end.Add(time.Duration(i-240) * 15 * time.Second)
			if _, err := app.Append(0, l, ts.UnixMilli(), rate*15*float64(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedPromQL(t *testing.T) {
	e := openTest(t)
	end := time.Now().Truncate(time.Second)
	fill(t, e, end, map[string]float64{"api": 2, "db": 5})
	ctx := context.Background()

	res, err := e.Query(ctx, `sum by (service) (rate(requests_total[1m]))`, end)
	if err != nil || res.Status != OK {
		t.Fatalf("%+v %v", res, err)
	}
	got := map[string]float64{}
	for _, s := range res.Vector() {
		got[s.Metric.Get("service")] = s.F
	}
	if fmt.Sprintf("%.3f %.3f", got["api"], got["db"]) != "2.000 5.000" {
		t.Fatalf("rates: %v", got)
	}
	rng, err := e.QueryRange(ctx, `sum(rate(requests_total[1m]))`, Range{Start: end.Add(-30 * time.Minute), End: end, Step: time.Minute})
	if err != nil || len(rng.Matrix()) != 1 || len(rng.Matrix()[0].Floats) != 31 {
		t.Fatalf("range: %+v %v", rng, err)
	}
	// The result must survive the query's pooled memory being reused by the next query.
	first := rng.Matrix()[0].Floats[0]
	e.QueryRange(ctx, `requests_total * 1000`, Range{Start: end.Add(-30 * time.Minute), End: end, Step: time.Minute})
	if rng.Matrix()[0].Floats[0] != first {
		t.Fatal("a result changed after the next query ran")
	}
	if _, err := e.Query(ctx, `sum(rate(requests_total[1m])`, end); !IsBadRequest(err) {
		t.Fatalf("unparsable query: %v", err)
	}
	series, err := e.Series(ctx, []string{`requests_total{service="db"}`, `requests_total{service="api"}`}, end.Add(-time.Hour), end)
	if err != nil || len(series.Series) != 2 || series.Series[0].Get("service") != "api" {
		t.Fatalf("series: %+v %v", series, err)
	}
	if _, err := e.Series(ctx, []string{`{`}, end.Add(-time.Hour), end); !IsBadRequest(err) {
		t.Fatalf("bad selector: %v", err)
	}
	raw, err := e.Samples(ctx, `requests_total{service="db"}`, end.Add(-10*time.Minute), end)
	if err != nil || len(raw.Matrix()) != 1 || len(raw.Matrix()[0].Floats) != 40 || raw.Matrix()[0].Floats[39].F != 5*15*240 {
		t.Fatalf("raw samples of the last 10 minutes: %+v %v", raw.Value, err)
	}
	vals, err := e.LabelValues(ctx, "service", nil, end.Add(-time.Hour), end)
	if err != nil || fmt.Sprint(vals.Values) != "[api db]" {
		t.Fatalf("values: %+v %v", vals, err)
	}
	names, err := e.LabelNames(ctx, []string{`requests_total`}, end.Add(-time.Hour), end)
	if err != nil || fmt.Sprint(names.Values) != "[__name__ service]" {
		t.Fatalf("names: %+v %v", names, err)
	}
}

func TestEmbeddedOutOfOrderWindow(t *testing.T) {
	e := openTest(t)
	now := time.Now()
	l := labels.FromStrings("__name__", "x")
	app := e.Storage().Appender(context.Background())
	app.Append(0, l, now.UnixMilli(), 1)
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	app = e.Storage().Appender(context.Background())
	if _, err := app.Append(0, l, now.Add(-10*time.Minute).UnixMilli(), 2); err != nil {
		t.Fatalf("a sample 10 minutes late is inside the 1 h window: %v", err)
	}
	app.Commit()
	app = e.Storage().Appender(context.Background())
	if _, err := app.Append(0, l, now.Add(-2*time.Hour).UnixMilli(), 3); err == nil {
		t.Fatal("a sample 2 hours late is outside the window")
	}
	app.Rollback()
}

// TestRangeInPiecesMatchesOneQuery checks that cutting a range query into pieces evaluated at
// once gives exactly what one query gives.
func TestRangeInPiecesMatchesOneQuery(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	e := openTest(t)
	end := time.Now().Truncate(time.Second)
	fill(t, e, end, map[string]float64{"api": 2, "db": 5, "cache": 0.5})
	ctx := context.Background()
	r := Range{Start: end.Add(-50 * time.Minute), End: end, Step: 7 * time.Second} // 429 steps: 2 pieces
	for _, q := range []string{
		`requests_total`,
		`sum by (service) (rate(requests_total[1m]))`,
		`avg_over_time(requests_total[5m] offset 2m)`,
		`max_over_time(rate(requests_total[1m])[10m:30s])`,
		`requests_total > 10000`,
		`timestamp(requests_total)`,
	} {
		pieces, err := e.QueryRange(ctx, q, r)
		if err != nil {
			t.Fatal(err)
		}
		one, err := e.rangePiece(ctx, q, r)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(pieces.Value), fmt.Sprint(one.Value); got != want {
			t.Errorf("%s: pieces differ from one query:\n%.500s\n%.500s", q, got, want)
		}
	}
}
