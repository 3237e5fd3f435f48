package incident

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 4, 6, 14, 0, 0, 0, time.UTC)

var alice = Actor{Kind: ActorPerson, ID: "u1", Name: "Alice"}

// logBuilder appends events with consecutive seqs and ids, one minute apart.
type logBuilder struct {
	id     string
	events []Event
}

func newLog() *logBuilder { return &logBuilder{id: "inc-1"} }

func evID(n int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", n) }

func (b *logBuilder) next(p Payload, refs Refs) Event {
	n := len(b.events) + 1
	at := t0.Add(time.Duration(n) * time.Minute)
	return Event{ID: evID(n), IncidentID: b.id, Seq: int64(n), Pos: int64(n), OccurredAt: at, RecordedAt: at,
		Actor: alice, Type: p.EventType(), Payload: p, Refs: refs}
}

// add appends without checks (the log as stored).
func (b *logBuilder) add(p Payload) *logBuilder { return b.addRefs(p, Refs{}) }

func (b *logBuilder) addRefs(p Payload, r Refs) *logBuilder {
	b.events = append(b.events, b.next(p, r))
	return b
}

func (b *logBuilder) state(t *testing.T) *State {
	t.Helper()
	s := New(b.id)
	for _, ev := range b.events {
		if err := s.Apply(ev); err != nil {
			t.Fatalf("apply seq %d (%s): %v", ev.Seq, ev.Type, err)
		}
	}
	return s
}

func declared() *logBuilder {
	return newLog().add(Declared{Title: "Checkout failing", Severity: "SEV2"})
}

func TestApplyRules(t *testing.T) {
	hyp := evID(2) // the hypothesis proposed as the second event in the cases below
	cases := []struct {
		name    string
		log     *logBuilder
		next    Payload
		refs    Refs
		wantErr string // substring; empty means allowed
	}{
		{"first event must declare", newLog(), Note{Text: "hi"}, Refs{}, "not been declared"},
		{"declare twice", declared(), Declared{Title: "again", Severity: "SEV1"}, Refs{}, "already declared"},
		{"status forward", declared(), StatusChanged{Status: StatusMitigating}, Refs{}, ""},
		{"status same", declared(), StatusChanged{Status: StatusInvestigating}, Refs{}, "already investigating"},
		{"status back is allowed", declared().add(StatusChanged{Status: StatusMonitoring}), StatusChanged{Status: StatusInvestigating}, Refs{}, ""},
		{"close without resolving", declared(), StatusChanged{Status: StatusClosed}, Refs{}, "resolve it first"},
		{"close after resolving", declared().add(StatusChanged{Status: StatusResolved}), StatusChanged{Status: StatusClosed}, Refs{}, ""},
		{"reopen closed", declared().add(StatusChanged{Status: StatusResolved}).add(StatusChanged{Status: StatusClosed}), StatusChanged{Status: StatusInvestigating}, Refs{}, ""},
		{"severity same", declared(), SeverityChanged{Severity: "SEV2"}, Refs{}, "already SEV2"},
		{"release unheld role", declared(), RoleReleased{Role: RoleScribe}, Refs{}, "nobody holds"},
		{"hand over a role", declared().add(RoleAssigned{Role: RoleCommander, Person: Person{Name: "A"}}), RoleAssigned{Role: RoleCommander, Person: Person{Name: "B"}}, Refs{}, ""},
		{"hypothesis supported", declared().add(HypothesisProposed{Text: "bad deploy"}), HypothesisStatusChanged{Hypothesis: hyp, Status: HypothesisSupported}, Refs{}, ""},
		{"hypothesis same status", declared().add(HypothesisProposed{Text: "bad deploy"}), HypothesisStatusChanged{Hypothesis: hyp, Status: HypothesisOpen}, Refs{}, "already open"},
		{"unknown hypothesis", declared(), HypothesisStatusChanged{Hypothesis: evID(99), Status: HypothesisRefuted}, Refs{}, "not a hypothesis"},
		{"a note is not a hypothesis", declared().add(Note{Text: "x"}), HypothesisStatusChanged{Hypothesis: evID(2), Status: HypothesisRefuted}, Refs{}, "not a hypothesis"},
		{"start planned action", declared().add(ActionPlanned{Text: "roll back"}), ActionStarted{Action: evID(2)}, Refs{}, ""},
		{"finish planned action", declared().add(ActionPlanned{Text: "roll back"}), ActionFinished{Action: evID(2)}, Refs{}, ""},
		{"start twice", declared().add(ActionPlanned{Text: "roll back"}).add(ActionStarted{Action: evID(2)}), ActionStarted{Action: evID(2)}, Refs{}, "is started and cannot become started"},
		{"finish abandoned", declared().add(ActionPlanned{Text: "roll back"}).add(ActionAbandoned{Action: evID(2)}), ActionFinished{Action: evID(2)}, Refs{}, "is abandoned"},
		{"unplanned action", declared(), ActionStarted{Text: "restart pods"}, Refs{}, ""},
		{"correct an observation", declared().add(Observation{Text: "p99 2s"}), Observation{Text: "p99 3s"}, Refs{Supersedes: evID(2)}, ""},
		{"correct with another type", declared().add(Observation{Text: "p99 2s"}), Note{Text: "x"}, Refs{Supersedes: evID(2)}, "same type"},
		{"correct twice", declared().add(Observation{Text: "a"}).addRefs(Observation{Text: "b"}, Refs{Supersedes: evID(2)}), Observation{Text: "c"}, Refs{Supersedes: evID(2)}, "already superseded"},
		{"retract a note", declared().add(Note{Text: "oops"}), EntryRetracted{Reason: "wrong room"}, Refs{Supersedes: evID(2)}, ""},
		{"retract a status change", declared().add(StatusChanged{Status: StatusMitigating}), EntryRetracted{Reason: "x"}, Refs{Supersedes: evID(2)}, "can be corrected"},
		{"evidence must exist", declared(), HypothesisProposed{Text: "h"}, Refs{Evidence: []string{evID(42)}}, "refs.evidence[0]"},
		{"evidence that exists", declared().add(Observation{Text: "o"}), HypothesisProposed{Text: "h"}, Refs{Evidence: []string{evID(2)}}, ""},
		{"answer unknown", declared(), Note{Text: "n"}, Refs{Answers: evID(7)}, "refs.answers"},
		{"rate a retracted hypothesis", declared().add(HypothesisProposed{Text: "h"}).addRefs(EntryRetracted{Reason: "dup"}, Refs{Supersedes: evID(2)}), HypothesisStatusChanged{Hypothesis: evID(2), Status: HypothesisRefuted}, Refs{}, "retracted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.log.state(t)
			before := fmt.Sprintf("%+v", *s)
			err := s.Apply(tc.log.next(tc.next, tc.refs))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want allowed, got %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("want error containing %q, got none", tc.wantErr)
			case tc.wantErr != "":
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tc.wantErr)
				}
				if !errors.Is(err, ErrConflict) {
					t.Fatalf("error %v is not a state conflict", err)
				}
				if after := fmt.Sprintf("%+v", *s); after != before {
					t.Fatalf("a refused event changed the state:\nbefore %s\nafter  %s", before, after)
				}
			}
		})
	}
}

