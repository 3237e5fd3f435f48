// Package store persists the incident log, the incident index and the credentials. SQLite is the
// default; the Store interface is what a PostgreSQL implementation satisfies for several replicas.
//
// Appends are durable before they are acknowledged, and every append is checked against the
// incident's state (incident.State.Apply) inside the store, so that the check and the write cannot
// be raced by another writer.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/incident"
)

// Store is the persistence every caller goes through.
type Store interface {
	auth.Store
	// Append checks the drafts against the incident's state and stores them in one transaction.
	Append(ctx context.Context, req AppendRequest) (AppendResult, error)
	// Events returns an incident's events with seq > afterSeq, in order; limit <= 0 means all.
	Events(ctx context.Context, incidentID string, afterSeq int64, limit int) ([]incident.Event, error)
	// Incident returns an incident's headline, or ErrNotFound.
	Incident(ctx context.Context, id string) (incident.Headline, error)
	// Incidents lists incidents matching f, most recently updated first.
	Incidents(ctx context.Context, f Filter) ([]incident.Headline, error)
	// ChangedSince returns the incidents with events at pos > afterPos, in order of their last
	// pos, for resuming the incident-list stream.
	ChangedSince(ctx context.Context, afterPos int64) ([]incident.Headline, error)
	// AlertLink returns what was done with an alert fingerprint, if anything.
	AlertLink(ctx context.Context, fingerprint string) (AlertLink, bool, error)
	// SaveAlertLink records what was done with an alert fingerprint.
	SaveAlertLink(ctx context.Context, l AlertLink) error
	// Delivered reports whether a webhook delivery with this key was already processed.
	Delivered(ctx context.Context, key string) (bool, error)
	// MarkDelivered records a processed delivery and the alert states it carried, together.
	MarkDelivered(ctx context.Context, key string, at time.Time, alerts []AlertEvent) error
	// AlertEvents lists the alert states received in [start, end], oldest first.
	AlertEvents(ctx context.Context, start, end time.Time) ([]AlertEvent, error)
	// RecordChange stores a change; false when one with the same id was already stored.
	RecordChange(ctx context.Context, c changes.Change, now time.Time) (bool, error)
	// Changes lists changes matching f, newest first.
	Changes(ctx context.Context, f changes.Filter) ([]changes.Change, error)
	// LastPos is the position of the newest event of all incidents (0 when there is none).
	LastPos(ctx context.Context) (int64, error)
	// Ping checks that the store can serve reads.
	Ping(ctx context.Context) error
	// Close finishes queued appends and releases the database.
	Close() error
}

// AppendRequest is one append: events for one incident, all stored or none.
type AppendRequest struct {
	IncidentID string
	// Create declares a new incident; the first draft must be incident.declared.
	Create bool
	Actor  incident.Actor
	Drafts []incident.Draft
	// ExpectedSeq, when set, makes the append conditional on the incident's last seq (optimistic
	// concurrency): on mismatch the append fails with a *SeqConflict.
	ExpectedSeq *int64
}

// AppendResult is what an append stored.
type AppendResult struct {
	Events   []incident.Event
	Headline incident.Headline
	// Replayed is true when every draft carried an id that was already stored: a retry, answered
	// with the stored events and nothing written.
	Replayed bool
}

// Committed is one stored event with its incident's headline after the append, as published to
// live subscribers.
type Committed struct {
	Event    incident.Event
	Headline incident.Headline
}

// Filter selects incidents for a list.
type Filter struct {
	Statuses   []incident.Status
	Severities []incident.Severity
	// Open keeps only incidents that are neither resolved nor closed.
	Open bool
	// Query matches the title, case-insensitively.
	Query string
	Limit int
}

var (
	// ErrNotFound: no such incident (or token, or session).
	ErrNotFound = auth.ErrNotFound
	// ErrExists: Create named an incident that already exists.
	ErrExists = errors.New("incident already exists")
	// ErrClosed: the store is shutting down.
	ErrClosed = errors.New("store is closed")
)

// SeqConflict is an append whose ExpectedSeq did not match.
type SeqConflict struct {
	Expected, Current int64
}

func (e *SeqConflict) Error() string {
	return fmt.Sprintf("expected_seq is %d but the incident is at seq %d", e.Expected, e.Current)
}

// IDConflict is a draft id that is already used by another incident or by a different event.
type IDConflict struct {
	Index int
	ID    string
}

func (e *IDConflict) Error() string {
	return fmt.Sprintf("events[%d].id: %s is already used by another event", e.Index, e.ID)
}

// Options tunes a store.
type Options struct {
	// MaxBatch bounds how many appends share one transaction (group commit).
	MaxBatch int
	// OnCommit is called after each commit, in commit order, with the stored events. It must
	// not block: it runs on the writer.
	OnCommit func([]Committed)
	// Now is the clock for recorded_at; nil means time.Now.
	Now func() time.Time
}
