// Package incident owns the incident log: the event types, their validation, and the projections
// (current state, state as of a past moment, catch-up) computed from the log. It is pure: no I/O.
//
// The log is the truth. Events are never edited or deleted; a correction is a new event whose
// refs.supersedes names the event it replaces.
package incident

import (
	"time"
)

// ActorKind says what kind of party wrote an event.
type ActorKind string

const (
	ActorPerson      ActorKind = "person"
	ActorIntegration ActorKind = "integration"
	ActorAnalyzer    ActorKind = "analyzer"
	ActorAI          ActorKind = "ai"
)

// ActorKinds lists every valid actor kind, in display order.
var ActorKinds = []ActorKind{ActorPerson, ActorIntegration, ActorAnalyzer, ActorAI}

// Valid reports whether k is a known actor kind.
func (k ActorKind) Valid() bool {
	for _, v := range ActorKinds {
		if k == v {
			return true
		}
	}
	return false
}

// Actor is who wrote an event. The server fills it from the authenticated principal, so a client
// cannot write in someone else's name.
type Actor struct {
	Kind ActorKind `json:"kind"`
	ID   string    `json:"id"`
	Name string    `json:"name,omitempty"`
}

// Refs link an event to other events of the same incident.
type Refs struct {
	// Supersedes names the event this one corrects or retracts.
	Supersedes string `json:"supersedes,omitempty"`
	// Answers names the event this one responds to (a question, an action).
	Answers string `json:"answers,omitempty"`
	// Evidence names events (observations, signals, findings) that support this one.
	Evidence []string `json:"evidence,omitempty"`
}

// IsZero reports whether no reference is set; it keeps empty refs out of JSON.
func (r Refs) IsZero() bool {
	return r.Supersedes == "" && r.Answers == "" && len(r.Evidence) == 0
}

// Event is one entry of an incident's log.
type Event struct {
	// ID is a UUIDv7, so ids sort by creation time.
	ID         string `json:"id"`
	IncidentID string `json:"incident_id"`
	// Seq numbers an incident's events 1, 2, 3, … in the order they were recorded.
	Seq int64 `json:"seq"`
	// Pos orders events across all incidents (the store's commit order); the incident-list stream
	// resumes from it.
	Pos int64 `json:"pos"`
	// OccurredAt is when it happened in the world; a responder may back-date it.
	OccurredAt time.Time `json:"occurred_at"`
	// RecordedAt is the server's clock at the time of recording.
	RecordedAt time.Time `json:"recorded_at"`
	Actor      Actor     `json:"actor"`
	Type       Type      `json:"type"`
	Payload    Payload   `json:"payload"`
	Refs       Refs      `json:"refs,omitzero"`
}

// Draft is an event as a client submits it: the server assigns the id (unless given), the
// sequence number, recorded_at and the actor.
type Draft struct {
	// ID is optional; a client that sets it may retry the append safely (an id already stored
	// for the same incident returns the stored event instead of writing it twice).
	ID         string    `json:"id,omitempty"`
	OccurredAt time.Time `json:"occurred_at,omitzero"`
	Type       Type      `json:"type"`
	Payload    Payload   `json:"payload"`
	Refs       Refs      `json:"refs,omitzero"`
}
