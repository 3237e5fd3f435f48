package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sextant-sre/sextant/internal/alerts"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/config"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/intake"
	"github.com/sextant-sre/sextant/internal/live"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/servicegraph"
	"github.com/sextant-sre/sextant/internal/store"
	"github.com/sextant-sre/sextant/internal/telemetry"
	"github.com/sextant-sre/sextant/internal/web"
)

// testEnv is a real server over a real SQLite file, served by httptest on loopback.
type testEnv struct {
	t      testing.TB
	graph  *servicegraph.Graph
	srv    *Server
	http   *httptest.Server
	store  *store.SQLite
	tokens map[auth.Role]string
}

func newEnv(t testing.TB, tweak ...func(*config.Server)) *testEnv {
	t.Helper()
	hub := live.NewHub()
	st, err := store.OpenSQLite(context.Background(), t.TempDir(), store.Options{OnCommit: hub.Publish})
	if err != nil {
		t.Fatal(err)
	}
	var c config.Server
	fs := newFlagSet()
	c.Register(fs)
	// Tests count and condition their appends; the one that tests the diagnosis turns it on.
	c.AutoAnalysis = false
	for _, f := range tweak {
		f(&c)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	metrics, err := telemetry.OpenEmbedded("embedded", t.TempDir(), telemetry.EmbeddedOptions{OutOfOrderWindow: c.MetricsOOOWindow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { metrics.Close() })
	logs, err := logstore.Open(t.TempDir(), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close() })
	graph := servicegraph.New(time.Minute)
	srv, err := New(Deps{Store: st, Hub: hub, Logger: logger, Config: c, Origin: config.Origin{}, UI: web.FS(),
		Metrics: metrics, RemoteWrite: intake.RemoteWriteFast(logger, nil, metrics.Storage(), c.MaxIntakeBytes),
		OTLPMetrics: intake.OTLPMetrics(logger, metrics.Storage(), c.MaxIntakeBytes),
		Logs:        logs, OTLPLogs: intake.OTLPLogs(logs, c.MaxIntakeBytes), OTLPTraces: intake.OTLPTraces(graph, c.MaxIntakeBytes),
		Alerts:  &alerts.Service{Store: st, Routes: alerts.DefaultRoutes()},
		Sources: telemetry.NewRegistry(telemetry.Local{Metrics: metrics, Records: st, LogStore: logs})})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	hs.Config.RegisterOnShutdown(srv.Close)
	e := &testEnv{t: t, graph: graph, srv: srv, http: hs, store: st, tokens: map[auth.Role]string{}}
	for _, r := range auth.Roles {
		secret, _, err := auth.IssueToken(context.Background(), st, uuid.Must(uuid.NewV7()).String(), string(r)+"-user", r, incident.ActorPerson, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[r] = secret
	}
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		st.Close()
	})
	return e
}

// do sends a request as the given role ("" for none) and decodes a JSON answer into out (if not
// nil). It returns the status code and the raw body.
func (e *testEnv) do(method, path string, role auth.Role, body any, out any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		case []byte:
			rd = bytes.NewReader(b)
		default:
			raw, _ := json.Marshal(b)
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return res.StatusCode, raw
}

// declare declares an incident through the API and returns its id.
func (e *testEnv) declare(title string) string {
	e.t.Helper()
	var res appendResponse
	code, raw := e.do("POST", "/api/incidents", auth.Responder, map[string]any{"title": title, "severity": "SEV2"}, &res)
	if code != http.StatusCreated {
		e.t.Fatalf("declare: %d %s", code, raw)
	}
	return res.Incident.ID
}

// otlpGRPC serves OTLP over gRPC (metrics, logs and traces) on a loopback port until the test
// ends, and returns its address.
func (e *testEnv) otlpGRPC(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := intake.NewGRPCServer(slog.New(slog.DiscardHandler), e.store, 4<<20, e.srv.Metrics.(*telemetry.Embedded).Storage(), e.srv.Logs, e.graph)
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	return ln.Addr().String()
}