func TestApplyChecksSeqAndIncident(t *testing.T) {
	b := declared()
	s := b.state(t)
	ev := b.next(Note{Text: "n"}, Refs{})
	ev.Seq = 5
	if err := s.Apply(ev); err == nil || !strings.Contains(err.Error(), "expected 2") {
		t.Fatalf("gap in seq: got %v", err)
	}
	ev = b.next(Note{Text: "n"}, Refs{})
	ev.IncidentID = "other"
	if err := s.Apply(ev); err == nil || !strings.Contains(err.Error(), "incident_id") {
		t.Fatalf("wrong incident: got %v", err)
	}
	ev = b.next(Note{Text: "n"}, Refs{})
	ev.ID = b.events[0].ID
	if err := s.Apply(ev); err == nil || !strings.Contains(err.Error(), "already in the log") {
		t.Fatalf("duplicate id: got %v", err)
	}
}

func TestCard(t *testing.T) {
	b := declared().
		add(RoleAssigned{Role: RoleCommander, Person: Person{Name: "Alice"}}).                          // 2
		add(HypothesisProposed{Text: "deploy 1.4 broke auth"}).                                         // 3
		add(HypothesisProposed{Text: "cache stampede"}).                                                // 4
		add(HypothesisStatusChanged{Hypothesis: evID(4), Status: HypothesisRefuted}).                   // 5
		add(HypothesisStatusChanged{Hypothesis: evID(3), Status: HypothesisSupported}).                 // 6
		add(ActionPlanned{Text: "roll back to 1.3", ExpectedEffect: "5xx back under 0.1%"}).            // 7
		add(ActionStarted{Action: evID(7)}).                                                            // 8
		add(ActionStarted{Text: "scale auth to 12"}).                                                   // 9
		add(ActionFinished{Action: evID(9), Outcome: "done"}).                                          // 10
		add(Observation{Text: "5xx at 12%", StaleAfter: Duration(10 * time.Minute)}).                   // 11, at t0+11m
		add(Observation{Text: "queue depth 40k"}).                                                      // 12
		add(ImpactStated{Description: "checkout fails for EU", Who: "EU customers"}).                   // 13
		addRefs(ImpactStated{Description: "checkout fails for EU and US"}, Refs{Supersedes: evID(13)}). // 14
		add(HypothesisProposed{Text: "deploy 1.4 broke auth tokens"})                                   // 15, plain new one
	b.addRefs(HypothesisProposed{Text: "deploy 1.4 broke auth (token refresh)"}, Refs{Supersedes: evID(3)}) // 16
	s := b.state(t)

	now := t0.Add(30 * time.Minute)
	c := s.Card(now)
	if c.Title != "Checkout failing" || c.Severity != "SEV2" || c.Status != StatusInvestigating {
		t.Fatalf("headline: %+v", c.Headline)
	}
	if c.Commander != "Alice" || len(c.Roles) != 1 {
		t.Fatalf("roles: %+v", c.Roles)
	}
	if c.Impact == nil || c.Impact.Description != "checkout fails for EU and US" {
		t.Fatalf("impact: %+v", c.Impact)
	}
	var order []string
	for _, h := range c.Hypotheses {
		order = append(order, string(h.Status)+":"+h.Text)
	}
	want := "supported:deploy 1.4 broke auth (token refresh)|open:deploy 1.4 broke auth tokens|refuted:cache stampede"
	if got := strings.Join(order, "|"); got != want {
		t.Fatalf("hypotheses\n got %s\nwant %s", got, want)
	}
	if c.Actions[0].Text != "roll back to 1.3" || c.Actions[0].Status != ActionStatusStarted || c.Actions[1].Status != ActionStatusFinished {
		t.Fatalf("actions: %+v", c.Actions)
	}
	if len(c.Fresh) != 2 || c.Fresh[0].Text != "queue depth 40k" || !c.Fresh[0].Fresh {
		t.Fatalf("observations: %+v", c.Fresh)
	}
	stale := c.Fresh[1]
	if stale.Fresh || !stale.StaleSince.Equal(t0.Add(21*time.Minute)) {
		t.Fatalf("observation at t0+11m with stale_after 10m should be stale since t0+21m: %+v", stale)
	}
	// A status change naming the superseded hypothesis follows the correction.
	if err := s.Apply(b.next(HypothesisStatusChanged{Hypothesis: evID(3), Status: HypothesisConfirmed}, Refs{})); err != nil {
		t.Fatal(err)
	}
	if h := s.Card(now).Hypotheses; h[len(h)-2].Status != HypothesisConfirmed || h[len(h)-2].ID != evID(16) {
		t.Fatalf("status change on a superseded hypothesis should reach its correction: %+v", h)
	}
}

