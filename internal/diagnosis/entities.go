package diagnosis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/anomaly"
	"github.com/sextant-sre/sextant/internal/incident"
)

// Series is one signal of one entity at a fixed step, NaN where there is no value.
type Series struct {
	Entity string // "service:data-api"
	Signal string // "error ratio"
	Query  string
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// Anomaly is a series whose level changed around the incident, with when.
type Anomaly struct {
	Entity, Signal, Query string
	At, Lo, Hi            time.Time // the change and the interval that explains it almost as well
	Before, After, Shift  float64   // the medians either side, and the shift in robust units
	// Base is how often the level since the change (After) was reached before it, over the
	// Reference before the change, at the series' Step: was this already happening?
	Base            anomaly.BaseRate
	Reference, Step time.Duration
}

// minShift is the least robust shift (in units of the spread before) that counts as a change.
const minShift = 4

// Anomalies finds the series that rose (or, for signals where a drop hurts, fell) around the
// onset: a change found in the hour before it to the end, ordered by when it happened.
func Anomalies(series []Series, onset time.Time) []Anomaly {
	var out []Anomaly
	for _, s := range series {
		values := make([]float64, 0, len(s.Values))
		idx := make([]int, 0, len(s.Values))
		for i, v := range s.Values {
			if !math.IsNaN(v) {
				values = append(values, v)
				idx = append(idx, i)
			}
		}
		if len(values) < 8 {
			continue
		}
		o := anomaly.FindOnset(values, minShift)
		if !o.Found || o.After <= o.Before {
			continue
		}
		at := s.Start.Add(time.Duration(idx[o.At]) * s.Step)
		if at.Before(onset.Add(-time.Hour)) {
			continue // an older change in level: the base rate, not this incident
		}
		out = append(out, Anomaly{Entity: s.Entity, Signal: s.Signal, Query: s.Query, At: at,
			Lo: s.Start.Add(time.Duration(idx[o.Lo]) * s.Step), Hi: s.Start.Add(time.Duration(idx[o.Hi]) * s.Step),
			Before: o.Before, After: o.After, Shift: o.Shift,
			Base: anomaly.BaseRateOf(values[:o.At], o.After), Reference: time.Duration(idx[o.At]-idx[0]) * s.Step, Step: s.Step})
	}
	slices.SortFunc(out, func(a, b Anomaly) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(b.Shift, a.Shift), strings.Compare(a.Entity, b.Entity))
	})
	return out
}

// Graph is the service dependency graph: each caller's callees.
type Graph map[string][]string

// Reaches reports whether from calls to, directly or through others.
func (g Graph) Reaches(from, to string) bool {
	seen := map[string]bool{from: true}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range g[n] {
			if c == to {
				return true
			}
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	return false
}

// Failing orders the services whose error ratio rose: the first failure first (the earliest; among
// services that began failing in the same interval, the one whose failing dependencies did not
// begin with it), then the others by onset. tied names the services the data cannot order
// against the first.
func Failing(anomalies []Anomaly, g Graph) (failing []Anomaly, tied []string) {
	for _, a := range anomalies {
		if strings.HasPrefix(a.Entity, "service:") && a.Signal == "error ratio" {
			failing = append(failing, a)
		}
	}
	if len(failing) == 0 {
		return nil, nil
	}
	first := failing[0]
	var peers []Anomaly
	for _, a := range failing {
		if !a.Lo.After(first.Hi) {
			peers = append(peers, a)
		}
	}
	if len(peers) > 1 && len(g) > 0 {
		// The peers whose failure no failing dependency among them accounts for: a dependency
		// whose error ratio rose far less (explainShare) does not explain its caller's.
		var deepest []Anomaly
		for _, a := range peers {
			n := strings.TrimPrefix(a.Entity, "service:")
			if !slices.ContainsFunc(peers, func(b Anomaly) bool {
				m := strings.TrimPrefix(b.Entity, "service:")
				return m != n && b.After-b.Before >= explainShare*(a.After-a.Before) && g.Reaches(n, m)
			}) {
				deepest = append(deepest, a)
			}
		}
		if len(deepest) >= 1 {
			first, peers = deepest[0], deepest
		}
	}
	for _, a := range peers {
		if a.Entity != first.Entity {
			tied = append(tied, a.Entity)
		}
	}
	failing = append([]Anomaly{first}, slices.DeleteFunc(slices.Clone(failing), func(a Anomaly) bool { return a.Entity == first.Entity })...)
	return failing, tied
}

// Causes says which service failed first and which failures followed from it. When onsets
// overlap so that neither time nor the graph can order them, the finding says it is
// inconclusive.
func Causes(anomalies []Anomaly, g Graph) []incident.Finding {
	failing, tied := Failing(anomalies, g)
	if len(failing) == 0 {
		return nil
	}
	first := failing[0]
	name := strings.TrimPrefix(first.Entity, "service:")
	var effects []string
	for _, a := range failing[1:] {
		n := strings.TrimPrefix(a.Entity, "service:")
		how := "later"
		switch {
		case g.Reaches(n, name):
			how = "calls it"
		case g.Reaches(name, n):
			how = "is called by it"
		}
		effects = append(effects, fmt.Sprintf("%s (%s, %s)", n, a.At.UTC().Format("15:04:05"), how))
	}
	f := incident.Finding{
		Kind: incident.FindingCause, Key: "first-failure:" + name,
		Title: fmt.Sprintf("First failure: %s, its error ratio from %s to %s at %s (between %s and %s)", name,
			percent(first.Before), percent(first.After), first.At.UTC().Format("15:04:05"),
			first.Lo.UTC().Format("15:04:05"), first.Hi.UTC().Format("15:04:05")),
		Entities: []string{first.Entity}, Score: first.Shift, Confidence: Calibration.ChainEnd.Confidence(),
		Evidence: []incident.Evidence{{Kind: "series", Query: first.Query,
			Summary: fmt.Sprintf("error ratio %s before, %s after", percent(first.Before), percent(first.After))}},
		BaseRate: fmt.Sprintf("its error ratio was %s before the change%s", percent(first.Before),
			levelBaseRate(first.Base, percent(first.After), first.Reference, first.Step)),
		Refutation: "a dependency of " + name + " whose failure began earlier in signals not examined here (saturation, restarts, a third party)",
		NotExamined: []string{"resource signals (CPU, memory, threads, ports) as causes of the first failure",
			"entities that emit no error ratio (third parties, network links)"},
	}
	if len(tied) > 0 {
		names := make([]string, len(tied))
		for i, e := range tied {
			names[i] = strings.TrimPrefix(e, "service:")
		}
		f.Title = "Inconclusive: " + name + " and " + strings.Join(names, ", ") + " began failing within the same interval; the order cannot be told (" +
			name + " is named first: its failure stands out most)"
		f.Confidence = Calibration.SeveralEnds.Confidence()
		if len(g) == 0 {
			// Nothing tells them apart: the first named is one pick among them.
			f.Confidence = math.Round(100/float64(len(tied)+1)) / 100
		}
	}
	if len(effects) > 0 {
		f.Evidence = append(f.Evidence, incident.Evidence{Kind: "series", Summary: "then: " + strings.Join(effects, "; ")})
	}
	return []incident.Finding{f}
}
