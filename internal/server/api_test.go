package server

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/config"
	"github.com/sextant-sre/sextant/internal/incident"
)

func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("test", flag.ContinueOnError) }

func TestIncidentLifecycleThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	id := e.declare("Checkout failing")

	// A single event in the short form, then a batch with expected_seq.
	var one appendResponse
	code, raw := e.do("POST", "/api/incidents/"+id+"/events", auth.Responder,
		map[string]any{"type": "hypothesis.proposed", "payload": map[string]any{"text": "bad deploy"}}, &one)
	if code != http.StatusCreated || one.Events[0].Seq != 2 || one.Events[0].Actor.Name != "responder-user" {
		t.Fatalf("append one: %d %s", code, raw)
	}
	hyp := one.Events[0].ID
	var batch appendResponse
	code, raw = e.do("POST", "/api/incidents/"+id+"/events", auth.Responder, map[string]any{"expected_seq": 2, "events": []any{
		map[string]any{"type": "hypothesis.status_changed", "payload": map[string]any{"hypothesis": hyp, "status": "supported"}},
		map[string]any{"type": "observation.recorded", "payload": map[string]any{"text": "5xx at 9%", "stale_after": "10m"}},
		map[string]any{"type": "incident.status_changed", "payload": map[string]any{"status": "mitigating"}},
	}}, &batch)
	if code != http.StatusCreated || len(batch.Events) != 3 || batch.Incident.Status != incident.StatusMitigating {
		t.Fatalf("append batch: %d %s", code, raw)
	}

	var card stateResponse
	e.do("GET", "/api/incidents/"+id, auth.Viewer, nil, &card)
	if card.Status != incident.StatusMitigating || len(card.Hypotheses) != 1 || card.Hypotheses[0].Status != incident.HypothesisSupported ||
		len(card.Fresh) != 1 || !card.Fresh[0].Fresh || card.Number != 1 {
		t.Fatalf("card: %+v", card)
	}
	// As of just after the declaration, by the recorded clock.
	asOf := one.Events[0].RecordedAt.Add(-time.Nanosecond).Format(time.RFC3339Nano)
	var then stateResponse
	code, raw = e.do("GET", "/api/incidents/"+id+"?as_of="+asOf, auth.Viewer, nil, &then)
	if code != 200 || then.Status != incident.StatusInvestigating || len(then.Hypotheses) != 0 || then.Clock != incident.ClockRecorded {
		t.Fatalf("as of: %d %s", code, raw)
	}

	var page eventsResponse
	e.do("GET", "/api/incidents/"+id+"/events?after_seq=1&limit=2", auth.Viewer, nil, &page)
	if len(page.Events) != 2 || page.Events[0].Seq != 2 || !page.HasMore || page.NextAfterSeq != 3 {
		t.Fatalf("page: %+v", page)
	}
	_, raw = e.do("GET", "/api/incidents/"+id+"/events", auth.Viewer, nil, nil)
	if !strings.Contains(string(raw), `"text":"hypothesis: bad deploy"`) {
		t.Fatalf("events carry a one-line text: %s", raw)
	}

	var cu incident.CatchUp
	code, raw = e.do("GET", "/api/incidents/"+id+"/catchup?since_seq=2", auth.Viewer, nil, &cu)
	if code != 200 || cu.Events != 3 || !strings.Contains(strings.Join(cu.Changes, ";"), "status investigating → mitigating") {
		t.Fatalf("catch-up: %d %s", code, raw)
	}

	var list listResponse
	e.do("GET", "/api/incidents?status=mitigating&severity=SEV2", auth.Viewer, nil, &list)
	if len(list.Incidents) != 1 || list.LastPos != batch.Events[2].Pos {
		t.Fatalf("list: %+v", list)
	}
	e.do("GET", "/api/incidents?open=false&status=resolved", auth.Viewer, nil, &list)
	if len(list.Incidents) != 0 {
		t.Fatalf("filtered list: %+v", list)
	}
}

