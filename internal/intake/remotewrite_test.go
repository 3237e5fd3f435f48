package intake

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

func TestRemoteWriteStoresAndRedeliveryIsHarmless(t *testing.T) {
	e := store(t)
	h := RemoteWrite(slog.New(slog.DiscardHandler), nil, e.Storage(), 1<<20)
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
	e := store(t)
	h := RemoteWrite(slog.New(slog.DiscardHandler), nil, e.Storage(), 1024)
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
	e := store(f)
	h := RemoteWrite(slog.New(slog.DiscardHandler), nil, e.Storage(), 1<<20)
	f.Fuzz(func(t *testing.T, body []byte, frame bool) {
		if frame {
			body = snappy.Encode(nil, body)
		}
		for _, v := range []string{"0.1.0", "2.0.0"} {
			if rec := post(h, body, v); rec.Code >= 500 {
				t.Fatalf("version %s: %d %s", v, rec.Code, rec.Body)
			}
		}
	})
}
