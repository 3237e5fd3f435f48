package incident

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on free text keep one careless paste from bloating the log.
const (
	maxTitle = 200
	maxText  = 16 << 10
)

// FieldError is a validation error that names the offending field (in JSON path form, such as
// "payload.status").
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// WithPrefix returns err with its field put under prefix ("events[2]" + "payload.status").
func WithPrefix(prefix string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		f := prefix
		if fe.Field != "" {
			f = prefix + "." + fe.Field
		}
		return &FieldError{Field: f, Msg: fe.Msg}
	}
	return &FieldError{Field: prefix, Msg: err.Error()}
}

// ErrConflict wraps a transition that the current state does not allow (a 409 or 422 to callers).
var ErrConflict = errors.New("conflicts with the incident's state")

// StateError is a valid event that the incident's current state does not allow, such as closing an
// incident that was never resolved. Field names what is wrong.
type StateError struct {
	Field string
	Msg   string
}

func (e *StateError) Error() string { return e.Field + ": " + e.Msg }
func (e *StateError) Unwrap() error { return ErrConflict }

func stateErr(field, format string, args ...any) error {
	return &StateError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func required(field, v string, max int) error {
	if strings.TrimSpace(v) == "" {
		return fieldErr(field, "is required")
	}
	return text(field, v, max)
}

func text(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return fieldErr(field, "is not valid UTF-8")
	}
	if len(v) > max {
		return fieldErr(field, "is %d bytes, over the limit of %d", len(v), max)
	}
	return nil
}

func enum[T ~string](field string, v T, valid []T) error {
	if !oneOf(v, valid) {
		return fieldErr(field, "%q is not one of %s", v, list(valid))
	}
	return nil
}

func eventRef(field, id string) error {
	if id == "" {
		return fieldErr(field, "is required (the id of an earlier event)")
	}
	if !validID(id) {
		return fieldErr(field, "%q is not an event id", id)
	}
	return nil
}

func refList(field string, ids []string) error {
	for i, id := range ids {
		if err := eventRef(fmt.Sprintf("%s[%d]", field, i), id); err != nil {
			return err
		}
	}
	return nil
}

func person(field string, p Person, need bool) error {
	if need && strings.TrimSpace(p.Name) == "" {
		return fieldErr(field+".name", "is required")
	}
	if err := text(field+".name", p.Name, maxTitle); err != nil {
		return err
	}
	return text(field+".id", p.ID, maxTitle)
}

func (p Declared) validate() error {
	if err := required("title", p.Title, maxTitle); err != nil {
		return err
	}
	if err := text("summary", p.Summary, maxText); err != nil {
		return err
	}
	if err := enum("severity", p.Severity, Severities); err != nil {
		return err
	}
	if p.Status != "" {
		if err := enum("status", p.Status, Statuses); err != nil {
			return err
		}
		if p.Status == StatusClosed {
			return fieldErr("status", "an incident cannot be declared closed")
		}
	}
	return nil
}

func (p TitleChanged) validate() error   { return required("title", p.Title, maxTitle) }
func (p SummaryChanged) validate() error { return text("summary", p.Summary, maxText) }
func (p SeverityChanged) validate() error {
	if err := enum("severity", p.Severity, Severities); err != nil {
		return err
	}
	return text("reason", p.Reason, maxText)
}

func (p StatusChanged) validate() error {
	if err := enum("status", p.Status, Statuses); err != nil {
		return err
	}
	return text("reason", p.Reason, maxText)
}

func (p RoleAssigned) validate() error {
	if err := enum("role", p.Role, Roles); err != nil {
		return err
	}
	return person("person", p.Person, true)
}

func (p RoleReleased) validate() error {
	if err := enum("role", p.Role, Roles); err != nil {
		return err
	}
	return text("reason", p.Reason, maxText)
}

