package intake

import (
	"bytes"
	"compress/gzip"
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
	h := OTLPMetrics(slog.New(slog.DiscardHandler), nil, e.Storage(), 64<<10)
	body := metricsRequest(t)
	cases := []struct {
		name, ctype, enc string
		body             []byte
		code             int
	}{
		{"protobuf", "application/x-protobuf", "", body, 200},
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
	h := OTLPMetrics(slog.New(slog.DiscardHandler), nil, e.Storage(), 1<<20)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ctype := "application/x-protobuf"
		if asJSON {
			ctype = "application/json"
		}
		if rec := postOTLP(h, body, ctype, ""); rec.Code >= 500 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
}
