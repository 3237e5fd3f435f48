package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

type listResponse struct {
	Incidents []incident.Headline `json:"incidents"`
	// LastPos is the log position the list is current to: subscribe to /api/stream with
	// after_pos=LastPos to miss nothing.
	LastPos int64 `json:"last_pos"`
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.Filter{Query: q.Get("q")}
	var err error
	if f.Statuses, err = enumParam(q, "status", incident.Statuses); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if f.Severities, err = enumParam(q, "severity", incident.Severities); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if v := q.Get("open"); v != "" {
		open, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, r, s.Logger, badRequest("open", "%q is not true or false", v))
			return
		}
		f.Open = open
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 100, 1000); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	pos, err := s.Store.LastPos(r.Context())
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	list, err := s.Store.Incidents(r.Context(), f)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse{Incidents: list, LastPos: pos})
}

// declareRequest is the body of POST /api/incidents.
type declareRequest struct {
	// ID is optional; a client that sets it (a UUID) can retry the declaration safely.
	ID         string            `json:"id,omitempty"`
	Title      string            `json:"title"`
	Summary    string            `json:"summary,omitempty"`
	Severity   incident.Severity `json:"severity"`
	Status     incident.Status   `json:"status,omitempty"`
	OccurredAt time.Time         `json:"occurred_at,omitzero"`
}

func (s *Server) declare(w http.ResponseWriter, r *http.Request) {
	var req declareRequest
	if err := s.readJSON(w, r, &req); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if req.ID == "" {
		req.ID = uuid.Must(uuid.NewV7()).String()
	} else if _, err := uuid.Parse(req.ID); err != nil || len(req.ID) != 36 {
		writeError(w, r, s.Logger, badRequest("id", "%q is not a UUID", req.ID))
		return
	}
	// The declaration's event id is the incident id, so a retried declaration is recognised.
	d := incident.Draft{ID: req.ID, OccurredAt: req.OccurredAt, Type: incident.TypeDeclared,
		Payload: incident.Declared{Title: req.Title, Summary: req.Summary, Severity: req.Severity, Status: req.Status}}
	if err := incident.ValidateDraft(d); err != nil {
		writeError(w, r, s.Logger, stripPayload(err))
		return
	}
	p, _ := auth.FromContext(r.Context())
	res, err := s.Store.Append(r.Context(), store.AppendRequest{IncidentID: req.ID, Create: true, Actor: p.Actor(), Drafts: []incident.Draft{d}})
	if err != nil {
		writeError(w, r, s.Logger, stripPayload(err))
		return
	}
	s.metrics.appended.Add(float64(len(res.Events)))
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/incidents/"+req.ID)
	writeJSON(w, status, appendResponse{Events: viewsOf(res.Events), Incident: res.Headline})
}

// stripPayload maps a declared payload's field names ("payload.title") back to the declare
// request's ("title").
func stripPayload(err error) error {
	if fe, ok := err.(*incident.FieldError); ok {
		f := strings.TrimPrefix(strings.TrimPrefix(fe.Field, "events[0]."), "payload.")
		return &incident.FieldError{Field: f, Msg: fe.Msg}
	}
	return err
}

// stateResponse is the state card, with the moment and clock it was projected for.
type stateResponse struct {
	incident.Card
	AsOf  *time.Time     `json:"as_of,omitempty"`
	Clock incident.Clock `json:"clock,omitempty"`
}

func (s *Server) getState(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	var asOf *time.Time
	if v := q.Get("as_of"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, r, s.Logger, badRequest("as_of", "%q is not an RFC 3339 time such as 2026-04-06T14:00:00Z", v))
			return
		}
		asOf = &t
	}
	clock := incident.Clock(q.Get("clock"))
	switch clock {
	case "":
		clock = incident.ClockRecorded
	case incident.ClockRecorded, incident.ClockOccurred:
	default:
		writeError(w, r, s.Logger, badRequest("clock", "%q is not recorded or occurred", clock))
		return
	}
	h, err := s.Store.Incident(r.Context(), id)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if asOf == nil {
		card, err := s.projections.card(r.Context(), s.Store, h, s.Now())
		if err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, stateResponse{Card: card})
		return
	}
	events, err := s.Store.Events(r.Context(), id, 0, 0)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	st := incident.AsOf(id, events, *asOf, clock)
	st.Number = h.Number
	writeJSON(w, http.StatusOK, stateResponse{Card: st.Card(*asOf), AsOf: asOf, Clock: clock})
}

// eventView is an event as the API shows it: with a one-line text for timelines.
type eventView struct {
	incident.Event
	Text string `json:"text"`
}

func viewOf(ev incident.Event) eventView { return eventView{Event: ev, Text: incident.Describe(ev)} }

func viewsOf(evs []incident.Event) []eventView {
	out := make([]eventView, len(evs))
	for i, ev := range evs {
		out[i] = viewOf(ev)
	}
	return out
}

