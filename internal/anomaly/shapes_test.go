package anomaly

import (
	"math"
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
		haar(c.in, got)
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
