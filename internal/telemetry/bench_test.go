package telemetry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// BenchmarkQueryRange10kSeries6h measures `sum by (service) (rate(...[1m]))` through the embedded
// PromQL engine over 10,000 series (100 services × 100 instances) holding 6 hours at 15 s steps:
// 14.4 million samples. The setup (writing the samples) is not timed.
// Run: go test ./internal/telemetry -run XXX -bench QueryRange10kSeries6h -benchtime 10x
func BenchmarkQueryRange10kSeries6h(b *testing.B) {
	e, start, end := fill10k(b)
	ctx := context.Background()
	q := `sum by (service) (rate(http_requests_total[1m]))`
	b.ResetTimer()
	for b.Loop() {
		res, err := e.QueryRange(ctx, q, Range{Start: start, End: end, Step: 15 * time.Second})
		if err != nil || len(res.Matrix()) != 100 {
			b.Fatalf("%v %d", err, len(res.Matrix()))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/query")
}

// BenchmarkSamples10kSeries6h measures the bulk read of the same 14.4 million raw samples into
// memory for analysis (no PromQL evaluation, no JSON).
// Run: go test ./internal/telemetry -run XXX -bench Samples10kSeries6h -benchtime 10x
func BenchmarkSamples10kSeries6h(b *testing.B) {
	e, start, end := fill10k(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := e.Samples(ctx, `http_requests_total`, start, end)
		if err != nil || len(res.Matrix()) != 10_000 || len(res.Matrix()[0].Floats) != 1440 {
			b.Fatalf("%v %d", err, len(res.Matrix()))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/read")
}

// fill10k writes 10,000 series (100 services × 100 instances) with a sample every 15 s for 6
// hours, and compacts what is old enough into blocks, as in a server that has run for hours.
func fill10k(b *testing.B) (*Embedded, time.Time, time.Time) {
	e, err := OpenEmbedded("embedded", b.TempDir(), EmbeddedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-6 * time.Hour)
	const steps = 6 * 60 * 4
	ctx := context.Background()
	refs := make([]uint64, 10_000)
	for step := 0; step <= steps; step++ {
		app := e.Storage().Appender(ctx)
		ts := start.Add(time.Duration(step) * 15 * time.Second).UnixMilli()
		for i := range refs {
			var l labels.Labels
			if refs[i] == 0 {
				l = labels.FromStrings("__name__", "http_requests_total", "service", fmt.Sprintf("svc-%d", i/100), "instance", fmt.Sprintf("i-%d", i%100))
			}
			ref, err := app.Append(storageRef(refs[i]), l, ts, float64(step*(1+i%7)))
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = uint64(ref)
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.Storage().Compact(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e, start, end
}

func storageRef(r uint64) storage.SeriesRef { return storage.SeriesRef(r) }
