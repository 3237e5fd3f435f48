// Package diagnosis turns telemetry around an incident into findings: what hurts and for whom
// (impact, and the cohorts inside it), what changed before the impact and how it relates to the
// failing entities, and which entity failed first. It is pure computation on plain values that
// the analyzer (internal/analyzer) reads through the Source interface; each finding carries the
// queries that reproduce it, its base rate and what would refute it. Findings are evidence, not
// verdicts (DESIGN.md section 3.2).
package diagnosis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/breakdown"
	"github.com/sextant-sre/sextant/internal/incident"
)

// Cohorts is a journey metric broken down into leaves: errors over requests per journey and
// cohort label values, since the onset and in the baseline before it.
type Cohorts struct {
	Dims    []string // label names; Journey is one of them
	Journey string
	Leaves  []breakdown.Leaf
	// Query reproduces the numbers (an instant query at the end of the window); BaseQuery the
	// baseline's.
	Query, BaseQuery string
	Since            time.Time     // the onset
	Baseline         time.Duration // how long before the onset the baseline reaches
	// Signal is what the numerator counts: the failed requests (the zero value) or those slower
	// than the journey's latency objective.
	Signal Signal
}

// Signal is what a journey's bad requests are: its words for the findings, and their keys.
type Signal struct {
	Key        string // "" for errors, "latency" for slow requests: keeps their findings apart
	Bad, BadAs string // "failing" and "failed", or "slow" and "slow"
}

// Errors and Latency are the two signals of user journeys.
var (
	Errors  = Signal{Bad: "failing", BadAs: "failed"}
	Latency = Signal{Key: "latency", Bad: "slower than the objective", BadAs: "slow"}
)

// keyed is a finding key for the signal: errors keep the plain keys.
func (s Signal) keyed(prefix string) string {
	if s.Key == "" {
		return prefix
	}
	return prefix + "-" + s.Key
}

// minDeviance is the least Poisson deviance (a chi-square with one degree of freedom beyond
// 99.9%) for a journey to count as degraded.
const minDeviance = 10.8

// JourneyImpact is one degraded journey.
type JourneyImpact struct {
	Journey             string
	Ratio, Base         float64 // error ratio since the onset, and in the baseline
	Errors, Excess      float64 // errors since the onset, and those beyond the base rate
	Requests, Deviation float64 // requests since the onset; the deviance of the errors
}

// Impact finds the degraded journeys, worst first, and says for whom with a breakdown of the
// errors by every cohort label.
func Impact(c Cohorts) ([]JourneyImpact, []incident.Finding) {
	ji := slices.Index(c.Dims, c.Journey)
	if ji < 0 {
		return nil, nil
	}
	sums := map[string]*JourneyImpact{}
	base := map[string][2]float64{}
	for _, l := range c.Leaves {
		j := l.Values[ji]
		s := sums[j]
		if s == nil {
			s = &JourneyImpact{Journey: j}
			sums[j] = s
		}
		s.Errors += l.Num
		s.Requests += l.Den
		b := base[j]
		base[j] = [2]float64{b[0] + l.BaseNum, b[1] + l.BaseDen}
	}
	var degraded []JourneyImpact
	for j, s := range sums {
		b := base[j]
		if s.Requests == 0 || b[1] == 0 {
			continue
		}
		s.Ratio, s.Base = s.Errors/s.Requests, b[0]/b[1]
		expect := s.Requests * s.Base
		s.Excess = s.Errors - expect
		s.Deviation = breakdown.Deviance(s.Errors, expect)
		if s.Deviation >= minDeviance && s.Ratio > 2*s.Base && s.Ratio-s.Base > 0.001 {
			degraded = append(degraded, *s)
		}
	}
	slices.SortFunc(degraded, func(a, b JourneyImpact) int { return cmp.Compare(b.Excess, a.Excess) })

	var out []incident.Finding
	for _, d := range degraded {
		out = append(out, incident.Finding{
			Kind: incident.FindingImpact, Key: c.Signal.keyed("impact") + ":" + d.Journey,
			Title: fmt.Sprintf("%s: %s of requests %s since %s (base rate %s)", d.Journey,
				percent(d.Ratio), c.Signal.Bad, c.Since.UTC().Format("15:04"), percent(d.Base)),
			Entities: []string{"journey:" + d.Journey},
			Score:    d.Excess, Confidence: significance(d.Deviation),
			Evidence: []incident.Evidence{
				{Kind: "series", Summary: fmt.Sprintf("%.0f %s of %.0f requests since the onset", d.Errors, c.Signal.BadAs, d.Requests), Query: c.Query},
				{Kind: "series", Summary: fmt.Sprintf("%s %s in the %s before", percent(d.Base), c.Signal.BadAs, c.Baseline), Query: c.BaseQuery},
			},
			BaseRate:   fmt.Sprintf("%s of %s requests %s in the %s before the onset", percent(d.Base), d.Journey, c.Signal.BadAs, c.Baseline),
			Refutation: "the ratio back at its base rate with no intervention, or the " + c.Signal.BadAs + " requests coming from a test or synthetic client",
		})
	}
	if len(degraded) > 0 {
		out = append(out, whom(c, degraded)...)
	}
	return degraded, out
}

