// Package server owns Sextant's HTTP surface: the JSON API, the live streams, authentication and
// authorisation by role, the operational endpoints (/healthz, /readyz, /metrics) and the embedded
// web UI.
package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sextant-sre/sextant/internal/alerts"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/config"
	"github.com/sextant-sre/sextant/internal/live"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/promapi"
	"github.com/sextant-sre/sextant/internal/store"
	"github.com/sextant-sre/sextant/internal/telemetry"
)

// Deps are what the server is built from.
type Deps struct {
	Store  store.Store
	Hub    *live.Hub
	Logger *slog.Logger
	Config config.Server
	// Origin says where each setting came from, for GET /api/config.
	Origin   config.Origin
	Registry *prometheus.Registry
	// UI is the embedded web UI (index.html and static files).
	UI fs.FS
	// Metrics is the embedded metrics store, served through the Prometheus query API.
	Metrics telemetry.Metrics
	// RemoteWrite receives Prometheus remote write into the embedded store.
	RemoteWrite http.Handler
	// OTLPMetrics receives OTLP metrics over HTTP into the embedded store.
	OTLPMetrics http.Handler
	// Logs is the embedded log store; OTLPLogs receives OTLP logs over HTTP into it.
	Logs     *logstore.Store
	OTLPLogs http.Handler
	// OTLPTraces receives OTLP traces over HTTP into the service graph.
	OTLPTraces http.Handler
	// Sources are the telemetry sources by name.
	Sources *telemetry.Registry
	// Alerts acts on alert webhooks.
	Alerts *alerts.Service
	// Simulator is the demo's simulated world (nil outside the demo).
	Simulator Simulator
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server handles Sextant's HTTP requests.
type Server struct {
	Deps
	routes  []route
	handler http.Handler
	mux     *http.ServeMux
	metrics *metrics
	ui      *uiHandler
	// projections caches state cards, brought up to date incrementally.
	projections *projections
	// runs keeps one diagnosis run per incident at a time.
	runs analysisRuns

	closeOnce sync.Once
	closing   chan struct{} // closed on shutdown: live streams end so the server can stop
}

// route is one endpoint and the least role it requires ("" for public endpoints, signed for
// webhooks that authenticate each delivery by its signature instead of a token).
type route struct {
	method, pattern string
	role            auth.Role
	handler         http.HandlerFunc
}

// signed marks routes whose deliveries carry an HMAC signature checked by the handler.
const signed auth.Role = "signed"

// New builds the server and its routes.
func New(d Deps) (*Server, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	s := &Server{Deps: d, closing: make(chan struct{}), projections: newProjections()}
	var err error
	if s.ui, err = newUIHandler(d.UI); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(d.Registry, d.Hub)
	prom := &promapi.API{Source: d.Metrics, Now: d.Now}
	s.routes = []route{
		{"GET", "/healthz", "", s.healthz},
		{"GET", "/readyz", "", s.readyz},
		{"GET", "/metrics", auth.Viewer, s.metrics.handler(d.Registry)},
		{"GET", "/api/openapi.json", "", s.openapi},

		{"POST", "/api/session", "", s.login},
		{"DELETE", "/api/session", auth.Viewer, s.logout},
		{"GET", "/api/me", auth.Viewer, s.me},

		{"GET", "/api/incidents", auth.Viewer, s.listIncidents},
		{"POST", "/api/incidents", auth.Responder, s.declare},
		{"GET", "/api/incidents/{id}", auth.Viewer, s.getState},
		{"GET", "/api/incidents/{id}/events", auth.Viewer, s.listEvents},
		{"POST", "/api/incidents/{id}/events", auth.Responder, s.appendEvents},
		{"GET", "/api/incidents/{id}/catchup", auth.Viewer, s.catchUp},
		{"POST", "/api/incidents/{id}/analysis", auth.Responder, s.analyze},
		{"GET", "/api/incidents/{id}/analysis", auth.Viewer, s.analysisStatus},
		{"GET", "/api/incidents/{id}/stream", auth.Viewer, s.incidentStream},
		{"GET", "/api/stream", auth.Viewer, s.listStream},

		{"GET", "/api/tokens", auth.Admin, s.listTokens},
		{"POST", "/api/tokens", auth.Admin, s.createToken},
		{"DELETE", "/api/tokens/{id}", auth.Admin, s.revokeToken},
		{"GET", "/api/config", auth.Admin, s.getConfig},

		// The Prometheus-compatible query API over the embedded store, and remote write into it.
		{"GET", "/api/v1/query", auth.Viewer, s.prom(prom.Query)},
		{"POST", "/api/v1/query", auth.Viewer, s.prom(prom.Query)},
		{"GET", "/api/v1/query_range", auth.Viewer, s.prom(prom.QueryRange)},
		{"POST", "/api/v1/query_range", auth.Viewer, s.prom(prom.QueryRange)},
		{"GET", "/api/v1/series", auth.Viewer, s.prom(prom.Series)},
		{"POST", "/api/v1/series", auth.Viewer, s.prom(prom.Series)},
		{"GET", "/api/v1/labels", auth.Viewer, s.prom(prom.Labels)},
		{"POST", "/api/v1/labels", auth.Viewer, s.prom(prom.Labels)},
		{"GET", "/api/v1/label/{name}/values", auth.Viewer, s.prom(prom.LabelValues)},
		{"POST", "/api/v1/write", auth.Responder, s.intake(func() http.Handler { return s.RemoteWrite })},
		{"POST", "/v1/metrics", auth.Responder, s.intake(func() http.Handler { return s.OTLPMetrics })},
		{"POST", "/v1/logs", auth.Responder, s.intake(func() http.Handler { return s.OTLPLogs })},
		{"POST", "/v1/traces", auth.Responder, s.intake(func() http.Handler { return s.OTLPTraces })},
		{"GET", "/api/edges", auth.Viewer, s.listEdges},
		{"GET", "/api/logs", auth.Viewer, s.queryLogs},
		{"GET", "/api/logs/patterns", auth.Viewer, s.logPatterns},

		// Alert webhooks.
		{"POST", "/api/intake/alertmanager", auth.Responder, s.alertWebhook("alertmanager")},
		{"POST", "/api/intake/grafana", auth.Responder, s.alertWebhook("grafana")},

		{"GET", "/api/sources", auth.Viewer, s.listSources},

		// Changes.
		{"GET", "/api/changes", auth.Viewer, s.listChanges},
		{"POST", "/api/intake/changes", auth.Responder, s.intakeChanges},
		{"POST", "/api/intake/cloudevents", auth.Responder, s.intakeCloudEvent},
		{"POST", "/api/intake/unleash", auth.Responder, s.intakeUnleash},
		{"POST", "/api/intake/github", signed, s.intakeGitHub},
		{"POST", "/api/intake/launchdarkly", signed, s.intakeLaunchDarkly},

		{"GET", "/api/sim", auth.Viewer, s.simStatus},
		{"POST", "/api/sim/interventions", auth.Responder, s.simIntervene},
	}
	mux := http.NewServeMux()
	s.mux = mux
	for _, rt := range s.routes {
		h := http.Handler(rt.handler)
		if rt.role != "" && rt.role != signed {
			h = s.require(rt.role, h)
		}
		mux.Handle(rt.method+" "+rt.pattern, h)
	}
	mux.Handle("/api/", http.HandlerFunc(s.notFound))
	mux.Handle("GET /static/", s.ui.static())
	mux.Handle("GET /{$}", s.ui.index())
	for _, p := range uiPages {
		mux.Handle("GET "+p, s.ui.index())
	}
	// Cross-origin protection rejects state-changing browser requests from other origins (by
	// Sec-Fetch-Site and Origin); with SameSite=Strict cookies and JSON-only bodies this makes the
	// cookie-authenticated API safe from CSRF.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusForbidden, errorBody{Error: "cross-origin request refused", Detail: "state-changing requests must come from Sextant's own pages"})
	}))
	s.handler = s.observe(s.recoverPanics(s.authenticate(csrf.Handler(mux))))
	s.watchForAnalysis()
	return s, nil
}

