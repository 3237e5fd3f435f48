package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHaarByHand(t *testing.T) {
	r := math.Sqrt2
	for _, c := range []struct {
		in, want []float64
	}{
		// A step down: the average, then one coarse detail, and no finer ones.
		{[]float64{1, 1, 1, 1, 0, 0, 0, 0}, []float64{r, -r, 0, 0, 0, 0, 0, 0}},
		// Alternation: only the finest details.
		{[]float64{0, 1, 0, 1, 0, 1, 0, 1}, []float64{4 / r / 2, 0, 0, 0, 1 / r, 1 / r, 1 / r, 1 / r}},
		{[]float64{3, 1}, []float64{4 / r, -2 / r}},
	} {
		got := make([]float64, len(c.in))
		haar(slices.Clone(c.in), got)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("haar(%v) = %v, want %v", c.in, got, c.want)
				break
			}
		}
	}
}

// The median level is walked one step a point: it follows a level shift once the new level
// holds more than half the points.
func TestMedianLevelFollowsAShift(t *testing.T) {
	s := newShapes(104, 0, 1)
	i := 0
	for range 50 {
		i++
		if got := s.medianLevel(20, i); got != 20 {
			t.Fatalf("point %d: median %d, want 20", i, got)
		}
	}
	for k := range 60 {
		i++
		got := s.medianLevel(60, i)
		if k < 49 && got != 20 {
			t.Fatalf("point %d, %d of them at 60: median %d, want still 20", i, k+1, got)
		}
		if k >= 51 && got != 60 {
			t.Fatalf("point %d, %d of them at 60: median %d, want 60", i, k+1, got)
		}
	}
}

// wave is a series of blocks: a sine of 16 blocks a cycle, between 0 and 1.
func wave(k int) block {
	v := 0.5 + 0.5*math.Sin(2*math.Pi*float64(k)/16)
	return block{mean: v, point: v}
}

// A memory that learned a wave stays quiet while the wave goes on, and alarms on a shape it
// never saw, whether it was given the series' range or took it from its learning time.
func TestShapesAlarmOnANewShapeOnly(t *testing.T) {
	for _, c := range []struct {
		name   string
		lo, hi float64
	}{{"given the range", -1, 2}, {"without the range", 0, 0}} {
		s := newShapes(104, c.lo, c.hi)
		k := 0
		for ; k < 104+400; k++ {
			if score := s.add(wave(k)); score != 0 {
				t.Errorf("%s: the wave at block %d scored %v", c.name, k, score)
			}
		}
		// The wave stops high, and holds: a shape it never made.
		found := false
		for j := range 8 {
			b := block{mean: 1.6, point: 1.6}
			if score := s.add(b); score > 0 {
				found = true
				t.Logf("%s: the plateau alarmed after %d blocks, at %.3f", c.name, j+1, score)
				break
			}
		}
		if !found {
			t.Errorf("%s: a plateau above the wave never alarmed", c.name)
		}
	}
}

// An alarm right after another counts half, one a learning time after counts whole.
func TestCredibilityGrowsWithTheTimeSinceAnAlarm(t *testing.T) {
	s := newShapes(104, 0, 1)
	for _, c := range []struct {
		since int
		want  float64
	}{{0, 0.5}, {26, 0.625}, {52, 0.75}, {104, 1}, {1000, 1}} {
		if got := s.credibility(c.since); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("credibility(%d) = %v, want %v", c.since, got, c.want)
		}
	}
}

// memory is a shape memory with its blocks, as a Detector with Learn keeps them.
type memory struct {
	*blocks
	*shapes
}

// newMemory learns from learn samples of a series whose values lie between lo and hi (hi <= lo
// for a range not known).
func newMemory(learn int, lo, hi float64) memory {
	step := coarseStep(learn)
	return memory{newBlocks(step), newShapes(learn/step, lo, hi)}
}

// feed gives m the values and returns the indexes at which it alarmed.
func feed(m memory, values []float64) []int {
	var alarms []int
	for i, v := range values {
		if b, closed := m.blocks.add(v); closed && m.shapes.add(b) > 0 {
			alarms = append(alarms, i)
		}
	}
	return alarms
}

