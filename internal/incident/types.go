package incident

import (
	"slices"
	"strings"
	"time"
)

// Type names the kind of an event; it decides the payload's shape.
type Type string

const (
	TypeDeclared           Type = "incident.declared"
	TypeTitleChanged       Type = "incident.title_changed"
	TypeSummaryChanged     Type = "incident.summary_changed"
	TypeSeverityChanged    Type = "incident.severity_changed"
	TypeStatusChanged      Type = "incident.status_changed"
	TypeRoleAssigned       Type = "role.assigned"
	TypeRoleReleased       Type = "role.released"
	TypeImpactStated       Type = "impact.stated"
	TypeObservation        Type = "observation.recorded"
	TypeHypothesisProposed Type = "hypothesis.proposed"
	TypeHypothesisStatus   Type = "hypothesis.status_changed"
	TypeActionPlanned      Type = "action.planned"
	TypeActionStarted      Type = "action.started"
	TypeActionFinished     Type = "action.finished"
	TypeActionAbandoned    Type = "action.abandoned"
	TypeDecision           Type = "decision.recorded"
	TypeNote               Type = "note.added"
	TypeFollowUp           Type = "followup.added"
	TypeChatImported       Type = "chat.imported"
	TypeSignalAttached     Type = "signal.attached"
	TypeEntryRetracted     Type = "entry.retracted"
)

// Status is the incident's lifecycle stage.
type Status string

const (
	StatusInvestigating Status = "investigating"
	StatusIdentified    Status = "identified"
	StatusMitigating    Status = "mitigating"
	StatusMonitoring    Status = "monitoring"
	StatusResolved      Status = "resolved"
	StatusClosed        Status = "closed"
)

// Statuses lists the lifecycle in its usual forward order.
var Statuses = []Status{StatusInvestigating, StatusIdentified, StatusMitigating, StatusMonitoring, StatusResolved, StatusClosed}

// Open reports whether the incident still needs responders.
func (s Status) Open() bool { return s != StatusResolved && s != StatusClosed }

// Severity ranks an incident; SEV1 is the worst.
type Severity string

// Severities lists the valid severities, worst first.
var Severities = []Severity{"SEV1", "SEV2", "SEV3", "SEV4", "SEV5"}

// Valid reports whether s is one of the severities.
func (s Severity) Valid() bool { return oneOf(s, Severities) }

// Role is an incident role. All roles are optional: an incident never requires one.
type Role string

const (
	RoleCommander      Role = "commander"
	RoleCommunications Role = "communications"
	RoleScribe         Role = "scribe"
	RoleOperations     Role = "operations"
)

// Roles lists the incident roles.
var Roles = []Role{RoleCommander, RoleCommunications, RoleScribe, RoleOperations}

// HypothesisStatus tracks how a hypothesis stands against the evidence.
type HypothesisStatus string

const (
	HypothesisOpen      HypothesisStatus = "open"
	HypothesisSupported HypothesisStatus = "supported"
	HypothesisRefuted   HypothesisStatus = "refuted"
	HypothesisConfirmed HypothesisStatus = "confirmed"
)

// HypothesisStatuses lists the hypothesis statuses.
var HypothesisStatuses = []HypothesisStatus{HypothesisOpen, HypothesisSupported, HypothesisRefuted, HypothesisConfirmed}

// ActionStatus is where an action is in its life.
type ActionStatus string

const (
	ActionStatusPlanned   ActionStatus = "planned"
	ActionStatusStarted   ActionStatus = "started"
	ActionStatusFinished  ActionStatus = "finished"
	ActionStatusAbandoned ActionStatus = "abandoned"
)

// Person names a human, for roles and owners.
type Person struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Duration is a time.Duration written in JSON as Go duration text ("15m", "1h30m").
type Duration time.Duration

// Payload is the typed body of an event. Each event type has exactly one payload type.
type Payload interface {
	// EventType is the type this payload belongs to.
	EventType() Type
	// validate checks the payload on its own, naming the offending field.
	validate() error
}

