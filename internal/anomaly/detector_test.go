package anomaly

import (
	"math"
	"math/rand/v2"
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
	quiet := NewDetector(DefaultConfig)
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

// The sorted window is kept by replacing one value with another in place; it must stay the
// sorted copy of the ring, ties and all.
func TestReplaceSortedKeepsTheWindowSorted(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	var ring, sorted []float64
	for step := range 5000 {
		v := float64(rnd.IntN(20))
		if len(ring) < 50 {
			ring = append(ring, v)
			sorted = insertSorted(sorted, v)
		} else {
			old := ring[step%50]
			ring[step%50] = v
			replaceSorted(sorted, old, v)
		}
		want := slices.Sorted(slices.Values(ring))
		if !slices.Equal(sorted, want) {
			t.Fatalf("step %d: %v, want %v", step, sorted, want)
		}
		probe := float64(rnd.IntN(22)) - 0.5*float64(rnd.IntN(2))
		if got, want := below(sorted, probe), sort.SearchFloat64s(sorted, probe); got != want {
			t.Fatalf("below(%v, %v) = %d, want %d", sorted, probe, got, want)
		}
	}
}
