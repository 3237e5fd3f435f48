package server

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sextant-sre/sextant/internal/live"
)

// metrics are Sextant's own, served at /metrics.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	appended prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, hub *live.Hub) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sextant_http_requests_total", Help: "HTTP requests by route, method and status code."}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sextant_http_request_duration_seconds", Help: "HTTP request latency by route (live streams excluded).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route"}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{Name: "sextant_events_appended_total", Help: "Events appended to incident logs through the API."}),
	}
	reg.MustRegister(m.requests, m.duration, m.appended,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sextant_live_subscribers", Help: "Open live-stream subscriptions."}, func() float64 { return float64(hub.Count()) }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler(reg *prometheus.Registry) http.HandlerFunc {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return h.ServeHTTP
}

// statusRecorder remembers the status code for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (to flush streams).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe logs and counts every request. It logs the path but never headers or bodies, which may
// carry secrets.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		// The mux sets Pattern on the request copy it serves, not on this one: ask it again.
		_, route := s.mux.Handler(r)
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.code)).Inc()
		streaming := rec.Header().Get("Content-Type") == "text/event-stream"
		if !streaming {
			s.metrics.duration.WithLabelValues(route).Observe(elapsed.Seconds())
		}
		level := slog.LevelDebug
		if rec.code >= 500 {
			level = slog.LevelError
		} else if r.Method != http.MethodGet || rec.code >= 400 {
			level = slog.LevelInfo
		}
		s.Logger.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "route", route, "code", rec.code, "ms", elapsed.Milliseconds())
	})
}

// recoverPanics turns a handler's panic into a 500 and a log line with the stack.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error", Detail: "see the server log"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
