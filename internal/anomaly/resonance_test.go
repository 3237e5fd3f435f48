package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// A memory of inputs of four values, the newest first, walked through by hand.
func TestFuzzyARTByHand(t *testing.T) {
	a := newFuzzyART(4)
	a.lower, a.upper = 0.5, 0.9
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-12 }

	// The first input only makes the uncommitted category (all ones).
	if r := a.train([]float64{0.5, 0.2, 0.4, 0.6}, true); r != (resonance{}) || a.categories() != 1 {
		t.Fatalf("first input: %+v, %d categories", r, a.categories())
	}
	// Coded, x1 sums to 4 of the uncommitted box's 8: a share of 1/2, its newest value 1/2 too,
	// so a match of (1/2)^3 (1/2)^2, under the lower vigilance: a new cluster.
	x1 := []float64{0.5, 0.2, 0.4, 0.6}
	if r := a.train(x1, true); !r.novel || !near(r.match, 0.03125) || !near(r.energy, 0.5) || a.categories() != 2 {
		t.Fatalf("x1: %+v, %d categories", r, a.categories())
	}
	// x1 again matches its own box fully: learned, nothing new.
	if r := a.train(x1, true); r.novel || r.match != 1 || r.energy != 1 || a.categories() != 2 {
		t.Fatalf("x1 again: %+v, %d categories", r, a.categories())
	}
	// x2 misses x1's box by 0.2 in its last value (0.8 above the box's 0.6), of the box's 4:
	// (1-0.2/4)^3 = 0.857375, between the vigilances: a category of its own in x1's cluster.
	x2 := []float64{0.5, 0.2, 0.4, 0.8}
	if r := a.train(x2, true); r.novel || !near(r.match, 0.857375) || a.categories() != 3 || a.cluster[2] != a.cluster[1] {
		t.Fatalf("x2: %+v, %d categories, clusters %v", r, a.categories(), a.cluster)
	}
	// x3 misses each of the two boxes by 0.1: both match (1-0.1/4)^3 = 0.92686, above an upper
	// vigilance of 0.8, and both learn it: x1's box grows to [0.6, 0.7] in its last value,
	// x2's to [0.7, 0.8].
	a.upper = 0.8
	x3 := []float64{0.5, 0.2, 0.4, 0.7}
	if r := a.train(x3, true); r.novel || !near(r.match, math.Pow(0.975, 3)) || a.categories() != 3 {
		t.Fatalf("x3: %+v, %d categories", r, a.categories())
	}
	if b1, b2 := a.box(1), a.box(2); !near(b1[6], 0.6) || !near(1-b1[7], 0.7) || !near(b2[6], 0.7) || !near(1-b2[7], 0.8) {
		t.Fatalf("the boxes after x3: %v and %v", b1, b2)
	}
	// x4's newest value, 0.1, lies 0.4 below both boxes' 0.5: its share is (0.1+0.5)/1 = 0.6,
	// so no match can reach 0.36, under the lower vigilance: a new cluster. The best is x1's
	// box, which x4 misses by 0.4 of its 3.9 (x4's last value, 0.65, lies inside it; x2's box
	// it misses by 0.05 more).
	x4 := []float64{0.1, 0.2, 0.4, 0.65}
	want := math.Pow(1-0.4/3.9, 3) * 0.36
	if r := a.train(x4, true); !r.novel || !near(r.match, want) || !near(r.energy, 0.6) || a.categories() != 4 {
		t.Fatalf("x4: %+v (want a match of %v), %d categories", r, want, a.categories())
	}
	// Read without learning, nothing changes.
	if r := a.train([]float64{0.9, 0.9, 0.9, 0.9}, false); r.novel || a.categories() != 4 {
		t.Fatalf("read only: %+v, %d categories", r, a.categories())
	}
}

// The search stops early on a category that cannot reach what it needs: it must never stop on
// one that could.
func TestFuzzyARTStopsOnlyWhereTheMatchFallsShort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := newFuzzyART(16)
	a.lower, a.upper = 0.7, 0.85
	x := make([]float64, 16)
	for range 2000 {
		for i := range x {
			x[i] = math.Round(rng.Float64()*8) / 8 // coarse values, so that boxes are shared
		}
		a.train(x, true)
		floor := rng.Float64()
		for j := range a.categories() {
			full, e := a.matchOf(j, 0)
			got, ge := a.matchOf(j, floor)
			if e != ge || (got != full && !(got == 0 && full < floor)) {
				t.Fatalf("category %d at floor %v: %v, the full match %v", j, floor, got, full)
			}
		}
	}
}

// Past its bound the memory forgets the category unused longest.
func TestFuzzyARTForgetsTheLongestUnused(t *testing.T) {
	a := newFuzzyART(4)
	a.lower, a.upper = 1, 1 // every input unlike the others starts a cluster
	input := func(k int) []float64 { return []float64{float64(k) / 1000, 0, 0, 0} }
	for k := range maxCategories + 10 {
		a.train(input(k), true)
	}
	if a.categories() != maxCategories {
		t.Fatalf("%d categories, want the bound %d", a.categories(), maxCategories)
	}
	last := maxCategories + 9
	if r := a.train(input(last), true); r.novel {
		t.Errorf("the newest input was forgotten")
	}
	if r := a.train(input(1), true); !r.novel {
		t.Errorf("the oldest input is still remembered")
	}
}

// A repeated input gets the answer the search would give, and leaves the memory as the search
// would: checked against a memory made to search every time.
func TestFuzzyARTRepeatAnswersAsTheSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fast, full := newFuzzyART(16), newFuzzyART(16)
	x := make([]float64, 16)
	for step := range 5000 {
		if rng.IntN(3) > 0 { // two thirds of the inputs repeat the one before
			for i := range x {
				x[i] = math.Round(rng.Float64()*6) / 6
			}
		}
		if step%500 == 0 { // the vigilances move now and then, as the shape memory moves them
			lower := 0.5 + 0.3*rng.Float64()
			for _, a := range []*fuzzyART{fast, full} {
				a.lower, a.upper = lower, lower+0.1
			}
		}
		full.prevResonance = nil
		got, want := fast.train(x, true), full.train(x, true)
		if got != want {
			t.Fatalf("step %d: %+v, the search gives %+v", step, got, want)
		}
	}
	if !slices.Equal(fast.boxes, full.boxes) || !slices.Equal(fast.used, full.used) || !slices.Equal(fast.cluster, full.cluster) {
		t.Fatal("the memories differ")
	}
}
