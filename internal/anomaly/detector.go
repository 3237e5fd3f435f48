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
	cfg    Config
	ring   []float64 // the last Window samples; once full, next is the oldest
	next   int
	sorted []float64 // the same samples, sorted
	recent []float64 // the last Recent samples
	peak   float64   // the strongest recent score
	since  int       // samples since the peak was set
	past   []float64 // recent z-scores, sorted, for how unusual a z is for this series
	pastQ  []float64 // the same in arrival order

	madCache float64
	madAge   int
	dev      []float64 // scratch for the MAD

	// Shapes: the series' values quantised in half units of its spread; three consecutive
	// levels never seen together before are a new shape, whatever their size.
	prevBin, prev2Bin int
	pairs             map[[3]int]int // shapes seen, and how often
	levels            [25]int        // samples seen at each level
	seen              int
}

// noveltyZ is the distance a never-seen shape counts as: as much as a large spike.
const noveltyZ = 20.0

// noveltyAfter is how many samples a series must have shown before a new shape counts.
const noveltyAfter = 200

// madEvery is how many samples the MAD is kept before it is worked out again.
const madEvery = 32

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
		// The MAD moves slowly; it is worked out again every madEvery samples.
		if d.madAge == 0 || d.madAge >= madEvery {
			d.madCache, d.madAge = d.mad(med), 0
		}
		d.madAge++
		mad := d.madCache
		s := d.scale(med, mad)
		spike := math.Abs(v-med) / s
		level := 0.0
		if len(d.recent) == d.cfg.Recent {
			var buf [16]float64
			rs := append(append(buf[:0], d.recent...), v)
			sort.Float64s(rs)
			level = math.Abs(median(rs)-med) / s * 1.5
		}
		// Outside the range ever seen counts more than inside it.
		if v > d.sorted[n-1] || v < d.sorted[0] {
			spike *= 1.5
		}
		bin := int(math.Round((v - med) / s * 2))
		bin = max(-12, min(12, bin))
		novel := 0.0
		if d.pairs == nil {
			d.pairs = map[[3]int]int{}
		}
		key := [3]int{d.prev2Bin, d.prevBin, bin}
		// A shape is new when these three levels never came together and the level itself is
		// rare for the series (under 1% of samples): noise finds new combinations of common
		// levels all the time.
		if d.seen > noveltyAfter && d.pairs[key] == 0 && d.levels[bin+12]*100 < d.seen {
			novel = noveltyZ
		}
		d.levels[bin+12]++
		d.pairs[key]++
		d.seen++
		d.prev2Bin, d.prevBin = d.prevBin, bin
		z := max(spike, level, novel)
		magnitude := 1 - 1/(1+math.Pow(z/d.cfg.Scale, 2))
		// How unusual is this z for this series? The share of recent z-scores below it: a
		// noisy series' everyday deviations do not read as anomalies.
		rank := 1.0
		if len(d.past) > 0 {
			rank = float64(sort.SearchFloat64s(d.past, z)) / float64(len(d.past))
		}
		d.remember(z)
		score = magnitude * math.Pow(rank, 4)
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
	if len(d.pastQ) == pastZ {
		old := d.pastQ[0]
		d.pastQ = d.pastQ[1:]
		i := sort.SearchFloat64s(d.past, old)
		d.past = append(d.past[:i], d.past[i+1:]...)
	}
	d.pastQ = append(d.pastQ, z)
	i := sort.SearchFloat64s(d.past, z)
	d.past = append(d.past, 0)
	copy(d.past[i+1:], d.past[i:])
	d.past[i] = z
}

// mad is the median absolute deviation of the window from med.
func (d *Detector) mad(med float64) float64 {
	dev := d.dev[:0]
	for _, x := range d.sorted {
		dev = append(dev, math.Abs(x-med))
	}
	d.dev = dev
	sort.Float64s(dev)
	return median(dev)
}

func (d *Detector) learn(v float64) {
	if len(d.ring) < d.cfg.Window {
		d.ring = append(d.ring, v)
	} else {
		old := d.ring[d.next]
		d.ring[d.next] = v
		d.next = (d.next + 1) % d.cfg.Window
		i := sort.SearchFloat64s(d.sorted, old)
		d.sorted = append(d.sorted[:i], d.sorted[i+1:]...)
	}
	i := sort.SearchFloat64s(d.sorted, v)
	d.sorted = append(d.sorted, 0)
	copy(d.sorted[i+1:], d.sorted[i:])
	d.sorted[i] = v
	d.recent = append(d.recent, v)
	if len(d.recent) > d.cfg.Recent {
		d.recent = d.recent[1:]
	}
}
