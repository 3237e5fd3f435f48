package alerts

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

func amBody(alerts ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "sextant", "groupKey": "{}:{}", "alerts": alerts})
	return b
}

func amAlert(status, name, severity, fp string) map[string]any {
	return map[string]any{"status": status, "fingerprint": fp, "startsAt": "2026-04-06T14:00:00Z",
		"labels":      map[string]string{"alertname": name, "severity": severity, "service": "checkout"},
		"annotations": map[string]string{"summary": "5xx above 5%", "description": "checkout errors"}}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name, source, body, err string
	}{
		{"alertmanager", "alertmanager", string(amBody(amAlert("firing", "HighErrors", "critical", "aa"))), ""},
		{"grafana", "grafana", `{"orgId":1,"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"CPU"},"annotations":{},"valueString":"x"}],"title":"[FIRING:1]"}`, ""},
		{"wrong version", "alertmanager", `{"version":"3","alerts":[]}`, "version"},
		{"not grafana", "grafana", `{"alerts":[]}`, "orgId"},
		{"no alerts", "alertmanager", `{"version":"4","alerts":[]}`, "no alert"},
		{"bad status", "alertmanager", string(amBody(amAlert("pending", "X", "", "a"))), "alerts[0].status"},
		{"no alertname", "alertmanager", `{"version":"4","alerts":[{"status":"firing","labels":{}}]}`, "alertname"},
		{"not JSON", "alertmanager", `<xml/>`, "not a webhook JSON"},
		{"unknown source", "pagerduty", `{}`, "unknown alert source"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			as, err := Decode(c.source, []byte(c.body))
			if c.err == "" {
				if err != nil || len(as) != 1 || as[0].Fingerprint == "" {
					t.Fatalf("%+v %v", as, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("got %v, want it to mention %q", err, c.err)
			}
		})
	}
}

func TestParseRoutes(t *testing.T) {
	for _, c := range []struct{ yaml, err string }{
		{"routes:\n  - matchers: ['team=\"x\"']\n    action: declare\n    severity: SEV1\n", ""},
		{"routes: []\n", "at least one route"},
		{"routes:\n  - action: page\n", "routes[0].action"},
		{"routes:\n  - action: declare\n    severity: P1\n", "routes[0].severity"},
		{"routes:\n  - action: attach\n    matchers: ['team=~\"(\"']\n", "routes[0].matchers[0]"},
		{"routes:\n  - action: attach\n    colour: red\n", "colour"},
		{"routes:\n  - action: declare\n    if_open: attach\n", ""},
		{"routes:\n  - action: declare\n    if_open: merge\n", "routes[0].if_open"},
		{"routes:\n  - action: attach\n    if_open: attach\n", "only a declare route"},
	} {
		_, err := ParseRoutes([]byte(c.yaml))
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.err)
		}
	}
}

func TestDecide(t *testing.T) {
	routes := DefaultRoutes()
	page := Alert{Status: "firing", Labels: map[string]string{"alertname": "A", "severity": "critical"}}
	warn := Alert{Status: "firing", Labels: map[string]string{"alertname": "B", "severity": "warning"}}
	resolved := Alert{Status: "resolved", Labels: map[string]string{"alertname": "A", "severity": "critical"}}
	link := &store.AlertLink{IncidentID: "inc", Status: "firing", SignalEvent: "ev"}
	cases := []struct {
		name     string
		a        Alert
		link     *store.AlertLink
		linkOpen bool
		newest   string
		want     DecisionKind
		incident string
	}{
		{"page declares", page, nil, false, "", DoDeclare, ""},
		{"page while an incident is open attaches (if_open: attach)", page, nil, false, "other", DoAttach, "other"},
		{"warning attaches to the newest open incident", warn, nil, false, "other", DoAttach, "other"},
		{"warning with nothing open is ignored", warn, nil, false, "", DoIgnore, ""},
		{"repeat of a linked alert is ignored", page, link, true, "other", DoIgnore, "inc"},
		{"resolved updates its incident's signal", resolved, link, true, "other", DoUpdate, "inc"},
		{"resolved and never seen is ignored", resolved, nil, false, "other", DoIgnore, ""},
		{"firing again after its incident closed declares anew", page, link, false, "", DoDeclare, ""},
	}
	for _, c := range cases {
		d := Decide(c.a, routes, c.link, c.linkOpen, c.newest)
		if d.Kind != c.want || d.IncidentID != c.incident {
			t.Errorf("%s: %+v", c.name, d)
		}
	}
}

