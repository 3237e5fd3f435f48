package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// memory is a pattern memory with its blocks, as a Detector with Learn keeps them.
type memory struct {
	*blocks
	*patterns
}

func newMemory(learn int) memory {
	step := coarseStep(learn)
	return memory{newBlocks(step), newPatterns(learn / step)}
}

// feed gives m the values and returns the indexes at which it alarmed.
func feed(m memory, values []float64) []int {
	var alarms []int
	for i, v := range values {
		if b, closed := m.blocks.add(v); closed && m.patterns.add(b) > 0 {
			alarms = append(alarms, i)
		}
	}
	return alarms
}

// wave is a regular series: a sine of period 60 samples with a little noise.
func wave(rnd *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 50 + 20*math.Sin(2*math.Pi*float64(i)/60) + rnd.NormFloat64()*0.5
	}
	return out
}

func TestPatternsAlarmOnAMoveNeverMade(t *testing.T) {
	cases := []struct {
		name  string
		after func(i int, v float64) float64 // what the wave becomes after learning
	}{
		// The wave stops at its middle: a flat run at a level it only ever crossed.
		{"stalls", func(int, float64) float64 { return 50 }},
		// One sample far above anything seen, inside a block of ordinary ones.
		{"spikes", func(i int, v float64) float64 {
			if i == 20 {
				return 140
			}
			return v
		}},
		// A drop to a level never seen.
		{"drops", func(_ int, v float64) float64 { return v - 60 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(7, 8))
			p := newMemory(750)
			if alarms := feed(p, wave(rnd, 3000)); len(alarms) > 0 {
				t.Fatalf("the regular wave alarmed at %v", alarms)
			}
			changed := wave(rnd, 600)
			for i, v := range changed {
				changed[i] = c.after(i, v)
			}
			alarms := feed(p, changed)
			if len(alarms) == 0 {
				t.Fatal("no alarm")
			}
			// The first alarm comes within a few blocks of the change.
			if alarms[0] > 5*p.step+20 {
				t.Errorf("first alarm %d samples after the change (blocks of %d)", alarms[0], p.step)
			}
		})
	}
}

// While it learns, the memory never alarms, whatever the series does.
func TestPatternsSilentWhileLearning(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 10))
	p := newMemory(750)
	values := make([]float64, 750)
	for i := range values {
		values[i] = rnd.ExpFloat64() * float64(1+i%97) // spikes and jumps of every size
	}
	if alarms := feed(p, values); len(alarms) > 0 {
		t.Fatalf("alarmed while learning, at %v", alarms)
	}
	if p.vigilance < minVigilance {
		t.Fatalf("vigilance %v after learning, want at least %v", p.vigilance, minVigilance)
	}
}

// On noise the memory still meets moves it never made (a new extreme widens the range), but
// rarely: its base rate of alarms on Gaussian noise stays under one per 1,000 samples. Without
// a vigilance every block would alarm.
func TestPatternsRarelyAlarmOnNoise(t *testing.T) {
	const n = 20000
	for seed := range uint64(5) {
		rnd := rand.New(rand.NewPCG(seed, 1))
		p := newMemory(750)
		values := make([]float64, n)
		for i := range values {
			values[i] = 100 + rnd.NormFloat64()
		}
		if alarms := feed(p, values); len(alarms) > n/1000 {
			t.Errorf("seed %d: %d alarms in %d samples of noise", seed, len(alarms), n)
		}
	}
}

// After an alarm, for alarmQuiet blocks, a new move alarms again only if it lies clearly
// farther out: one event, one alarm.
func TestPatternsQuietAfterAnAlarm(t *testing.T) {
	rnd := rand.New(rand.NewPCG(11, 12))
	p := newMemory(750)
	feed(p, wave(rnd, 3000))
	quiet := alarmQuiet * p.step
	var stairs []float64 // new levels, each a little beyond the last, within the quiet time
	for i := range quiet - 2*p.step {
		stairs = append(stairs, 75+float64(i/p.step))
	}
	if alarms := feed(p, stairs); len(alarms) != 1 {
		t.Fatalf("a staircase of new levels alarmed %d times (%v), want once", len(alarms), alarms)
	}
	// Far beyond the staircase, still within the quiet time: a new event.
	jump := make([]float64, 2*p.step)
	for i := range jump {
		jump[i] = 400
	}
	if alarms := feed(p, jump); len(alarms) == 0 {
		t.Fatal("a jump far beyond the staircase did not alarm")
	}
}

// A shift that single noisy samples hide stands out among the blocks' means: a Detector with
// Learn scores them with coarseConfig. Here a sustained shift of ten standard deviations: at
// the native scale the deviation scores under 0.9 (a new shape's ceiling is 0.862); among the
// means of blocks of seven, whose noise is √7 times smaller, above 0.94.
func TestBlockMeansMakeAShiftStandOut(t *testing.T) {
	for seed := range uint64(3) {
		rnd := rand.New(rand.NewPCG(seed, 2))
		blocks := newBlocks(coarseStep(750))
		coarse := NewDetector(coarseConfig)
		native := DefaultConfig
		native.Learn = 0
		single := NewDetector(native)
		var coarseMax, singleMax float64
		for i := range 4300 {
			v := 100 + rnd.NormFloat64()
			if i >= 4000 {
				v += 10
			}
			s := single.Add(v)
			var c float64
			if b, closed := blocks.add(v); closed {
				c = coarse.Add(b.mean)
			}
			if i >= 4000 {
				singleMax, coarseMax = max(singleMax, s), max(coarseMax, c)
			}
		}
		if singleMax >= 0.9 || coarseMax <= 0.94 {
			t.Errorf("seed %d: the shift scored %.3f at the native scale, %.3f among the blocks' means", seed, singleMax, coarseMax)
		}
	}
}

// BenchmarkCoarseTimeScale scores a noisy random walk, where new moves keep coming, without
// and with the coarse time scale (Learn).
func BenchmarkCoarseTimeScale(b *testing.B) {
	values := noisyWalk(rand.New(rand.NewPCG(1, 2)), 4000)
	for _, learn := range []int{0, 600} {
		b.Run(fmt.Sprintf("learn-%d", learn), func(b *testing.B) {
			for range b.N {
				cfg := DefaultConfig
				cfg.Learn = learn
				d := NewDetector(cfg)
				for _, v := range values {
					d.Add(v)
				}
			}
			b.ReportMetric(float64(b.N*len(values))/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// However short the learning, it ends with a vigilance, neither nothing (every move of a noisy
// series would alarm) nor infinite (none would).
func TestPatternsLearnSomethingFromTheShortestTime(t *testing.T) {
	for _, learn := range []int{0, 1, 2, 3} {
		m := newMemory(learn)
		feed(m, []float64{1, 2, 1, 2, 1, 2, 1, 2})
		if m.vigilance < minVigilance || math.IsInf(m.vigilance, 1) {
			t.Errorf("learning from %d samples: vigilance %v", learn, m.vigilance)
		}
	}
}
