package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/telemetry"
	"github.com/sextant-sre/sextant/internal/testsvc"
)

// scrapeTarget serves a counter in the Prometheus text format, incremented on every scrape.
func scrapeTarget(t *testing.T) *httptest.Server {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := n.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE checkout_requests_total counter\ncheckout_requests_total{path=\"/pay\"} %d\ncheckout_requests_total{path=\"/cart\"} %d\n", v*10, v)
	}))
	t.Cleanup(ts.Close)
	return ts
}

type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

// TestPrometheusRemoteWritesIntoSextantAndIsQueriedAsASource runs a real Prometheus (Debian's
// package) that scrapes a target and remote-writes into Sextant with a responder token. Then:
// Sextant's Prometheus-compatible API answers for the same series; Sextant queries that Prometheus
// as a remote source and gets the same values; and once Prometheus is killed the remote source
// answers "unavailable", neither an error page nor an empty result that reads as zero.
func TestPrometheusRemoteWritesIntoSextantAndIsQueriedAsASource(t *testing.T) {
	e := newEnv(t)
	target := scrapeTarget(t)
	tu, _ := url.Parse(target.URL)
	prom := testsvc.Prometheus(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: checkout
    static_configs:
      - targets: [%q]
remote_write:
  - url: %s/api/v1/write
    authorization:
      credentials: %s
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
`, tu.Host, e.http.URL, e.tokens[auth.Responder]), nil)

	// Wait until the samples arrive through remote write.
	var got promResponse
	deadline := time.Now().Add(45 * time.Second)
	for {
		code, raw := e.do("GET", "/api/v1/query?query="+url.QueryEscape(`checkout_requests_total{path="/pay"}`), auth.Viewer, nil, &got)
		if code != 200 {
			t.Fatalf("query: %d %s", code, raw)
		}
		if len(got.Data.Result) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no remote-written samples after 45s; Prometheus log:\n%s", prom.Log())
		}
		time.Sleep(300 * time.Millisecond)
	}
	if m := got.Data.Result[0].Metric; m["job"] != "checkout" || m["instance"] != tu.Host {
		t.Fatalf("series labels: %v", m)
	}

	// The same instant, asked of Prometheus (as a remote source) and of Sextant's store, agrees.
	remote, err := telemetry.NewRemote("prometheus", prom.URL, telemetry.RemoteOptions{Timeout: 2 * time.Second, Attempts: 2, Backoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Let several scrapes arrive, so that rates over the last seconds have samples to work on.
	for i := 0; ; i++ {
		n, err := e.srv.Metrics.Query(ctx, `count_over_time(checkout_requests_total{path="/pay"}[1m])`, time.Now())
		if err == nil && len(n.Vector()) == 1 && n.Vector()[0].F >= 8 {
			break
		}
		if i > 300 {
			t.Fatalf("fewer than 8 samples arrived in 30s: %+v %v", n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	at := time.Now().Add(-2 * time.Second).Truncate(time.Second)
	q := `sum by (path) (checkout_requests_total)`
	fromProm, err := remote.Query(ctx, q, at)
	if err != nil || fromProm.Status != telemetry.OK || len(fromProm.Vector()) != 2 {
		t.Fatalf("remote source: %+v %v", fromProm, err)
	}
	want := map[string]float64{}
	for _, s := range fromProm.Vector() {
		want[s.Metric.Get("path")] = s.F
	}
	// Remote write is asynchronous: wait until Sextant has caught up to that instant.
	var mismatch string
	for range 50 {
		fromSextant, err := e.srv.Metrics.Query(ctx, q, at)
		if err != nil || fromSextant.Status != telemetry.OK {
			t.Fatalf("embedded: %+v %v", fromSextant, err)
		}
		mismatch = ""
		for _, s := range fromSextant.Vector() {
			if w := want[s.Metric.Get("path")]; w != s.F {
				mismatch += fmt.Sprintf("path %s: Sextant %v, Prometheus %v; ", s.Metric.Get("path"), s.F, w)
			}
		}
		if len(fromSextant.Vector()) != 2 {
			mismatch += fmt.Sprintf("Sextant has %d series; ", len(fromSextant.Vector()))
		}
		if mismatch == "" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if mismatch != "" {
		t.Fatalf("Sextant and Prometheus disagree at %s: %s", at, mismatch)
	}

	// A range query through Sextant's HTTP API, as Grafana would send it.
	form := url.Values{"query": {`rate(checkout_requests_total{path="/pay"}[30s])`},
		"start": {fmt.Sprint(at.Add(-5 * time.Second).Unix())}, "end": {fmt.Sprint(at.Unix())}, "step": {"1"}}
	req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/query_range", nil)
	req.URL.RawQuery = form.Encode()
	req.Header.Set("Authorization", "Bearer "+e.tokens[auth.Viewer])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rng promResponse
	json.NewDecoder(res.Body).Decode(&rng)
	res.Body.Close()
	if res.StatusCode != 200 || rng.Data.ResultType != "matrix" || len(rng.Data.Result) != 1 || len(rng.Data.Result[0].Values) == 0 {
		raw, _ := e.srv.Metrics.Query(context.Background(), `checkout_requests_total{path="/pay"}[1m]`, time.Now())
		t.Fatalf("query_range %v: %d %+v\nstored samples: %v", form, res.StatusCode, rng, raw.Value)
	}

	// Kill Prometheus while queries are in flight: every answer is either the data or
	// "unavailable", never an error and never an empty result that would read as zero.
	answers := make(chan telemetry.QueryResult, 1000)
	done := make(chan struct{})
	go func() {
		defer close(answers)
		for {
			res, err := remote.Query(ctx, q, at)
			if err != nil {
				t.Errorf("a dying source must not be an error: %v", err)
				return
			}
			answers <- res
			select {
			case <-done:
				return
			default:
			}
			if res.Status == telemetry.Unavailable {
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	prom.Kill()
	var sawData, sawUnavailable bool
	for res := range answers {
		switch {
		case res.Status == telemetry.OK && len(res.Vector()) == 2:
			sawData = true
		case res.Status == telemetry.Unavailable && res.Value == nil && res.Reason != "":
			sawUnavailable = true
		default:
			t.Fatalf("an answer that is neither the data nor unavailable: %+v", res)
		}
	}
	close(done)
	if !sawData || !sawUnavailable {
		t.Fatalf("saw data %v, saw unavailable %v", sawData, sawUnavailable)
	}
	dead, err := remote.Query(ctx, q, at)
	if err != nil {
		t.Fatalf("a dead source must not be an error: %v", err)
	}
	if dead.Status != telemetry.Unavailable || dead.Value != nil || dead.Reason == "" {
		t.Fatalf("dead source: %+v", dead)
	}
	rangeDead, err := remote.QueryRange(ctx, q, telemetry.Range{Start: at.Add(-time.Minute), End: at, Step: 15 * time.Second})
	if err != nil || rangeDead.Status != telemetry.Unavailable || len(rangeDead.Matrix()) != 0 {
		t.Fatalf("dead source, range: %+v %v", rangeDead, err)
	}
}

// TestSextantIsAPrometheusCompatibleSource points the remote source (client_golang's API client)
// at Sextant's own query API: series, labels and values come back the same as from the store.
func TestSextantIsAPrometheusCompatibleSource(t *testing.T) {
	e := newEnv(t)
	db := e.srv.Metrics.(*telemetry.Embedded).Storage()
	app := db.Appender(context.Background())
	now := time.Now()
	for i := range 10 {
		for _, svc := range []string{"api", "db"} {
			ts := now.Add(time.Duration(i-10) * 15 * time.Second).UnixMilli()
			if _, err := app.Append(0, labelsFor("up", "job", svc), ts, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	src, err := telemetry.NewRemote("sextant", e.http.URL, telemetry.RemoteOptions{BearerToken: e.tokens[auth.Viewer]})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	series, err := src.Series(ctx, []string{`up`}, now.Add(-time.Hour), now)
	if err != nil || len(series.Series) != 2 {
		t.Fatalf("series: %+v %v", series, err)
	}
	vals, err := src.LabelValues(ctx, "job", nil, now.Add(-time.Hour), now)
	if err != nil || fmt.Sprint(vals.Values) != "[api db]" {
		t.Fatalf("label values: %+v %v", vals, err)
	}
	names, err := src.LabelNames(ctx, []string{`up{job="api"}`}, now.Add(-time.Hour), now)
	if err != nil || fmt.Sprint(names.Values) != "[__name__ job]" {
		t.Fatalf("label names: %+v %v", names, err)
	}
	r, err := src.QueryRange(ctx, `sum(up)`, telemetry.Range{Start: now.Add(-2 * time.Minute), End: now, Step: 15 * time.Second})
	if err != nil || len(r.Matrix()) != 1 || r.Matrix()[0].Floats[len(r.Matrix()[0].Floats)-1].F != 2 {
		t.Fatalf("range: %+v %v", r, err)
	}
	if _, err := src.Query(ctx, `sum(`, now); !telemetry.IsBadRequest(err) {
		t.Fatalf("a query that does not parse is the caller's error: %v", err)
	}
	noAuth, _ := telemetry.NewRemote("sextant", e.http.URL, telemetry.RemoteOptions{Attempts: 1})
	if res, err := noAuth.Query(ctx, "up", now); err != nil || res.Status != telemetry.Unavailable {
		t.Fatalf("without a token: %+v %v", res, err)
	}
}

func labelsFor(name string, kv ...string) labels.Labels {
	return labels.FromStrings(append([]string{"__name__", name}, kv...)...)
}