// Declared opens an incident.
type Declared struct {
	Title    string   `json:"title"`
	Summary  string   `json:"summary,omitempty"`
	Severity Severity `json:"severity"`
	// Status defaults to investigating.
	Status Status `json:"status,omitempty"`
}

type TitleChanged struct {
	Title string `json:"title"`
}

type SummaryChanged struct {
	Summary string `json:"summary"`
}

type SeverityChanged struct {
	Severity Severity `json:"severity"`
	Reason   string   `json:"reason,omitempty"`
}

// StatusChanged moves the incident along its lifecycle; moving back is allowed and recorded.
type StatusChanged struct {
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"`
}

type RoleAssigned struct {
	Role   Role   `json:"role"`
	Person Person `json:"person"`
}

type RoleReleased struct {
	Role   Role   `json:"role"`
	Reason string `json:"reason,omitempty"`
}

// ImpactStated says who is hurt, how many, since when, on what evidence. The latest statement is
// the current impact; earlier ones stay in the log.
type ImpactStated struct {
	Description string    `json:"description"`
	Who         string    `json:"who,omitempty"`
	HowMany     string    `json:"how_many,omitempty"`
	Since       time.Time `json:"since,omitzero"`
	Evidence    []string  `json:"evidence,omitempty"`
}

// Observation is a fact seen by someone; it goes stale after StaleAfter (zero: never).
type Observation struct {
	Text       string   `json:"text"`
	Source     string   `json:"source,omitempty"`
	StaleAfter Duration `json:"stale_after,omitempty"`
}

type HypothesisProposed struct {
	Text     string   `json:"text"`
	Evidence []string `json:"evidence,omitempty"`
}

// HypothesisStatusChanged re-rates a hypothesis, named by the id of the event that proposed it.
type HypothesisStatusChanged struct {
	Hypothesis string           `json:"hypothesis"`
	Status     HypothesisStatus `json:"status"`
	Reason     string           `json:"reason,omitempty"`
	Evidence   []string         `json:"evidence,omitempty"`
}

// ActionPlanned records an intervention and the effect it is expected to have, so the actual
// effect can be compared afterwards.
type ActionPlanned struct {
	Text           string `json:"text"`
	Owner          Person `json:"owner,omitzero"`
	ExpectedEffect string `json:"expected_effect,omitempty"`
}

// ActionStarted starts a planned action (Action set) or records an unplanned one already under
// way (Text set).
type ActionStarted struct {
	Action         string `json:"action,omitempty"`
	Text           string `json:"text,omitempty"`
	Owner          Person `json:"owner,omitzero"`
	ExpectedEffect string `json:"expected_effect,omitempty"`
}

type ActionFinished struct {
	Action  string `json:"action"`
	Outcome string `json:"outcome,omitempty"`
}

type ActionAbandoned struct {
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
}

type Decision struct {
	Text      string `json:"text"`
	Rationale string `json:"rationale,omitempty"`
}

type Note struct {
	Text string `json:"text"`
}

type FollowUp struct {
	Text  string `json:"text"`
	Owner Person `json:"owner,omitzero"`
}

// ChatImported is a message bridged in from a chat tool.
type ChatImported struct {
	Text    string    `json:"text"`
	Author  string    `json:"author"`
	Channel string    `json:"channel,omitempty"`
	Link    string    `json:"link,omitempty"`
	SentAt  time.Time `json:"sent_at,omitzero"`
}

// SignalKind is what a signal attachment points at.
type SignalKind string

const (
	SignalAlert   SignalKind = "alert"
	SignalChange  SignalKind = "change"
	SignalFinding SignalKind = "finding"
)

// SignalAttached references an alert, a change or a finding held elsewhere.
type SignalAttached struct {
	Kind  SignalKind `json:"kind"`
	Ref   string     `json:"ref"`
	Title string     `json:"title"`
	URL   string     `json:"url,omitempty"`
	// State is the signal's own state (for an alert: firing or resolved).
	State string `json:"state,omitempty"`
}

// EntryRetracted withdraws the event named by refs.supersedes without replacing it.
type EntryRetracted struct {
	Reason string `json:"reason"`
}

