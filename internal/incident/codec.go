package incident

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// MarshalJSON writes the duration as Go duration text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads Go duration text ("15m"), or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return errors.New("must be a duration such as \"15m\" or a number of seconds")
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"15m\"", s)
	}
	*d = Duration(v)
	return nil
}

// DecodePayload decodes raw JSON into the payload type of t, rejecting unknown fields so that a
// misspelt field is an error and not silently dropped.
func DecodePayload(t Type, raw []byte) (Payload, error) {
	mk, ok := newPayload[t]
	if !ok {
		return nil, fieldErr("type", "unknown event type %q", t)
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, fieldErr("payload", "is required for %s", t)
	}
	p := mk()
	if err := decodeStrict(raw, p); err != nil {
		return nil, WithPrefix("payload", err)
	}
	// Payloads are used by value everywhere else.
	return deref(p), nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and trailing data, and
// turns encoding/json's errors into FieldErrors that name the field.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonFieldError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fieldErr("", "unexpected data after the JSON value")
	}
	return nil
}

// jsonFieldError names the field that encoding/json choked on, where it says.
func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fieldErr(te.Field, "must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return fieldErr("", "malformed JSON at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldErr(name, "is not a known field")
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fieldErr("", "the JSON ends early")
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	// Errors from our own UnmarshalJSON methods (durations, times) lack the field name.
	return fieldErr("", "%v", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}

func deref(p Payload) Payload {
	switch v := p.(type) {
	case *Declared:
		return *v
	case *TitleChanged:
		return *v
	case *SummaryChanged:
		return *v
	case *SeverityChanged:
		return *v
	case *StatusChanged:
		return *v
	case *RoleAssigned:
		return *v
	case *RoleReleased:
		return *v
	case *ImpactStated:
		return *v
	case *Observation:
		return *v
	case *HypothesisProposed:
		return *v
	case *HypothesisStatusChanged:
		return *v
	case *ActionPlanned:
		return *v
	case *ActionStarted:
		return *v
	case *ActionFinished:
		return *v
	case *ActionAbandoned:
		return *v
	case *Decision:
		return *v
	case *Note:
		return *v
	case *FollowUp:
		return *v
	case *ChatImported:
		return *v
	case *SignalAttached:
		return *v
	case *EntryRetracted:
		return *v
	case *Finding:
		return *v
	}
	panic(fmt.Sprintf("incident: payload %T has no deref case", p))
}

// DecodeDraft decodes and validates one draft from JSON. Errors are FieldErrors naming the field.
func DecodeDraft(raw []byte) (Draft, error) {
	// The outer Payload shadows Draft's, so the payload stays raw until the type is known.
	type plain Draft
	var w struct {
		*plain
		Payload json.RawMessage `json:"payload"`
	}
	var d Draft
	w.plain = (*plain)(&d)
	if err := decodeStrict(raw, &w); err != nil {
		return Draft{}, err
	}
	if d.Type == "" {
		return Draft{}, fieldErr("type", "is required")
	}
	p, err := DecodePayload(d.Type, w.Payload)
	if err != nil {
		return Draft{}, err
	}
	d.Payload = p
	return d, ValidateDraft(d)
}

// UnmarshalJSON lets a Draft appear inside a larger request body.
func (d *Draft) UnmarshalJSON(b []byte) error {
	v, err := DecodeDraft(b)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalJSON decodes a stored event, typing its payload. Stored events were validated when
// they were appended, so only the shape is checked here.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var w struct {
		*plain
		Payload json.RawMessage `json:"payload"`
	}
	var ev Event
	w.plain = (*plain)(&ev)
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	p, err := LoadPayload(ev.Type, w.Payload)
	if err != nil {
		return err
	}
	ev.Payload = p
	*e = ev
	return nil
}

// LoadPayload decodes a payload read back from storage. Unlike DecodePayload it tolerates unknown
// fields, so that events written by a newer version still load.
func LoadPayload(t Type, raw []byte) (Payload, error) {
	mk, ok := newPayload[t]
	if !ok {
		return nil, fmt.Errorf("unknown event type %q", t)
	}
	p := mk()
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("decode %s payload: %w", t, err)
	}
	return deref(p), nil
}

// DecodeJSON decodes one JSON value into v strictly (no unknown fields, no trailing data), with
// errors that name the offending field. It is meant for request bodies.
func DecodeJSON(raw []byte, v any) error { return decodeStrict(raw, v) }

// UnmarshalJSON decodes a card entry, typing its payload by the entry's type.
func (e *Entry) UnmarshalJSON(b []byte) error {
	type plain Entry
	var w struct {
		*plain
		Payload json.RawMessage `json:"payload"`
	}
	var en Entry
	w.plain = (*plain)(&en)
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	p, err := LoadPayload(en.Type, w.Payload)
	if err != nil {
		return err
	}
	en.Payload = p
	*e = en
	return nil
}