func TestRetriedAppendIsAnsweredOnce(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"id": "0190a6f4-0000-7000-8000-000000000001", "title": "x", "severity": "SEV3"}
	code1, _ := e.do("POST", "/api/incidents", auth.Responder, body, nil)
	code2, _ := e.do("POST", "/api/incidents", auth.Responder, body, nil)
	if code1 != http.StatusCreated || code2 != http.StatusOK {
		t.Fatalf("declare then retry: %d, %d", code1, code2)
	}
	ev := map[string]any{"id": "0190a6f4-0000-7000-8000-000000000002", "type": "note.added", "payload": map[string]any{"text": "once"}}
	path := "/api/incidents/" + body["id"].(string) + "/events"
	code1, _ = e.do("POST", path, auth.Responder, ev, nil)
	code2, _ = e.do("POST", path, auth.Responder, ev, nil)
	var page eventsResponse
	e.do("GET", path, auth.Viewer, nil, &page)
	if code1 != 201 || code2 != 200 || len(page.Events) != 2 {
		t.Fatalf("append then retry: %d, %d, %d events", code1, code2, len(page.Events))
	}
}

func TestBadInputGetsAClearErrorAndWritesNothing(t *testing.T) {
	e := newEnv(t, func(c *config.Server) { c.MaxBodyBytes = 4096 })
	id := e.declare("x")
	path := "/api/incidents/" + id + "/events"
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		ctype  string
		code   int
		field  string
	}{
		{"malformed JSON", "POST", path, `{"type": "note.added",`, "", 400, ""},
		{"not JSON at all", "POST", path, `hello`, "", 400, ""},
		{"wrong content type", "POST", path, `{"type":"note.added","payload":{"text":"x"}}`, "text/plain", 415, ""},
		{"unknown event type", "POST", path, `{"type":"incident.exploded","payload":{}}`, "", 422, "type"},
		{"payload not matching its type", "POST", path, `{"type":"note.added","payload":{"text":42}}`, "", 422, "payload.text"},
		{"unknown payload field", "POST", path, `{"type":"note.added","payload":{"txt":"x"}}`, "", 422, "payload.txt"},
		{"bad field in a batch", "POST", path, `{"events":[{"type":"note.added","payload":{"text":"ok"}},{"type":"incident.status_changed","payload":{"status":"on fire"}}]}`, "", 422, "events[1].payload.status"},
		{"invalid status transition", "POST", path, `{"events":[{"type":"note.added","payload":{"text":"ok"}},{"type":"incident.status_changed","payload":{"status":"closed"}}]}`, "", 409, "events[1].payload.status"},
		{"stale expected_seq", "POST", path, `{"expected_seq":0,"type":"note.added","payload":{"text":"x"}}`, "", 409, "expected_seq"},
		{"both forms", "POST", path, `{"type":"note.added","payload":{"text":"x"},"events":[]}`, "", 400, "events"},
		{"empty batch", "POST", path, `{"events":[]}`, "", 400, "events"},
		{"unknown incident", "POST", "/api/incidents/nope/events", `{"type":"note.added","payload":{"text":"x"}}`, "", 404, ""},
		{"body over the limit", "POST", path, `{"type":"note.added","payload":{"text":"` + strings.Repeat("a", 5000) + `"}}`, "", 413, ""},
		{"declare without title", "POST", "/api/incidents", `{"severity":"SEV1"}`, "", 422, "title"},
		{"declare with bad severity", "POST", "/api/incidents", `{"title":"t","severity":"P0"}`, "", 422, "severity"},
		{"declare with unknown field", "POST", "/api/incidents", `{"title":"t","severity":"SEV1","priority":1}`, "", 422, "priority"},
		{"bad as_of", "GET", "/api/incidents/" + id + "?as_of=yesterday", nil, "", 400, "as_of"},
		{"bad clock", "GET", "/api/incidents/" + id + "?as_of=2026-01-01T00:00:00Z&clock=wall", nil, "", 400, "clock"},
		{"bad status filter", "GET", "/api/incidents?status=panicking", nil, "", 400, "status"},
		{"bad paging", "GET", path + "?limit=-1", nil, "", 400, "limit"},
		{"catch-up without since", "GET", "/api/incidents/" + id + "/catchup", nil, "", 400, "since"},
		{"unknown endpoint", "GET", "/api/nothing", nil, "", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.http.URL+tc.path, nil)
			if s, ok := tc.body.(string); ok {
				req, _ = http.NewRequest(tc.method, e.http.URL+tc.path, strings.NewReader(s))
				ct := tc.ctype
				if ct == "" {
					ct = "application/json"
				}
				req.Header.Set("Content-Type", ct)
			}
			req.Header.Set("Authorization", "Bearer "+e.tokens[auth.Responder])
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body errorBody
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			if res.StatusCode != tc.code || body.Error == "" || body.Field != tc.field {
				t.Fatalf("got %d %+v, want %d naming field %q", res.StatusCode, body, tc.code, tc.field)
			}
			if tc.field != "" && !strings.Contains(body.Detail, tc.field) && !strings.Contains(body.Detail, strings.TrimPrefix(tc.field, "events[1].")) {
				t.Errorf("detail %q does not name the field", body.Detail)
			}
			var page eventsResponse
			e.do("GET", path, auth.Viewer, nil, &page)
			if len(page.Events) != 1 {
				t.Fatalf("a refused request wrote %d events", len(page.Events)-1)
			}
		})
	}
}

