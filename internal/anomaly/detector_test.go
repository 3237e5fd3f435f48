package anomaly

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"testing"
)

func TestRobustBaseline(t *testing.T) {
	for _, c := range []struct {
		in       []float64
		med, mad float64
	}{
		{[]float64{1, 2, 3, 4, 100}, 3, 1}, // the outlier moves neither
		{[]float64{5, 5, 5, 5}, 5, 0},      // flat
		{[]float64{1, 2, 3, 4}, 2.5, 1},    // even count: middle pair
		{nil, 0, 0},
	} {
		b := RobustBaseline(append([]float64(nil), c.in...))
		if b.Median != c.med || b.MAD != c.mad {
			t.Errorf("%v: %+v, want median %v MAD %v", c.in, b, c.med, c.mad)
		}
	}
}

// series is a noisy level with a deterministic wiggle.
func series(n int, level float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = level + math.Sin(float64(i)*0.7)*2 + math.Sin(float64(i)*1.3)
	}
	return out
}

func maxScore(d *Detector, values []float64) float64 {
	m := 0.0
	for _, v := range values {
		m = max(m, d.Add(v))
	}
	return m
}

func TestDetectorSeesRisesAndDropsAndStaysQuietOnNoise(t *testing.T) {
	// The deviations alone; the shape memory's rate of alarms on noise is tested with it.
	deviations := DefaultConfig
	deviations.Learn = 0
	quiet := NewDetector(deviations)
	if m := maxScore(quiet, series(3000, 100)); m > 0.5 {
		t.Fatalf("ordinary noise scored %v", m)
	}
	for _, jump := range []float64{+40, -40} {
		d := NewDetector(DefaultConfig)
		maxScore(d, series(1500, 100))
		after := series(20, 100+jump)
		if m := maxScore(d, after); m < 0.9 {
			t.Errorf("a jump of %+v scored only %v", jump, m)
		}
	}
	// One event, one alarm: a second, weaker spike soon after is silenced.
	d := NewDetector(DefaultConfig)
	maxScore(d, series(1500, 100))
	first := d.Add(200)
	maxScore(d, series(10, 100))
	second := d.Add(180)
	if first < 0.9 || second != 0 {
		t.Errorf("first spike %v, the weaker one soon after %v", first, second)
	}
}

func TestDetectorOnAFlatLine(t *testing.T) {
	d := NewDetector(DefaultConfig)
	for range 2000 {
		if s := d.Add(7); s > 0.01 {
			t.Fatalf("a flat line scored %v", s)
		}
	}
	if s := d.Add(8); s < 0.5 {
		t.Fatalf("the first change after a flat line scored %v", s)
	}
}

func TestKthDeviationMatchesSorting(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		n := 1 + rnd.IntN(40)
		values := make([]float64, n)
		for i := range values {
			values[i] = float64(rnd.IntN(12)) // ties on purpose
			if trial%2 == 0 {
				values[i] = rnd.NormFloat64()
			}
		}
		sorted := slices.Sorted(slices.Values(values))
		med := median(sorted)
		if trial%3 == 0 {
			med = sorted[rnd.IntN(n)] + rnd.Float64() - 0.5 // any centre, not only the median
		}
		dev := make([]float64, n)
		for i, v := range sorted {
			dev[i] = math.Abs(v - med)
		}
		slices.Sort(dev)
		for k := range n {
			if got := kthDeviation(sorted, med, k); got != dev[k] {
				t.Fatalf("%v around %v: deviation %d is %v, want %v", sorted, med, k, got, dev[k])
			}
		}
	}
}

