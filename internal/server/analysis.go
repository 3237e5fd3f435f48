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

// analysisRuns keeps one run per incident at a time, and tells the incident's live streams how
// far a run is.
type analysisRuns struct {
	mu       sync.Mutex
	running  map[string]AnalysisProgress
	watchers map[string]map[chan AnalysisProgress]struct{}
}

// AnalysisProgress is how far an incident's diagnosis run is: streamed to the room as it runs
// (the "analysis" event of the incident stream) and answered by GET /api/incidents/{id}/analysis.
type AnalysisProgress struct {
	Running   bool      `json:"running"`
	Stage     string    `json:"stage,omitempty"`
	Step      int       `json:"step,omitempty"`
	Steps     int       `json:"steps,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
}

func (a *analysisRuns) start(id string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running == nil {
		a.running = map[string]AnalysisProgress{}
	}
	if _, ok := a.running[id]; ok {
		return false
	}
	a.set(id, AnalysisProgress{Running: true, StartedAt: now})
	return true
}

// stage records and streams the stage a run has reached.
func (a *analysisRuns) stage(id, stage string, step, steps int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.running[id]
	p.Stage, p.Step, p.Steps = stage, step, steps
	a.set(id, p)
}

func (a *analysisRuns) done(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.set(id, AnalysisProgress{})
	delete(a.running, id)
}

// set records p and sends it to the incident's watchers; one too slow to take it misses it
// (progress is passing news: the findings themselves are in the log).
func (a *analysisRuns) set(id string, p AnalysisProgress) {
	if p.Running {
		a.running[id] = p
	}
	for w := range a.watchers[id] {
		select {
		case w <- p:
		default:
		}
	}
}

// progress is how far the incident's run is now.
func (a *analysisRuns) progress(id string) AnalysisProgress {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running[id]
}

// watch subscribes to an incident's progress; call the returned function to stop.
func (a *analysisRuns) watch(id string) (<-chan AnalysisProgress, func()) {
	c := make(chan AnalysisProgress, 16)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.watchers == nil {
		a.watchers = map[string]map[chan AnalysisProgress]struct{}{}
	}
	if a.watchers[id] == nil {
		a.watchers[id] = map[chan AnalysisProgress]struct{}{}
	}
	a.watchers[id][c] = struct{}{}
	return c, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		delete(a.watchers[id], c)
		if len(a.watchers[id]) == 0 {
			delete(a.watchers, id)
		}
	}
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

// analyzerFor is the analyzer for one run of an incident, its progress streamed to the room.
func (s *Server) analyzerFor(id string) *analyzer.Analyzer {
	a := s.analyzer()
	if a != nil {
		a.Progress = func(stage string, step, steps int) { s.runs.stage(id, stage, step, steps) }
	}
	return a
}

// analysisStatus answers how far the incident's diagnosis run is (running false when none is).
func (s *Server) analysisStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.Store.Incident(r.Context(), id); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, s.runs.progress(id))
}

type analysisResponse struct {
	Onset       time.Time          `json:"onset"`
	Findings    []incident.Finding `json:"findings"`
	NotExamined []string           `json:"not_examined"`
	// Posted is how many events the run appended (new, superseding or retracting findings).
	Posted int `json:"posted"`
}

func (s *Server) analyze(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a := s.analyzerFor(id)
	if a == nil {
		writeError(w, r, s.Logger, &apiError{status: http.StatusServiceUnavailable, body: errorBody{Error: "analysis unavailable", Detail: "no telemetry source to analyse"}})
		return
	}
	if !s.runs.start(id, s.Now()) {
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
	if !s.runs.start(id, s.Now()) {
		return
	}
	go func() {
		defer s.runs.done(id)
		ctx, cancel := context.WithTimeout(context.Background(), analysisTimeout)
		defer cancel()
		if _, _, err := s.analyzerFor(id).Post(ctx, s.Store, id, s.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.Logger.Warn("analysis failed", "incident", id, "err", err)
		}
	}()
}
