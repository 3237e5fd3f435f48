package intake

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/sextant-sre/sextant/internal/telemetry"
)

func store(t testing.TB) *telemetry.Embedded {
	e, err := telemetry.OpenEmbedded("embedded", t.TempDir(), telemetry.EmbeddedOptions{OutOfOrderWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func post(h http.Handler, body []byte, version string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/api/v1/write", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", version)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func writeRequest(t testing.TB, ts time.Time, v float64) []byte {
	wr := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "api"}},
		Samples: []prompb.Sample{{Timestamp: ts.UnixMilli(), Value: v}},
	}}}
	raw, err := wr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, raw)
}

// handlers are the two remote-write receivers: Prometheus's own, and the fast path in front of it.
func handlers(e *telemetry.Embedded, max int64) map[string]http.Handler {
	log := slog.New(slog.DiscardHandler)
	return map[string]http.Handler{"prometheus": RemoteWrite(log, nil, e.Storage(), max), "fast": RemoteWriteFast(log, nil, e.Storage(), max)}
}

func TestRemoteWriteStoresAndRedeliveryIsHarmless(t *testing.T) {
	for name := range handlers(store(t), 1) {
		t.Run(name, func(t *testing.T) { testStoresOnce(t, name) })
	}
}

func testStoresOnce(t *testing.T, name string) {
	e := store(t)
	h := handlers(e, 1<<20)[name]
	now := time.Now().Truncate(time.Millisecond)
	body := writeRequest(t, now, 1)
	for i := range 2 { // the same request twice, as a sender retrying after a lost answer would
		if rec := post(h, body, "0.1.0"); rec.Code != http.StatusNoContent {
			t.Fatalf("delivery %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	res, err := e.QueryRange(context.Background(), `count_over_time(up[1h])`, telemetry.Range{Start: now, End: now, Step: time.Second})
	if err != nil || len(res.Matrix()) != 1 || res.Matrix()[0].Floats[0].F != 1 {
		t.Fatalf("stored once: %+v %v", res, err)
	}
	series, _ := e.Series(context.Background(), []string{"up"}, now.Add(-time.Minute), now)
	if len(series.Series) != 1 || !labels.Equal(series.Series[0], labels.FromStrings("__name__", "up", "job", "api")) {
		t.Fatalf("series: %+v", series)
	}
}

func TestRemoteWriteRefusesBadInput(t *testing.T) {
	for name, h := range handlers(store(t), 1024) {
		t.Run(name, func(t *testing.T) { testRefuses(t, h) })
	}
}

func testRefuses(t *testing.T, h http.Handler) {
	if rec := post(h, []byte("not snappy"), "0.1.0"); rec.Code != http.StatusBadRequest {
		t.Fatalf("garbage: %d", rec.Code)
	}
	if rec := post(h, snappy.Encode(nil, []byte{0xff, 0xff, 0xff}), "0.1.0"); rec.Code != http.StatusBadRequest {
		t.Fatalf("not protobuf: %d", rec.Code)
	}
	if rec := post(h, snappy.Encode(nil, bytes.Repeat([]byte{0}, 4096)), "0.1.0"); rec.Code < 400 || rec.Code >= 500 {
		t.Fatalf("over the body limit: %d", rec.Code)
	}
}

// FuzzRemoteWrite feeds arbitrary bodies, raw and snappy-framed, to the remote-write receiver:
// it must never panic nor answer with a server error.
func FuzzRemoteWrite(f *testing.F) {
	f.Add(writeRequest(f, time.Now(), 1), false)
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x03}, true)
	f.Add([]byte("hello"), false)
	hs := handlers(store(f), 1<<20)
	f.Fuzz(func(t *testing.T, body []byte, frame bool) {
		if frame {
			body = snappy.Encode(nil, body)
		}
		for name, h := range hs {
			for _, v := range []string{"0.1.0", "2.0.0"} {
				if rec := post(h, body, v); rec.Code >= 500 {
					t.Fatalf("%s, version %s: %d %s", name, v, rec.Code, rec.Body)
				}
			}
		}
	})
}

// TestFastPathMatchesPrometheus writes the same random requests through Prometheus's handler and
// the fast path into two stores, and checks that both hold the same series and samples, and
// refuse the same requests.
func TestFastPathMatchesPrometheus(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	a, b := store(t), store(t)
	ha, hb := handlers(a, 1<<20)["prometheus"], handlers(b, 1<<20)["fast"]
	base := time.Now().Add(-30 * time.Minute).UnixMilli()
	for req := range 40 {
		var wr prompb.WriteRequest
		for range 1 + rng.IntN(50) {
			lbls := []prompb.Label{{Name: "__name__", Value: fmt.Sprintf("m%d", rng.IntN(3))}, {Name: "job", Value: fmt.Sprintf("j%d", rng.IntN(5))}}
			if rng.IntN(4) == 0 {
				lbls = append(lbls, prompb.Label{Name: "zone", Value: fmt.Sprintf("z%d", rng.IntN(2))})
			}
			if rng.IntN(10) == 0 {
				lbls = append(lbls, prompb.Label{Name: "job", Value: "dup"}) // refused by both
			}
			if rng.IntN(3) == 0 {
				lbls[0], lbls[len(lbls)-1] = lbls[len(lbls)-1], lbls[0] // unsorted on the wire
			}
			ts := prompb.TimeSeries{Labels: lbls}
			for range 1 + rng.IntN(3) {
				ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: base + int64(req*1000+rng.IntN(1000)), Value: rng.Float64()})
			}
			wr.Timeseries = append(wr.Timeseries, ts)
		}
		raw, _ := wr.Marshal()
		body := snappy.Encode(nil, raw)
		ca, cb := post(ha, body, "0.1.0").Code, post(hb, body, "0.1.0").Code
		if (ca < 300) != (cb < 300) {
			t.Fatalf("request %d: Prometheus answered %d, the fast path %d", req, ca, cb)
		}
	}
	da, db := dumpStore(t, a), dumpStore(t, b)
	if da != db {
		t.Fatalf("the stores differ:\nPrometheus:\n%.2000s\nfast path:\n%.2000s", da, db)
	}
	if len(da) == 0 {
		t.Fatal("nothing was stored")
	}
}

// dumpStore renders every series and sample of a store of the last hour, sorted, for comparing
// two stores.
func dumpStore(t *testing.T, e *telemetry.Embedded) string {
	t.Helper()
	res, err := e.Query(context.Background(), `{__name__=~".+"}[1h]`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range res.Matrix() {
		lines = append(lines, fmt.Sprint(s.Metric, s.Floats))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// fuzzOTLP posts one fuzzed body to an OTLP receiver as protobuf or JSON: it must neither panic
// nor answer with a server error.
func fuzzOTLP(t *testing.T, h http.Handler, body []byte, asJSON bool) {
	ctype := "application/x-protobuf"
	if asJSON {
		ctype = "application/json"
	}
	if rec := postOTLP(h, body, ctype, ""); rec.Code >= 500 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