// noise is Gaussian noise around 100.
func noise(rnd *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 100 + rnd.NormFloat64()
	}
	return out
}

func TestShapesSilentWhileLearning(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 10))
	values := make([]float64, 750)
	for i := range values {
		values[i] = rnd.ExpFloat64() * float64(1+i%97) // spikes and jumps of every size
	}
	for _, m := range []memory{newMemory(750, 0, 0), newMemory(750, 0, 1000)} {
		if alarms := feed(m, values); len(alarms) > 0 {
			t.Fatalf("alarmed while learning, at %v", alarms)
		}
		if m.art.lower <= 0 || m.art.upper < m.art.lower || m.art.upper > 1 {
			t.Fatalf("vigilances %v and %v after learning", m.art.lower, m.art.upper)
		}
	}
}

// The base rate of alarms on Gaussian noise: new shapes keep coming, and the vigilance follows
// them, so they alarm about once in 1,000 samples (5 to 22 in 20,000 over these seeds), never
// twice as often.
func TestShapesRarelyAlarmOnNoise(t *testing.T) {
	const n = 20000
	for seed := range uint64(5) {
		for _, ranged := range []bool{false, true} {
			rnd := rand.New(rand.NewPCG(seed, 1))
			values := noise(rnd, n)
			m := newMemory(750, 0, 0)
			if ranged {
				m = newMemory(750, 95, 105)
			}
			alarms := feed(m, values)
			t.Logf("seed %d, ranged %v: %d alarms", seed, ranged, len(alarms))
			if len(alarms) > n/500 {
				t.Errorf("seed %d, ranged %v: %d alarms in %d samples of noise", seed, ranged, len(alarms), n)
			}
		}
	}
}

// BenchmarkCoarseTimeScale scores a noisy random walk, where new shapes keep coming, without
// and with the coarse time scale (Learn).
func BenchmarkCoarseTimeScale(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, 4000)
	level := 0.0
	for i := range values {
		level += rnd.NormFloat64()
		values[i] = level + 3*rnd.NormFloat64()
	}
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

// After an alarm, a staircase of new levels, each block a step higher, is one event: it alarms
// a few times at most, not on every step.
func TestShapesQuietAfterAnAlarm(t *testing.T) {
	rnd := rand.New(rand.NewPCG(11, 12))
	m := newMemory(750, 0, 0)
	values := make([]float64, 3000)
	for i := range values {
		values[i] = 50 + 20*math.Sin(2*math.Pi*float64(i)/60) + rnd.NormFloat64()*0.5
	}
	feed(m, values)
	steps := 3 * shapeQuiet
	var stairs []float64
	for i := range steps * m.step {
		stairs = append(stairs, 72+2*float64(i/m.step))
	}
	alarms := feed(m, stairs)
	t.Logf("%d alarms over %d steps", len(alarms), steps)
	if len(alarms) == 0 || len(alarms) > steps/6 {
		t.Fatalf("a staircase of %d new levels alarmed %d times (%v), want once to %d times", steps, len(alarms), alarms, steps/6)
	}
}

// A series flat while the memory learned, without a known range, has levels in units of its
// magnitude: a move of half its level is a new shape, one of 0.5% is not.
func TestShapesAfterAFlatLearningTime(t *testing.T) {
	for _, c := range []struct {
		level, to float64
		alarm     bool
	}{{0, 0.5, true}, {1000, 1500, true}, {1000, 1005, false}} {
		m := newMemory(750, 0, 0)
		values := make([]float64, 2200)
		for i := range values {
			values[i] = c.level
			if i >= 2000 {
				values[i] = c.to
			}
		}
		alarms := feed(m, values)
		if len(alarms) > 0 && alarms[0] < 2000 {
			t.Fatalf("flat at %v: alarms at %v", c.level, alarms)
		}
		if got := len(alarms) > 0; got != c.alarm {
			t.Errorf("flat at %v, then %v: alarms %v, want an alarm %v", c.level, c.to, alarms, c.alarm)
		}
	}
}
