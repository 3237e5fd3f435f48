package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/config"
)

type changeList struct {
	Changes []changes.Change `json:"changes"`
}

// TestCloudEventsInBothModes sends CDEvents with the CloudEvents Go SDK's own HTTP client, in
// binary and in structured mode, and reads them back as changes.
func TestCloudEventsInBothModes(t *testing.T) {
	e := newEnv(t)
	client, err := cloudevents.NewClientHTTP(cehttp.WithTarget(e.http.URL+"/api/intake/cloudevents"),
		cehttp.WithHeader("Authorization", "Bearer "+e.tokens[auth.Responder]))
	if err != nil {
		t.Fatal(err)
	}
	send := func(ctx context.Context, id, typ, artifact string) {
		t.Helper()
		ev := cloudevents.NewEvent()
		ev.SetID(id)
		ev.SetSource("/argocd")
		ev.SetType(typ)
		ev.SetTime(time.Now().Add(-time.Minute))
		data := map[string]any{
			"context": map[string]any{"version": "0.4.1", "id": id, "source": "/argocd", "type": typ, "timestamp": time.Now().Add(-time.Minute).Format(time.RFC3339)},
			"subject": map[string]any{"id": "checkout", "source": "/argocd/checkout", "type": "service",
				"content": map[string]any{"environment": map[string]any{"id": "prod"}, "artifactId": artifact}},
		}
		if err := ev.SetData(cloudevents.ApplicationJSON, data); err != nil {
			t.Fatal(err)
		}
		if res := client.Send(ctx, ev); !cloudevents.IsACK(res) {
			t.Fatalf("send %s: %v", typ, res)
		}
	}
	send(context.Background(), "d1", "dev.cdevents.service.deployed.0.2.0", "pkg:oci/checkout@v4.18")
	send(binding.WithForceStructured(context.Background()), "r1", "dev.cdevents.service.rolledback.0.2.0", "pkg:oci/checkout@v4.17")
	send(context.Background(), "d1", "dev.cdevents.service.deployed.0.2.0", "pkg:oci/checkout@v4.18") // redelivered

	var list changeList
	e.do("GET", "/api/changes?service=checkout", auth.Viewer, nil, &list)
	if len(list.Changes) != 2 {
		t.Fatalf("changes: %+v", list.Changes)
	}
	kinds := map[changes.Kind]string{}
	for _, c := range list.Changes {
		kinds[c.Kind] = c.To
	}
	if kinds[changes.Deploy] != "v4.18" || kinds[changes.Rollback] != "v4.17" {
		t.Fatalf("kinds: %v", kinds)
	}
	// Not a CDEvent Sextant takes: a clear 422.
	ev := cloudevents.NewEvent()
	ev.SetID("x")
	ev.SetSource("/ci")
	ev.SetType("dev.cdevents.pipelinerun.started.0.2.0")
	ev.SetData(cloudevents.ApplicationJSON, map[string]any{})
	if res := client.Send(context.Background(), ev); cloudevents.IsACK(res) {
		t.Fatal("an unsupported CDEvent was accepted")
	}
}

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignedWebhooksAndPlainChanges(t *testing.T) {
	e := newEnv(t, func(c *config.Server) {
		c.GitHubWebhookSecret, c.LaunchDarklyWebhookSecret = "gh-secret", "ld-secret"
	})
	post := func(path string, body []byte, headers map[string]string) (int, changesReport) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.http.URL+path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var rep changesReport
		json.NewDecoder(res.Body).Decode(&rep)
		return res.StatusCode, rep
	}
	gh := []byte(`{"action":"created","deployment_status":{"id":2,"state":"success","environment":"production","created_at":"2026-04-06T13:58:00Z","creator":{"login":"bot"}},
		"deployment":{"id":1,"sha":"a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d","ref":"v4.18","environment":"production"},"repository":{"name":"checkout"}}`)
	if code, _ := post("/api/intake/github", gh, map[string]string{"X-GitHub-Event": "deployment_status", "X-Hub-Signature-256": "sha256=" + hmacHex("wrong", gh)}); code != 401 {
		t.Fatalf("GitHub, bad signature: %d", code)
	}
	code, rep := post("/api/intake/github", gh, map[string]string{"X-GitHub-Event": "deployment_status", "X-Hub-Signature-256": "sha256=" + hmacHex("gh-secret", gh)})
	if code != 200 || len(rep.Stored) != 1 {
		t.Fatalf("GitHub: %d %+v", code, rep)
	}
	ping := []byte(`{"zen":"Keep it logically awesome."}`)
	if code, rep := post("/api/intake/github", ping, map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + hmacHex("gh-secret", ping)}); code != 200 || rep.Ignored == "" {
		t.Fatalf("GitHub ping: %d %+v", code, rep)
	}
	ld := []byte(`{"_id":"a1","kind":"flag","name":"new-tax-client","titleVerb":"turned on the flag","date":1775483880000,"accesses":[{"action":"updateOn","resource":"proj/default:env/production:flag/new-tax-client"}]}`)
	if code, _ := post("/api/intake/launchdarkly", ld, map[string]string{"X-LD-Signature": hmacHex("nope", ld)}); code != 401 {
		t.Fatalf("LaunchDarkly, bad signature: %d", code)
	}
	if code, rep := post("/api/intake/launchdarkly", ld, map[string]string{"X-LD-Signature": hmacHex("ld-secret", ld)}); code != 200 || len(rep.Stored) != 1 {
		t.Fatalf("LaunchDarkly: %d %+v", code, rep)
	}
	bearer := map[string]string{"Authorization": "Bearer " + e.tokens[auth.Responder]}
	un := []byte(`{"id":7,"type":"feature-environment-disabled","createdBy":"ana","createdAt":"2026-04-06T13:59:00Z","featureName":"employee-checkout","environment":"production"}`)
	if code, rep := post("/api/intake/unleash", un, bearer); code != 200 || len(rep.Stored) != 1 {
		t.Fatalf("Unleash: %d %+v", code, rep)
	}
	batch := []byte(`{"changes":[{"id":"argo-1","time":"2026-04-06T13:50:00Z","kind":"config","service":"checkout","summary":"raised pool size"},
		{"id":"argo-2","time":"2026-04-06T13:40:00Z","kind":"scaling","service":"search","from":"6","to":"12"}]}`)
	if code, rep := post("/api/intake/changes", batch, bearer); code != 200 || len(rep.Stored) != 2 {
		t.Fatalf("plain batch: %d %+v", code, rep)
	}
	if code, rep := post("/api/intake/changes", batch, bearer); code != 200 || len(rep.Duplicates) != 2 || len(rep.Stored) != 0 {
		t.Fatalf("plain batch again: %d %+v", code, rep)
	}
	if code, _ := post("/api/intake/changes", []byte(`{"changes":[{"kind":"deploy","service":"a"},{"kind":"oops","service":"b"}]}`), bearer); code != 422 {
		t.Fatalf("a batch with a bad change: %d", code)
	}

	var list changeList
	e.do("GET", "/api/changes?from=2026-04-06T00:00:00Z&to=2026-04-07T00:00:00Z", auth.Viewer, nil, &list)
	var order []string
	for _, c := range list.Changes {
		order = append(order, string(c.Kind)+":"+c.Entity())
	}
	want := "flag:flag employee-checkout|flag:flag new-tax-client|deploy:checkout|config:checkout|scaling:search"
	if strings.Join(order, "|") != want {
		t.Fatalf("changes, newest first:\n got %s\nwant %s", strings.Join(order, "|"), want)
	}
	e.do("GET", "/api/changes?from=2026-04-06T00:00:00Z&to=2026-04-07T00:00:00Z&kind=flag", auth.Viewer, nil, &list)
	if len(list.Changes) != 2 || list.Changes[0].Raw != nil {
		t.Fatalf("flags only, without raw payloads: %+v", list.Changes)
	}
	_, raw := e.do("GET", "/api/config", auth.Admin, nil, nil)
	if strings.Contains(string(raw), "gh-secret") || strings.Contains(string(raw), "ld-secret") {
		t.Fatal("the settings endpoint shows a webhook secret")
	}
}
