package anomaly

import (
	"math"
	"sort"
)

// Onset is when a series changed, with an interval of the times that explain the change almost
// as well: anomalies on different entities can be ordered by it, and two onsets whose intervals
// overlap cannot.
type Onset struct {
	// At is the index of the first sample after the change; Lo and Hi bound it (inclusive).
	At, Lo, Hi int
	// Before and After are the medians on either side, Shift their difference in units of the
	// spread before (a robust z).
	Before, After, Shift float64
	// Found is false when no change stands out from the noise.
	Found bool
}

// FindOnset finds the single most likely change of level in values: the split that best
// separates two medians relative to the spread, scored like a two-sample t statistic on
// robust estimates. The interval holds every split whose squared score is within 4 of the
// best's (the likelihood-ratio drop of a 95% interval for one change point under Gaussian
// noise): a large change is placed tightly, a small one loosely.
// minShift is the least |Shift| that counts as a change.
func FindOnset(values []float64, minShift float64) Onset {
	n := len(values)
	if n < 8 {
		return Onset{}
	}
	// Prefix sums give each split's means in O(1); medians confirm the best one below.
	prefix := make([]float64, n+1)
	for i, v := range values {
		prefix[i+1] = prefix[i] + v
	}
	// The noise, from consecutive differences: a step moves one difference, not their median.
	diffs := make([]float64, n-1)
	for i := 1; i < n; i++ {
		diffs[i-1] = math.Abs(values[i] - values[i-1])
	}
	sort.Float64s(diffs)
	spread := 1.4826*median(diffs)/math.Sqrt2 + 1e-12
	margin := max(2, n/20) // each side needs some samples
	stat := make([]float64, n)
	best, bestAt := -1.0, -1
	for k := margin; k <= n-margin; k++ {
		m1 := prefix[k] / float64(k)
		m2 := (prefix[n] - prefix[k]) / float64(n-k)
		s := math.Abs(m2-m1) / spread * math.Sqrt(float64(k)*float64(n-k)/float64(n))
		stat[k] = s
		if s > best {
			best, bestAt = s, k
		}
	}
	if bestAt < 0 {
		return Onset{}
	}
	o := Onset{At: bestAt, Lo: bestAt, Hi: bestAt}
	within := func(k int) bool { return stat[k]*stat[k] >= best*best-4 }
	for k := bestAt; k >= margin && within(k); k-- {
		o.Lo = k
	}
	for k := bestAt; k <= n-margin && within(k); k++ {
		o.Hi = k
	}
	before := append([]float64(nil), values[:bestAt]...)
	after := append([]float64(nil), values[bestAt:]...)
	b, a := RobustBaseline(before), RobustBaseline(after)
	scale := max(b.MAD*1.4826, 1e-9*math.Max(1, math.Abs(b.Median)))
	if b.MAD == 0 {
		// A flat stretch before: measure the shift against the whole series' spread.
		scale = max(spread, 1e-9)
	}
	o.Before, o.After, o.Shift = b.Median, a.Median, (a.Median-b.Median)/scale
	o.Found = math.Abs(o.Shift) >= minShift
	return o
}

// BaseRate says whether what looks anomalous now was already happening before.
type BaseRate struct {
	// Share is the fraction of the reference samples at or beyond the level (on the same side
	// of the reference median as the level).
	Share float64
	// Episodes is how many separate runs of such samples the reference holds, and Longest the
	// longest run.
	Episodes, Longest int
	// Typical is the reference median; Peak its most extreme sample on the level's side.
	Typical, Peak float64
	// Novel is true when the level was never reached in the reference.
	Novel bool
}

// BaseRateOf measures how often a level was reached in a reference window (the days before an
// incident): "present at 0.2% of samples in 3 episodes" or "never seen".
func BaseRateOf(reference []float64, level float64) BaseRate {
	if len(reference) == 0 {
		return BaseRate{Novel: true}
	}
	sorted := append([]float64(nil), reference...)
	sort.Float64s(sorted)
	med := median(sorted)
	above := level >= med
	br := BaseRate{Typical: med, Peak: sorted[0]}
	if above {
		br.Peak = sorted[len(sorted)-1]
	}
	run, hits := 0, 0
	for _, v := range reference {
		if (above && v >= level) || (!above && v <= level) {
			hits++
			run++
			if run == 1 {
				br.Episodes++
			}
			br.Longest = max(br.Longest, run)
		} else {
			run = 0
		}
	}
	br.Share = float64(hits) / float64(len(reference))
	br.Novel = hits == 0
	return br
}

// SeasonalDeviation compares the newest sample with the same moment on earlier cycles: for
// each period given (a day and a week, in samples), the sample one and two periods back. It is
// the distance from their median, in units of the spread of the differences between a sample
// and the one a period before it (of the shortest period). ok is false when the history does
// not reach two of the shortest period back.
func SeasonalDeviation(values []float64, periods ...int) (z float64, ok bool) {
	n := len(values)
	var ref []float64
	shortest := 0
	for _, p := range periods {
		if p <= 0 {
			continue
		}
		if shortest == 0 || p < shortest {
			shortest = p
		}
		for k := 1; k <= 2; k++ {
			if n-1-k*p >= 0 {
				ref = append(ref, values[n-1-k*p])
			}
		}
	}
	if shortest == 0 || n < 2*shortest+1 {
		return 0, false
	}
	sort.Float64s(ref)
	// The spread: how much the series usually differs from itself one period earlier.
	diffs := make([]float64, 0, n-shortest)
	for i := shortest; i < n-1; i++ {
		diffs = append(diffs, math.Abs(values[i]-values[i-shortest]))
	}
	sort.Float64s(diffs)
	scale := max(1.4826*median(diffs), 1e-9)
	return (values[n-1] - median(ref)) / scale, true
}
