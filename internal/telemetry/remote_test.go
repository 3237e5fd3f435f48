package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A scripted Prometheus API: the real-server tests live in internal/server (against Debian's
// Prometheus); this one scripts failures that a real server cannot be made to produce on cue.
func scripted(t *testing.T, answers ...func(w http.ResponseWriter)) (*Remote, *atomic.Int32) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1)) - 1
		answers[min(n, len(answers)-1)](w)
	}))
	t.Cleanup(ts.Close)
	r, err := NewRemote("scripted", ts.URL, RemoteOptions{Timeout: 300 * time.Millisecond, Attempts: 3, Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return r, &calls
}

func status(code int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprint(w, body)
	}
}

const okVector = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1700000000,"3"]}]}}`

func TestRemoteRetriesThenAnswers(t *testing.T) {
	cases := []struct {
		name     string
		answers  []func(http.ResponseWriter)
		status   Status
		calls    int32
		badQuery bool
	}{
		{"ok at once", []func(http.ResponseWriter){status(200, okVector)}, OK, 1, false},
		{"503 then ok", []func(http.ResponseWriter){status(503, `{}`), status(200, okVector)}, OK, 2, false},
		{"always 500", []func(http.ResponseWriter){status(500, `{}`)}, Unavailable, 3, false},
		{"too slow", []func(http.ResponseWriter){func(w http.ResponseWriter) { time.Sleep(time.Second) }}, Unavailable, 3, false},
		{"warnings mean partial", []func(http.ResponseWriter){status(200, `{"status":"success","warnings":["store eu-1 did not answer"],"data":{"resultType":"vector","result":[]}}`)}, Partial, 1, false},
		{"bad query is not retried", []func(http.ResponseWriter){status(400, `{"status":"error","errorType":"bad_data","error":"parse error"}`)}, "", 1, true},
		{"401 is not retried", []func(http.ResponseWriter){status(401, `unauthorized`)}, Unavailable, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, calls := scripted(t, tc.answers...)
			res, err := r.Query(context.Background(), "up", time.Unix(1700000000, 0))
			if tc.badQuery {
				if !IsBadRequest(err) {
					t.Fatalf("want a bad-request error, got %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status || calls.Load() != tc.calls {
				t.Fatalf("status %q after %d calls, want %q after %d (%+v)", res.Status, calls.Load(), tc.status, tc.calls, res)
			}
			if res.Status == Unavailable && (res.Value != nil || res.Reason == "") {
				t.Fatalf("an unavailable answer must carry no data and a reason: %+v", res)
			}
			if tc.status == OK && (len(res.Vector()) != 1 || res.Vector()[0].F != 3) {
				t.Fatalf("value: %+v", res.Value)
			}
		})
	}
}

func TestRemoteStopsWhenTheCallerGivesUp(t *testing.T) {
	r, _ := scripted(t, status(503, `{}`))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	r.opt.Backoff = time.Second
	if _, err := r.Query(ctx, "up", time.Now()); err == nil {
		t.Fatal("a cancelled caller must get its context's error")
	}
}

func TestRangeLimits(t *testing.T) {
	now := time.Now()
	cases := []struct {
		r  Range
		ok bool
	}{
		{Range{now.Add(-time.Hour), now, 15 * time.Second}, true},
		{Range{now, now.Add(-time.Hour), 15 * time.Second}, false},
		{Range{now.Add(-time.Hour), now, 0}, false},
		{Range{now.Add(-30 * 24 * time.Hour), now, time.Second}, false},
	}
	for _, c := range cases {
		if err := checkRange(c.r); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.r, err)
		}
	}
}