// The window's median, MAD and extremes, read from its histogram, must be those of its samples
// to within two bins, whatever the stream does: noise, ties, a trend that keeps leaving the
// span, a spike that widens it and then leaves the window, a flat line, a step inside the span.
func TestWindowFitMatchesItsSamples(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	streams := map[string]func(i int) float64{
		"noise": func(int) float64 { return 100 + rnd.NormFloat64()*5 },
		"ties":  func(int) float64 { return float64(rnd.IntN(6)) },
		"trend": func(i int) float64 { return float64(i) * 0.37 },
		"spike": func(i int) float64 {
			if i == 700 {
				return 1e6
			}
			return 10 + rnd.Float64()
		},
		"flat": func(int) float64 { return 7 },
		// A step inside the span: the median and the MAD's interval walk across many bins.
		"step": func(i int) float64 {
			if i >= 1500 {
				return 10.45 + rnd.Float64()
			}
			return 10 + rnd.Float64()
		},
	}
	for name, next := range streams {
		const size = 300
		w := newWindow(size)
		var all []float64
		for i := range 3000 {
			v := next(i)
			all = append(all, v)
			w.push(v)
			if i%7 != 0 {
				continue
			}
			got := w.fit()
			held := slices.Sorted(slices.Values(all[max(0, len(all)-size):]))
			med := median(held)
			// The MAD as the window reads it: with an even count, the upper of the two middle
			// deviations.
			dev := make([]float64, len(held))
			for k, x := range held {
				dev[k] = math.Abs(x - med)
			}
			slices.Sort(dev)
			mad := dev[len(dev)/2]
			lo, hi := held[0], held[len(held)-1]
			// Two bins, where a bin is at most a 4,096th of sixteen times the span (the bins
			// are spanned anew once the samples shrink to an eighth of the span they cover).
			tol := 32*(hi-lo)/fineBins + 4e-3*math.Abs(med)/fineBins + 1e-9
			if math.Abs(got.median-med) > tol || math.Abs(got.lo-lo) > tol || math.Abs(got.hi-hi) > tol {
				t.Fatalf("%s, sample %d: median %v lo %v hi %v, want %v %v %v (bin %v)", name, i, got.median, got.lo, got.hi, med, lo, hi, w.width)
			}
			wantScale := max(1.4826*mad, 0.05*(hi-lo), 1e-3*math.Abs(med), 1e-9)
			if got := 1 / got.perScale; math.Abs(got-wantScale) > 1.4826*tol+0.05*2*tol {
				t.Fatalf("%s, sample %d: scale %v, want %v (bin %v)", name, i, got, wantScale, w.width)
			}
		}
	}
}

func TestRecentLevelMedian(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	// Small integers make ties; signs and magnitudes across the float range test the order keys.
	draw := func() float64 {
		switch rnd.IntN(4) {
		case 0:
			return float64(rnd.IntN(9) - 4)
		case 1:
			return rnd.NormFloat64() * 1e-300
		case 2:
			return rnd.NormFloat64() * 1e150
		}
		return math.Copysign(0, rnd.NormFloat64())
	}
	var r recentLevel
	var ring []float64
	for step := range 20000 {
		v := draw()
		if r.full() {
			all := append(slices.Clone(ring), v)
			slices.Sort(all)
			if got, want := r.medianWith(v), all[len(all)/2]; got != want {
				t.Fatalf("step %d: median of %v and %v: %v, want %v", step, ring, v, got, want)
			}
		} else if len(ring) == LevelSamples {
			t.Fatalf("step %d: %d samples held, not full", step, len(ring))
		}
		r.push(v)
		if ring = append(ring, v); len(ring) > LevelSamples {
			ring = ring[1:]
		}
	}
	// A network that sorts every sequence of zeros and ones sorts every sequence (the 0-1
	// principle): so for the median.
	for bits := range 1 << 7 {
		var p [7]int64
		ones := 0
		for i := range p {
			p[i] = int64(bits >> i & 1)
			ones += int(p[i])
		}
		want := int64(0)
		if ones >= 4 {
			want = 1
		}
		if got := median7(p[0], p[1], p[2], p[3], p[4], p[5], p[6]); got != want {
			t.Errorf("median of %v: %d, want %d", p, got, want)
		}
	}
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 1e-310, -1e-310, 1e300, -1e300} {
		if got := fromOrderKey(orderKey(v)); math.Float64bits(got) != math.Float64bits(v) {
			t.Errorf("order key of %v reads back as %v", v, got)
		}
	}
}

func TestBelow(t *testing.T) {
	probe := []float64{1, 2, 2, 5}
	for _, v := range []float64{0, 1, 1.5, 2, 3, 5, 6} {
		if got, want := below(probe, v), sort.SearchFloat64s(probe, v); got != want {
			t.Errorf("below(%v, %v) = %d, want %d", probe, v, got, want)
		}
	}
}