func TestAsOfByClock(t *testing.T) {
	b := declared()                                // seq 1 at t0+1m
	b.add(StatusChanged{Status: StatusMitigating}) // seq 2 at t0+2m
	// seq 3: recorded at t0+10m but back-dated to t0+1m30s.
	late := b.next(ImpactStated{Description: "EU down since 14:01"}, Refs{})
	late.RecordedAt = t0.Add(10 * time.Minute)
	late.OccurredAt = t0.Add(90 * time.Second)
	b.events = append(b.events, late)

	at := t0.Add(5 * time.Minute)
	byOccurred := AsOf(b.id, b.events, at, ClockOccurred)
	byRecorded := AsOf(b.id, b.events, at, ClockRecorded)
	if byOccurred.CurrentImpact() == nil {
		t.Fatal("by the occurred clock, the back-dated impact had happened by T")
	}
	if byRecorded.CurrentImpact() != nil {
		t.Fatal("by the recorded clock, nobody could have seen the impact at T")
	}
	if byRecorded.Status != StatusMitigating || byRecorded.LastSeq != 2 {
		t.Fatalf("recorded as-of: status %s seq %d", byRecorded.Status, byRecorded.LastSeq)
	}
	before := AsOf(b.id, b.events, t0, ClockRecorded)
	if before.Declared() {
		t.Fatal("nothing had been declared at t0")
	}
}

