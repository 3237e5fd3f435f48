package incident

import (
	"fmt"
	"strings"
	"time"
)

// Clock picks which of an event's two times a moment refers to.
type Clock string

const (
	// ClockOccurred asks what had happened in the world by T (back-dated events count at the time
	// they are dated).
	ClockOccurred Clock = "occurred"
	// ClockRecorded asks what the log said at T: what a responder could have seen then.
	ClockRecorded Clock = "recorded"
)

// AsOf projects the state at moment t by the given clock, from the full log in seq order.
func AsOf(id string, events []Event, t time.Time, clock Clock) *State {
	s := New(id)
	for _, ev := range events {
		at := ev.RecordedAt
		if clock == ClockOccurred {
			at = ev.OccurredAt
		}
		if at.After(t) {
			continue
		}
		_ = s.apply(ev, false)
	}
	return s
}

// Group is one kind of change in a catch-up.
type Group struct {
	Kind  string      `json:"kind"`
	Title string      `json:"title"`
	Items []CatchItem `json:"items"`
}

// CatchItem is one line of a catch-up.
type CatchItem struct {
	EventID    string    `json:"event_id"`
	Seq        int64     `json:"seq"`
	Type       Type      `json:"type"`
	Text       string    `json:"text"`
	By         Actor     `json:"by"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
}

// CatchUp is what changed in an incident since a moment, for a responder joining late or coming
// back: the headline then and now, and the new events grouped by kind.
type CatchUp struct {
	Since   time.Time `json:"since"`
	Until   time.Time `json:"until"`
	Events  int       `json:"events"`
	Changes []string  `json:"changes"`
	Groups  []Group   `json:"groups"`
}

// catchKinds orders the groups of a catch-up: the headline first, the chatter last.
var catchKinds = []struct {
	kind, title string
	types       []Type
}{
	{"status", "Status, severity and title", []Type{TypeDeclared, TypeStatusChanged, TypeSeverityChanged, TypeTitleChanged, TypeSummaryChanged}},
	{"impact", "Impact", []Type{TypeImpactStated}},
	{"roles", "Roles", []Type{TypeRoleAssigned, TypeRoleReleased}},
	{"hypotheses", "Hypotheses", []Type{TypeHypothesisProposed, TypeHypothesisStatus}},
	{"actions", "Actions", []Type{TypeActionPlanned, TypeActionStarted, TypeActionFinished, TypeActionAbandoned}},
	{"decisions", "Decisions", []Type{TypeDecision}},
	{"observations", "Observations", []Type{TypeObservation}},
	{"signals", "Signals", []Type{TypeSignalAttached}},
	{"findings", "Findings", []Type{TypeFinding}},
	{"follow_ups", "Follow-ups", []Type{TypeFollowUp}},
	{"corrections", "Corrections", []Type{TypeEntryRetracted}},
	{"notes", "Notes and chat", []Type{TypeNote, TypeChatImported}},
}

// catchKindOf is the catch-up group of each event type.
var catchKindOf = func() map[Type]string {
	m := map[Type]string{}
	for _, k := range catchKinds {
		for _, t := range k.types {
			m[t] = k.kind
		}
	}
	return m
}()

// CatchUpSince summarises what was recorded after since (by the recorded clock: what the reader
// has not yet been able to see), against the full log. until is the recorded time of the newest
// event.
func CatchUpSince(id string, events []Event, since time.Time) CatchUp {
	before := AsOf(id, events, since, ClockRecorded)
	after := Project(id, events)
	c := CatchUp{Since: since, Until: after.UpdatedAt}
	groups := map[string]*Group{}
	for _, ev := range events {
		if !ev.RecordedAt.After(since) {
			continue
		}
		c.Events++
		k := catchKindOf[ev.Type]
		g := groups[k]
		if g == nil {
			g = &Group{Kind: k}
			groups[k] = g
		}
		g.Items = append(g.Items, CatchItem{EventID: ev.ID, Seq: ev.Seq, Type: ev.Type, Text: Describe(ev),
			By: ev.Actor, OccurredAt: ev.OccurredAt, RecordedAt: ev.RecordedAt})
	}
	for _, k := range catchKinds {
		if g := groups[k.kind]; g != nil {
			g.Title = k.title
			c.Groups = append(c.Groups, *g)
		}
	}
	c.Changes = headlineChanges(before, after)
	return c
}

// headlineChanges says in words how the headline moved between two states.
func headlineChanges(a, b *State) []string {
	var out []string
	if !a.Declared() {
		return append(out, fmt.Sprintf("declared: %s (%s, %s)", b.Title, b.Severity, b.Status))
	}
	if a.Status != b.Status {
		out = append(out, fmt.Sprintf("status %s → %s", a.Status, b.Status))
	}
	if a.Severity != b.Severity {
		out = append(out, fmt.Sprintf("severity %s → %s", a.Severity, b.Severity))
	}
	if a.Title != b.Title {
		out = append(out, fmt.Sprintf("title is now %q", b.Title))
	}
	for _, r := range Roles {
		ha, hb := a.Roles[r], b.Roles[r]
		if ha.Person != hb.Person {
			switch {
			case hb.Person.Name == "":
				out = append(out, fmt.Sprintf("%s released (was %s)", r, ha.Person.Name))
			default:
				out = append(out, fmt.Sprintf("%s is now %s", r, hb.Person.Name))
			}
		}
	}
	ia, ib := a.CurrentImpact(), b.CurrentImpact()
	if ib != nil && (ia == nil || ia.ID != ib.ID) {
		out = append(out, "impact restated: "+ib.Description)
	}
	count := func(s *State, st HypothesisStatus) int {
		n := 0
		for _, h := range s.Hypotheses {
			if h.Current() && h.Status == st {
				n++
			}
		}
		return n
	}
	for _, st := range HypothesisStatuses {
		if na, nb := count(a, st), count(b, st); na != nb {
			out = append(out, fmt.Sprintf("%s hypotheses %d → %d", st, na, nb))
		}
	}
	return out
}

// Describe renders an event as one line of text for timelines and catch-ups.
func Describe(ev Event) string {
	switch p := ev.Payload.(type) {
	case Declared:
		return fmt.Sprintf("declared %s: %s", p.Severity, p.Title)
	case TitleChanged:
		return "title changed to " + quote(p.Title)
	case SummaryChanged:
		return "summary updated"
	case SeverityChanged:
		return withReason("severity set to "+string(p.Severity), p.Reason)
	case StatusChanged:
		return withReason("status set to "+string(p.Status), p.Reason)
	case RoleAssigned:
		return fmt.Sprintf("%s assigned to %s", p.Role, p.Person.Name)
	case RoleReleased:
		return withReason(string(p.Role)+" released", p.Reason)
	case ImpactStated:
		parts := []string{p.Description}
		if p.Who != "" {
			parts = append(parts, "who: "+p.Who)
		}
		if p.HowMany != "" {
			parts = append(parts, "how many: "+p.HowMany)
		}
		return "impact: " + strings.Join(parts, "; ")
	case Observation:
		return "observed: " + p.Text
	case HypothesisProposed:
		return "hypothesis: " + p.Text
	case HypothesisStatusChanged:
		return withReason("hypothesis marked "+string(p.Status), p.Reason)
	case ActionPlanned:
		return "action planned: " + p.Text + expect(p.ExpectedEffect)
	case ActionStarted:
		if p.Action != "" {
			return "action started"
		}
		return "action started: " + p.Text + expect(p.ExpectedEffect)
	case ActionFinished:
		return withReason("action finished", p.Outcome)
	case ActionAbandoned:
		return withReason("action abandoned", p.Reason)
	case Decision:
		return withReason("decided: "+p.Text, p.Rationale)
	case Note:
		return p.Text
	case FollowUp:
		return "follow-up: " + p.Text
	case ChatImported:
		return p.Author + ": " + p.Text
	case SignalAttached:
		return fmt.Sprintf("%s attached: %s", p.Kind, p.Title)
	case Finding:
		return fmt.Sprintf("%s finding: %s", p.Kind, p.Title)
	case EntryRetracted:
		return withReason("retracted an entry", p.Reason)
	}
	return string(ev.Type)
}

func withReason(s, reason string) string {
	if reason == "" {
		return s
	}
	return s + " (" + reason + ")"
}

func expect(e string) string {
	if e == "" {
		return ""
	}
	return "; expected: " + e
}

func quote(s string) string { return "“" + s + "”" }
