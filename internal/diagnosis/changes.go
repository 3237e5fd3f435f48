package diagnosis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/incident"
)

// ChangeContext is what a change is weighed against.
type ChangeContext struct {
	// Onset is when the impact began; Latest the latest it can have begun (zero: Onset). A
	// change after Latest is never a candidate.
	Onset, Latest time.Time
	// Failing are the services whose error ratio rose, in onset order (the first is the first
	// failure).
	Failing []string
	Graph   Graph
	// Shift is, per change id, how far the changed service's own signals moved between the
	// change and the onset, against the hours before the change (robust units; absent if not
	// measured). A change that altered nothing measurable is weaker evidence.
	Shift map[string]ShiftEvidence
}

// ShiftEvidence is the largest move of a changed service's signals after the change.
type ShiftEvidence struct {
	Signal string
	// Of names the service whose signal it is when not the changed one: a service the changed
	// one calls, whose signals show what the change did to it.
	Of    string
	Z     float64
	Query string
}

// what names the signal: the changed service's own, or its callee's.
func (s ShiftEvidence) what() string {
	if s.Of == "" {
		return s.Signal
	}
	return s.Of + "'s " + s.Signal + " (it calls " + s.Of + ")"
}

// relation is how a changed service stands to the failing ones, with its weight.
type relation struct {
	weight float64
	says   string
}

// minMoved is the least shift of a changed service's signals, in robust units, taken as a sign
// that the change did something: smaller moves are everyday noise between two windows.
const minMoved = 8

func relate(c changes.Change, ctx ChangeContext) relation {
	service := c.Service
	if service == "" && c.Flag != "" {
		// A flag named after a failing service ("checkout-new-tax-engine") belongs to it.
		for _, f := range ctx.Failing {
			if strings.HasPrefix(c.Flag, f+"-") || strings.HasPrefix(c.Flag, f+".") || strings.HasPrefix(c.Flag, f+"_") {
				service = f
				break
			}
		}
	}
	// Where the graph places the service against the first failure says more than whether it
	// fails itself: a caller of the first failure fails as its victim.
	graphed := len(ctx.Graph) > 0 && len(ctx.Failing) > 0
	switch {
	case service == "":
		return relation{0.4, "names no service"}
	case len(ctx.Failing) > 0 && service == ctx.Failing[0]:
		return relation{1, "is the first failing service"}
	case graphed && ctx.Graph.Reaches(ctx.Failing[0], service):
		return relation{0.7, "is a dependency of " + ctx.Failing[0] + ", the first failing service"}
	case graphed && ctx.Graph.Reaches(service, ctx.Failing[0]):
		return relation{0.6, "calls " + ctx.Failing[0] + ", the first failing service"}
	case slices.Contains(ctx.Failing, service):
		return relation{0.8, "is one of the failing services"}
	case !graphed:
		return relation{0.4, "cannot be placed: no dependency graph or no failing service"}
	}
	return relation{0.15, "is not connected to the failing services in the dependency graph"}
}

// RankChanges ranks the changes before the onset as candidate causes: by their relation to the
// failing services, by how near before the onset they came, and by whether the changed service's
// own behaviour moved after the change. A change after the onset is never a candidate: it is
// left out, and said so on the top finding.
func RankChanges(cs []changes.Change, ctx ChangeContext) []incident.Finding {
	type ranked struct {
		c     changes.Change
		score float64
		rel   relation
		shift ShiftEvidence
	}
	var cands []ranked
	after := 0
	latest := ctx.Latest
	if latest.IsZero() {
		latest = ctx.Onset
	}
	for _, c := range cs {
		if c.Kind == changes.Incident {
			continue
		}
		if c.Time.After(latest) || (ctx.Latest.IsZero() && !c.Time.Before(ctx.Onset)) {
			after++
			continue
		}
		age := max(0, ctx.Onset.Sub(c.Time))
		near := math.Exp2(-age.Hours()/2) + 0.15 // recent changes first; old ones not forgotten
		sh := ctx.Shift[c.ID]
		moved := 0.0
		if sh.Z >= minMoved {
			moved = min(1, sh.Z/(2*minMoved))
		}
		rel := relate(c, ctx)
		score := rel.weight * (near + 1.5*moved)
		if sh.Signal != "" && moved == 0 {
			score *= 0.5 // measured, and nothing moved: evidence against
		}
		cands = append(cands, ranked{c: c, score: score, rel: rel, shift: sh})
	}
	slices.SortStableFunc(cands, func(a, b ranked) int { return cmp.Compare(b.score, a.score) })
	if len(cands) > 0 && cands[0].score < minCandidate {
		return []incident.Finding{noneStandsOut(len(cands), after)}
	}
	toFailing := 0 // changes to a failing service (or a flag of one)
	for _, r := range cands {
		if r.rel.weight >= 0.8 {
			toFailing++
		}
	}
	var out []incident.Finding
	for i, r := range cands {
		if i >= 5 || r.score < minCandidate {
			break
		}
		c := r.c
		age := max(0, ctx.Onset.Sub(c.Time))
		var forIt, against []string
		forIt = append(forIt, fmt.Sprintf("%s %s before the onset", describe(c), roundAge(age)))
		if r.rel.weight >= 0.6 {
			forIt = append(forIt, c.Entity()+" "+r.rel.says)
		} else {
			against = append(against, c.Entity()+" "+r.rel.says)
		}
		switch {
		case r.shift.Z >= minMoved:
			forIt = append(forIt, fmt.Sprintf("%s moved %.0f spreads after the change, before the onset", r.shift.what(), r.shift.Z))
		case r.shift.Signal != "":
			against = append(against, c.Entity()+"'s signals did not move between the change and the onset")
		default:
			against = append(against, "the changed service's own signals were not examined")
		}
		if age > 6*time.Hour {
			against = append(against, "it is "+roundAge(age)+" older than the onset")
		}
		ev := []incident.Evidence{{Kind: "change", Ref: c.ID, Summary: strings.Join(forIt, "; ")}}
		if len(against) > 0 {
			ev = append(ev, incident.Evidence{Kind: "change", Ref: c.ID, Summary: "against it: " + strings.Join(against, "; ")})
		}
		if r.shift.Query != "" {
			summary := "the changed service's " + r.shift.Signal + " around the change"
			if r.shift.Of != "" {
				summary = r.shift.Of + "'s " + r.shift.Signal + ", which the changed service calls, around the change"
			}
			ev = append(ev, incident.Evidence{Kind: "series", Query: r.shift.Query, Summary: summary})
		}
		f := incident.Finding{
			Kind: incident.FindingChange, Key: "change:" + c.ID,
			Title:    fmt.Sprintf("Candidate cause: %s, %s before the onset", describe(c), roundAge(age)),
			Entities: entitiesOf(c), Score: r.score, Confidence: changeConfidence(i),
			Evidence: ev, Action: undo(c),
			Refutation: "undoing it leaves the impact as it was, or the impact began in a place " + c.Entity() + " cannot reach",
		}
		// The base rate of changes: how many came before the onset, and how many of them to the
		// failing services, so that "a change came before it" is read against how often one does.
		f.BaseRate = fmt.Sprintf("%d recorded changes in the %s before the onset, %d of them to the failing services",
			len(cands), roundAge(lookback(cs, ctx.Onset)), toFailing)
		if i == 0 && after > 0 {
			f.NotExamined = append(f.NotExamined, fmt.Sprintf("%d change(s) after the onset, never candidates", after))
		}
		out = append(out, f)
	}
	return out
}

