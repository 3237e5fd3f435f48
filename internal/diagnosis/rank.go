package diagnosis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sextant-sre/sextant/internal/anomaly"
	"github.com/sextant-sre/sextant/internal/incident"
)

// EntitySignals is one entity's signals (CPU, memory, …), each a series on a common grid.
type EntitySignals struct {
	Entity  string
	Signals map[string][]float64
}

// RankedEntity is an entity with how far its most moved signal moved at the onset.
type RankedEntity struct {
	Entity        string
	Signal        string
	Score         float64 // robust units: |median after − median before| / the spread before
	Before, After float64 // the medians
}

// RankByShift ranks entities by the largest shift of any of their signals at the onset (the
// index of the first sample after it): the median of the samples after against the median of
// those before, in units of the spread before (the interquartile range scaled to a standard
// deviation, never below 1% of the median before, so a flat signal's first wobble does not
// dominate). The entity whose own signals moved most is the likeliest cause among entities
// whose symptoms are all alike; it is a ranking of evidence, not a verdict.
func RankByShift(entities []EntitySignals, onset int) []RankedEntity {
	var out []RankedEntity
	for _, e := range entities {
		best := RankedEntity{Entity: e.Entity}
		names := make([]string, 0, len(e.Signals))
		for name := range e.Signals {
			names = append(names, name)
		}
		slices.Sort(names) // a fixed order, so that ties rank the same way every time
		for _, name := range names {
			v := e.Signals[name]
			if onset <= 2 || onset >= len(v)-2 {
				continue
			}
			before, after := finite(v[:onset]), finite(v[onset:])
			if len(before) < 3 || len(after) < 3 {
				continue
			}
			mb, ma := median(before), median(after)
			spread := max(iqr(before)/1.349, 0.01*math.Abs(mb), 1e-9)
			if z := math.Abs(ma-mb) / spread; z > best.Score {
				best.Score, best.Signal, best.Before, best.After = z, name, mb, ma
			}
		}
		out = append(out, best)
	}
	slices.SortStableFunc(out, func(a, b RankedEntity) int { return cmp.Compare(b.Score, a.Score) })
	return out
}

// iqr is the interquartile range.
func iqr(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	q := func(p float64) float64 {
		x := p * float64(len(s)-1)
		i := int(x)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (x-float64(i))*(s[i+1]-s[i])
	}
	return q(0.75) - q(0.25)
}

// minOutlier is the least shift, in robust units, of an entity's signal that makes it an outlier,
// and outlierLead how far ahead of the next entity it must be: when many move together it is the
// load, not one of them.
const (
	minOutlier  = 8
	outlierLead = 2
)

// ResourceOutlier is the finding that one entity's own resource signal moved at the onset far
// more than any other's (the one hot container in a fleet), or nothing when none stands out.
// queries gives the query of each signal, for the evidence.
// step is the grid's, for how long the entity's level was reached before the onset.
func ResourceOutlier(entities []EntitySignals, onset int, onsetAt time.Time, step time.Duration, queries map[string]string) []incident.Finding {
	ranked := RankByShift(entities, onset)
	if len(ranked) == 0 || ranked[0].Score < minOutlier {
		return nil
	}
	top, next := ranked[0], 0.0
	if len(ranked) > 1 {
		next = ranked[1].Score
	}
	if top.Score < outlierLead*next {
		return nil
	}
	var before []float64 // the top signal before the onset, for its base rate
	for _, e := range entities {
		if e.Entity == top.Entity {
			before = finite(e.Signals[top.Signal][:onset])
		}
	}
	return []incident.Finding{{
		Kind: incident.FindingCause, Key: "resource:" + top.Entity,
		Title: fmt.Sprintf("Resource outlier: %s, its %s from %.3g to %.3g at %s (%.0f spreads; the next entity moved %.0f)",
			top.Entity, top.Signal, top.Before, top.After, onsetAt.UTC().Format(time.TimeOnly), top.Score, next),
		Entities: []string{top.Entity}, Score: top.Score, Confidence: Calibration.Outlier.Confidence(),
		Evidence: []incident.Evidence{{Kind: "series", Query: queries[top.Signal],
			Summary: fmt.Sprintf("%s of %s: median %.3g before the onset, %.3g after", top.Signal, top.Entity, top.Before, top.After)}},
		BaseRate: fmt.Sprintf("its %s was %.3g before the onset%s", top.Signal, top.Before,
			levelBaseRate(anomaly.BaseRateOf(before, top.After), fmt.Sprintf("%.3g", top.After), time.Duration(len(before))*step, step)),
		Refutation: "the entity's signal moving as a consequence (traffic shifted onto it, a retry storm it receives) rather than first",
	}}
}
