package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/config"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/telemetry"
)

// checkoutOutage writes eight hours of a journey metric in which employees' checkout starts
// failing 20 minutes ago, a flag change just before and a deploy just after; it returns the onset.
func checkoutOutage(t *testing.T, e *testEnv) time.Time {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Minute)
	onset := now.Add(-20 * time.Minute)
	app := e.srv.Metrics.(*telemetry.Embedded).Storage().Appender(ctx)
	for _, user := range []string{"public", "employee"} {
		for _, journey := range []string{"checkout", "browse"} {
			for _, outcome := range []string{"ok", "error"} {
				l := labels.FromStrings("__name__", "journey_requests_total", "journey", journey, "user_type", user, "outcome", outcome, "region", "eu")
				rate := 100.0
				if user == "employee" {
					rate = 5
				}
				total := 0.0
				for ts := now.Add(-8 * time.Hour); !ts.After(now); ts = ts.Add(15 * time.Second) {
					share := 0.002
					if journey == "checkout" && user == "employee" && !ts.Before(onset) {
						share = 0.6
					}
					if outcome == "ok" {
						share = 1 - share
					}
					total += rate * 15 * share
					if _, err := app.Append(0, l, ts.UnixMilli(), total); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []changes.Change{
		{ID: "flag-checkout-tax", Time: onset.Add(-time.Minute), Kind: changes.Flag, Flag: "checkout-new-tax", From: "off", To: "on for employees", Source: "api"},
		{ID: "deploy-cart", Time: onset.Add(time.Minute), Kind: changes.Deploy, Service: "cart", To: "2.0", Source: "api"},
	} {
		if _, err := e.store.RecordChange(ctx, c, c.Time); err != nil {
			t.Fatal(err)
		}
	}
	return onset
}

// TestAnalysisRunsWhenDeclared: with auto-analysis on, declaring the incident is enough for its
// findings to appear on the card.
func TestAnalysisRunsWhenDeclared(t *testing.T) {
	e := newEnv(t, func(c *config.Server) { c.AutoAnalysis = true })
	checkoutOutage(t, e)
	id := e.declare("Employees cannot check out")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var card stateResponse
		e.do("GET", "/api/incidents/"+id, auth.Viewer, nil, &card)
		if len(card.Findings) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no findings 20 s after the declaration")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAnalysisPostsFindingsOnce runs the diagnosis of checkoutOutage through the API and requires
// the impact, the cohort (employees) and the flag as the top candidate change, not the deploy
// after the onset; a second run posts nothing new; a viewer may not run it.
func TestAnalysisPostsFindingsOnce(t *testing.T) {
	e := newEnv(t)
	onset := checkoutOutage(t, e)
	id := e.declare("Employees cannot check out")

	if code, _ := e.do("POST", "/api/incidents/"+id+"/analysis", auth.Viewer, nil, nil); code != 403 {
		t.Fatalf("a viewer ran the analysis: %d", code)
	}
	var run analysisResponse
	code, raw := e.do("POST", "/api/incidents/"+id+"/analysis", auth.Responder, nil, &run)
	if code != 200 || run.Posted == 0 {
		t.Fatalf("%d %s", code, raw)
	}
	var titles []string
	for _, f := range run.Findings {
		titles = append(titles, string(f.Kind)+": "+f.Title)
	}
	all := strings.Join(titles, "\n")
	for _, want := range []string{"impact: checkout", "user_type=employee", "change: Candidate cause: flag checkout-new-tax"} {
		if !strings.Contains(all, want) {
			t.Errorf("no finding %q in:\n%s", want, all)
		}
	}
	if strings.Contains(all, "impact: browse") || strings.Contains(all, "deploy of cart") {
		t.Errorf("a journey that did not fail, or a change after the onset, among the findings:\n%s", all)
	}
	if d := run.Onset.Sub(onset); d < -2*time.Minute || d > 3*time.Minute {
		t.Errorf("onset found at %s, the failures began at %s", run.Onset, onset)
	}

	var again analysisResponse
	if code, raw := e.do("POST", "/api/incidents/"+id+"/analysis", auth.Responder, nil, &again); code != 200 || again.Posted != 0 {
		t.Fatalf("a second run over the same data posted %d events: %d %s", again.Posted, code, raw)
	}
	var card stateResponse
	e.do("GET", "/api/incidents/"+id, auth.Viewer, nil, &card)
	if len(card.Findings) != run.Posted {
		t.Fatalf("%d findings on the card, %d posted", len(card.Findings), run.Posted)
	}
	if f := card.Findings[0]; f.By.Kind != incident.ActorAnalyzer {
		t.Errorf("finding written by %+v", f.By)
	}
}

// TestAnalysisProgressIsStreamed: the room's live stream tells how far a run is, stage by stage,
// then that it is over; the progress events carry no id, so resuming is unaffected.
func TestAnalysisProgressIsStreamed(t *testing.T) {
	e := newEnv(t)
	checkoutOutage(t, e)
	id := e.declare("Employees cannot check out")
	c := e.subscribe(t, "/api/incidents/"+id+"/stream", auth.Viewer, "")
	defer c.cancel()
	if ev := c.next(t); ev.Event != "event" { // the declaration
		t.Fatalf("first %+v", ev)
	}
	var status AnalysisProgress
	if code, raw := e.do("GET", "/api/incidents/"+id+"/analysis", auth.Viewer, nil, &status); code != 200 || status.Running {
		t.Fatalf("status before any run: %d %s", code, raw)
	}
	if code, _ := e.do("POST", "/api/incidents/"+id+"/analysis", auth.Responder, nil, nil); code != 200 {
		t.Fatalf("run: %d", code)
	}
	var stages []string
	for {
		ev := c.next(t)
		if ev.Event != "analysis" {
			continue // the findings
		}
		if ev.ID != 0 {
			t.Errorf("a progress event with an id: %+v", ev)
		}
		var p AnalysisProgress
		if err := json.Unmarshal([]byte(ev.Data), &p); err != nil {
			t.Fatal(err)
		}
		if !p.Running {
			break
		}
		if p.Stage != "" {
			stages = append(stages, fmt.Sprintf("%d/%d %s", p.Step, p.Steps, p.Stage))
		}
	}
	if len(stages) != 7 || stages[0] != "1/7 onset" || stages[6] != "7/7 logs" {
		t.Fatalf("stages streamed: %v", stages)
	}
	if code, _ := e.do("GET", "/api/incidents/"+id+"/analysis", auth.Viewer, nil, &status); code != 200 || status.Running {
		t.Fatalf("status after the run: %d %+v", code, status)
	}
	if code, _ := e.do("GET", "/api/incidents/nope/analysis", auth.Viewer, nil, nil); code != 404 {
		t.Fatalf("status of an unknown incident: %d", code)
	}
}
