package incident

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// State is the projection of an incident's log: everything the log says, folded in order. It
// keeps superseded and retracted items (marked as such) so that views can show the history; the
// Card view leaves them out.
type State struct {
	ID string `json:"id"`
	// Number is the short human number ("INC-42") the store gives an incident when it is declared.
	Number     int64     `json:"number"`
	Title      string    `json:"title"`
	Summary    string    `json:"summary"`
	Severity   Severity  `json:"severity"`
	Status     Status    `json:"status"`
	DeclaredAt time.Time `json:"declared_at"`
	DeclaredBy Actor     `json:"declared_by"`
	// LastSeq and LastPos are those of the last event applied; UpdatedAt is its recorded_at.
	LastSeq   int64     `json:"last_seq"`
	LastPos   int64     `json:"last_pos"`
	UpdatedAt time.Time `json:"updated_at"`

	Statuses     []StatusChange      `json:"status_history"`
	Roles        map[Role]RoleHolder `json:"roles"`
	Impacts      []ImpactItem        `json:"impacts"`
	Observations []ObservationItem   `json:"observations"`
	Hypotheses   []HypothesisItem    `json:"hypotheses"`
	Actions      []ActionItem        `json:"actions"`
	Entries      []Entry             `json:"entries"`
	items        map[string]itemRef  // event id → the item it created, for references
	events       map[string]Type     // every event id seen → its type
}

// Meta is what every item records about the event that made it.
type Meta struct {
	ID         string    `json:"id"`
	Seq        int64     `json:"seq"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
	By         Actor     `json:"by"`
	// SupersededBy names the event that corrected or retracted this item.
	SupersededBy string `json:"superseded_by,omitempty"`
	Retracted    bool   `json:"retracted,omitempty"`
}

func metaOf(ev Event) Meta {
	return Meta{ID: ev.ID, Seq: ev.Seq, OccurredAt: ev.OccurredAt, RecordedAt: ev.RecordedAt, By: ev.Actor}
}

// Current reports whether the item is neither superseded nor retracted.
func (m Meta) Current() bool { return m.SupersededBy == "" }

type StatusChange struct {
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to"`
	At     time.Time `json:"at"`
	By     Actor     `json:"by"`
	Reason string    `json:"reason,omitempty"`
	Seq    int64     `json:"seq"`
}

type RoleHolder struct {
	Role   Role      `json:"role"`
	Person Person    `json:"person"`
	Since  time.Time `json:"since"`
	By     Actor     `json:"assigned_by"`
}

type ImpactItem struct {
	Meta
	ImpactStated
}

type ObservationItem struct {
	Meta
	Observation
}

type HypothesisItem struct {
	Meta
	Text      string           `json:"text"`
	Status    HypothesisStatus `json:"status"`
	Evidence  []string         `json:"evidence,omitempty"`
	UpdatedAt time.Time        `json:"updated_at"`
	History   []HypothesisNote `json:"history,omitempty"`
}

// HypothesisNote is one re-rating of a hypothesis.
type HypothesisNote struct {
	Status   HypothesisStatus `json:"status"`
	Reason   string           `json:"reason,omitempty"`
	Evidence []string         `json:"evidence,omitempty"`
	At       time.Time        `json:"at"`
	By       Actor            `json:"by"`
	EventID  string           `json:"event_id"`
}

type ActionItem struct {
	Meta
	Text           string       `json:"text"`
	Owner          Person       `json:"owner,omitzero"`
	ExpectedEffect string       `json:"expected_effect,omitempty"`
	Status         ActionStatus `json:"status"`
	StartedAt      time.Time    `json:"started_at,omitzero"`
	EndedAt        time.Time    `json:"ended_at,omitzero"`
	// Outcome is the finishing note, or the reason for abandoning.
	Outcome string `json:"outcome,omitempty"`
}

// InFlight reports whether the action is planned or under way.
func (a ActionItem) InFlight() bool {
	return a.Status == ActionStatusPlanned || a.Status == ActionStatusStarted
}

// Entry is an item with no lifecycle: a decision, note, follow-up, chat message or signal.
type Entry struct {
	Meta
	Type    Type    `json:"type"`
	Payload Payload `json:"payload"`
}

type itemKind uint8

const (
	kindImpact itemKind = iota + 1
	kindObservation
	kindHypothesis
	kindAction
	kindEntry
)

type itemRef struct {
	kind  itemKind
	index int
}

// New returns the empty state of an incident with no events yet.
func New(id string) *State { return newSized(id, 0) }

// newSized makes room for a log of n events up front.
func newSized(id string, n int) *State {
	return &State{ID: id, Roles: map[Role]RoleHolder{}, items: make(map[string]itemRef, n/2), events: make(map[string]Type, n)}
}

// Project folds events (in seq order) into a state. It is lenient: an event the state does not
// allow (possible only in a filtered view of the log, such as as-of by the occurred clock) is
// skipped rather than failing the whole projection.
func Project(id string, events []Event) *State {
	s := newSized(id, len(events))
	for _, ev := range events {
		_ = s.apply(ev, false)
	}
	return s
}

// Replay applies a stored event the way Project does, skipping one the state does not allow.
func (s *State) Replay(ev Event) { _ = s.apply(ev, false) }

