package intake

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"bytes"
	"compress/gzip"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/storage/remote"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

func metricsRequest(t testing.TB) []byte {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("queue_depth")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(3)
	raw, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func postOTLP(h http.Handler, body []byte, ctype, encoding string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/v1/metrics", bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestOTLPLimitsAndEncodings(t *testing.T) {
	e := store(t)
	h := OTLPMetrics(slog.New(slog.DiscardHandler), e.Storage(), 64<<10)
	body := metricsRequest(t)
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		t.Fatal(err)
	}
	asJSON, err := req.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, ctype, enc string
		body             []byte
		code             int
	}{
		{"protobuf", "application/x-protobuf", "", body, 200},
		{"JSON", "application/json", "", asJSON, 200},
		{"gzip JSON", "application/json", "gzip", gz(asJSON), 200},
		{"gzip protobuf", "application/x-protobuf", "gzip", gz(body), 200},
		{"a gzip bomb", "application/x-protobuf", "gzip", gz(make([]byte, 1<<20)), 413},
		{"not gzip", "application/x-protobuf", "gzip", body, 400},
		{"brotli", "application/x-protobuf", "br", body, 415},
		{"garbage", "application/x-protobuf", "", []byte("\xff\xff\xff"), 400},
		{"unknown type", "text/plain", "", body, 415},
	}
	for _, c := range cases {
		if rec := postOTLP(h, c.body, c.ctype, c.enc); rec.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, rec.Code, rec.Body, c.code)
		}
	}
}

// FuzzOTLPMetrics feeds arbitrary bodies to the OTLP receiver as protobuf and as JSON: no panic
// and no server error.
func FuzzOTLPMetrics(f *testing.F) {
	f.Add(metricsRequest(f), false)
	f.Add([]byte(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"x"}}]},"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"asInt":"1","timeUnixNano":"1"}]}}]}]}]}`), true)
	e := store(f)
	h := OTLPMetrics(slog.New(slog.DiscardHandler), e.Storage(), 1<<20)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) { fuzzOTLP(t, h, body, asJSON) })
}

// TestOTLPMetricsMatchPrometheus writes the same random OTLP requests through Prometheus's own
// OTLP handler (configured as Sextant's) and through Sextant's receiver into two stores, and
// requires the same answers and the same stored series and samples. Series repeat from request
// to request, as an exporter sends them, so that most requests take Sextant's fast path, some
// mixed with histograms, exemplars, staleness markers and refused delta sums.
func TestOTLPMetricsMatchPrometheus(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := store(t), store(t)
	cfg := config.DefaultConfig
	cfg.OTLPConfig = config.DefaultOTLPConfig
	cfg.OTLPConfig.PromoteResourceAttributes = EntityAttributes
	log := slog.New(slog.DiscardHandler)
	theirs := remote.NewOTLPWriteHandler(log, nil, a.Storage(), func() config.Config { return cfg }, remote.OTLPOptions{LookbackDelta: 5 * time.Minute})
	conv := newMetricsConverter(log, b.Storage())
	ours := conv.httpHandler(1 << 20)
	base := time.Now().Add(-20 * time.Minute)
	refused := 0
	const requests = 80
	for req := range requests {
		md := pmetric.NewMetrics()
		for r := range 1 + rng.IntN(4) {
			rm := md.ResourceMetrics().AppendEmpty()
			attrs := rm.Resource().Attributes()
			attrs.PutStr("service.name", fmt.Sprintf("svc-%d", r%2))
			attrs.PutStr("service.instance.id", fmt.Sprintf("i-%d", r))
			if r%2 == 0 {
				attrs.PutStr("deployment.environment", "prod")
				attrs.PutStr("k8s.pod.name", fmt.Sprintf("pod-%d", r))
			}
			attrs.PutStr("cloud.provider", "aws") // not promoted: only in target_info
			ms := rm.ScopeMetrics().AppendEmpty().Metrics()
			if r == 3 { // a late point: target_info spans several of its intervals
				m := ms.AppendEmpty()
				m.SetName("batch.backlog")
				dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
				dp.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(req)*time.Second - 7*time.Minute)))
				dp.SetIntValue(int64(req))
			}
			for k := range 1 + rng.IntN(4) {
				m := ms.AppendEmpty()
				ts := pcommon.NewTimestampFromTime(base.Add(time.Duration(req)*time.Second + time.Duration(k)*time.Millisecond))
				switch kind := (k + r) % 3; {
				case kind == 0:
					m.SetName(fmt.Sprintf("queue.depth.%d", k))
					m.SetUnit("{item}")
					for q := range 1 + rng.IntN(2) {
						dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
						dp.SetTimestamp(ts)
						dp.SetDoubleValue(rng.Float64())
						dp.Attributes().PutStr("queue", fmt.Sprintf("q%d", q))
						if rng.IntN(8) == 0 {
							dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
						}
					}
				case kind == 1:
					m.SetName(fmt.Sprintf("http.server.requests.%d", k))
					sum := m.SetEmptySum()
					sum.SetIsMonotonic(true)
					sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
					if rng.IntN(30) == 0 {
						sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
					}
					dp := sum.DataPoints().AppendEmpty()
					dp.SetStartTimestamp(pcommon.NewTimestampFromTime(base))
					dp.SetTimestamp(ts)
					dp.SetIntValue(int64(req * 10))
					dp.Attributes().PutStr("http.route", "/pay")
					if rng.IntN(10) == 0 {
						ex := dp.Exemplars().AppendEmpty()
						ex.SetTimestamp(ts)
						ex.SetDoubleValue(1)
					}
				case rng.IntN(3) == 0:
					m.SetName(fmt.Sprintf("http.server.duration.%d", k))
					m.SetUnit("ms")
					h := m.SetEmptyHistogram()
					h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
					dp := h.DataPoints().AppendEmpty()
					dp.SetTimestamp(ts)
					dp.SetCount(uint64(req + 3))
					dp.SetSum(float64(req) * 12.5)
					dp.ExplicitBounds().FromRaw([]float64{10, 100})
					dp.BucketCounts().FromRaw([]uint64{1, 1, uint64(req + 1)})
				default:
					m.SetName(fmt.Sprintf("process.threads.%d", k))
					dp := m.SetEmptySum().DataPoints().AppendEmpty() // not monotonic: a gauge
					m.Sum().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
					dp.SetTimestamp(ts)
					dp.SetIntValue(int64(rng.IntN(100)))
				}
			}
		}
		raw, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		ca, cb := postOTLP(theirs, raw, "application/x-protobuf", "").Code, postOTLP(ours, raw, "application/x-protobuf", "").Code
		if (ca < 300) != (cb < 300) {
			t.Fatalf("request %d: Prometheus answered %d, Sextant %d", req, ca, cb)
		}
		if ca >= 300 {
			refused++
		}
	}
	if fast := conv.fastRequests.Load(); fast < requests/2 || refused == 0 {
		t.Errorf("%d of %d requests took the fast path, %d were refused: the test does not exercise both paths", fast, requests, refused)
	}
	da, db := dumpStore(t, a), dumpStore(t, b)
	if da != db {
		t.Fatalf("the stores differ:\nPrometheus:\n%.3000s\nSextant:\n%.3000s", da, db)
	}
	if !strings.Contains(da, "http_server_requests_0_total") || !strings.Contains(da, "target_info") {
		t.Fatalf("unexpected translation:\n%.2000s", da)
	}
}
