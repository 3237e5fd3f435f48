package playback

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/sim"
	"github.com/sextant-sre/sextant/internal/telemetry"
)

func TestBackfillWritesMetricsLogsAndChanges(t *testing.T) {
	dir := t.TempDir()
	logs, err := logstore.Open(filepath.Join(dir, "logs"), logstore.Options{Retention: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	s, live := historySim(t, 1, sim.ReferenceOnset(1), 3*time.Hour)
	var recorded []changes.Change
	st, err := Backfill(context.Background(), s, live, History{MetricsDir: filepath.Join(dir, "metrics"), Logs: logs,
		Changes: func(_ context.Context, c changes.Change) error { recorded = append(recorded, c); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if st.Steps != int(3*time.Hour/sim.StepSize) || st.Blocks < 1 || st.Lines == 0 || st.Samples == 0 {
		t.Fatalf("stats: %+v", st)
	}
	if !s.Now().Equal(live) {
		t.Fatalf("the world stopped at %v, not at the live start %v", s.Now(), live)
	}
	// The blocks are picked up when the store opens, and answer PromQL.
	db, err := telemetry.OpenEmbedded("embedded", filepath.Join(dir, "metrics"), telemetry.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(context.Background(), `sum(rate(journey_requests_total[5m]))`, live.Add(-time.Hour))
	if err != nil || res.Status != telemetry.OK || !strings.Contains(res.Value.String(), "=>") {
		t.Fatalf("query over the history: %v %+v", err, res)
	}
	lines, err := logs.Select(context.Background(), logstore.Query{Start: live.Add(-3 * time.Hour), End: live, Limit: 10})
	if err != nil || len(lines) != 10 {
		t.Fatalf("history logs: %d lines, %v", len(lines), err)
	}
	// Routine deploys of those hours, each as the intake records it.
	for _, c := range recorded {
		if c.Source == "" || c.Service == "" || c.Time.Before(live.Add(-3*time.Hour)) || c.Time.After(live) {
			t.Fatalf("change: %+v", c)
		}
	}
}

func TestExportIsByteForByteDeterministic(t *testing.T) {
	export := func(seed uint64) string {
		sc, err := sim.Build(4, sim.ReferenceOnset(4), seed)
		if err != nil {
			t.Fatal(err)
		}
		live := sc.Onset.Add(-2 * time.Minute)
		sc = sc.WithRoutineChanges(seed, live.Add(-24*time.Hour), sc.Onset.Add(3*time.Minute))
		s, err := sim.New(sim.DefaultWorld(), sc, seed, sc.WarmupStart(live))
		if err != nil {
			t.Fatal(err)
		}
		earlier := s.Advance(live)
		dir := filepath.Join(t.TempDir(), "out")
		if _, err := Export(context.Background(), sim.NewStream(s, sim.JSON), sc.Truth, dir, ExportOptions{Until: sc.Onset.Add(3 * time.Minute),
			Earlier: earlier, Interventions: []Timed{{At: sc.Onset.Add(2 * time.Minute), Intervention: sim.Intervention{Kind: sim.Restart, Target: "search-2"}}}}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a, b, c := export(5), export(5), export(6)
	files := func(dir string) map[string][]byte {
		out := map[string][]byte{}
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				raw, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				out[rel] = raw
			}
			return nil
		})
		return out
	}
	fa, fb, fc := files(a), files(b), files(c)
	if len(fa) < 20 || len(fa) != len(fb) {
		t.Fatalf("%d and %d files", len(fa), len(fb))
	}
	for name, raw := range fa {
		if !bytes.Equal(raw, fb[name]) {
			t.Fatalf("%s differs between two exports of the same seed", name)
		}
	}
	if bytes.Equal(fa["manifest.jsonl"], fc["manifest.jsonl"]) && bytes.Equal(fa["deliveries/000010.json.gz"], fc["deliveries/000010.json.gz"]) {
		t.Fatal("another seed gives the same export")
	}
	var truth struct {
		sim.Truth
		Applied []sim.AppliedIntervention `json:"interventions_applied"`
	}
	if err := json.Unmarshal(fa["truth.json"], &truth); err != nil || truth.RootCause.Name != "search-2" || len(truth.Applied) != 1 {
		t.Fatalf("truth.json: %v %+v", err, truth)
	}
	if _, err := Export(context.Background(), nil, sim.Truth{}, a, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("exporting over an export: %v", err)
	}
	entries, err := ReadManifest(a)
	if err != nil || len(entries) != len(fa)-2 {
		t.Fatalf("manifest: %v, %d entries", err, len(entries))
	}
}

// TestReplaySendsEveryDeliveryShifted plays an export into a recording server: a stand-in for
// Sextant here (the real one is played into by the command's test).
func TestReplaySendsEveryDeliveryShifted(t *testing.T) {
	sc, err := sim.Build(3, sim.ReferenceOnset(3), 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.DefaultWorld(), sc, 1, sc.Onset.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "x")
	if _, err := Export(context.Background(), sim.NewStream(s, sim.JSON), sc.Truth, dir, ExportOptions{Until: sc.Onset.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	entries, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{}
	var flagBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		got[r.URL.Path]++
		if r.URL.Path == "/api/intake/unleash" {
			flagBody = body
		}
	}))
	defer srv.Close()
	shift := ShiftToNow(entries, time.Now())
	if err := Replay(context.Background(), dir, entries, &Sender{BaseURL: srv.URL, Token: "tok"}, ReplayOptions{Shift: shift}); err != nil {
		t.Fatal(err)
	}
	if got["/v1/metrics"] != 8 || got["/api/intake/unleash"] != 1 {
		t.Fatalf("deliveries: %v", got)
	}
	var flag struct {
		CreatedAt time.Time `json:"createdAt"`
	}
	json.Unmarshal(flagBody, &flag)
	if d := flag.CreatedAt.Sub(sc.Onset); d < shift-time.Second || d > shift+time.Second {
		t.Fatalf("the flag's time moved by %v, want %v", d, shift)
	}
}

func TestShiftTimes(t *testing.T) {
	const d = 90 * time.Minute
	for _, c := range []struct{ in, want string }{
		{`{"timeUnixNano":"1000","startTimeUnixNano":1000}`, `{"startTimeUnixNano":5400000001000,"timeUnixNano":"5400000001000"}`},
		{`{"time":"2026-04-13T10:00:00Z","x":["2026-04-13T10:00:00.5Z"]}`, `{"time":"2026-04-13T11:30:00Z","x":["2026-04-13T11:30:00.5Z"]}`},
		{`{"endsAt":"0001-01-01T00:00:00Z","n":"not a time","v":1.5}`, `{"endsAt":"0001-01-01T00:00:00Z","n":"not a time","v":1.5}`},
	} {
		out, err := ShiftTimes([]byte(c.in), d)
		if err != nil || string(out) != c.want {
			t.Errorf("%s: %s %v, want %s", c.in, out, err, c.want)
		}
	}
	if _, err := ShiftTimes([]byte(`{"a":`), d); err == nil {
		t.Error("broken JSON must be refused")
	}
}

func TestSenderSignsRetriesAndDoesNotRetryRefusals(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/github":
			if err := changes.VerifyGitHub(r.Header.Get("X-Hub-Signature-256"), body, []byte("s3cret")); err != nil || r.Header.Get("Authorization") != "" {
				w.WriteHeader(401)
			}
		case "/flaky":
			if n == 1 {
				w.WriteHeader(503)
			}
		case "/bad":
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid request"}`)
		}
	}))
	defer srv.Close()
	s := &Sender{BaseURL: srv.URL, Token: "t", GitHubSecret: "s3cret", Retries: 2}
	ctx := context.Background()
	if err := s.Send(ctx, sim.Delivery{Path: "/github", Sign: "github", Body: []byte(`{}`)}); err != nil {
		t.Fatalf("signed delivery: %v", err)
	}
	calls.Store(0)
	if err := s.Send(ctx, sim.Delivery{Path: "/flaky", Body: []byte(`{}`)}); err != nil || calls.Load() != 2 {
		t.Fatalf("a 503 is retried: %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	err := s.Send(ctx, sim.Delivery{Path: "/bad", Body: []byte(`{}`)})
	if !IsRefused(err) || calls.Load() != 1 || !strings.Contains(err.Error(), "invalid request") {
		t.Fatalf("a 400 is not retried and says why: %v after %d calls", err, calls.Load())
	}
	if err := (&Sender{BaseURL: srv.URL}).Send(ctx, sim.Delivery{Path: "/github", Sign: "github"}); err == nil {
		t.Fatal("a GitHub delivery without a secret must fail")
	}
}

// TestPlayerNeverSendsTheFuture plays a world that starts a minute in the past at 60x: it
// catches up within a few steps and from then on sends each step only once its time has come.
func TestPlayerNeverSendsTheFuture(t *testing.T) {
	sc, err := sim.Build(1, time.Now().Add(time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.DefaultWorld(), sc, 1, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var early []string
	metrics := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/v1/metrics" {
			metrics++
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Player{Stream: sim.NewStream(s, sim.Protobuf), Speed: 60, Sender: &Sender{BaseURL: srv.URL, Token: "t"},
		OnFrame: func(f sim.Frame) {
			if f.Time.After(time.Now()) {
				mu.Lock()
				early = append(early, f.Time.String())
				mu.Unlock()
			}
			if f.Time.After(time.Now().Add(-sim.StepSize)) {
				cancel() // caught up
			}
		}}
	p.Intervene(sim.Intervention{Kind: sim.ScaleOut, Target: "search"})
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(early) > 0 || metrics < 3 {
		t.Fatalf("%d steps sent, %v before their time", metrics, early)
	}
	if a := s.Applied(); len(a) != 1 || a[0].Kind != sim.ScaleOut {
		t.Fatalf("the queued intervention was not applied: %+v", a)
	}
	if err := (&Player{Speed: 61}).Run(context.Background()); err == nil {
		t.Fatal("speed above 60 must be refused")
	}
}