// whom breaks the errors of the degraded journeys down by the cohort labels.
func whom(c Cohorts, degraded []JourneyImpact) []incident.Finding {
	ji := slices.Index(c.Dims, c.Journey)
	var leaves []breakdown.Leaf
	for _, l := range c.Leaves {
		if slices.ContainsFunc(degraded, func(d JourneyImpact) bool { return d.Journey == l.Values[ji] }) {
			leaves = append(leaves, l)
		}
	}
	causes := breakdown.Explain(c.Dims, leaves, breakdown.DefaultConfig)
	if len(causes) == 0 {
		var names, bases []string
		for _, d := range degraded {
			names = append(names, d.Journey)
			bases = append(bases, d.Journey+" "+percent(d.Base))
		}
		return []incident.Finding{{
			Kind: incident.FindingBreakdown, Key: c.Signal.keyed("cohort") + ":everyone",
			Title:    "For whom: everyone on " + strings.Join(names, ", ") + ": no cohort is " + c.Signal.Bad + " much more than the others",
			Entities: []string{"cohort:everyone"}, Score: 0, Confidence: Calibration.Everyone.Confidence(),
			Evidence:    []incident.Evidence{{Kind: "series", Query: c.Query, Summary: "every cohort's ratio of " + c.Signal.BadAs + " requests rose by a comparable factor"}},
			BaseRate:    fmt.Sprintf("%s in the %s before the onset, every cohort together", strings.Join(bases, ", "), c.Baseline),
			Refutation:  "a cohort label not recorded on the journey metric that separates the failures",
			NotExamined: notExamined(0, c.Dims),
		}}
	}
	var out []incident.Finding
	for i, cause := range causes {
		var cohort []string
		for _, p := range cause.Element {
			if p.Label != c.Journey {
				cohort = append(cohort, p.Label+"="+p.Value)
			}
		}
		// An element of the journey alone is everyone on it.
		who, confidence := "everyone", Calibration.Everyone.Confidence()
		if len(cohort) > 0 {
			who, confidence = strings.Join(cohort, ", "), cohortConfidence(cause.Score)
		}
		var entities []string
		for _, p := range cause.Element {
			entities = append(entities, p.Label+":"+p.Value)
		}
		out = append(out, incident.Finding{
			Kind: incident.FindingBreakdown, Key: c.Signal.keyed("cohort") + ":" + cause.String(),
			Title: fmt.Sprintf("For whom: %s (%s): %s %s against %s before; %s of the excess %s requests",
				who, cause.String(), percent(cause.Ratio), c.Signal.Bad, percent(cause.Base), percent(cause.Share), c.Signal.BadAs),
			Entities: entities, Score: cause.Score, Confidence: confidence,
			Evidence: []incident.Evidence{{Kind: "series", Query: c.Query,
				Summary: fmt.Sprintf("%.0f %s requests where the base rate expects %.0f", cause.Num, c.Signal.BadAs, cause.Expect)}},
			BaseRate: fmt.Sprintf("%s of these requests %s in the %s before the onset", percent(cause.Base), c.Signal.BadAs, c.Baseline),
			Refutation: "the other cohorts " + c.Signal.Bad + " at the same ratio once more traffic has been seen, or the cohort's" +
				" requests " + c.Signal.Bad + " for a reason of their own before the onset",
			NotExamined: notExamined(i, c.Dims),
		})
	}
	return out
}

// notExamined says which label combinations the breakdown did not search (more than three labels
// at once); said once, on the first cohort finding.
func notExamined(i int, dims []string) []string {
	if i > 0 || len(dims) <= breakdown.DefaultConfig.MaxLabels {
		return nil
	}
	return []string{fmt.Sprintf("combinations of more than %d of the labels %s", breakdown.DefaultConfig.MaxLabels, strings.Join(dims, ", "))}
}

// significance maps a chi-square statistic with one degree of freedom to 1 - p.
func significance(x float64) float64 {
	if x <= 0 {
		return 0
	}
	return math.Erf(math.Sqrt(x / 2))
}

func percent(r float64) string {
	switch p := r * 100; {
	case p == 0:
		return "0%"
	case p < 0.1:
		return fmt.Sprintf("%.3f%%", p)
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	default:
		return fmt.Sprintf("%.0f%%", p)
	}
}