var integration = incident.Actor{Kind: incident.ActorIntegration, ID: "token:am", Name: "alertmanager"}

func TestServiceDeclaresAttachesResolvesAndDeduplicates(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := &Service{Store: st, Routes: DefaultRoutes()}
	ctx := context.Background()
	receive := func(body []byte) Report {
		t.Helper()
		rep, err := svc.Receive(ctx, integration, "alertmanager", body)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}

	first := amBody(amAlert("firing", "CheckoutErrors", "critical", "fp1"), amAlert("firing", "CartLatency", "warning", "fp2"))
	rep := receive(first)
	if rep.Results[0].Action != DoDeclare || rep.Results[1].Action != DoAttach || rep.Results[1].IncidentID != rep.Results[0].IncidentID {
		t.Fatalf("first delivery: %+v", rep)
	}
	id := rep.Results[0].IncidentID
	if again := receive(first); !again.Duplicate {
		t.Fatalf("a redelivered body must be recognised: %+v", again)
	}
	if rep := receive(amBody(amAlert("firing", "CheckoutErrors", "critical", "fp1"))); rep.Results[0].Action != DoIgnore {
		t.Fatalf("the same alert firing again: %+v", rep)
	}
	if rep := receive(amBody(amAlert("resolved", "CheckoutErrors", "critical", "fp1"))); rep.Results[0].Action != DoUpdate {
		t.Fatalf("resolved: %+v", rep)
	}

	events, _ := st.Events(ctx, id, 0, 0)
	s := incident.Project(id, events)
	c := s.Card(time.Now())
	if c.Title != "CheckoutErrors: 5xx above 5%" || c.Severity != "SEV2" || !c.Status.Open() || !c.DeclaredAt.Equal(time.Date(2026, 4, 6, 14, 0, 0, 0, time.UTC)) {
		t.Fatalf("declared incident: %+v", c.Headline)
	}
	states := map[string]string{}
	for _, sig := range c.Signals {
		p := sig.Payload.(incident.SignalAttached)
		states[p.Ref] = p.State
	}
	if len(c.Signals) != 2 || states["fp1"] != "resolved" || states["fp2"] != "firing" {
		t.Fatalf("signals: %v (%d)", states, len(c.Signals))
	}
	if events[0].Actor != integration {
		t.Fatalf("actor: %+v", events[0].Actor)
	}
	// Every state received is kept (the redelivered body is not), for "alerts in a window".
	history, err := st.AlertEvents(ctx, time.Time{}, time.Now())
	if err != nil || len(history) != 4 || history[3].Status != "resolved" || history[3].Labels["service"] != "checkout" {
		t.Fatalf("alert history: %+v %v", history, err)
	}
}

// FuzzDecode feeds arbitrary bodies to both webhook decoders: no panic, and every accepted alert
// has a status, a name and a fingerprint.
func FuzzDecode(f *testing.F) {
	f.Add("alertmanager", amBody(amAlert("firing", "A", "critical", "x")))
	f.Add("grafana", []byte(`{"orgId":1,"alerts":[{"status":"resolved","labels":{"alertname":"B"}}]}`))
	f.Add("alertmanager", []byte(`{"version":"4","alerts":[{}]}`))
	f.Fuzz(func(t *testing.T, source string, body []byte) {
		as, err := Decode(source, body)
		if err != nil {
			return
		}
		for _, a := range as {
			if (a.Status != "firing" && a.Status != "resolved") || a.Name() == "" || a.Fingerprint == "" {
				t.Fatalf("accepted a bad alert: %+v", a)
			}
		}
	})
}
