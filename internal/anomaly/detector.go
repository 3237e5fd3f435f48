// Package anomaly scores time series as their samples arrive: robust baselines (median and
// MAD over a reference window), a streaming anomaly score that treats drops like rises, knows
// the shapes a series makes at a coarse time scale, and silences repeated alarms for one event;
// the onset of a change with its uncertainty, base-rate verdicts and seasonal comparisons. Pure
// code on plain values.
package anomaly

import (
	"math"
	"sort"
)

// Config tunes a Detector. One configuration serves every series.
type Config struct {
	// Window is how many past samples form the baseline.
	Window int
	// Scale maps a robust z-score to the score: z = Scale gives 0.5.
	Scale float64
	// Refractory is how many samples after an alarm a weaker one is silenced: one event, one
	// alarm. WithLearn sets it to RefractoryBlocks blocks of the coarse time scale.
	Refractory int
	// Memory is how many past z-scores judge how unusual a new one is for the series.
	Memory int
	// Period is how many samples make a day, when the series' sampling interval is known, 0
	// when it is not. With it, a series that repeats itself from day to day, or from week to
	// week, is also scored against the same time on its last days and weeks (which costs four
	// weeks of samples of memory).
	Period int
	// Learn is how many samples the shape memory learns from before it speaks, 0 for none.
	// It also sets the coarse time scale at which the memory sees the series: blocks of about
	// Learn/104 samples.
	Learn int
	// Lo and Hi are the range the series' values are known to span, from its history (NAB gives
	// every detector its file's); when Hi <= Lo, the shape memory takes the range of its
	// learning time, widened on both sides.
	Lo, Hi float64
}

// DefaultConfig is the configuration Sextant uses everywhere.
var DefaultConfig = Config{Window: 1500, Scale: 8, Memory: 8000}.WithLearn(750)

// RefractoryBlocks is how many blocks of the coarse time scale an alarm silences weaker ones
// for: the time one event takes is a share of the series' own time scale, not a count of
// samples.
const RefractoryBlocks = 30

// WithLearn is c learning from learn samples (0 for no coarse time scale), its refractory time
// set to RefractoryBlocks blocks of the coarse time scale that learning sets.
func (c Config) WithLearn(learn int) Config {
	c.Learn = max(learn, 0)
	if c.Learn > 0 {
		c.Refractory = RefractoryBlocks * coarseStep(c.Learn)
	}
	return c
}

// Detector scores one series, sample by sample, from the past only.
type Detector struct {
	cfg    Config
	window *window   // the baseline window
	base   windowFit // its median and spread, as of its last fit
	// Since the last fit: how many samples, and their extremes.
	unfit                int
	pendingLo, pendingHi float64

	recent    recentLevel // the newest samples, for the level of a shift
	perZScale float64     // 1/cfg.Scale

	peak  float64 // the strongest recent score
	since int     // samples since the peak was set
	past  *ranks  // recent z-scores, for how unusual a z is for this series

	// The series at a coarse time scale, without Learn both nil: its blocks, and the memory of
	// the shapes they make.
	blocks  *blocks
	shapes  *shapes
	seasons []*seasonal // the same time on earlier days, and on earlier weeks; none without a Period
	history *history    // the samples they read
}

// windowFit is what the score reads from the baseline window.
type windowFit struct {
	median   float64
	perScale float64 // 1 over the spread: a multiplication where a division would cost more
	lo, hi   float64
}

// maxMagnitude bounds the values a Detector takes: larger ones count as this large. Spans and
// differences of values then stay finite, where those of two values near the largest float64
// would overflow to infinities and their quotients to NaN.
const maxMagnitude = 1e150

// shapeAlarm is the least score of a shape the shape memory cannot place: it ranks with the
// strongest deviations.
const shapeAlarm = 0.95

// minZ is the least deviation, in robust standard deviations, that scores at all: within it a
// sample is ordinary whatever the series, and costs no rank.
const minZ = 2

// fitEvery is how often the baseline's median and spread are read from the window: they lag
// the series by up to this many samples less one.
const fitEvery = 25

