package incident

// applyPayload applies one event's payload. Each case checks everything it needs before it
// changes anything, so an error leaves the state as it was.
func (s *State) applyPayload(ev Event) error {
	m := metaOf(ev)
	switch p := ev.Payload.(type) {
	case Declared:
		if s.Declared() {
			return stateErr("type", "the incident is already declared")
		}
		st := p.Status
		if st == "" {
			st = StatusInvestigating
		}
		s.Title, s.Summary, s.Severity, s.Status = p.Title, p.Summary, p.Severity, st
		s.DeclaredAt, s.DeclaredBy = ev.OccurredAt, ev.Actor
		s.Statuses = append(s.Statuses, StatusChange{To: st, At: ev.OccurredAt, By: ev.Actor, Seq: ev.Seq})
	case TitleChanged:
		s.Title = p.Title
	case SummaryChanged:
		s.Summary = p.Summary
	case SeverityChanged:
		if p.Severity == s.Severity {
			return stateErr("payload.severity", "the incident is already %s", p.Severity)
		}
		s.Severity = p.Severity
	case StatusChanged:
		if err := s.checkStatus(p.Status); err != nil {
			return err
		}
		s.Statuses = append(s.Statuses, StatusChange{From: s.Status, To: p.Status, At: ev.OccurredAt, By: ev.Actor, Reason: p.Reason, Seq: ev.Seq})
		s.Status = p.Status
	case RoleAssigned:
		s.Roles[p.Role] = RoleHolder{Role: p.Role, Person: p.Person, Since: ev.OccurredAt, By: ev.Actor}
	case RoleReleased:
		if _, ok := s.Roles[p.Role]; !ok {
			return stateErr("payload.role", "nobody holds the %s role", p.Role)
		}
		delete(s.Roles, p.Role)
	case ImpactStated:
		s.supersede(ev)
		s.add(kindImpact, ev.ID, len(s.Impacts))
		s.Impacts = append(s.Impacts, ImpactItem{Meta: m, ImpactStated: p})
	case Observation:
		s.supersede(ev)
		s.add(kindObservation, ev.ID, len(s.Observations))
		s.Observations = append(s.Observations, ObservationItem{Meta: m, Observation: p})
	case HypothesisProposed:
		h := HypothesisItem{Meta: m, Text: p.Text, Status: HypothesisOpen, Evidence: p.Evidence, UpdatedAt: ev.OccurredAt}
		if old, ok := s.supersede(ev); ok {
			// A reworded hypothesis keeps where it stood.
			prev := s.Hypotheses[old.index]
			h.Status, h.History = prev.Status, prev.History
		}
		s.add(kindHypothesis, ev.ID, len(s.Hypotheses))
		s.Hypotheses = append(s.Hypotheses, h)
	case HypothesisStatusChanged:
		ref, ok := s.resolve(p.Hypothesis)
		if !ok || ref.kind != kindHypothesis {
			return stateErr("payload.hypothesis", "%s is not a hypothesis of this incident", p.Hypothesis)
		}
		h := &s.Hypotheses[ref.index]
		if h.Retracted {
			return stateErr("payload.hypothesis", "hypothesis %s was retracted", p.Hypothesis)
		}
		if h.Status == p.Status {
			return stateErr("payload.status", "the hypothesis is already %s", p.Status)
		}
		h.Status, h.UpdatedAt = p.Status, ev.OccurredAt
		h.Evidence = append(h.Evidence, p.Evidence...)
		h.History = append(h.History, HypothesisNote{Status: p.Status, Reason: p.Reason, Evidence: p.Evidence, At: ev.OccurredAt, By: ev.Actor, EventID: ev.ID})
	case ActionPlanned:
		a := ActionItem{Meta: m, Text: p.Text, Owner: p.Owner, ExpectedEffect: p.ExpectedEffect, Status: ActionStatusPlanned}
		if old, ok := s.supersede(ev); ok {
			prev := s.Actions[old.index]
			a.Status, a.StartedAt, a.EndedAt, a.Outcome = prev.Status, prev.StartedAt, prev.EndedAt, prev.Outcome
		}
		s.add(kindAction, ev.ID, len(s.Actions))
		s.Actions = append(s.Actions, a)
	case ActionStarted:
		if p.Action == "" {
			s.add(kindAction, ev.ID, len(s.Actions))
			s.Actions = append(s.Actions, ActionItem{Meta: m, Text: p.Text, Owner: p.Owner, ExpectedEffect: p.ExpectedEffect, Status: ActionStatusStarted, StartedAt: ev.OccurredAt})
			break
		}
		a, err := s.action(p.Action, ActionStatusStarted)
		if err != nil {
			return err
		}
		a.Status, a.StartedAt = ActionStatusStarted, ev.OccurredAt
		if p.Owner.Name != "" {
			a.Owner = p.Owner
		}
	case ActionFinished:
		a, err := s.action(p.Action, ActionStatusFinished)
		if err != nil {
			return err
		}
		if a.StartedAt.IsZero() {
			a.StartedAt = ev.OccurredAt
		}
		a.Status, a.EndedAt, a.Outcome = ActionStatusFinished, ev.OccurredAt, p.Outcome
	case ActionAbandoned:
		a, err := s.action(p.Action, ActionStatusAbandoned)
		if err != nil {
			return err
		}
		a.Status, a.EndedAt, a.Outcome = ActionStatusAbandoned, ev.OccurredAt, p.Reason
	case EntryRetracted:
		if _, ok := s.supersede(ev); !ok {
			return stateErr("refs.supersedes", "%s is not an entry of this incident", ev.Refs.Supersedes)
		}
	case Decision, Note, FollowUp, ChatImported, SignalAttached, Finding:
		s.supersede(ev)
		s.add(kindEntry, ev.ID, len(s.Entries))
		s.Entries = append(s.Entries, Entry{Meta: m, Type: ev.Type, Payload: p})
	default:
		return stateErr("type", "no projection for %s", ev.Type)
	}
	return nil
}

// checkStatus holds the lifecycle rules: any move is allowed, backwards too, except a move to the
// status the incident already has, and closing an incident that was not first resolved.
func (s *State) checkStatus(to Status) error {
	if to == s.Status {
		return stateErr("payload.status", "the incident is already %s", to)
	}
	if to == StatusClosed && s.Status != StatusResolved {
		return stateErr("payload.status", "cannot close an incident that is %s; resolve it first", s.Status)
	}
	return nil
}

// action finds the current version of an action for a transition to `to`, checking that the
// transition is allowed.
func (s *State) action(id string, to ActionStatus) (*ActionItem, error) {
	ref, ok := s.resolve(id)
	if !ok || ref.kind != kindAction {
		return nil, stateErr("payload.action", "%s is not an action of this incident", id)
	}
	a := &s.Actions[ref.index]
	if a.Retracted {
		return nil, stateErr("payload.action", "action %s was retracted", id)
	}
	// Only a planned action can start; only one in flight can end.
	allowed := a.Status == ActionStatusPlanned || (to != ActionStatusStarted && a.Status == ActionStatusStarted)
	if !allowed {
		return nil, stateErr("payload.action", "action %s is %s and cannot become %s", id, a.Status, to)
	}
	return a, nil
}
