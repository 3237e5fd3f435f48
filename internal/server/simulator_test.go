package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/sim"
)

// world is a simulated world as the server sees it: the real simulator, stepped by nobody.
type world struct{ s *sim.Sim }

func (w world) Status() SimStatus {
	return SimStatus{Scenario: w.s.Scenario.Number, Name: w.s.Scenario.Name, Now: w.s.Now().Format(time.RFC3339), Kinds: sim.InterventionKinds, Interventions: w.s.Applied()}
}

func (w world) Intervene(iv sim.Intervention) error {
	if err := w.s.Check(iv); err != nil {
		return err
	}
	return w.s.Apply(iv)
}

func TestSimulatorAPI(t *testing.T) {
	e := newEnv(t)
	if code, raw := e.do("GET", "/api/sim", auth.Viewer, nil, nil); code != http.StatusNotFound || !strings.Contains(string(raw), "sextant demo") {
		t.Fatalf("without a simulator: %d %s", code, raw)
	}
	sc, err := sim.Build(4, sim.ReferenceOnset(4), 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.DefaultWorld(), sc, 1, sc.Onset)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Simulator = world{s}
	var st SimStatus
	if code, raw := e.do("GET", "/api/sim", auth.Viewer, nil, &st); code != http.StatusOK || st.Name != "hot-container" {
		t.Fatalf("status: %d %s", code, raw)
	}
	for _, c := range []struct {
		role auth.Role
		body string
		code int
		want string
	}{
		{auth.Viewer, `{"kind":"restart","target":"search-2"}`, http.StatusForbidden, ""},
		{auth.Responder, `{"kind":"restart"}`, http.StatusBadRequest, "target"},
		{auth.Responder, `{"kind":"restart","target":"search-2","why":"x"}`, http.StatusBadRequest, "why"},
		{auth.Responder, `{"kind":"reboot","target":"search-2"}`, http.StatusBadRequest, "unknown intervention"},
		{auth.Responder, `{"kind":"rollback","target":"nope"}`, http.StatusBadRequest, "no service"},
		{auth.Responder, `{"kind":"restart","target":"search-2"}`, http.StatusAccepted, "search-2"},
	} {
		code, raw := e.do("POST", "/api/sim/interventions", c.role, c.body, nil)
		if code != c.code || !strings.Contains(string(raw), c.want) {
			t.Errorf("%s as %s: %d %s", c.body, c.role, code, raw)
		}
	}
	if a := s.Applied(); len(a) != 1 || a[0].Target != "search-2" {
		t.Fatalf("applied: %+v", a)
	}
}
