package analyzer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

// Actor is who the diagnosis writes as.
var Actor = incident.Actor{Kind: incident.ActorAnalyzer, ID: "sextant-diagnosis", Name: "Sextant diagnosis"}

// Drafts turns a run's findings into events against the incident's current findings: a finding
// whose key is already there supersedes it (unless nothing but the run changed), and a finding of
// the analyzer's that this run no longer produces is retracted. A re-run never duplicates.
func Drafts(s *incident.State, run Result) []incident.Draft {
	previous := map[string]incident.Entry{}
	for _, e := range s.Entries {
		if e.Type != incident.TypeFinding || !e.Current() || e.By.Kind != incident.ActorAnalyzer || e.By.ID != Actor.ID {
			continue
		}
		previous[e.Payload.(incident.Finding).Key] = e
	}
	var drafts []incident.Draft
	seen := map[string]bool{}
	for _, f := range run.Findings {
		if seen[f.Key] {
			continue // one finding per key and run
		}
		seen[f.Key] = true
		d := incident.Draft{Type: incident.TypeFinding, Payload: f}
		if prev, ok := previous[f.Key]; ok {
			if same(prev.Payload.(incident.Finding), f) {
				continue
			}
			d.Refs.Supersedes = prev.ID
		}
		drafts = append(drafts, d)
	}
	keys := make([]string, 0, len(previous))
	for k := range previous {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !seen[k] {
			drafts = append(drafts, incident.Draft{Type: incident.TypeEntryRetracted,
				Payload: incident.EntryRetracted{Reason: "no longer found by the analysis"}, Refs: incident.Refs{Supersedes: previous[k].ID}})
		}
	}
	return drafts
}

// same reports whether two findings say the same to a reader: the same title, entities and
// action, and a score and confidence that moved little. A re-run every few minutes then adds to
// the log only what changed.
func same(a, b incident.Finding) bool {
	return a.Title == b.Title && a.Action == b.Action && slices.Equal(a.Entities, b.Entities) &&
		math.Abs(a.Score-b.Score) <= 0.2*math.Max(math.Abs(a.Score), math.Abs(b.Score)) &&
		math.Abs(a.Confidence-b.Confidence) <= 0.1
}

// Post runs the analysis of an incident and appends its findings, retrying once if someone else
// appended in between. It returns the run and the events stored.
func (a *Analyzer) Post(ctx context.Context, st store.Store, incidentID string, now time.Time) (Result, []incident.Event, error) {
	for attempt := 0; ; attempt++ {
		events, err := st.Events(ctx, incidentID, 0, 0)
		if err != nil {
			return Result{}, nil, fmt.Errorf("read the incident: %w", err)
		}
		s := incident.Project(incidentID, events)
		if !s.Declared() {
			return Result{}, nil, store.ErrNotFound
		}
		run := a.Run(ctx, s.DeclaredAt, now)
		drafts := Drafts(s, run)
		if len(drafts) == 0 {
			return run, nil, nil
		}
		seq := s.LastSeq
		res, err := st.Append(ctx, store.AppendRequest{IncidentID: incidentID, Actor: Actor, Drafts: drafts, ExpectedSeq: &seq})
		var conflict *store.SeqConflict
		if errors.As(err, &conflict) && attempt == 0 {
			continue
		}
		if err != nil {
			return run, nil, fmt.Errorf("post the findings: %w", err)
		}
		return run, res.Events, nil
	}
}