// Handler is the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends the live streams; call it when shutting the HTTP server down (http.Server's
// RegisterOnShutdown), so that Shutdown does not wait for them.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closing) }) }

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, s.Logger, &apiError{status: http.StatusNotFound, body: errorBody{Error: "not found", Detail: "no endpoint " + r.Method + " " + r.URL.Path}})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is ready when the store answers and the server is not shutting down.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.closing:
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "shutting down"})
		return
	default:
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "store unavailable", Detail: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// prom serves a Prometheus query endpoint, or says clearly that there is no metrics store.
func (s *Server) prom(h func(http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Metrics == nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "error", "errorType": "unavailable", "error": "no metrics store is configured"})
			return
		}
		h(w, r)
	}
}

// intake serves a telemetry receiver, or says clearly that there is no store behind it.
func (s *Server) intake(h func() http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h() == nil {
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "no store is configured for this intake"})
			return
		}
		h().ServeHTTP(w, r)
	}
}

// listSources answers each telemetry source's health, asked of all at once within a few seconds:
// one dead source shows as unavailable and never holds up the answer.
func (s *Server) listSources(w http.ResponseWriter, r *http.Request) {
	if s.Sources == nil {
		writeJSON(w, http.StatusOK, map[string]any{"sources": []telemetry.Answer{}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sources": s.Sources.Health(r.Context(), 3*time.Second)})
}

// listEdges answers the service dependency edges of a window (default 5 minutes) from a source
// (default the embedded one).
func (s *Server) listEdges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	window := 5 * time.Minute
	if v := q.Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 7*24*time.Hour {
			writeError(w, r, s.Logger, badRequest("window", "%q is not a duration from 1s to 168h", v))
			return
		}
		window = d
	}
	name := q.Get("source")
	if name == "" {
		name = "embedded"
	}
	var src telemetry.Source
	if s.Sources != nil {
		src, _ = s.Sources.Get(name)
	}
	if src == nil {
		writeError(w, r, s.Logger, badRequest("source", "no source named %q", name))
		return
	}
	res, err := src.Edges(r.Context(), s.Now(), window)
	if err != nil {
		if telemetry.IsBadRequest(err) {
			err = badRequest("window", "%v", err)
		}
		writeError(w, r, s.Logger, err)
		return
	}
	if res.Edges == nil {
		res.Edges = []telemetry.EdgeRate{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"source": res.Answer, "edges": res.Edges, "window": window.String()})
}
