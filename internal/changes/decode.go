package changes

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"
)

// plain is Sextant's own change format, for `sextant change record`, Argo CD notifications and
// anything else.
type plain struct {
	ID          string    `json:"id"`
	Time        time.Time `json:"time"`
	Kind        Kind      `json:"kind"`
	Service     string    `json:"service"`
	Environment string    `json:"environment"`
	Flag        string    `json:"flag"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	Actor       string    `json:"actor"`
	Link        string    `json:"link"`
	Summary     string    `json:"summary"`
}

// FromPlain reads one change in Sextant's own JSON format. Without an id, the change is identified
// by its content; without a time, it happened now.
func FromPlain(raw []byte, now time.Time) (Change, error) {
	var p plain
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Change{}, fmt.Errorf("change: %w", err)
	}
	c := Change{ID: p.ID, Time: p.Time, Kind: p.Kind, Service: p.Service, Environment: p.Environment, Flag: p.Flag,
		From: p.From, To: p.To, Actor: p.Actor, Link: p.Link, Summary: p.Summary, Source: "api", Raw: json.RawMessage(raw)}
	if c.Time.IsZero() {
		c.Time = now
	}
	if c.ID == "" {
		h := sha256.Sum256(raw)
		c.ID = "api:" + hex.EncodeToString(h[:16])
	}
	return c, c.Validate()
}

// cdevent is the part of a CDEvent (v0.4) that Sextant reads.
type cdevent struct {
	Context struct {
		ID        string    `json:"id"`
		Source    string    `json:"source"`
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
	} `json:"context"`
	Subject struct {
		ID      string `json:"id"`
		Source  string `json:"source"`
		Content struct {
			Environment struct {
				ID string `json:"id"`
			} `json:"environment"`
			ArtifactID  string `json:"artifactId"`
			Description string `json:"description"`
			Service     struct {
				ID string `json:"id"`
			} `json:"service"`
		} `json:"content"`
	} `json:"subject"`
}

// CDEventTypes maps the CDEvents Sextant takes to change kinds, by the type's name without its
// "dev.cdevents." prefix and version suffix.
var cdeventKinds = map[string]Kind{
	"service.deployed":   Deploy,
	"service.upgraded":   Deploy,
	"service.rolledback": Rollback,
	"service.removed":    Deploy,
	"incident.detected":  Incident,
	"incident.reported":  Incident,
	"incident.resolved":  Incident,
}

// CDEventName strips "dev.cdevents." and the version from a CDEvents type
// ("dev.cdevents.service.deployed.0.2.0" is "service.deployed").
func CDEventName(ceType string) (string, bool) {
	rest, ok := strings.CutPrefix(ceType, "dev.cdevents.")
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 5 {
		return "", false
	}
	return parts[0] + "." + parts[1], true
}

// FromCDEvent reads a CDEvent carried as a CloudEvent's data. The CloudEvent's id, type and time
// are used where the CDEvent's own context lacks them.
func FromCDEvent(ceID, ceType string, ceTime time.Time, data []byte) (Change, error) {
	name, ok := CDEventName(ceType)
	kind, known := cdeventKinds[name]
	if !ok || !known {
		return Change{}, fmt.Errorf("type: %q is not a CDEvent Sextant takes (service.deployed, upgraded, rolledback, removed, incident.*)", ceType)
	}
	var ev cdevent
	if err := json.Unmarshal(data, &ev); err != nil {
		return Change{}, fmt.Errorf("data: not a CDEvent: %w", err)
	}
	c := Change{ID: "cdevents:" + firstOf(ev.Context.ID, ceID), Time: firstTime(ev.Context.Timestamp, ceTime), Kind: kind,
		Environment: ev.Subject.Content.Environment.ID, Link: ev.Subject.Source, Source: "cdevents", Raw: json.RawMessage(data)}
	switch {
	case strings.HasPrefix(name, "service."):
		c.Service = ev.Subject.ID
		c.To = version(ev.Subject.Content.ArtifactID)
		c.Summary = strings.TrimPrefix(name, "service.") + " " + ev.Subject.Content.ArtifactID
		if name == "service.removed" {
			c.From, c.To, c.Summary = c.To, "", "removed"
		}
	default:
		c.Service = ev.Subject.Content.Service.ID
		c.Summary = strings.TrimPrefix(name, "incident.") + ": " + ev.Subject.Content.Description
	}
	if name == "service.rolledback" {
		c.Summary = "rolled back to " + ev.Subject.Content.ArtifactID
	}
	return c, c.Validate()
}

// version takes the version out of a package URL ("pkg:oci/checkout@v4.18" is "v4.18").
func version(purl string) string {
	if i := strings.LastIndexByte(purl, '@'); i >= 0 {
		v := purl[i+1:]
		if j := strings.IndexAny(v, "?#"); j >= 0 {
			v = v[:j]
		}
		return v
	}
	return purl
}

// VerifyGitHub checks a GitHub webhook's X-Hub-Signature-256 against the shared secret.
func VerifyGitHub(signature string, body, secret []byte) error {
	if len(secret) == 0 {
		return errors.New("no GitHub webhook secret is configured")
	}
	if err := github.ValidateSignature(signature, body, secret); err != nil {
		return fmt.Errorf("X-Hub-Signature-256: %w", err)
	}
	return nil
}

// FromGitHub reads a GitHub webhook of the given X-GitHub-Event type. It returns ok false for
// events that carry no change (ping, and every event but deployment_status).
func FromGitHub(eventType string, body []byte) (c Change, ok bool, err error) {
	if eventType != "deployment_status" {
		return Change{}, false, nil
	}
	ev, err := github.ParseWebHook(eventType, body)
	if err != nil {
		return Change{}, false, fmt.Errorf("deployment_status: %w", err)
	}
	ds, _ := ev.(*github.DeploymentStatusEvent)
	if ds == nil || ds.Deployment == nil || ds.DeploymentStatus == nil {
		return Change{}, false, errors.New("deployment_status: deployment and deployment_status are required")
	}
	d, st := ds.Deployment, ds.DeploymentStatus
	state := st.GetState()
	c = Change{ID: fmt.Sprintf("github:deployment:%d:%d", d.GetID(), st.GetID()), Time: st.GetCreatedAt().Time, Kind: Deploy,
		Service: ds.GetRepo().GetName(), Environment: firstOf(st.GetEnvironment(), d.GetEnvironment()),
		To: firstOf(d.GetRef(), short(d.GetSHA())), Actor: firstOf(st.GetCreator().GetLogin(), d.GetCreator().GetLogin()),
		Link:    firstOf(st.GetLogURL(), st.GetTargetURL(), st.GetEnvironmentURL(), ds.GetRepo().GetHTMLURL()),
		Summary: "deployment " + state, Source: "github", Raw: json.RawMessage(body)}
	if desc := st.GetDescription(); desc != "" {
		c.Summary += ": " + desc
	}
	if c.Time.IsZero() {
		c.Time = d.GetCreatedAt().Time
	}
	return c, true, c.Validate()
}

// VerifyLaunchDarkly checks X-LD-Signature, the hex HMAC-SHA256 of the body with the webhook's
// secret.
func VerifyLaunchDarkly(signature string, body, secret []byte) error {
	if len(secret) == 0 {
		return errors.New("no LaunchDarkly webhook secret is configured")
	}
	got, err := hex.DecodeString(signature)
	if err != nil || len(got) != sha256.Size {
		return errors.New("X-LD-Signature: missing or not a hex SHA-256")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("X-LD-Signature: does not match the body")
	}
	return nil
}

// launchDarkly is the part of a LaunchDarkly audit-log webhook that Sextant reads.
type launchDarkly struct {
	ID        string `json:"_id"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	TitleVerb string `json:"titleVerb"`
	Date      int64  `json:"date"`
	Member    struct {
		Email     string `json:"email"`
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
	} `json:"member"`
	Accesses []struct {
		Action   string `json:"action"`
		Resource string `json:"resource"`
	} `json:"accesses"`
	Links struct {
		Site struct {
			Href string `json:"href"`
		} `json:"site"`
	} `json:"_links"`
}

