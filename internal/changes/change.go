// Package changes owns change records: deploys, rollbacks, feature-flag flips, configuration and
// infrastructure changes, whatever sent them. Each sender's format (CloudEvents carrying CDEvents,
// GitHub deployment_status, LaunchDarkly and Unleash flag webhooks, Argo CD notifications through
// Sextant's own JSON format) is normalised into one Change, with the raw payload kept.
package changes

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what sort of change it was.
type Kind string

const (
	Deploy         Kind = "deploy"
	Rollback       Kind = "rollback"
	Flag           Kind = "flag"
	Config         Kind = "config"
	Infrastructure Kind = "infrastructure"
	Scaling        Kind = "scaling"
	// Incident is an incident event another tool published (CDEvents incident.*).
	Incident Kind = "incident"
)

// Kinds lists the kinds.
var Kinds = []Kind{Deploy, Rollback, Flag, Config, Infrastructure, Scaling, Incident}

// Change is one change, normalised.
type Change struct {
	// ID identifies the change at its source, so a redelivery is stored once.
	ID          string    `json:"id"`
	Time        time.Time `json:"time"`
	Kind        Kind      `json:"kind"`
	Service     string    `json:"service,omitempty"`
	Environment string    `json:"environment,omitempty"`
	Flag        string    `json:"flag,omitempty"`
	From        string    `json:"from,omitempty"`
	To          string    `json:"to,omitempty"`
	Actor       string    `json:"actor,omitempty"`
	Link        string    `json:"link,omitempty"`
	Summary     string    `json:"summary,omitempty"`
	// Source names the sender (github, launchdarkly, unleash, cdevents, api).
	Source string `json:"source"`
	// Raw is the payload as received.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// Validate checks a change before it is stored, naming the field at fault.
func (c Change) Validate() error {
	if c.ID == "" || len(c.ID) > 256 {
		return fmt.Errorf("id: is required, at most 256 bytes")
	}
	if c.Time.IsZero() {
		return fmt.Errorf("time: is required")
	}
	if !validKind(c.Kind) {
		return fmt.Errorf("kind: %q is not one of %s", c.Kind, kindList())
	}
	if c.Service == "" && c.Flag == "" && c.Environment == "" {
		return fmt.Errorf("service: a change names a service, a flag or an environment")
	}
	for name, v := range map[string]string{"service": c.Service, "environment": c.Environment, "flag": c.Flag,
		"from": c.From, "to": c.To, "actor": c.Actor, "link": c.Link, "summary": c.Summary, "source": c.Source} {
		if !utf8.ValidString(v) || len(v) > 4096 {
			return fmt.Errorf("%s: must be UTF-8 text of at most 4096 bytes", name)
		}
	}
	return nil
}

func validKind(k Kind) bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Entity is the thing the change happened to, for display: the service, or the flag.
func (c Change) Entity() string {
	switch {
	case c.Service != "":
		return c.Service
	case c.Flag != "":
		return "flag " + c.Flag
	}
	return c.Environment
}

// Filter selects changes.
type Filter struct {
	Start, End  time.Time
	Kinds       []Kind
	Service     string
	Environment string
	Limit       int
}
