package incident

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeDraft(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		wantField string // the field the error must name; empty means valid
	}{
		{"observation", `{"type":"observation.recorded","payload":{"text":"p99 at 2s","stale_after":"15m"}}`, ""},
		{"stale_after in seconds", `{"type":"observation.recorded","payload":{"text":"x","stale_after":90}}`, ""},
		{"back-dated", `{"type":"note.added","occurred_at":"2026-04-06T14:00:00Z","payload":{"text":"x"}}`, ""},
		{"unknown type", `{"type":"incident.exploded","payload":{}}`, "type"},
		{"missing type", `{"payload":{"text":"x"}}`, "type"},
		{"missing payload", `{"type":"note.added"}`, "payload"},
		{"null payload", `{"type":"note.added","payload":null}`, "payload"},
		{"payload of wrong shape", `{"type":"note.added","payload":{"text":5}}`, "payload.text"},
		{"unknown payload field", `{"type":"note.added","payload":{"text":"x","colour":"red"}}`, "payload.colour"},
		{"unknown top-level field", `{"type":"note.added","payload":{"text":"x"},"actor":{"id":"root"}}`, "actor"},
		{"empty required text", `{"type":"note.added","payload":{"text":"  "}}`, "payload.text"},
		{"bad status", `{"type":"incident.status_changed","payload":{"status":"panicking"}}`, "payload.status"},
		{"bad severity", `{"type":"incident.declared","payload":{"title":"t","severity":"SEV9"}}`, "payload.severity"},
		{"declared closed", `{"type":"incident.declared","payload":{"title":"t","severity":"SEV3","status":"closed"}}`, "payload.status"},
		{"bad duration", `{"type":"observation.recorded","payload":{"text":"x","stale_after":"soon"}}`, "payload"},
		{"negative duration", `{"type":"observation.recorded","payload":{"text":"x","stale_after":"-5m"}}`, "payload.stale_after"},
		{"bad ref", `{"type":"note.added","payload":{"text":"x"},"refs":{"evidence":["nope"]}}`, "refs.evidence[0]"},
		{"bad id", `{"id":"42","type":"note.added","payload":{"text":"x"}}`, "id"},
		{"retraction needs a target", `{"type":"entry.retracted","payload":{"reason":"x"}}`, "refs.supersedes"},
		{"status cannot supersede", `{"type":"incident.status_changed","payload":{"status":"resolved"},"refs":{"supersedes":"00000000-0000-7000-8000-000000000001"}}`, "refs.supersedes"},
		{"action start needs a target or text", `{"type":"action.started","payload":{}}`, "payload.action"},
		{"role needs a person", `{"type":"role.assigned","payload":{"role":"commander","person":{}}}`, "payload.person.name"},
		{"trailing data", `{"type":"note.added","payload":{"text":"x"}} {}`, ""},
		{"not an object", `[1,2]`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDraft([]byte(tc.in))
			valid := tc.wantField == "" && !strings.Contains(tc.name, "trailing") && !strings.Contains(tc.name, "not an object")
			if valid {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a FieldError, got %v", err)
			}
			if fe.Field != tc.wantField {
				t.Fatalf("error names field %q, want %q (%v)", fe.Field, tc.wantField, err)
			}
		})
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	ev := Event{ID: evID(1), IncidentID: "i", Seq: 1, Pos: 9, OccurredAt: t0, RecordedAt: t0.Add(time.Second), Actor: alice,
		Type: TypeObservation, Payload: Observation{Text: "x", StaleAfter: Duration(15 * time.Minute)},
		Refs: Refs{Evidence: []string{evID(2)}}}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"stale_after":"15m0s"`) {
		t.Fatalf("duration not written as text: %s", b)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev, back) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, ev)
	}
}

func TestEveryTypeHasPayloadAndDescription(t *testing.T) {
	for _, typ := range Types() {
		p := newPayload[typ]()
		if deref(p).EventType() != typ {
			t.Errorf("%s: payload says %s", typ, deref(p).EventType())
		}
		if d := Describe(Event{Type: typ, Payload: deref(p)}); d == string(typ) {
			t.Errorf("%s has no description", typ)
		}
	}
}

// FuzzDecodeDraft checks that no input panics the decoder, and that whatever it accepts is valid
// and survives a round trip through JSON unchanged.
func FuzzDecodeDraft(f *testing.F) {
	for _, s := range []string{
		`{"type":"observation.recorded","payload":{"text":"p99","stale_after":"15m"}}`,
		`{"type":"incident.declared","payload":{"title":"t","severity":"SEV1"}}`,
		`{"type":"hypothesis.status_changed","payload":{"hypothesis":"00000000-0000-7000-8000-000000000001","status":"refuted"}}`,
		`{"type":"entry.retracted","payload":{"reason":"x"},"refs":{"supersedes":"00000000-0000-7000-8000-000000000001"}}`,
		`{"type":"action.started","payload":{"text":"restart","owner":{"name":"bo"}}}`,
		`{"type":"chat.imported","occurred_at":"2026-01-01T00:00:00Z","payload":{"text":"hi","author":"a","sent_at":"2026-01-01T00:00:00Z"}}`,
		`{}`, `null`, `[]`, `{"type":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := DecodeDraft(in)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a FieldError: %v", err)
			}
			return
		}
		if err := ValidateDraft(d); err != nil {
			t.Fatalf("accepted an invalid draft: %v", err)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal accepted draft: %v", err)
		}
		d2, err := DecodeDraft(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip changed the draft:\n%+v\n%+v", d, d2)
		}
	})
}