type eventsResponse struct {
	Events []eventView `json:"events"`
	// NextAfterSeq is the after_seq for the next page.
	NextAfterSeq int64 `json:"next_after_seq"`
	HasMore      bool  `json:"has_more"`
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	after, err := intParam(q.Get("after_seq"), "after_seq", 0, 1<<62)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	limit, err := intParam(q.Get("limit"), "limit", 500, 5000)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if _, err := s.Store.Incident(r.Context(), id); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	events, err := s.Store.Events(r.Context(), id, int64(after), limit+1)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	resp := eventsResponse{NextAfterSeq: int64(after)}
	if len(events) > limit {
		events, resp.HasMore = events[:limit], true
	}
	if n := len(events); n > 0 {
		resp.NextAfterSeq = events[n-1].Seq
	}
	resp.Events = viewsOf(events)
	writeJSON(w, http.StatusOK, resp)
}

// appendRequest is the body of POST /api/incidents/{id}/events: either {"events": [...]} or a
// single event's fields at the top level, with an optional expected_seq either way.
type appendRequest struct {
	ExpectedSeq *int64            `json:"expected_seq,omitempty"`
	Events      []json.RawMessage `json:"events,omitempty"`
	ID          json.RawMessage   `json:"id,omitempty"`
	OccurredAt  json.RawMessage   `json:"occurred_at,omitempty"`
	Type        json.RawMessage   `json:"type,omitempty"`
	Payload     json.RawMessage   `json:"payload,omitempty"`
	Refs        json.RawMessage   `json:"refs,omitempty"`
}

type appendResponse struct {
	Events   []eventView       `json:"events"`
	Incident incident.Headline `json:"incident"`
}

// maxEventsPerAppend bounds one append; the body limit bounds it too.
const maxEventsPerAppend = 1000

func (s *Server) appendEvents(w http.ResponseWriter, r *http.Request) {
	var req appendRequest
	if err := s.readJSON(w, r, &req); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	drafts, err := req.drafts()
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	res, err := s.Store.Append(r.Context(), store.AppendRequest{IncidentID: r.PathValue("id"), Actor: p.Actor(), Drafts: drafts, ExpectedSeq: req.ExpectedSeq})
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	s.metrics.appended.Add(float64(len(res.Events)))
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	writeJSON(w, status, appendResponse{Events: viewsOf(res.Events), Incident: res.Headline})
}

func (req appendRequest) drafts() ([]incident.Draft, error) {
	single := req.Type != nil || req.Payload != nil || req.ID != nil || req.OccurredAt != nil || req.Refs != nil
	switch {
	case single && req.Events != nil:
		return nil, badRequest("events", "give either events or a single event's fields, not both")
	case single:
		raw, _ := json.Marshal(map[string]json.RawMessage{"id": req.ID, "occurred_at": req.OccurredAt, "type": req.Type, "payload": req.Payload, "refs": req.Refs})
		d, err := incident.DecodeDraft(dropNulls(raw))
		if err != nil {
			return nil, err
		}
		return []incident.Draft{d}, nil
	case len(req.Events) == 0:
		return nil, badRequest("events", "at least one event is required")
	case len(req.Events) > maxEventsPerAppend:
		return nil, badRequest("events", "%d events in one append, over the limit of %d", len(req.Events), maxEventsPerAppend)
	}
	drafts := make([]incident.Draft, len(req.Events))
	for i, raw := range req.Events {
		d, err := incident.DecodeDraft(raw)
		if err != nil {
			return nil, incident.WithPrefix(fmt.Sprintf("events[%d]", i), err)
		}
		drafts[i] = d
	}
	return drafts, nil
}

// dropNulls removes the absent fields of the single-event form before it is decoded as a draft.
func dropNulls(raw []byte) []byte {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(raw, &m)
	for k, v := range m {
		if v == nil || string(v) == "null" {
			delete(m, k)
		}
	}
	out, _ := json.Marshal(m)
	return out
}

func (s *Server) catchUp(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	if _, err := s.Store.Incident(r.Context(), id); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	events, err := s.Store.Events(r.Context(), id, 0, 0)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	var since time.Time
	switch {
	case q.Get("since") != "":
		since, err = time.Parse(time.RFC3339Nano, q.Get("since"))
		if err != nil {
			writeError(w, r, s.Logger, badRequest("since", "%q is not an RFC 3339 time", q.Get("since")))
			return
		}
	case q.Get("since_seq") != "":
		n, err := intParam(q.Get("since_seq"), "since_seq", 0, 1<<62)
		if err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		// Everything recorded after the event the reader last saw.
		if n > 0 && n <= len(events) {
			since = events[n-1].RecordedAt
		} else if n > len(events) {
			since = s.Now()
		}
	default:
		writeError(w, r, s.Logger, badRequest("since", "give since (an RFC 3339 time) or since_seq"))
		return
	}
	writeJSON(w, http.StatusOK, incident.CatchUpSince(id, events, since))
}

// enumParam reads a query parameter that lists values of an enumeration, comma-separated or
// repeated (?status=a,b or ?status=a&status=b).
func enumParam[T ~string](q url.Values, name string, valid []T) ([]T, error) {
	var out []T
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if !oneOf(T(p), valid) {
				return nil, badRequest(name, "%q is not one of %v", p, valid)
			}
			out = append(out, T(p))
		}
	}
	return out, nil
}

func intParam(v, name string, def, max int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > max {
		return 0, badRequest(name, "%q is not a whole number from 0 to %d", v, max)
	}
	return n, nil
}

func oneOf[T comparable](v T, valid []T) bool {
	for _, x := range valid {
		if v == x {
			return true
		}
	}
	return false
}
