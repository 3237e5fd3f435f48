package incident

import (
	"cmp"
	"slices"
	"time"
)

// Headline is the one-line view of an incident, for lists.
type Headline struct {
	ID         string    `json:"id"`
	Number     int64     `json:"number"`
	Title      string    `json:"title"`
	Severity   Severity  `json:"severity"`
	Status     Status    `json:"status"`
	DeclaredAt time.Time `json:"declared_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	LastSeq    int64     `json:"last_seq"`
	LastPos    int64     `json:"last_pos"`
	Commander  string    `json:"commander,omitempty"`
	// Impact is the description of the current impact statement.
	Impact string `json:"impact,omitempty"`
}

// Headline returns the list view of the state.
func (s *State) Headline() Headline {
	sum := Headline{ID: s.ID, Number: s.Number, Title: s.Title, Severity: s.Severity, Status: s.Status, DeclaredAt: s.DeclaredAt,
		UpdatedAt: s.UpdatedAt, LastSeq: s.LastSeq, LastPos: s.LastPos, Commander: s.Roles[RoleCommander].Person.Name}
	if imp := s.CurrentImpact(); imp != nil {
		sum.Impact = imp.Description
	}
	return sum
}

// CurrentImpact is the latest impact statement still in force, or nil.
func (s *State) CurrentImpact() *ImpactItem {
	for i := len(s.Impacts) - 1; i >= 0; i-- {
		if s.Impacts[i].Current() {
			return &s.Impacts[i]
		}
	}
	return nil
}

// Card is the current state card that responders look at: the headline, the impact, the roles,
// hypotheses, actions in flight and the latest observations with their freshness.
type Card struct {
	Headline
	Summary    string            `json:"summary"`
	DeclaredBy Actor             `json:"declared_by"`
	Statuses   []StatusChange    `json:"status_history"`
	Impact     *ImpactItem       `json:"impact"`
	Roles      []RoleHolder      `json:"roles"`
	Hypotheses []HypothesisItem  `json:"hypotheses"`
	Actions    []ActionItem      `json:"actions"`
	Fresh      []ObservationView `json:"observations"`
	Decisions  []Entry           `json:"decisions"`
	FollowUps  []Entry           `json:"follow_ups"`
	Signals    []Entry           `json:"signals"`
	// Findings are the analyzers' current findings, highest score first.
	Findings []Entry `json:"findings"`
	// Now is the moment freshness was judged at.
	Now time.Time `json:"now"`
}

// ObservationView is an observation with its freshness judged at a moment.
type ObservationView struct {
	ObservationItem
	Fresh bool `json:"fresh"`
	// StaleSince is when it went stale, if it has.
	StaleSince time.Time `json:"stale_since,omitzero"`
}

// maxCardObservations bounds the card; the full list stays in the log.
const maxCardObservations = 20

// Card builds the state card, judging freshness at now. Open hypotheses come first (supported
// before open), then the settled ones; actions in flight come before finished ones; observations
// are newest first.
func (s *State) Card(now time.Time) Card {
	c := Card{Headline: s.Headline(), Summary: s.Summary, DeclaredBy: s.DeclaredBy, Statuses: slices.Clone(s.Statuses), Now: now}
	if imp := s.CurrentImpact(); imp != nil {
		cp := *imp // a copy: the state may go on changing after the card is handed out
		c.Impact = &cp
	}
	for _, r := range Roles {
		if h, ok := s.Roles[r]; ok {
			c.Roles = append(c.Roles, h)
		}
	}
	for _, h := range s.Hypotheses {
		if h.Current() {
			c.Hypotheses = append(c.Hypotheses, h)
		}
	}
	rank := map[HypothesisStatus]int{HypothesisSupported: 0, HypothesisOpen: 1, HypothesisConfirmed: 2, HypothesisRefuted: 3}
	slices.SortStableFunc(c.Hypotheses, func(a, b HypothesisItem) int { return cmp.Compare(rank[a.Status], rank[b.Status]) })
	for _, a := range s.Actions {
		if a.Current() {
			c.Actions = append(c.Actions, a)
		}
	}
	slices.SortStableFunc(c.Actions, func(a, b ActionItem) int {
		return cmp.Compare(boolRank(a.InFlight()), boolRank(b.InFlight()))
	})
	for i := len(s.Observations) - 1; i >= 0 && len(c.Fresh) < maxCardObservations; i-- {
		if o := s.Observations[i]; o.Current() {
			c.Fresh = append(c.Fresh, o.At(now))
		}
	}
	for _, e := range s.Entries {
		if !e.Current() {
			continue
		}
		switch e.Type {
		case TypeDecision:
			c.Decisions = append(c.Decisions, e)
		case TypeFollowUp:
			c.FollowUps = append(c.FollowUps, e)
		case TypeSignalAttached:
			c.Signals = append(c.Signals, e)
		case TypeFinding:
			c.Findings = append(c.Findings, e)
		}
	}
	slices.SortStableFunc(c.Findings, func(a, b Entry) int {
		return cmp.Compare(b.Payload.(Finding).Score, a.Payload.(Finding).Score)
	})
	return c
}

// At judges the observation's freshness at now: it is stale once stale_after has passed since it
// occurred.
func (o ObservationItem) At(now time.Time) ObservationView {
	v := ObservationView{ObservationItem: o, Fresh: true}
	if o.StaleAfter > 0 {
		until := o.OccurredAt.Add(time.Duration(o.StaleAfter))
		if !now.Before(until) {
			v.Fresh, v.StaleSince = false, until
		}
	}
	return v
}

func boolRank(inFlight bool) int {
	if inFlight {
		return 0
	}
	return 1
}