// TestAuthorizationMatrix tries every route with no credentials and with every role, and checks
// each is refused exactly when the role is below the route's.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	id := e.declare("x")
	var tokenID string
	var created createTokenResponse
	e.do("POST", "/api/tokens", auth.Admin, map[string]any{"name": "to-revoke", "role": "viewer"}, &created)
	tokenID = created.ID
	bodies := map[string]string{
		"POST /api/session":               `{"token":"` + e.tokens[auth.Viewer] + `"}`,
		"POST /api/incidents":             `{"title":"t","severity":"SEV4"}`,
		"POST /api/incidents/{id}/events": `{"type":"note.added","payload":{"text":"x"}}`,
		"POST /api/tokens":                `{"name":"n","role":"viewer"}`,
	}
	callers := append([]auth.Role{""}, auth.Roles...)
	for _, rt := range e.srv.routes {
		for _, caller := range callers {
			name := fmt.Sprintf("%s %s as %q", rt.method, rt.pattern, caller)
			t.Run(name, func(t *testing.T) {
				path := strings.ReplaceAll(rt.pattern, "{id}", id)
				if strings.HasPrefix(rt.pattern, "/api/tokens/") {
					path = "/api/tokens/" + tokenID
				}
				if strings.HasSuffix(path, "/catchup") {
					path += "?since_seq=0"
				}
				if strings.HasPrefix(path, "/api/v1/query") {
					path += "?query=up&start=0&end=60&step=15"
				}
				if strings.Contains(path, "{name}") {
					path = strings.ReplaceAll(path, "{name}", "job")
				}
				if path == "/api/v1/series" {
					path += "?match[]=up"
				}
				if strings.Contains(path, "stream") {
					path += map[bool]string{true: "?after_seq=0", false: "?after_pos=0"}[strings.Contains(path, "/incidents/")]
				}
				code := e.probe(rt.method, path, caller, bodies[rt.method+" "+rt.pattern])
				switch {
				case rt.role == signed && code != 401:
					t.Fatalf("a signed webhook without its signature: got %d, want 401", code)
				case rt.role == signed:
				case rt.role == "" && (code == 401 || code == 403):
					t.Fatalf("public route refused: %d", code)
				case rt.role != "" && caller == "" && code != 401:
					t.Fatalf("unauthenticated: got %d, want 401", code)
				case rt.role != "" && caller != "" && !caller.Allows(rt.role) && code != 403:
					t.Fatalf("role %s below %s: got %d, want 403", caller, rt.role, code)
				case rt.role != "" && caller != "" && caller.Allows(rt.role) && (code == 401 || code == 403 || code >= 500):
					t.Fatalf("role %s allows %s: got %d", caller, rt.role, code)
				}
			})
		}
	}
	// A wrong or revoked token is refused everywhere, even on public routes' neighbours.
	if code := e.probeWith("GET", "/api/incidents", "Bearer sxt_"+strings.Repeat("A", 43)); code != 401 {
		t.Fatalf("unknown token: %d", code)
	}
	if code := e.probeWith("GET", "/api/incidents", "Basic dXNlcjpwYXNz"); code != 401 {
		t.Fatalf("basic auth: %d", code)
	}
}

// probe makes one request and returns its status; streams are cut off after the headers.
func (e *testEnv) probe(method, path string, role auth.Role, body string) int {
	auth := ""
	if role != "" {
		auth = "Bearer " + e.tokens[role]
	}
	return e.probeWithBody(method, path, auth, body)
}

func (e *testEnv) probeWith(method, path, authz string) int {
	return e.probeWithBody(method, path, authz, "")
}

