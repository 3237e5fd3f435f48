package server

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/sextant-sre/sextant/internal/sim"
)

// Simulator is the simulated world the demo runs: what it is, and the interventions responders
// make on it.
type Simulator interface {
	// Status says which scenario runs and what has been done to it; never the truth.
	Status() SimStatus
	// Intervene acts on the world; a bad intervention is an error naming what is wrong.
	Intervene(iv sim.Intervention) error
}

// SimStatus is what GET /api/sim answers.
type SimStatus struct {
	Scenario      int                       `json:"scenario"`
	Name          string                    `json:"name"`
	Title         string                    `json:"title"`
	Seed          uint64                    `json:"seed"`
	Speed         float64                   `json:"speed"`
	Now           string                    `json:"now"`
	Kinds         []sim.InterventionKind    `json:"intervention_kinds"`
	Interventions []sim.AppliedIntervention `json:"interventions"`
	Queued        []sim.Intervention        `json:"queued,omitempty"`
}

func (s *Server) noSimulator(w http.ResponseWriter, r *http.Request) bool {
	if s.Simulator != nil {
		return false
	}
	writeError(w, r, s.Logger, &apiError{status: http.StatusNotFound, body: errorBody{Error: "no simulator",
		Detail: "only sextant demo runs the simulated world"}})
	return true
}

func (s *Server) simStatus(w http.ResponseWriter, r *http.Request) {
	if s.noSimulator(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, s.Simulator.Status())
}

// simIntervene takes {"kind": "rollback", "target": "search-indexer"}.
func (s *Server) simIntervene(w http.ResponseWriter, r *http.Request) {
	if s.noSimulator(w, r) {
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	var iv sim.Intervention
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&iv); err != nil {
		writeError(w, r, s.Logger, badRequest("", "an intervention is {\"kind\", \"target\"}: %v", err))
		return
	}
	if iv.Kind == "" || iv.Target == "" {
		writeError(w, r, s.Logger, badRequest("kind", "kind and target are required"))
		return
	}
	if err := s.Simulator.Intervene(iv); err != nil {
		writeError(w, r, s.Logger, badRequest("", "%v", err))
		return
	}
	writeJSON(w, http.StatusAccepted, s.Simulator.Status())
}