func (Declared) EventType() Type                { return TypeDeclared }
func (TitleChanged) EventType() Type            { return TypeTitleChanged }
func (SummaryChanged) EventType() Type          { return TypeSummaryChanged }
func (SeverityChanged) EventType() Type         { return TypeSeverityChanged }
func (StatusChanged) EventType() Type           { return TypeStatusChanged }
func (RoleAssigned) EventType() Type            { return TypeRoleAssigned }
func (RoleReleased) EventType() Type            { return TypeRoleReleased }
func (ImpactStated) EventType() Type            { return TypeImpactStated }
func (Observation) EventType() Type             { return TypeObservation }
func (HypothesisProposed) EventType() Type      { return TypeHypothesisProposed }
func (HypothesisStatusChanged) EventType() Type { return TypeHypothesisStatus }
func (ActionPlanned) EventType() Type           { return TypeActionPlanned }
func (ActionStarted) EventType() Type           { return TypeActionStarted }
func (ActionFinished) EventType() Type          { return TypeActionFinished }
func (ActionAbandoned) EventType() Type         { return TypeActionAbandoned }
func (Decision) EventType() Type                { return TypeDecision }
func (Note) EventType() Type                    { return TypeNote }
func (FollowUp) EventType() Type                { return TypeFollowUp }
func (ChatImported) EventType() Type            { return TypeChatImported }
func (SignalAttached) EventType() Type          { return TypeSignalAttached }
func (EntryRetracted) EventType() Type          { return TypeEntryRetracted }

// newPayload maps each type to a fresh payload to decode into.
var newPayload = map[Type]func() Payload{
	TypeDeclared:           func() Payload { return &Declared{} },
	TypeTitleChanged:       func() Payload { return &TitleChanged{} },
	TypeSummaryChanged:     func() Payload { return &SummaryChanged{} },
	TypeSeverityChanged:    func() Payload { return &SeverityChanged{} },
	TypeStatusChanged:      func() Payload { return &StatusChanged{} },
	TypeRoleAssigned:       func() Payload { return &RoleAssigned{} },
	TypeRoleReleased:       func() Payload { return &RoleReleased{} },
	TypeImpactStated:       func() Payload { return &ImpactStated{} },
	TypeObservation:        func() Payload { return &Observation{} },
	TypeHypothesisProposed: func() Payload { return &HypothesisProposed{} },
	TypeHypothesisStatus:   func() Payload { return &HypothesisStatusChanged{} },
	TypeActionPlanned:      func() Payload { return &ActionPlanned{} },
	TypeActionStarted:      func() Payload { return &ActionStarted{} },
	TypeActionFinished:     func() Payload { return &ActionFinished{} },
	TypeActionAbandoned:    func() Payload { return &ActionAbandoned{} },
	TypeDecision:           func() Payload { return &Decision{} },
	TypeNote:               func() Payload { return &Note{} },
	TypeFollowUp:           func() Payload { return &FollowUp{} },
	TypeChatImported:       func() Payload { return &ChatImported{} },
	TypeSignalAttached:     func() Payload { return &SignalAttached{} },
	TypeEntryRetracted:     func() Payload { return &EntryRetracted{} },
	TypeFinding:            func() Payload { return &Finding{} },
}

// Types lists every event type, sorted.
func Types() []Type {
	out := make([]Type, 0, len(newPayload))
	for t := range newPayload {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Valid reports whether t is a known event type.
func (t Type) Valid() bool { _, ok := newPayload[t]; return ok }

// supersedable types are items a correction may replace: content, not lifecycle transitions.
var supersedable = map[Type]bool{
	TypeImpactStated: true, TypeObservation: true, TypeHypothesisProposed: true, TypeActionPlanned: true,
	TypeDecision: true, TypeNote: true, TypeFollowUp: true, TypeChatImported: true, TypeSignalAttached: true,
	TypeFinding: true,
}

func oneOf[T ~string](v T, valid []T) bool {
	for _, x := range valid {
		if v == x {
			return true
		}
	}
	return false
}

func list[T ~string](valid []T) string {
	parts := make([]string, len(valid))
	for i, v := range valid {
		parts[i] = string(v)
	}
	return strings.Join(parts, ", ")
}
