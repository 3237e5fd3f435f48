package analyzer

import (
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/incident"
)

// TestDrafts: a new finding is added, a changed one supersedes its key, an unchanged one (its
// score moved a little) is left alone, one no longer found is retracted, and a person's
// finding is never touched.
func TestDrafts(t *testing.T) {
	t0 := time.Date(2026, 4, 16, 14, 0, 0, 0, time.UTC)
	person := incident.Actor{Kind: incident.ActorPerson, ID: "u1"}
	var events []incident.Event
	add := func(by incident.Actor, p incident.Payload) string {
		n := len(events) + 1
		id := "00000000-0000-7000-8000-00000000000" + string(rune('0'+n))
		events = append(events, incident.Event{ID: id, IncidentID: "i", Seq: int64(n), OccurredAt: t0, RecordedAt: t0, Actor: by, Type: p.EventType(), Payload: p})
		return id
	}
	add(person, incident.Declared{Title: "x", Severity: "SEV2"})
	f := func(key, title string, score float64) incident.Finding {
		return incident.Finding{Kind: incident.FindingChange, Key: key, Title: title, Score: score, Confidence: 0.5}
	}
	steady := add(Actor, f("change:a", "deploy a", 1.0))
	changed := add(Actor, f("change:b", "deploy b", 1.0))
	gone := add(Actor, f("change:c", "deploy c", 1.0))
	add(person, f("change:d", "a person's own finding", 1.0))
	s := incident.Project("i", events)

	drafts := Drafts(s, Result{Findings: []incident.Finding{
		f("change:a", "deploy a", 1.1),           // within 20%: unchanged
		f("change:b", "deploy b, and more", 2),   // changed
		f("change:e", "a new one", 0.5),          // new
		f("change:e", "the same key twice", 0.4), // one per key
	}})
	got := map[string]incident.Draft{}
	for _, d := range drafts {
		key := d.Refs.Supersedes
		if p, ok := d.Payload.(incident.Finding); ok && key == "" {
			key = p.Key
		}
		got[key] = d
	}
	if len(drafts) != 3 {
		t.Fatalf("%d drafts: %+v", len(drafts), drafts)
	}
	if _, ok := got[steady]; ok {
		t.Error("an unchanged finding was posted again")
	}
	if d, ok := got[changed]; !ok || d.Type != incident.TypeFinding {
		t.Errorf("the changed finding does not supersede: %+v", d)
	}
	if d, ok := got[gone]; !ok || d.Type != incident.TypeEntryRetracted {
		t.Errorf("the finding no longer found is not retracted: %+v", d)
	}
	if d, ok := got["change:e"]; !ok || d.Payload.(incident.Finding).Title != "a new one" {
		t.Errorf("the new finding: %+v", d)
	}
}
