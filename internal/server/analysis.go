package server

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/sextant-sre/sextant/internal/analyzer"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

// The diagnosis runs on request (POST /api/incidents/{id}/analysis) and by itself when an
// incident is declared or an alert is attached to it, and every few minutes for the open
// incidents of the last hours, as new data arrives: findings are posted into the incident log
// as the analyzer, each re-run superseding the previous run's findings.

// analysisTimeout bounds one run: a slow source degrades the run, it does not hang it.
const analysisTimeout = time.Minute

// analysisRuns keeps one run per incident at a time.
type analysisRuns struct {
	mu      sync.Mutex
	running map[string]bool
}

func (a *analysisRuns) start(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running == nil {
		a.running = map[string]bool{}
	}
	if a.running[id] {
		return false
	}
	a.running[id] = true
	return true
}

func (a *analysisRuns) done(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.running, id)
}

func (s *Server) analyzer() *analyzer.Analyzer {
	if s.Sources == nil {
		return nil
	}
	src, ok := s.Sources.Get("embedded")
	if !ok {
		return nil
	}
	return &analyzer.Analyzer{Source: src, Config: analyzer.DefaultConfig}
}

type analysisResponse struct {
	Onset       time.Time          `json:"onset"`
	Findings    []incident.Finding `json:"findings"`
	NotExamined []string           `json:"not_examined"`
	// Posted is how many events the run appended (new, superseding or retracting findings).
	Posted int `json:"posted"`
}

func (s *Server) analyze(w http.ResponseWriter, r *http.Request) {
	a := s.analyzer()
	if a == nil {
		writeError(w, r, s.Logger, &apiError{status: http.StatusServiceUnavailable, body: errorBody{Error: "analysis unavailable", Detail: "no telemetry source to analyse"}})
		return
	}
	id := r.PathValue("id")
	if !s.runs.start(id) {
		writeError(w, r, s.Logger, &apiError{status: http.StatusConflict, body: errorBody{Error: "analysis already running", Detail: "an analysis of this incident is under way; its findings will appear in the log"}})
		return
	}
	defer s.runs.done(id)
	ctx, cancel := context.WithTimeout(r.Context(), analysisTimeout)
	defer cancel()
	run, events, err := a.Post(ctx, s.Store, id, s.Now())
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	s.metrics.appended.Add(float64(len(events)))
	writeJSON(w, http.StatusOK, analysisResponse{Onset: run.Onset, Findings: nonNil(run.Findings), NotExamined: nonNil(run.NotExamined), Posted: len(events)})
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// watchForAnalysis runs the diagnosis when an incident is declared or an alert is attached,
// until the server closes.
func (s *Server) watchForAnalysis() {
	if !s.Config.AutoAnalysis || s.Hub == nil || s.analyzer() == nil {
		return
	}
	sub := s.Hub.Subscribe("", 1024)
	tick := time.NewTicker(reanalyseEvery)
	go func() {
		defer s.Hub.Unsubscribe(sub)
		defer tick.Stop()
		for {
			select {
			case <-s.closing:
				return
			case <-tick.C:
				s.reanalyseOpen()
			case c, ok := <-sub.C:
				if !ok {
					return
				}
				ev := c.Event
				if ev.Actor.Kind == incident.ActorAnalyzer {
					continue
				}
				if ev.Type != incident.TypeDeclared && ev.Type != incident.TypeSignalAttached {
					continue
				}
				s.analyseInBackground(ev.IncidentID)
			}
		}
	}()
}

// reanalyseEvery is how often the open incidents of the last hours are analysed again, as new
// data arrives; reanalyseFor how long after its declaration an incident is.
const (
	reanalyseEvery = 5 * time.Minute
	reanalyseFor   = 6 * time.Hour
)

// reanalyseOpen runs the diagnosis again for the open incidents declared in the last hours.
func (s *Server) reanalyseOpen() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open, err := s.Store.Incidents(ctx, store.Filter{Open: true, Limit: 50})
	if err != nil {
		s.Logger.Warn("list open incidents for analysis", "err", err)
		return
	}
	for _, h := range open {
		if s.Now().Sub(h.DeclaredAt) < reanalyseFor {
			s.analyseInBackground(h.ID)
		}
	}
}

// analyseInBackground runs the diagnosis of one incident unless one is already running.
func (s *Server) analyseInBackground(id string) {
	if !s.runs.start(id) {
		return
	}
	go func() {
		defer s.runs.done(id)
		ctx, cancel := context.WithTimeout(context.Background(), analysisTimeout)
		defer cancel()
		if _, _, err := s.analyzer().Post(ctx, s.Store, id, s.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.Logger.Warn("analysis failed", "incident", id, "err", err)
		}
	}()
}
