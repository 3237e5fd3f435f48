package telemetry

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/sextant-sre/sextant/internal/testsvc"
)

// TestVictoriaMetricsAgreesWithTheEmbeddedStore writes the same samples into the embedded store
// and into a real VictoriaMetrics (Debian's package, through remote write), then asks both the
// same PromQL through the Source interface. Raw values must match to 12 significant digits (what
// VictoriaMetrics keeps); rates within 5%:
// MetricsQL does not extrapolate rate() to the window's edges as PromQL does.
func TestVictoriaMetricsAgreesWithTheEmbeddedStore(t *testing.T) {
	vm := testsvc.VictoriaMetrics(t)
	e := openTest(t)
	end := time.Now().Add(-time.Minute).Truncate(15 * time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	var wr prompb.WriteRequest
	app := e.Storage().Appender(context.Background())
	for _, svc := range []string{"api", "cart", "search"} {
		l := labels.FromStrings("__name__", "requests_total", "service", svc)
		ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "requests_total"}, {Name: "service", Value: svc}}}
		v := 0.0
		for i := 0; i <= 240; i++ {
			at := end.Add(time.Duration(i-240) * 15 * time.Second).UnixMilli()
			v += 100 + 50*rng.Float64()
			if _, err := app.Append(0, l, at, v); err != nil {
				t.Fatal(err)
			}
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: at, Value: v})
		}
		wr.Timeseries = append(wr.Timeseries, ts)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	raw, _ := wr.Marshal()
	req, _ := http.NewRequest("POST", vm.URL+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("write to VictoriaMetrics: %v %v", res, err)
	}
	res.Body.Close()

	src, err := NewRemote("victoriametrics", vm.URL, RemoteOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; ; i++ { // VictoriaMetrics makes new samples searchable within a second or two
		r, err := src.Query(ctx, `count(requests_total)`, end)
		if err == nil && len(r.Vector()) == 1 && r.Vector()[0].F == 3 {
			break
		}
		if i > 100 {
			t.Fatalf("VictoriaMetrics never had the 3 series: %+v %v\n%s", r, err, vm.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}

	compare := func(q string, tolerance float64) {
		t.Helper()
		rg := Range{Start: end.Add(-30 * time.Minute), End: end, Step: time.Minute}
		a, err := e.QueryRange(ctx, q, rg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := src.QueryRange(ctx, q, rg)
		if err != nil || b.Status != OK {
			t.Fatalf("%s on VictoriaMetrics: %+v %v", q, b.Answer, err)
		}
		want := map[string][]float64{}
		for _, s := range a.Matrix() {
			for _, p := range s.Floats {
				want[s.Metric.Get("service")] = append(want[s.Metric.Get("service")], p.F)
			}
		}
		if len(b.Matrix()) != len(a.Matrix()) {
			t.Fatalf("%s: %d series from VictoriaMetrics, %d embedded", q, len(b.Matrix()), len(a.Matrix()))
		}
		for _, s := range b.Matrix() {
			w := want[s.Metric.Get("service")]
			if len(s.Floats) != len(w) {
				t.Fatalf("%s %s: %d points from VictoriaMetrics, %d embedded", q, s.Metric, len(s.Floats), len(w))
			}
			for i, p := range s.Floats {
				if diff := math.Abs(p.F-w[i]) / math.Max(math.Abs(w[i]), 1e-9); diff > tolerance {
					t.Errorf("%s %s point %d: VictoriaMetrics %v, embedded %v (%.1f%% apart)", q, s.Metric, i, p.F, w[i], 100*diff)
				}
			}
		}
	}
	compare(`requests_total`, 1e-9) // VictoriaMetrics keeps about 12 significant digits
	// Raw samples: VictoriaMetrics answers a range selector with what it stored.
	rawVM, err := src.Samples(ctx, `requests_total{service="cart"}`, end.Add(-10*time.Minute), end)
	rawE, err2 := e.Samples(ctx, `requests_total{service="cart"}`, end.Add(-10*time.Minute), end)
	if err != nil || err2 != nil || len(rawVM.Matrix()) != 1 || len(rawE.Matrix()) != 1 || len(rawVM.Matrix()[0].Floats) != len(rawE.Matrix()[0].Floats) {
		t.Fatalf("raw samples: VictoriaMetrics %+v %v, embedded %+v %v", rawVM.Value, err, rawE.Value, err2)
	}
	compare(`sum by (service) (rate(requests_total[5m]))`, 0.05)
}
