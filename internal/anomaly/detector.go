// Package anomaly scores time series as their samples arrive: robust baselines (median and
// MAD over a reference window), a streaming anomaly score that treats drops like rises and
// silences repeated alarms for one event, the onset of a change with its uncertainty, base-rate
// verdicts and seasonal comparisons. Pure code on plain values.
package anomaly

import (
	"math"
	"sort"
)

// Config tunes a Detector. One configuration serves every series.
type Config struct {
	// Window is how many past samples form the baseline.
	Window int
	// Recent is how many of the newest samples are compared with the baseline for a level
	// shift (a spike is one sample against it).
	Recent int
	// Scale maps a robust z-score to the score: z = Scale gives 0.5.
	Scale float64
	// Refractory is how many samples after an alarm a weaker one is silenced: one event, one
	// alarm.
	Refractory int
}

// DefaultConfig is the configuration Sextant uses everywhere.
var DefaultConfig = Config{Window: 1000, Recent: 6, Scale: 8, Refractory: 300}

// Detector scores one series, sample by sample, from the past only.
type Detector struct {
	cfg      Config
	ring     []float64 // the last Window samples; once full, next is the oldest
	next     int
	sorted   []float64 // the same samples, sorted
	recent   []float64 // the last Recent samples
	peak     float64   // the strongest recent score
	since    int       // samples since the peak was set
	past     []float64 // recent z-scores, sorted, for how unusual a z is for this series
	pastQ    []float64 // the same in arrival order, a ring; once full, pastNext is the oldest
	pastNext int

	// Shapes: the series' values quantised in half units of its spread; three consecutive
	// levels never seen together before are a new shape, whatever their size.
	prevBin, prev2Bin int
	shapes            []int32         // how often each shape was seen, indexed by shapeIndex
	levels            [levelCount]int // samples seen at each level
	seen              int
}

// noveltyZ is the distance a never-seen shape counts as: as much as a large spike.
const noveltyZ = 20.0

// noveltyAfter is how many samples a series must have shown before a new shape counts.
const noveltyAfter = 200

// levelCount is how many levels a value is quantised to: -12..12 half units of spread.
const levelCount = 25

// shapeIndex places three consecutive levels in the detector's table of shapes.
func shapeIndex(a, b, c int) int {
	return ((a+12)*levelCount+(b+12))*levelCount + (c + 12)
}

// NewDetector returns a detector with no history.
func NewDetector(cfg Config) *Detector {
	if cfg.Window <= 0 {
		cfg = DefaultConfig
	}
	return &Detector{cfg: cfg, ring: make([]float64, 0, cfg.Window), sorted: make([]float64, 0, cfg.Window)}
}

// Baseline is a robust summary of a reference window.
type Baseline struct {
	Median float64
	MAD    float64 // median absolute deviation
}

