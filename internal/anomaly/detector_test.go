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

// The window's sorted copy, after each merge, must hold exactly the samples of its ring, ties
// and all; between merges it lags by the pending samples.
func TestWindowKeepsItsSortedCopy(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ size, batch int }{{50, 5}, {50, 1}, {1000, 25}, {7, 3}, {3, 7}} {
		w := newWindow(c.size, c.batch)
		var all []float64
		for step := range 5000 {
			v := float64(rnd.IntN(20))
			if step%3 == 0 {
				v = rnd.NormFloat64()
			}
			all = append(all, v)
			if !w.push(v) {
				continue
			}
			held := len(w.batches) // the size, rounded up to whole batches
			want := slices.Sorted(slices.Values(all[max(0, len(all)-held):]))
			if !slices.Equal(w.sorted, want) {
				t.Fatalf("size %d batch %d, step %d: %v, want %v", c.size, c.batch, step, w.sorted, want)
			}
		}
	}
}

func TestReplaceSmallAndMedianWith(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for n := 1; n <= maxRecent; n++ {
		ring := make([]float64, n)
		for i := range ring {
			ring[i] = float64(rnd.IntN(9))
		}
		sorted := slices.Sorted(slices.Values(ring))
		for step := range 500 {
			v := float64(rnd.IntN(9))
			all := append(slices.Clone(sorted), v)
			slices.Sort(all)
			if got, want := medianWith(sorted, v), median(all); got != want {
				t.Fatalf("median of %v and %v: %v, want %v", sorted, v, got, want)
			}
			replaceSmall(sorted, ring[step%n], v)
			ring[step%n] = v
			if want := slices.Sorted(slices.Values(ring)); !slices.Equal(sorted, want) {
				t.Fatalf("step %d: %v, want %v", step, sorted, want)
			}
		}
	}
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
