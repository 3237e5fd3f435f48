package changes

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 4, 6, 14, 0, 0, 0, time.UTC)

func TestFromPlain(t *testing.T) {
	cases := []struct {
		name, body, err string
	}{
		{"deploy", `{"kind":"deploy","service":"checkout","environment":"prod","from":"4.17","to":"4.18","actor":"argocd","time":"2026-04-06T13:58:00Z"}`, ""},
		{"flag without time", `{"kind":"flag","flag":"new-tax-client","from":"off","to":"on"}`, ""},
		{"unknown kind", `{"kind":"yolo","service":"x"}`, "kind"},
		{"no subject", `{"kind":"config"}`, "service"},
		{"unknown field", `{"kind":"deploy","service":"x","version":"1"}`, "unknown field"},
		{"bad time", `{"kind":"deploy","service":"x","time":"yesterday"}`, "change"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FromPlain([]byte(c.body), now)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got.ID == "" || got.Time.IsZero() || got.Source != "api" {
				t.Fatalf("%+v %v", got, err)
			}
		})
	}
	a, _ := FromPlain([]byte(`{"kind":"flag","flag":"x","to":"on"}`), now)
	b, _ := FromPlain([]byte(`{"kind":"flag","flag":"x","to":"on"}`), now.Add(time.Hour))
	if a.ID != b.ID {
		t.Fatal("the same body without an id must get the same id, so a redelivery is stored once")
	}
}

const deployed = `{"context":{"version":"0.4.1","id":"271069a8-fc18-44f1-b38f-9d70a1695819","source":"/event/source/123","type":"dev.cdevents.service.deployed.0.2.0","timestamp":"2026-04-06T13:58:00Z"},
"subject":{"id":"checkout","source":"https://argocd.example/applications/checkout","type":"service","content":{"environment":{"id":"prod","source":"/k8s/prod"},"artifactId":"pkg:oci/checkout@v4.18?repository_url=registry.example"}}}`