// RobustBaseline is the median and MAD of values (which it sorts in place).
func RobustBaseline(values []float64) Baseline {
	if len(values) == 0 {
		return Baseline{}
	}
	sort.Float64s(values)
	med := median(values)
	dev := make([]float64, len(values))
	for i, v := range values {
		dev[i] = math.Abs(v - med)
	}
	sort.Float64s(dev)
	return Baseline{Median: med, MAD: median(dev)}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// scale is the spread a deviation is measured in: the MAD as a standard deviation, but never
// less than a small part of the level and of the whole range (a flat line has no MAD).
func (d *Detector) scale(med, mad float64) float64 {
	s := 1.4826 * mad
	lo, hi := d.sorted[0], d.sorted[len(d.sorted)-1]
	return max(s, 0.05*(hi-lo), 1e-3*math.Abs(med), 1e-9)
}

// Add scores a sample against the samples before it and then learns it. The score is in
// [0, 1): 0 while the detector is still learning.
func (d *Detector) Add(v float64) float64 {
	var score float64
	if len(d.sorted) >= min(d.cfg.Window, 30) {
		n := len(d.sorted)
		med := median(d.sorted)
		mad := d.mad(med)
		s := d.scale(med, mad)
		spike := math.Abs(v-med) / s
		level := 0.0
		if len(d.recent) == d.cfg.Recent {
			var buf [16]float64
			rs := append(append(buf[:0], d.recent...), v)
			insertionSort(rs)
			level = math.Abs(median(rs)-med) / s * 1.5
		}
		// Outside the range ever seen counts more than inside it.
		if v > d.sorted[n-1] || v < d.sorted[0] {
			spike *= 1.5
		}
		bin := int(math.Round((v - med) / s * 2))
		bin = max(-12, min(12, bin))
		novel := 0.0
		if d.shapes == nil {
			d.shapes = make([]int32, levelCount*levelCount*levelCount)
		}
		key := shapeIndex(d.prev2Bin, d.prevBin, bin)
		// A shape is new when these three levels never came together and the level itself is
		// rare for the series (under 1% of samples): noise finds new combinations of common
		// levels all the time.
		if d.seen > noveltyAfter && d.shapes[key] == 0 && d.levels[bin+12]*100 < d.seen {
			novel = noveltyZ
		}
		d.levels[bin+12]++
		d.shapes[key]++
		d.seen++
		d.prev2Bin, d.prevBin = d.prevBin, bin
		z := max(spike, level, novel)
		zs := z / d.cfg.Scale
		magnitude := 1 - 1/(1+zs*zs)
		// How unusual is this z for this series? The share of recent z-scores below it: a
		// noisy series' everyday deviations do not read as anomalies.
		rank := 1.0
		if len(d.past) > 0 {
			rank = float64(below(d.past, z)) / float64(len(d.past))
		}
		d.remember(z)
		score = magnitude * (rank * rank) * (rank * rank)
	}
	// One event, one alarm: while an alarm is recent, weaker scores are silenced.
	out := score
	if d.since < d.cfg.Refractory && score <= d.peak {
		out = 0
	}
	if out > 0 && (score > d.peak || d.since >= d.cfg.Refractory) && score > 0.5 {
		d.peak, d.since = score, 0
	}
	d.since++
	d.learn(v)
	return out
}

// pastZ is how many recent z-scores judge how unusual a new one is.
const pastZ = 2000

func (d *Detector) remember(z float64) {
	if len(d.pastQ) < pastZ {
		d.pastQ = append(d.pastQ, z)
		d.past = insertSorted(d.past, z)
		return
	}
	old := d.pastQ[d.pastNext]
	d.pastQ[d.pastNext] = z
	d.pastNext = (d.pastNext + 1) % pastZ
	replaceSorted(d.past, old, z)
}

// mad is the median absolute deviation of the window from its median med, read from the
// sorted window without sorting anything: the deviations below and above the median are two
// sorted runs, and the MAD is their middle, found by bisection.
func (d *Detector) mad(med float64) float64 {
	n := len(d.sorted)
	if n%2 == 1 {
		return kthDeviation(d.sorted, med, n/2)
	}
	return (kthDeviation(d.sorted, med, n/2-1) + kthDeviation(d.sorted, med, n/2)) / 2
}

// kthDeviation is the k-th smallest (from 0) of |x - med| over sorted.
func kthDeviation(sorted []float64, med float64, k int) float64 {
	p := below(sorted, med)
	a, b := p, len(sorted)-p
	// The deviations of the values below med, nearest first, and of the others.
	lower := func(i int) float64 {
		if i < 0 {
			return math.Inf(-1)
		}
		if i >= a {
			return math.Inf(1)
		}
		return med - sorted[p-1-i]
	}
	upper := func(j int) float64 {
		if j < 0 {
			return math.Inf(-1)
		}
		if j >= b {
			return math.Inf(1)
		}
		return sorted[p+j] - med
	}
	// Take i of the k+1 smallest from below and the rest from above: the smallest i at which
	// the next one below is no smaller than the last one taken from above.
	lo, hi := max(0, k+1-b), min(k+1, a)
	for lo < hi {
		i := int(uint(lo+hi) >> 1)
		if lower(i) >= upper(k-i) {
			hi = i
		} else {
			lo = i + 1
		}
	}
	return max(lower(lo-1), upper(k-lo))
}

func (d *Detector) learn(v float64) {
	if len(d.ring) < d.cfg.Window {
		d.ring = append(d.ring, v)
		d.sorted = insertSorted(d.sorted, v)
	} else {
		old := d.ring[d.next]
		d.ring[d.next] = v
		d.next = (d.next + 1) % d.cfg.Window
		replaceSorted(d.sorted, old, v)
	}
	if len(d.recent) == d.cfg.Recent {
		copy(d.recent, d.recent[1:])
		d.recent[len(d.recent)-1] = v
	} else {
		d.recent = append(d.recent, v)
	}
}

// insertionSort sorts a handful of values faster than a general sort.
func insertionSort(s []float64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// below is how many values of sorted are less than v.
func below(sorted []float64, v float64) int {
	// Without branches to mispredict: halve the range, moving its base past values below v.
	n := len(sorted)
	if n == 0 {
		return 0
	}
	base := 0
	for n > 1 {
		half := n / 2
		if sorted[base+half-1] < v {
			base += half
		}
		n -= half
	}
	if sorted[base] < v {
		base++
	}
	return base
}

func insertSorted(sorted []float64, v float64) []float64 {
	i := below(sorted, v)
	sorted = append(sorted, 0)
	copy(sorted[i+1:], sorted[i:])
	sorted[i] = v
	return sorted
}

// replaceSorted swaps one copy of old in sorted for v, moving only the values between the two
// places: a window that slides over a steady series moves little.
func replaceSorted(sorted []float64, old, v float64) {
	i := below(sorted, old)
	j := below(sorted, v)
	switch {
	case j > i+1:
		copy(sorted[i:j-1], sorted[i+1:j])
		sorted[j-1] = v
	case j < i:
		copy(sorted[j+1:i+1], sorted[j:i])
		sorted[j] = v
	default:
		sorted[i] = v
	}
}