// NewDetector returns a detector with no history.
func NewDetector(cfg Config) *Detector {
	if cfg.Window <= 0 {
		cfg = DefaultConfig
	}
	if cfg.Memory <= 0 {
		cfg.Memory = DefaultConfig.Memory
	}
	d := &Detector{cfg: cfg, window: newWindow(cfg.Window), past: newRanks(cfg.Memory), perZScale: 1 / cfg.Scale,
		pendingLo: math.Inf(1), pendingHi: math.Inf(-1)}
	if cfg.Learn > 0 {
		step := coarseStep(cfg.Learn)
		d.blocks = newBlocks(step)
		d.shapes = newShapes(cfg.Learn/step, cfg.Lo, cfg.Hi)
	}
	if cfg.Period > 0 {
		week := 7 * cfg.Period
		d.history = newHistory(weekCycles * week)
		d.seasons = []*seasonal{newSeasonal(cfg, d.history, cfg.Period, dayCycles, week),
			newSeasonal(cfg, d.history, week, weekCycles, week)}
	}
	return d
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
	return Baseline{Median: med, MAD: mad(values, med)}
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// Add scores a sample against the samples before it and then learns it. The score is in
// [0, 1]: 0 while the detector is still learning, and for a sample that is not a finite
// number; otherwise the largest of the deviation's (0 within two robust standard deviations of
// the baseline), the shape memory's (with Learn) and the comparisons with earlier days' and
// weeks' (with a Period), silenced while it is weaker than an alarm shortly before. A value
// beyond ±1e150 counts as ±1e150.
func (d *Detector) Add(v float64) float64 {
	if v-v != 0 { // NaN or ±Inf
		if d.history != nil {
			d.history.push(v) // keeps its place, so that the days stay aligned
		}
		return 0
	}
	v = max(-maxMagnitude, min(v, maxMagnitude))
	var score float64
	if d.window.len()-d.unfit >= min(d.cfg.Window, 30) {
		b := d.base
		spike := math.Abs(v-b.median) * b.perScale
		level := 0.0
		if d.recent.full() {
			level = math.Abs(d.recent.medianWith(v)-b.median) * b.perScale * 1.5
		}
		// Outside the range ever seen counts more than inside it.
		if v > max(b.hi, d.pendingHi) || v < min(b.lo, d.pendingLo) {
			spike *= 1.5
		}
		z := max(spike, level)
		if z >= minZ {
			zs := z * d.perZScale
			magnitude := 1 - 1/(1+zs*zs)
			// How unusual is this z for this series? The share of recent z-scores below it: a
			// noisy series' everyday deviations do not read as anomalies.
			rank := d.past.rank(z)
			score = magnitude * (rank * rank) * (rank * rank)
		}
		d.past.remember(z)
	}
	if d.blocks != nil {
		if b, closed := d.blocks.add(v); closed {
			if a := d.shapes.add(b); a > 0 {
				score = max(score, shapeAlarm+(1-shapeAlarm)*a)
			}
		}
	}
	if d.history != nil {
		for _, s := range d.seasons {
			score = max(score, s.add(v, d.base.median))
		}
		d.history.push(v)
	}
	d.learn(v)
	// One event, one alarm: while an alarm is recent, weaker scores are silenced.
	out := score
	if d.since < d.cfg.Refractory && score <= d.peak {
		out = 0
	}
	if out > 0 && (score > d.peak || d.since >= d.cfg.Refractory) && score > 0.5 {
		d.peak, d.since = score, 0
	}
	d.since++
	return out
}

// mad is the median absolute deviation of sorted values from their median med, read without
// sorting the deviations: those below and above the median are two sorted runs, and the MAD is
// their middle, found by bisection.
func mad(sorted []float64, med float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return kthDeviation(sorted, med, n/2)
	}
	return (kthDeviation(sorted, med, n/2-1) + kthDeviation(sorted, med, n/2)) / 2
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
	d.window.push(v)
	if d.unfit++; d.unfit == fitEvery {
		d.base = d.window.fit()
		d.unfit = 0
		d.pendingLo, d.pendingHi = math.Inf(1), math.Inf(-1)
	} else {
		d.pendingLo, d.pendingHi = min(d.pendingLo, v), max(d.pendingHi, v)
	}
	d.recent.push(v)
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