// FromLaunchDarkly reads a LaunchDarkly webhook. It returns ok false for changes to anything but
// flags.
func FromLaunchDarkly(body []byte) (c Change, ok bool, err error) {
	var ld launchDarkly
	if err := json.Unmarshal(body, &ld); err != nil {
		return Change{}, false, fmt.Errorf("LaunchDarkly webhook: %w", err)
	}
	if ld.ID == "" {
		return Change{}, false, errors.New("_id: is required")
	}
	if ld.Kind != "flag" {
		return Change{}, false, nil
	}
	c = Change{ID: "launchdarkly:" + ld.ID, Time: time.UnixMilli(ld.Date).UTC(), Kind: Flag, Flag: ld.Name,
		Actor: ld.Member.Email, Summary: strings.TrimSpace(ld.TitleVerb + " " + ld.Name), Source: "launchdarkly", Raw: json.RawMessage(body)}
	if ld.Links.Site.Href != "" {
		c.Link = "https://app.launchdarkly.com" + ld.Links.Site.Href
	}
	for _, a := range ld.Accesses {
		// Resources read "proj/default:env/production:flag/new-checkout".
		for _, part := range strings.Split(a.Resource, ":") {
			if v, ok := strings.CutPrefix(part, "env/"); ok {
				c.Environment = v
			}
			if v, ok := strings.CutPrefix(part, "flag/"); ok {
				c.Flag = v
			}
		}
	}
	switch {
	case strings.Contains(ld.TitleVerb, "turned on"):
		c.From, c.To = "off", "on"
	case strings.Contains(ld.TitleVerb, "turned off"):
		c.From, c.To = "on", "off"
	}
	if ld.Date == 0 {
		return c, true, errors.New("date: is required")
	}
	return c, true, c.Validate()
}

// unleash is an Unleash webhook addon's event.
type unleash struct {
	ID          json.Number `json:"id"`
	Type        string      `json:"type"`
	CreatedBy   string      `json:"createdBy"`
	CreatedAt   time.Time   `json:"createdAt"`
	FeatureName string      `json:"featureName"`
	Environment string      `json:"environment"`
	Project     string      `json:"project"`
}

// FromUnleash reads an Unleash webhook event. It returns ok false for events not about a feature.
func FromUnleash(body []byte) (c Change, ok bool, err error) {
	var u unleash
	if err := json.Unmarshal(body, &u); err != nil {
		return Change{}, false, fmt.Errorf("unleash webhook: %w", err)
	}
	if u.ID == "" || u.Type == "" {
		return Change{}, false, errors.New("id and type: are required")
	}
	if u.FeatureName == "" || !strings.HasPrefix(u.Type, "feature-") {
		return Change{}, false, nil
	}
	c = Change{ID: "unleash:" + u.ID.String(), Time: u.CreatedAt, Kind: Flag, Flag: u.FeatureName, Environment: u.Environment,
		Actor: u.CreatedBy, Summary: u.Type, Source: "unleash", Raw: json.RawMessage(body)}
	switch u.Type {
	case "feature-environment-enabled":
		c.From, c.To = "off", "on"
	case "feature-environment-disabled":
		c.From, c.To = "on", "off"
	}
	return c, true, c.Validate()
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func firstTime(v ...time.Time) time.Time {
	for _, t := range v {
		if !t.IsZero() {
			return t.UTC()
		}
	}
	return time.Time{}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
