package intake

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// BenchmarkRemoteWriteIntake measures remote-write intake over loopback HTTP into the embedded
// store: 10,000 series (100 services × 100 instances), requests of 2,000 series with one sample
// each, as Prometheus's queue sends them, from 4 concurrent senders. Each b.N is one request.
// "fast" is the receiver Sextant serves; "prometheus" is Prometheus's own handler, for comparison.
// Run: go test ./internal/intake -run XXX -bench RemoteWriteIntake -benchtime 2000x
func BenchmarkRemoteWriteIntake(b *testing.B) {
	for name := range handlers(store(b), 1) {
		b.Run(name, func(b *testing.B) { benchRemoteWrite(b, name) })
	}
}

func benchRemoteWrite(b *testing.B, handler string) {
	e := store(b)
	srv := httptest.NewServer(handlers(e, 64<<20)[handler])
	defer srv.Close()
	const series, perRequest = 10_000, 2_000
	start := time.Now().Add(-time.Hour).UnixMilli()
	// Pre-encode one request per (series block, step), so the benchmark measures intake.
	blocks := series / perRequest
	steps := b.N/blocks + 1
	bodies := make([][]byte, 0, blocks*steps)
	for step := range steps {
		for blk := range blocks {
			var wr prompb.WriteRequest
			for i := blk * perRequest; i < (blk+1)*perRequest; i++ {
				wr.Timeseries = append(wr.Timeseries, prompb.TimeSeries{
					Labels: []prompb.Label{{Name: "__name__", Value: "http_requests_total"}, {Name: "instance", Value: fmt.Sprintf("i-%d", i%100)},
						{Name: "job", Value: fmt.Sprintf("svc-%d", i/100)}},
					Samples: []prompb.Sample{{Timestamp: start + int64(step)*1000, Value: float64(step)}},
				})
			}
			raw, _ := wr.Marshal()
			bodies = append(bodies, snappy.Encode(nil, raw))
		}
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	send(b, srv.URL, bodies, map[string]string{"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
		"X-Prometheus-Remote-Write-Version": "0.1.0"}, http.StatusNoContent)
	b.StopTimer()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// Every sample sent must be stored.
	res, err := e.Query(context.Background(), `sum(count_over_time(http_requests_total[2h]))`, time.Now())
	if err != nil || len(res.Vector()) != 1 || int(res.Vector()[0].F) != b.N*perRequest {
		b.Fatalf("stored %v samples of %d (%v)", res.Value, b.N*perRequest, err)
	}
	b.ReportMetric(float64(b.N*perRequest)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-MiB")
}

// BenchmarkOTLPMetricsIntake measures OTLP metrics over HTTP (protobuf) into the embedded store
// through Prometheus's OTLP translation: 10,000 series (100 instances as resources, 100
// cumulative sums each), requests of 2,000 data points (20 resources), 4 concurrent senders over
// loopback. Each b.N is one request.
// Run: go test ./internal/intake -run XXX -bench OTLPMetricsIntake -benchtime 500x
func BenchmarkOTLPMetricsIntake(b *testing.B) {
	e := store(b)
	srv := httptest.NewServer(OTLPMetrics(slog.New(slog.DiscardHandler), e.Storage(), 64<<20))
	defer srv.Close()
	const perRequest = 2_000
	start := time.Now().Add(-time.Hour)
	blocks := 10_000 / perRequest
	steps := b.N/blocks + 1
	bodies := make([][]byte, 0, blocks*steps)
	for step := range steps {
		for blk := range blocks {
			md := pmetric.NewMetrics()
			for r := blk * 20; r < (blk+1)*20; r++ { // 20 resources of 100 metrics each
				rm := md.ResourceMetrics().AppendEmpty()
				rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", r/10))
				rm.Resource().Attributes().PutStr("service.instance.id", fmt.Sprintf("i-%d", r))
				rm.Resource().Attributes().PutStr("host.name", fmt.Sprintf("node-%d", r%7)) // makes target_info
				rm.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
				ms := rm.ScopeMetrics().AppendEmpty().Metrics()
				for k := range 100 {
					m := ms.AppendEmpty()
					m.SetName(fmt.Sprintf("app.metric_%d", k))
					sum := m.SetEmptySum()
					sum.SetIsMonotonic(true)
					sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
					dp := sum.DataPoints().AppendEmpty()
					dp.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(step) * time.Second)))
					dp.SetIntValue(int64(step))
				}
			}
			raw, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
			if err != nil {
				b.Fatal(err)
			}
			bodies = append(bodies, raw)
		}
	}
	b.ResetTimer()
	send(b, srv.URL, bodies, map[string]string{"Content-Type": "application/x-protobuf"}, http.StatusOK)
	b.StopTimer()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// Every sample sent must be stored.
	res, err := e.Samples(context.Background(), `{__name__=~"app_metric_.*_total"}`, start.Add(-time.Minute), time.Now())
	stored := 0
	for _, s := range res.Matrix() {
		stored += len(s.Floats)
	}
	if err != nil || stored != b.N*perRequest {
		b.Fatalf("stored %d samples of %d (%v)", stored, b.N*perRequest, err)
	}
	b.ReportMetric(float64(b.N*perRequest)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "heap-MiB")
}

// send posts the first b.N bodies to url from 4 concurrent senders, each answer expected to be
// want.
func send(b *testing.B, url string, bodies [][]byte, headers map[string]string, want int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i]))
				for k, v := range headers {
					req.Header.Set(k, v)
				}
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != want {
					b.Errorf("status %d, want %d", res.StatusCode, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