func (p ImpactStated) validate() error {
	for _, f := range []struct {
		name, v string
		max     int
	}{{"who", p.Who, maxTitle}, {"how_many", p.HowMany, maxTitle}} {
		if err := text(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if err := required("description", p.Description, maxText); err != nil {
		return err
	}
	return refList("evidence", p.Evidence)
}

func (p Observation) validate() error {
	if err := required("text", p.Text, maxText); err != nil {
		return err
	}
	if p.StaleAfter < 0 {
		return fieldErr("stale_after", "must not be negative")
	}
	return text("source", p.Source, maxTitle)
}

func (p HypothesisProposed) validate() error {
	if err := required("text", p.Text, maxText); err != nil {
		return err
	}
	return refList("evidence", p.Evidence)
}

func (p HypothesisStatusChanged) validate() error {
	if err := eventRef("hypothesis", p.Hypothesis); err != nil {
		return err
	}
	if err := enum("status", p.Status, HypothesisStatuses); err != nil {
		return err
	}
	if err := text("reason", p.Reason, maxText); err != nil {
		return err
	}
	return refList("evidence", p.Evidence)
}

func (p ActionPlanned) validate() error {
	if err := required("text", p.Text, maxText); err != nil {
		return err
	}
	if err := person("owner", p.Owner, false); err != nil {
		return err
	}
	return text("expected_effect", p.ExpectedEffect, maxText)
}

func (p ActionStarted) validate() error {
	switch {
	case p.Action != "" && p.Text != "":
		return fieldErr("text", "must be empty when action names a planned action")
	case p.Action != "":
		return eventRef("action", p.Action)
	case strings.TrimSpace(p.Text) == "":
		return fieldErr("action", "is required (the id of the planned action), or give text for an unplanned one")
	}
	return ActionPlanned{Text: p.Text, Owner: p.Owner, ExpectedEffect: p.ExpectedEffect}.validate()
}

func (p ActionFinished) validate() error {
	if err := eventRef("action", p.Action); err != nil {
		return err
	}
	return text("outcome", p.Outcome, maxText)
}

func (p ActionAbandoned) validate() error {
	if err := eventRef("action", p.Action); err != nil {
		return err
	}
	return text("reason", p.Reason, maxText)
}

func (p Decision) validate() error {
	if err := required("text", p.Text, maxText); err != nil {
		return err
	}
	return text("rationale", p.Rationale, maxText)
}

func (p Note) validate() error { return required("text", p.Text, maxText) }

func (p FollowUp) validate() error {
	if err := required("text", p.Text, maxText); err != nil {
		return err
	}
	return person("owner", p.Owner, false)
}

func (p ChatImported) validate() error {
	if err := required("text", p.Text, maxText); err != nil {
		return err
	}
	if err := required("author", p.Author, maxTitle); err != nil {
		return err
	}
	if err := text("channel", p.Channel, maxTitle); err != nil {
		return err
	}
	return text("link", p.Link, maxTitle*10)
}

func (p SignalAttached) validate() error {
	if err := enum("kind", p.Kind, []SignalKind{SignalAlert, SignalChange, SignalFinding}); err != nil {
		return err
	}
	if err := required("ref", p.Ref, maxTitle*10); err != nil {
		return err
	}
	if err := required("title", p.Title, maxTitle*5); err != nil {
		return err
	}
	if err := text("url", p.URL, maxTitle*10); err != nil {
		return err
	}
	return text("state", p.State, maxTitle)
}

func (p EntryRetracted) validate() error { return required("reason", p.Reason, maxText) }

// ValidateDraft checks a draft on its own, without the incident's state: known type, payload of
// that type, well-formed references. The state-dependent checks happen in State.Apply.
func ValidateDraft(d Draft) error {
	if !d.Type.Valid() {
		return fieldErr("type", "unknown event type %q", d.Type)
	}
	if d.Payload == nil {
		return fieldErr("payload", "is required for %s", d.Type)
	}
	if d.Payload.EventType() != d.Type {
		return fieldErr("payload", "is a %s payload, not %s", d.Payload.EventType(), d.Type)
	}
	if d.ID != "" && !validID(d.ID) {
		return fieldErr("id", "%q is not a UUID", d.ID)
	}
	if err := d.Payload.validate(); err != nil {
		return WithPrefix("payload", err)
	}
	if d.Refs.Supersedes != "" {
		if err := eventRef("refs.supersedes", d.Refs.Supersedes); err != nil {
			return err
		}
		if !supersedable[d.Type] && d.Type != TypeEntryRetracted {
			return fieldErr("refs.supersedes", "%s events cannot supersede others; append a new change instead", d.Type)
		}
	} else if d.Type == TypeEntryRetracted {
		return fieldErr("refs.supersedes", "is required: it names the entry to retract")
	}
	if d.Refs.Answers != "" {
		if err := eventRef("refs.answers", d.Refs.Answers); err != nil {
			return err
		}
	}
	return refList("refs.evidence", d.Refs.Evidence)
}

// validID accepts the canonical 36-character UUID text form.
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