func (e *testEnv) probeWithBody(method, path, authz, body string) int {
	req, _ := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestSessionCookieAndCrossOriginProtection(t *testing.T) {
	e := newEnv(t)
	id := e.declare("x")
	req, _ := http.NewRequest("POST", e.http.URL+"/api/session", strings.NewReader(`{"token":"`+e.tokens[auth.Responder]+`"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if res.StatusCode != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d cookie %+v", res.StatusCode, cookie)
	}
	if strings.Contains(cookie.Value, e.tokens[auth.Responder]) {
		t.Fatal("the session cookie must not be the API token")
	}
	send := func(method, path, body, site string) int {
		req, _ := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
		req.AddCookie(cookie)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	note := `{"type":"note.added","payload":{"text":"from the browser"}}`
	if code := send("GET", "/api/me", "", ""); code != 200 {
		t.Fatalf("me with cookie: %d", code)
	}
	if code := send("POST", "/api/incidents/"+id+"/events", note, "same-origin"); code != 201 {
		t.Fatalf("same-origin append: %d", code)
	}
	if code := send("POST", "/api/incidents/"+id+"/events", note, "cross-site"); code != 403 {
		t.Fatalf("cross-site append must be refused: %d", code)
	}
	if code := send("DELETE", "/api/session", "", "same-origin"); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	if code := send("GET", "/api/me", "", ""); code != 401 {
		t.Fatalf("after logout: %d", code)
	}
	if code := e.probe("POST", "/api/session", "", `{"token":"sxt_`+strings.Repeat("B", 43)+`"}`); code != 401 {
		t.Fatalf("login with an unknown token: %d", code)
	}
}

func TestTokenAdministration(t *testing.T) {
	e := newEnv(t)
	var created createTokenResponse
	code, raw := e.do("POST", "/api/tokens", auth.Admin, map[string]any{"name": "grafana", "role": "viewer", "kind": "integration"}, &created)
	if code != 201 || !auth.LooksLikeSecret(created.Secret) || created.Kind != incident.ActorIntegration {
		t.Fatalf("create: %d %s", code, raw)
	}
	_, raw = e.do("GET", "/api/tokens", auth.Admin, nil, nil)
	if strings.Contains(string(raw), created.Secret) || strings.Contains(string(raw), `"hash"`) {
		t.Fatal("token list must not reveal secrets or hashes")
	}
	if code := e.probeWith("GET", "/api/incidents", "Bearer "+created.Secret); code != 200 {
		t.Fatalf("new token: %d", code)
	}
	if code, _ := e.do("DELETE", "/api/tokens/"+created.ID, auth.Admin, nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code := e.probeWith("GET", "/api/incidents", "Bearer "+created.Secret); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
	if code, _ := e.do("POST", "/api/tokens", auth.Admin, map[string]any{"name": "x", "role": "root"}, nil); code != 400 {
		t.Fatalf("bad role: %d", code)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	e := newEnv(t)
	e.declare("x")
	if code, _ := e.do("GET", "/healthz", "", nil, nil); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if code, raw := e.do("GET", "/readyz", "", nil, nil); code != 200 {
		t.Fatalf("readyz: %d %s", code, raw)
	}
	_, raw := e.do("GET", "/metrics", auth.Viewer, nil, nil)
	for _, want := range []string{"sextant_http_requests_total", `route="POST /api/incidents"`, "sextant_events_appended_total 1", "sextant_live_subscribers"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	e.srv.Close()
	if code, _ := e.do("GET", "/readyz", "", nil, nil); code != 503 {
		t.Fatalf("readyz while shutting down: %d", code)
	}
}

// TestOpenAPIDescribesEveryRoute keeps the served document and the router in step.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code, raw := e.do("GET", "/api/openapi.json", "", nil, &doc); code != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi: %d %.200s", code, raw)
	}
	for _, rt := range e.srv.routes {
		ops, ok := doc.Paths[rt.pattern]
		if !ok || ops[strings.ToLower(rt.method)] == nil {
			t.Errorf("%s %s is not described", rt.method, rt.pattern)
		}
	}
	n := 0
	for _, ops := range doc.Paths {
		for m := range ops {
			if m != "parameters" {
				n++
			}
		}
	}
	if n != len(e.srv.routes) {
		t.Errorf("the document describes %d operations, the router has %d routes", n, len(e.srv.routes))
	}
}

func TestUIPagesAreServedWithCSP(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/", "/incidents/new", "/incidents/abc", "/login", "/static/app.js", "/static/vendor/preact.mjs"} {
		res, err := http.Get(e.http.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self' 'sha256-") {
			t.Errorf("%s: %d CSP %q", p, res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
	}
	if res, _ := http.Get(e.http.URL + "/static/"); res.StatusCode != 404 {
		t.Errorf("directory listing: %d", res.StatusCode)
	}
}