// lookback is how far before the onset the oldest change examined lies.
func lookback(cs []changes.Change, onset time.Time) time.Duration {
	var d time.Duration
	for _, c := range cs {
		d = max(d, onset.Sub(c.Time))
	}
	return d
}

// minCandidate is the least score of a change named as a candidate cause: a change neither
// near the onset, nor related to the failing services, nor seen to alter anything is not one.
const minCandidate = 0.35

// noneStandsOut is the finding that no recorded change looks like a cause.
func noneStandsOut(examined, after int) incident.Finding {
	f := incident.Finding{Kind: incident.FindingChange, Key: "change:none",
		Title: fmt.Sprintf("No recorded change stands out as a cause (%d before the onset examined)", examined),
		Score: 0, Confidence: Calibration.NoChange.Confidence(),
		Evidence: []incident.Evidence{{Kind: "change", Summary: "none was both near the onset and related to the failing services, or seen to alter its service's behaviour"}},
		Refutation: "a change that was not recorded (a manual fix, a third party's release, a traffic shift), or one whose effect" +
			" the examined signals do not show",
		NotExamined: []string{"changes that were not sent to Sextant"},
	}
	if after > 0 {
		f.NotExamined = append(f.NotExamined, fmt.Sprintf("%d change(s) after the onset, never candidates", after))
	}
	return f
}

// changeConfidence is the calibrated confidence of the candidate at this rank: the first, or
// one below it.
func changeConfidence(rank int) float64 {
	if rank == 0 {
		return Calibration.TopChange.Confidence()
	}
	return Calibration.LaterChange.Confidence()
}

func describe(c changes.Change) string {
	switch {
	case c.Kind == changes.Flag && c.Flag != "":
		s := "flag " + c.Flag
		if c.To != "" {
			s += " set to " + c.To
		}
		return s
	case c.To != "":
		return fmt.Sprintf("%s of %s %s", c.Kind, c.Entity(), c.To)
	}
	return fmt.Sprintf("%s of %s", c.Kind, c.Entity())
}

func entitiesOf(c changes.Change) []string {
	var out []string
	if c.Service != "" {
		out = append(out, "service:"+c.Service)
	}
	if c.Flag != "" {
		out = append(out, "flag:"+c.Flag)
	}
	return append(out, "change:"+c.ID)
}

// undo is the intervention that would undo a change.
func undo(c changes.Change) string {
	switch c.Kind {
	case changes.Deploy, changes.Rollback:
		if c.From != "" {
			return fmt.Sprintf("roll %s back to %s", c.Service, c.From)
		}
		return "roll " + c.Service + " back to its previous version"
	case changes.Flag:
		if c.From != "" {
			return fmt.Sprintf("turn flag %s back to %s", c.Flag, c.From)
		}
		return "revert flag " + c.Flag
	case changes.Config, changes.Infrastructure:
		return "revert the " + string(c.Kind) + " change to " + c.Entity()
	case changes.Scaling:
		return "scale " + c.Entity() + " back"
	}
	return ""
}

func roundAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}