// Apply checks that ev is allowed by the current state and, if so, applies it. On error the state
// is unchanged. This is the check every append goes through.
func (s *State) Apply(ev Event) error { return s.apply(ev, true) }

// Declared reports whether the incident exists (its declared event has been applied).
func (s *State) Declared() bool { return !s.DeclaredAt.IsZero() }

// Has reports whether an event with this id is part of the incident.
func (s *State) Has(id string) bool { _, ok := s.events[id]; return ok }

func (s *State) apply(ev Event, strict bool) error {
	if strict {
		if err := s.check(ev); err != nil {
			return err
		}
	}
	if ev.Payload == nil || ev.Payload.EventType() != ev.Type {
		return stateErr("payload", "does not match the event type %s", ev.Type)
	}
	if ev.Type != TypeDeclared && !s.Declared() {
		return stateErr("type", "the incident has not been declared")
	}
	if err := s.applyPayload(ev); err != nil {
		return err
	}
	s.events[ev.ID] = ev.Type
	s.LastSeq = ev.Seq
	if ev.Pos > s.LastPos {
		s.LastPos = ev.Pos
	}
	s.UpdatedAt = ev.RecordedAt
	return nil
}

// check holds the state-dependent rules that do not depend on the payload's type.
func (s *State) check(ev Event) error {
	if ev.IncidentID != s.ID {
		return stateErr("incident_id", "event belongs to incident %q, not %q", ev.IncidentID, s.ID)
	}
	if ev.Seq != s.LastSeq+1 {
		return stateErr("seq", "is %d, expected %d", ev.Seq, s.LastSeq+1)
	}
	if s.Has(ev.ID) {
		return stateErr("id", "event %s is already in the log", ev.ID)
	}
	if ev.Type == TypeDeclared && s.Declared() {
		return stateErr("type", "the incident is already declared")
	}
	if ev.Type != TypeDeclared && !s.Declared() {
		return stateErr("type", "the incident has not been declared; the first event must be %s", TypeDeclared)
	}
	if id := ev.Refs.Supersedes; id != "" {
		ref, ok := s.items[id]
		switch {
		case !ok:
			return stateErr("refs.supersedes", "%s is not an entry of this incident that can be corrected", id)
		case !s.meta(ref).Current():
			return stateErr("refs.supersedes", "%s was already superseded by %s", id, s.meta(ref).SupersededBy)
		case ev.Type != TypeEntryRetracted && s.events[id] != ev.Type:
			return stateErr("refs.supersedes", "%s is a %s; a correction must have the same type", id, s.events[id])
		}
	}
	if id := ev.Refs.Answers; id != "" && !s.Has(id) {
		return stateErr("refs.answers", "%s is not an event of this incident", id)
	}
	for i, id := range ev.Refs.Evidence {
		if !s.Has(id) {
			return stateErr(fmt.Sprintf("refs.evidence[%d]", i), "%s is not an event of this incident", id)
		}
	}
	return nil
}

// meta returns the Meta of the item that ref points at.
func (s *State) meta(ref itemRef) *Meta {
	switch ref.kind {
	case kindImpact:
		return &s.Impacts[ref.index].Meta
	case kindObservation:
		return &s.Observations[ref.index].Meta
	case kindHypothesis:
		return &s.Hypotheses[ref.index].Meta
	case kindAction:
		return &s.Actions[ref.index].Meta
	default:
		return &s.Entries[ref.index].Meta
	}
}

// resolve follows corrections from an item id to the current version of the item.
func (s *State) resolve(id string) (itemRef, bool) {
	for range len(s.items) + 1 {
		ref, ok := s.items[id]
		if !ok {
			return ref, false
		}
		m := s.meta(ref)
		if m.SupersededBy == "" || m.Retracted {
			return ref, true
		}
		id = m.SupersededBy
	}
	return itemRef{}, false
}

// supersede marks the item ev corrects; it returns the old item's ref for carrying state over.
func (s *State) supersede(ev Event) (itemRef, bool) {
	id := ev.Refs.Supersedes
	if id == "" {
		return itemRef{}, false
	}
	ref, ok := s.items[id]
	if !ok {
		return itemRef{}, false
	}
	m := s.meta(ref)
	m.SupersededBy = ev.ID
	m.Retracted = ev.Type == TypeEntryRetracted
	return ref, true
}

func (s *State) add(kind itemKind, id string, n int) {
	s.items[id] = itemRef{kind: kind, index: n}
}

// Clone returns a deep copy, so that a multi-event append can be tried without touching the
// original.
func (s *State) Clone() *State {
	c := *s
	c.Statuses = slices.Clone(s.Statuses)
	c.Roles = maps.Clone(s.Roles)
	c.Impacts = slices.Clone(s.Impacts)
	c.Observations = slices.Clone(s.Observations)
	c.Hypotheses = slices.Clone(s.Hypotheses)
	for i, h := range c.Hypotheses {
		c.Hypotheses[i].Evidence = slices.Clone(h.Evidence)
		c.Hypotheses[i].History = slices.Clone(h.History)
	}
	c.Actions = slices.Clone(s.Actions)
	c.Entries = slices.Clone(s.Entries)
	c.items = maps.Clone(s.items)
	c.events = maps.Clone(s.events)
	return &c
}
