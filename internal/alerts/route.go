package alerts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
	"go.yaml.in/yaml/v3"
)

// Action is what a route does with a firing alert.
type Action string

const (
	// Declare opens a new incident for the alert.
	Declare Action = "declare"
	// Attach adds the alert as a signal to the most recently updated open incident (and does
	// nothing when none is open).
	Attach Action = "attach"
	// Drop ignores the alert.
	Drop Action = "drop"
)

// Route sends the alerts it matches to an action. Routes are tried in order; the first match wins.
type Route struct {
	Name     string            `yaml:"name"`
	Matchers []string          `yaml:"matchers"`
	Action   Action            `yaml:"action"`
	Severity incident.Severity `yaml:"severity"`
	// IfOpen, for a declare route, is what to do while an incident is open: "declare" another
	// (the default) or "attach" to the open one, so that the pages of one outage (every journey's
	// burn alert) make one incident.
	IfOpen Action `yaml:"if_open"`

	parsed []*labels.Matcher
}

// Matches reports whether every matcher of the route matches the alert's labels.
func (r Route) Matches(a Alert) bool {
	for _, m := range r.parsed {
		if !m.Matches(a.Labels[m.Name]) {
			return false
		}
	}
	return true
}

// DefaultRoutes declare a SEV2 incident for alerts labelled severity critical or page, and attach
// every other alert to the open incident.
func DefaultRoutes() []Route {
	rs, err := ParseRoutes([]byte(`
routes:
  - name: pages
    matchers: ['severity=~"critical|page"']
    action: declare
    severity: SEV2
    if_open: attach
  - name: everything else
    action: attach
`))
	if err != nil {
		panic(err)
	}
	return rs
}

// LoadRoutes reads routes from a YAML file (see ParseRoutes).
func LoadRoutes(path string) ([]Route, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read alert routes: %w", err)
	}
	rs, err := ParseRoutes(raw)
	if err != nil {
		return nil, fmt.Errorf("alert routes %s: %w", path, err)
	}
	return rs, nil
}

// ParseRoutes reads
//
//	routes:
//	  - name: payments pages
//	    matchers: ['team="payments"', 'severity=~"critical|page"']
//	    action: declare        # declare, attach or drop
//	    severity: SEV1         # for declare
//	    if_open: attach        # for declare: attach while an incident is open (default: declare)
//
// Matchers use the Prometheus and Alertmanager syntax; a route without matchers matches all.
func ParseRoutes(raw []byte) ([]Route, error) {
	var doc struct {
		Routes []Route `yaml:"routes"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if len(doc.Routes) == 0 {
		return nil, errors.New("routes: at least one route is required")
	}
	p := parser.NewParser(parser.Options{})
	for i := range doc.Routes {
		r := &doc.Routes[i]
		where := fmt.Sprintf("routes[%d]", i)
		if r.Name == "" {
			r.Name = where
		}
		for j, m := range r.Matchers {
			ms, err := p.ParseMetricSelector("{" + m + "}")
			if err != nil {
				return nil, fmt.Errorf("%s.matchers[%d]: %q: %v", where, j, m, err)
			}
			r.parsed = append(r.parsed, ms...)
		}
		switch r.Action {
		case Declare:
			if r.Severity == "" {
				r.Severity = "SEV2"
			}
			if !r.Severity.Valid() {
				return nil, fmt.Errorf("%s.severity: %q is not one of SEV1…SEV5", where, r.Severity)
			}
			switch r.IfOpen {
			case "":
				r.IfOpen = Declare
			case Declare, Attach:
			default:
				return nil, fmt.Errorf("%s.if_open: %q is not declare or attach", where, r.IfOpen)
			}
		case Attach, Drop:
			if r.IfOpen != "" {
				return nil, fmt.Errorf("%s.if_open: only a declare route takes if_open", where)
			}
		default:
			return nil, fmt.Errorf("%s.action: %q is not declare, attach or drop", where, r.Action)
		}
	}
	return doc.Routes, nil
}

// Decision is what to do with one alert.
type Decision struct {
	Kind       DecisionKind
	Route      string
	Severity   incident.Severity // for Declare
	IncidentID string            // for attach and update
	Reason     string            // why it was ignored
}

type DecisionKind string

const (
	DoDeclare DecisionKind = "declare"
	DoAttach  DecisionKind = "attach"
	DoUpdate  DecisionKind = "update"
	DoIgnore  DecisionKind = "ignore"
)

// Decide routes one alert. link is what Sextant already knows of the alert's fingerprint (nil
// if nothing), linkOpen whether the linked incident is still open, and newestOpen the most
// recently updated open incident ("" if none). It is a pure function of its inputs.
func Decide(a Alert, routes []Route, link *store.AlertLink, linkOpen bool, newestOpen string) Decision {
	if link != nil && linkOpen {
		if link.Status == a.Status {
			return Decision{Kind: DoIgnore, IncidentID: link.IncidentID, Reason: "already attached as " + a.Status}
		}
		// A resolved alert resolves its signal, not the incident.
		return Decision{Kind: DoUpdate, IncidentID: link.IncidentID}
	}
	if !a.Firing() {
		return Decision{Kind: DoIgnore, Reason: "resolved, and not attached to an open incident"}
	}
	for _, r := range routes {
		if !r.Matches(a) {
			continue
		}
		switch r.Action {
		case Declare:
			if r.IfOpen == Attach && newestOpen != "" {
				return Decision{Kind: DoAttach, Route: r.Name, IncidentID: newestOpen}
			}
			return Decision{Kind: DoDeclare, Route: r.Name, Severity: r.Severity}
		case Attach:
			if newestOpen == "" {
				return Decision{Kind: DoIgnore, Route: r.Name, Reason: "no open incident to attach to"}
			}
			return Decision{Kind: DoAttach, Route: r.Name, IncidentID: newestOpen}
		default:
			return Decision{Kind: DoIgnore, Route: r.Name, Reason: "dropped by route " + r.Name}
		}
	}
	return Decision{Kind: DoIgnore, Reason: "no route matches"}
}

// summaryOf builds an incident summary from the alert's description and labels.
func summaryOf(a Alert) string {
	var b strings.Builder
	if d := a.Annotations["description"]; d != "" {
		b.WriteString(d)
		b.WriteString("\n\n")
	}
	b.WriteString("Declared from alert " + a.Name())
	for _, k := range []string{"severity", "service", "job", "instance"} {
		if v := a.Labels[k]; v != "" {
			b.WriteString(", " + k + "=" + v)
		}
	}
	return b.String()
}
