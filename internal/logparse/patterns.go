package logparse

import (
	"math"
	"sort"
	"time"
)

// PatternKind says how a template's rate changed.
type PatternKind string

const (
	// PatternNew is a template never seen in the reference period.
	PatternNew PatternKind = "new"
	// PatternSurge is a template whose rate jumped against its base rate.
	PatternSurge PatternKind = "surge"
)

// PatternChange is a template whose count in a window stands out against a reference period.
type PatternChange struct {
	Template uint32
	Kind     PatternKind
	// Count is the lines in the window; Expected what the reference rate predicts for it.
	Count    int
	Expected float64
	// Ratio is Count over Expected (infinite for a new template).
	Ratio float64
	// PValue is the chance of at least Count lines if the reference rate still held (Poisson).
	PValue float64
}

// PatternChanges compares per-template line counts in a window with those of a reference
// period before it. A template is new if the reference never had it and the window has at
// least minCount lines of it; it surged if its count is at least three times what the
// reference rate predicts and that many would happen by chance less than once in a thousand.
// The result is sorted by significance, the most surprising first.
func PatternChanges(reference, window map[uint32]int, refSpan, winSpan time.Duration, minCount int) []PatternChange {
	if refSpan <= 0 || winSpan <= 0 {
		return nil
	}
	scale := winSpan.Seconds() / refSpan.Seconds()
	var out []PatternChange
	for id, n := range window {
		ref := reference[id]
		switch {
		case ref == 0 && n >= minCount:
			// Never seen: expected fewer than one line in the reference span, scaled.
			out = append(out, PatternChange{Template: id, Kind: PatternNew, Count: n, Ratio: math.Inf(1), PValue: poissonTail(scale, n)})
		case ref > 0:
			expected := float64(ref) * scale
			p := poissonTail(expected, n)
			if float64(n) >= 3*expected && p < 1e-3 && n >= minCount {
				out = append(out, PatternChange{Template: id, Kind: PatternSurge, Count: n, Expected: expected, Ratio: float64(n) / expected, PValue: p})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PValue != out[j].PValue {
			return out[i].PValue < out[j].PValue
		}
		return out[i].Template < out[j].Template
	})
	return out
}

// poissonTail is P(X ≥ k) for X ~ Poisson(mean), summed in log space so that large counts do
// not overflow.
func poissonTail(mean float64, k int) float64 {
	if k <= 0 {
		return 1
	}
	if mean <= 0 {
		return 0
	}
	// P(X ≥ k) = 1 - P(X ≤ k-1); for k well above the mean, sum the upper terms directly.
	if float64(k) > mean {
		lg, _ := math.Lgamma(float64(k) + 1)
		logTerm := float64(k)*math.Log(mean) - mean - lg
		sum, term := 0.0, math.Exp(logTerm)
		for i := k; term > sum*1e-15 && i < k+10000; i++ {
			sum += term
			term *= mean / float64(i+1)
		}
		return min(1, sum)
	}
	cdf, term := 0.0, math.Exp(-mean)
	for i := 0; i < k; i++ {
		cdf += term
		term *= mean / float64(i+1)
	}
	return max(0, 1-cdf)
}