func TestFromCDEvent(t *testing.T) {
	c, err := FromCDEvent("ce-1", "dev.cdevents.service.deployed.0.2.0", time.Time{}, []byte(deployed))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != Deploy || c.Service != "checkout" || c.Environment != "prod" || c.To != "v4.18" || c.ID != "cdevents:271069a8-fc18-44f1-b38f-9d70a1695819" || !c.Time.Equal(now.Add(-2*time.Minute)) {
		t.Fatalf("%+v", c)
	}
	rb, err := FromCDEvent("ce-2", "dev.cdevents.service.rolledback.0.2.0", now, []byte(strings.Replace(deployed, "271069a8", "aaaa", 1)))
	if err != nil || rb.Kind != Rollback || !strings.Contains(rb.Summary, "rolled back") {
		t.Fatalf("rollback: %+v %v", rb, err)
	}
	for _, bad := range []string{"dev.cdevents.pipelinerun.started.0.2.0", "com.example.deploy", "dev.cdevents.service"} {
		if _, err := FromCDEvent("x", bad, now, []byte(deployed)); err == nil || !strings.HasPrefix(err.Error(), "type") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := FromCDEvent("x", "dev.cdevents.service.deployed.0.2.0", now, []byte(`[]`)); err == nil {
		t.Error("data that is not a CDEvent was accepted")
	}
}

// A GitHub deployment_status webhook as GitHub documents it (trimmed); GitHub itself cannot be
// reached from here.
const deploymentStatus = `{"action":"created",
"deployment_status":{"id":2,"state":"success","description":"Deployed 4.18","environment":"production","log_url":"https://github.com/acme/checkout/actions/runs/1","created_at":"2026-04-06T13:58:00Z","creator":{"login":"deploy-bot"}},
"deployment":{"id":1,"sha":"a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d","ref":"v4.18","environment":"production","created_at":"2026-04-06T13:55:00Z","creator":{"login":"octocat"}},
"repository":{"id":3,"name":"checkout","full_name":"acme/checkout","html_url":"https://github.com/acme/checkout"}}`

func TestFromGitHub(t *testing.T) {
	c, ok, err := FromGitHub("deployment_status", []byte(deploymentStatus))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if c.ID != "github:deployment:1:2" || c.Service != "checkout" || c.Environment != "production" || c.To != "v4.18" ||
		c.Actor != "deploy-bot" || c.Summary != "deployment success: Deployed 4.18" || !c.Time.Equal(now.Add(-2*time.Minute)) {
		t.Fatalf("%+v", c)
	}
	if _, ok, err := FromGitHub("ping", []byte(`{"zen":"x"}`)); ok || err != nil {
		t.Fatalf("ping: %v %v", ok, err)
	}
	if _, _, err := FromGitHub("deployment_status", []byte(`{"action":"created"}`)); err == nil {
		t.Fatal("a deployment_status without a deployment was accepted")
	}
}

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignatures(t *testing.T) {
	body := []byte(deploymentStatus)
	if err := VerifyGitHub("sha256="+sign("s3cret", deploymentStatus), body, []byte("s3cret")); err != nil {
		t.Fatalf("GitHub, right secret: %v", err)
	}
	for _, bad := range []struct{ sig, secret string }{{"sha256=" + sign("other", deploymentStatus), "s3cret"}, {"", "s3cret"}, {"sha256=" + sign("", deploymentStatus), ""}} {
		if VerifyGitHub(bad.sig, body, []byte(bad.secret)) == nil {
			t.Errorf("GitHub accepted %+v", bad)
		}
	}
	if err := VerifyLaunchDarkly(sign("ld", "x"), []byte("x"), []byte("ld")); err != nil {
		t.Fatalf("LaunchDarkly, right secret: %v", err)
	}
	for _, bad := range []struct{ sig, secret string }{{sign("other", "x"), "ld"}, {"zz", "ld"}, {sign("", "x"), ""}} {
		if VerifyLaunchDarkly(bad.sig, []byte("x"), []byte(bad.secret)) == nil {
			t.Errorf("LaunchDarkly accepted %+v", bad)
		}
	}
}

const ldFlagOn = `{"_id":"61d5f0","kind":"flag","name":"new-tax-client","titleVerb":"turned on the flag","date":1775483880000,
"member":{"email":"bo@example.com"},"accesses":[{"action":"updateOn","resource":"proj/default:env/production:flag/new-tax-client"}],
"_links":{"site":{"href":"/default/production/features/new-tax-client"}}}`

func TestFromLaunchDarklyAndUnleash(t *testing.T) {
	c, ok, err := FromLaunchDarkly([]byte(ldFlagOn))
	if err != nil || !ok || c.Flag != "new-tax-client" || c.Environment != "production" || c.From != "off" || c.To != "on" || c.Actor != "bo@example.com" {
		t.Fatalf("LaunchDarkly: %+v %v %v", c, ok, err)
	}
	if _, ok, err := FromLaunchDarkly([]byte(`{"_id":"1","kind":"member","date":1}`)); ok || err != nil {
		t.Fatalf("a member change is not a change: %v %v", ok, err)
	}
	u, ok, err := FromUnleash([]byte(`{"id":42,"type":"feature-environment-disabled","createdBy":"ana","createdAt":"2026-04-06T13:59:00Z","featureName":"employee-checkout","environment":"production","project":"default"}`))
	if err != nil || !ok || u.ID != "unleash:42" || u.From != "on" || u.To != "off" || u.Flag != "employee-checkout" {
		t.Fatalf("Unleash: %+v %v %v", u, ok, err)
	}
	if _, ok, err := FromUnleash([]byte(`{"id":1,"type":"user-created","createdAt":"2026-04-06T13:59:00Z"}`)); ok || err != nil {
		t.Fatalf("a user event is not a change: %v %v", ok, err)
	}
}

// The decoders of outside input, fuzzed: none may panic, and whatever they accept is valid.
func FuzzDecoders(f *testing.F) {
	for _, s := range []string{deployed, deploymentStatus, ldFlagOn, `{"kind":"deploy","service":"x"}`,
		`{"id":1,"type":"feature-environment-enabled","featureName":"f","createdAt":"2026-04-06T13:59:00Z"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(name string, c Change, ok bool, err error) {
			if err == nil && ok {
				if verr := c.Validate(); verr != nil {
					t.Fatalf("%s accepted an invalid change: %v", name, verr)
				}
			}
		}
		c, err := FromPlain(body, now)
		check("plain", c, true, err)
		c, err = FromCDEvent("id", "dev.cdevents.service.deployed.0.2.0", now, body)
		check("cdevents", c, true, err)
		c, ok, err := FromGitHub("deployment_status", body)
		check("github", c, ok, err)
		c, ok, err = FromLaunchDarkly(body)
		check("launchdarkly", c, ok, err)
		c, ok, err = FromUnleash(body)
		check("unleash", c, ok, err)
	})
}