func TestCatchUp(t *testing.T) {
	b := declared().
		add(RoleAssigned{Role: RoleCommander, Person: Person{Name: "Alice"}}).
		add(HypothesisProposed{Text: "bad deploy"}) // seq 3 at t0+3m
	since := t0.Add(3 * time.Minute)
	b.add(StatusChanged{Status: StatusIdentified}).
		add(HypothesisStatusChanged{Hypothesis: evID(3), Status: HypothesisConfirmed}).
		add(Note{Text: "paging DB team"}).
		add(RoleAssigned{Role: RoleCommander, Person: Person{Name: "Bob"}}).
		add(SeverityChanged{Severity: "SEV1"})

	c := CatchUpSince(b.id, b.events, since)
	if c.Events != 5 {
		t.Fatalf("events since: %d", c.Events)
	}
	var kinds []string
	for _, g := range c.Groups {
		kinds = append(kinds, fmt.Sprintf("%s:%d", g.Kind, len(g.Items)))
	}
	if got := strings.Join(kinds, ","); got != "status:2,roles:1,hypotheses:1,notes:1" {
		t.Fatalf("groups: %s", got)
	}
	changes := strings.Join(c.Changes, "; ")
	for _, want := range []string{"status investigating → identified", "severity SEV2 → SEV1", "commander is now Bob", "open hypotheses 1 → 0", "confirmed hypotheses 0 → 1"} {
		if !strings.Contains(changes, want) {
			t.Errorf("changes %q lack %q", changes, want)
		}
	}
	if empty := CatchUpSince(b.id, b.events, t0.Add(time.Hour)); empty.Events != 0 || len(empty.Changes) != 0 {
		t.Fatalf("nothing after the last event: %+v", empty)
	}
	fromStart := CatchUpSince(b.id, b.events, t0)
	if len(fromStart.Changes) != 1 || !strings.HasPrefix(fromStart.Changes[0], "declared") {
		t.Fatalf("catch-up from before declaration: %v", fromStart.Changes)
	}
}

func TestProjectIsLenientAndMatchesStrict(t *testing.T) {
	b := declared().add(HypothesisProposed{Text: "h"}).add(HypothesisStatusChanged{Hypothesis: evID(2), Status: HypothesisRefuted})
	strict := b.state(t)
	lenient := Project(b.id, b.events)
	if fmt.Sprintf("%+v", strict.Card(t0)) != fmt.Sprintf("%+v", lenient.Card(t0)) {
		t.Fatal("projection of a valid log differs from applying it strictly")
	}
	// A status change whose hypothesis is filtered out is skipped, not fatal.
	partial := Project(b.id, []Event{b.events[0], b.events[2]})
	if len(partial.Hypotheses) != 0 || partial.LastSeq != 1 {
		t.Fatalf("partial: %+v", partial)
	}
}
