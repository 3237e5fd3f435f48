package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/testsvc"
)

// TestAlertmanagerDeclaresAndResolvesThroughRealWebhooks runs the whole chain with Debian's
// packages: Prometheus evaluates a rule on a scraped error ratio and sends the alert to
// Alertmanager, which delivers real webhooks to Sextant with an integration token. The alert
// declares an incident; when the ratio falls back, the resolved alert resolves its signal and
// the incident stays open (only people close incidents).
func TestAlertmanagerDeclaresAndResolvesThroughRealWebhooks(t *testing.T) {
	e := newEnv(t)
	var ratio atomic.Value
	ratio.Store(0.3)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "# TYPE checkout_error_ratio gauge\ncheckout_error_ratio %v\n", ratio.Load())
	}))
	defer target.Close()
	tu, _ := url.Parse(target.URL)

	var created createTokenResponse
	e.do("POST", "/api/tokens", auth.Admin, map[string]any{"name": "alertmanager", "role": "responder", "kind": "integration"}, &created)
	am := testsvc.Alertmanager(t, fmt.Sprintf(`
route:
  receiver: sextant
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sextant
    webhook_configs:
      - url: %s/api/intake/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: %s
`, e.http.URL, created.Secret))
	amu, _ := url.Parse(am.URL)
	prom := testsvc.Prometheus(t, fmt.Sprintf(`
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: checkout
    static_configs:
      - targets: [%q]
`, amu.Host, tu.Host), map[string]string{"rules.yml": `
groups:
  - name: checkout
    rules:
      - alert: CheckoutErrors
        expr: checkout_error_ratio > 0.1
        labels: {severity: critical, service: checkout}
        annotations:
          summary: checkout errors above 10%
          description: More than one checkout in ten fails.
`})

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(45 * time.Second); !ok(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s within 45s.\nAlertmanager log:\n%s\nPrometheus log:\n%s", what, am.Log(), prom.Log())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	var list listResponse
	waitFor("no incident declared", func() bool {
		e.do("GET", "/api/incidents", auth.Viewer, nil, &list)
		return len(list.Incidents) == 1
	})
	id := list.Incidents[0].ID
	signalState := func() (string, incident.Card) {
		var card stateResponse
		e.do("GET", "/api/incidents/"+id, auth.Viewer, nil, &card)
		if len(card.Signals) != 1 {
			return "", card.Card
		}
		return card.Signals[0].Payload.(incident.SignalAttached).State, card.Card
	}
	state, card := signalState()
	if card.Title != "CheckoutErrors: checkout errors above 10%" || card.Severity != "SEV2" || state != "firing" || card.DeclaredBy.Name != "alertmanager" || card.DeclaredBy.Kind != incident.ActorIntegration {
		t.Fatalf("declared incident: %+v, signal %q", card.Headline, state)
	}

	ratio.Store(0.01)
	waitFor("the alert's signal did not resolve", func() bool { s, _ := signalState(); return s == "resolved" })
	if _, card := signalState(); card.Status != incident.StatusInvestigating {
		t.Fatalf("a resolved alert must not resolve the incident: %s", card.Status)
	}
	e.do("GET", "/api/incidents", auth.Viewer, nil, &list)
	if len(list.Incidents) != 1 {
		t.Fatalf("the resolved alert declared another incident: %+v", list.Incidents)
	}
}
