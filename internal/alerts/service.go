package alerts

import (
	"context"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

// Service receives alert webhooks and acts on them through the incident log.
type Service struct {
	Store  store.Store
	Routes []Route
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu sync.Mutex // one delivery at a time: two deliveries of one alert must not both declare
}

// BadPayloadError is a webhook body that cannot be read as alerts.
type BadPayloadError struct{ Err error }

func (e *BadPayloadError) Error() string { return e.Err.Error() }
func (e *BadPayloadError) Unwrap() error { return e.Err }

// Result says what happened to one alert.
type Result struct {
	Fingerprint string       `json:"fingerprint"`
	Alert       string       `json:"alert"`
	Status      string       `json:"status"`
	Action      DecisionKind `json:"action"`
	Route       string       `json:"route,omitempty"`
	IncidentID  string       `json:"incident_id,omitempty"`
	Reason      string       `json:"reason,omitempty"`
}

// Report is the answer to a delivery.
type Report struct {
	// Duplicate is true when the same body was already processed; nothing was done again.
	Duplicate bool     `json:"duplicate"`
	Results   []Result `json:"results"`
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Receive processes one webhook delivery from source ("alertmanager" or "grafana"), writing as
// actor. A delivery is recorded as processed only once all its alerts were handled, so a sender
// that retries after a failure gets its alerts handled, and one that redelivers a success does
// not get them twice.
func (s *Service) Receive(ctx context.Context, actor incident.Actor, source string, body []byte) (Report, error) {
	alerts, err := Decode(source, body)
	if err != nil {
		return Report{}, &BadPayloadError{err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := DeliveryKey(source, body)
	if seen, err := s.Store.Delivered(ctx, key); err != nil || seen {
		return Report{Duplicate: seen}, err
	}
	newest := ""
	if open, err := s.Store.Incidents(ctx, store.Filter{Open: true, Limit: 1}); err != nil {
		return Report{}, err
	} else if len(open) > 0 {
		newest = open[0].ID
	}
	rep := Report{Results: []Result{}}
	history := make([]store.AlertEvent, 0, len(alerts))
	for _, a := range alerts {
		history = append(history, store.AlertEvent{Fingerprint: a.Fingerprint, Name: a.Name(), Status: a.Status, Labels: a.Labels,
			Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: a.EndsAt, Source: source, ReceivedAt: s.now()})
		res, declared, err := s.handle(ctx, actor, a, newest)
		if err != nil {
			return rep, fmt.Errorf("alert %s (%s): %w", a.Name(), a.Fingerprint, err)
		}
		if declared != "" {
			newest = declared // later alerts of this delivery attach to the incident just declared
		}
		rep.Results = append(rep.Results, res)
	}
	return rep, s.Store.MarkDelivered(ctx, key, s.now(), history)
}

// handle routes and acts on one alert; it returns the id of an incident it declared.
func (s *Service) handle(ctx context.Context, actor incident.Actor, a Alert, newest string) (Result, string, error) {
	res := Result{Fingerprint: a.Fingerprint, Alert: a.Name(), Status: a.Status}
	link, known, err := s.Store.AlertLink(ctx, a.Fingerprint)
	if err != nil {
		return res, "", err
	}
	var linked *store.AlertLink
	linkOpen := false
	if known {
		linked = &link
		h, err := s.Store.Incident(ctx, link.IncidentID)
		if err != nil {
			return res, "", err
		}
		linkOpen = h.Status.Open()
	}
	d := Decide(a, s.Routes, linked, linkOpen, newest)
	res.Action, res.Route, res.IncidentID, res.Reason = d.Kind, d.Route, d.IncidentID, d.Reason
	signal := incident.Draft{Type: incident.TypeSignalAttached, Payload: incident.SignalAttached{
		Kind: incident.SignalAlert, Ref: a.Fingerprint, Title: clip(a.Title(), 1000), URL: clip(a.GeneratorURL, 2000), State: a.Status}}
	var req store.AppendRequest
	switch d.Kind {
	case DoIgnore:
		return res, "", nil
	case DoDeclare:
		id := uuid.Must(uuid.NewV7()).String()
		res.IncidentID = id
		declared := incident.Draft{ID: id, Type: incident.TypeDeclared, OccurredAt: startOf(a, s.now()),
			Payload: incident.Declared{Title: clip(a.Title(), 200), Summary: clip(summaryOf(a), 16<<10), Severity: d.Severity}}
		signal.OccurredAt = declared.OccurredAt
		req = store.AppendRequest{IncidentID: id, Create: true, Actor: actor, Drafts: []incident.Draft{declared, signal}}
	case DoAttach:
		signal.OccurredAt = startOf(a, s.now())
		req = store.AppendRequest{IncidentID: d.IncidentID, Actor: actor, Drafts: []incident.Draft{signal}}
	case DoUpdate:
		signal.Refs.Supersedes = link.SignalEvent
		if !a.Firing() && !a.EndsAt.IsZero() && !a.EndsAt.After(s.now()) {
			signal.OccurredAt = a.EndsAt
		}
		req = store.AppendRequest{IncidentID: d.IncidentID, Actor: actor, Drafts: []incident.Draft{signal}}
	}
	out, err := s.Store.Append(ctx, req)
	if err != nil {
		return res, "", err
	}
	ev := out.Events[len(out.Events)-1]
	err = s.Store.SaveAlertLink(ctx, store.AlertLink{Fingerprint: a.Fingerprint, IncidentID: ev.IncidentID, SignalEvent: ev.ID, Status: a.Status, UpdatedAt: s.now()})
	if d.Kind == DoDeclare {
		return res, res.IncidentID, err
	}
	return res, "", err
}

// startOf is when the alert started firing, if the sender says and it is not in the future.
func startOf(a Alert, now time.Time) time.Time {
	if a.StartsAt.IsZero() || a.StartsAt.After(now) {
		return time.Time{}
	}
	return a.StartsAt
}

// clip shortens s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