// A rank read from the histogram must be the exact share of smaller distances to within the
// distances that share its bin.
func TestRanksMatchCountingToWithinABin(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	const n = 300
	r := newRanks(n)
	var recent []float64
	for step := range 3000 {
		z := math.Exp(rnd.NormFloat64() * 3)
		if step%10 == 0 {
			z = 0
		}
		if len(recent) > 0 {
			less, same := 0, 0
			for _, x := range recent {
				switch {
				case rankBin(x) == rankBin(z):
					same++
				case x < z:
					less++
				}
			}
			want := (float64(less) + float64(same)/2) / float64(len(recent))
			if got := r.rank(z); math.Abs(got-want) > 1e-12 {
				t.Fatalf("step %d: rank of %v is %v, want %v", step, z, got, want)
			}
		}
		r.remember(z)
		recent = append(recent, z)
		if len(recent) > n {
			recent = recent[1:]
		}
	}
	for _, c := range []struct {
		a, b float64
		same bool
	}{{1, 1.1, true}, {1, 1.2, false}, {0, 1e-9, true}, {1e9, 1e12, true}, {0.5, 1, false}} {
		if got := rankBin(c.a) == rankBin(c.b); got != c.same {
			t.Errorf("bins of %v and %v: same %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

// Whatever the stream (huge values, ±Inf, NaN, a range that overflows), every score is a
// number in [0, 1].
func FuzzDetector(f *testing.F) {
	f.Add(uint16(750), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x7f, 0, 0, 0, 0, 0, 0, 0xf0, 0xff})
	f.Add(uint16(30), []byte("a stream of bytes read as float64 values, eight by eight........"))
	f.Fuzz(func(t *testing.T, learn uint16, raw []byte) {
		cfg := DefaultConfig
		cfg.Learn = int(learn % 2000)
		cfg.Period = int(learn % 7)
		if len(raw) >= 16 && learn%2 == 0 { // a range given, which the values may leave
			cfg.Lo = math.Float64frombits(binary.LittleEndian.Uint64(raw))
			cfg.Hi = math.Float64frombits(binary.LittleEndian.Uint64(raw[8:]))
		}
		d := NewDetector(cfg)
		for i := 0; i+8 <= len(raw); i += 8 {
			v := math.Float64frombits(binary.LittleEndian.Uint64(raw[i:]))
			// Each value several times, so that short inputs still fill windows and blocks.
			for range 40 {
				if s := d.Add(v); !(s >= 0 && s <= 1) {
					t.Fatalf("value %d (%v) scored %v", i/8, v, s)
				}
			}
		}
	})
}

// BenchmarkDetectorMemory reports what a detector holds once its windows are full: without
// and with the coarse time scale, and with the comparisons for a series sampled every 5
// minutes.
func BenchmarkDetectorMemory(b *testing.B) {
	for _, c := range []struct {
		name          string
		learn, period int
	}{{"deviations", 0, 0}, {"coarse", 750, 0}, {"coarse+days", 750, 288}} {
		b.Run(c.name, func(b *testing.B) {
			const held = 50
			var perDetector float64
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				detectors := make([]*Detector, held)
				for i := range detectors {
					cfg := DefaultConfig
					cfg.Learn, cfg.Period = c.learn, c.period
					detectors[i] = NewDetector(cfg)
					for j := range 12 * 288 {
						detectors[i].Add(float64(j%97) + float64(i))
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perDetector = float64(after.HeapAlloc-before.HeapAlloc) / held
				runtime.KeepAlive(detectors)
			}
			b.ReportMetric(perDetector/1024, "KiB/detector")
		})
	}
}

// The quiet time after an alarm follows the coarse time scale that the learning time sets.
func TestWithLearnSetsTheQuietTimeInBlocks(t *testing.T) {
	base := Config{Window: 100, Scale: 8, Refractory: 7}
	for _, c := range []struct{ learn, learnGot, refractory int }{
		{750, 750, RefractoryBlocks * 7}, // blocks of 7 samples
		{243, 243, RefractoryBlocks * 2},
		{50, 50, RefractoryBlocks}, // blocks of one sample
		{0, 0, 7},                  // no coarse time scale: the quiet time as it was
		{-5, 0, 7},
	} {
		got := base.WithLearn(c.learn)
		if got.Learn != c.learnGot || got.Refractory != c.refractory {
			t.Errorf("WithLearn(%d): learn %d, refractory %d; want %d and %d", c.learn, got.Learn, got.Refractory, c.learnGot, c.refractory)
		}
	}
	if DefaultConfig.Refractory != RefractoryBlocks*coarseStep(DefaultConfig.Learn) {
		t.Errorf("the default quiet time is %d samples, not %d blocks", DefaultConfig.Refractory, RefractoryBlocks)
	}
}
