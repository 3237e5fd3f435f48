package breakdown

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// fleet builds leaves over the dimensions (service, region, cohort) with a base ratio and the
// given ratio multipliers for leaves matching a predicate; counts are Poisson-like around the
// expectation so that the data have noise.
func fleet(rng *rand.Rand, base float64, broken func(v []string) float64, den func(v []string) float64) []Leaf {
	var out []Leaf
	for _, svc := range []string{"checkout", "search", "cart", "auth"} {
		for _, region := range []string{"eu", "us", "ap"} {
			for _, cohort := range []string{"public", "employee"} {
				v := []string{svc, region, cohort}
				d := den(v)
				noisy := func(mean float64) float64 { return max(0, float64(int(mean+rng.NormFloat64()*sqrtF(mean)+0.5))) }
				out = append(out, Leaf{Values: v, Den: d, Num: noisy(d * base * broken(v)), BaseDen: d, BaseNum: noisy(d * base)})
			}
		}
	}
	return out
}

func sqrtF(x float64) float64 {
	if x <= 0 {
		return 0
	}
	z := x
	for range 30 {
		z = (z + x/z) / 2
	}
	return z
}

var dims = []string{"service", "region", "cohort"}

func TestExplain(t *testing.T) {
	even := func([]string) float64 { return 10_000 }
	cases := []struct {
		name   string
		broken func(v []string) float64
		den    func(v []string) float64
		want   []string
	}{
		{"nothing deviates", func([]string) float64 { return 1 }, even, nil},
		{"one service everywhere", func(v []string) float64 {
			if v[0] == "checkout" {
				return 8
			}
			return 1
		}, even, []string{"service=checkout"}},
		// Employees are a twentieth of the traffic: the overall ratio barely moves.
		{"only employees, in one region", func(v []string) float64 {
			if v[1] == "eu" && v[2] == "employee" {
				return 10
			}
			return 1
		}, func(v []string) float64 {
			if v[2] == "employee" {
				return 500
			}
			return 10_000
		}, []string{"cohort=employee&region=eu"}},
		// The second cause must score at least DefaultConfig.Next of the first: x8 against x12.
		{"two regions broken apart", func(v []string) float64 {
			switch v[1] {
			case "ap":
				return 12
			case "us":
				return 8
			}
			return 1
		}, even, []string{"region=ap", "region=us"}},
		// Traffic moves between leaves but no ratio changes: not a fault.
		{"traffic shift", func([]string) float64 { return 1 }, func(v []string) float64 {
			if v[1] == "eu" {
				return 30_000
			}
			return 5_000
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			leaves := fleet(rng, 0.01, c.broken, c.den)
			if c.name == "traffic shift" { // the baseline had even traffic
				for i := range leaves {
					leaves[i].BaseDen = 10_000
					leaves[i].BaseNum = 100
				}
			}
			var got []string
			for _, cause := range Explain(dims, leaves, DefaultConfig) {
				got = append(got, cause.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestHotContainer finds the one container whose CPU is up inside a fleet average: the ratio
// is CPU seconds over containers (one each).
func TestHotContainer(t *testing.T) {
	var leaves []Leaf
	for i := range 40 {
		cpu := 0.30 + 0.01*float64(i%5)
		now := cpu
		if i == 17 {
			now = 0.95
		}
		// Scaled to CPU milliseconds per second, so that the counts carry their precision.
		leaves = append(leaves, Leaf{Values: []string{"api", fmt.Sprintf("api-%d", i)}, Num: now * 1000, Den: 1, BaseNum: cpu * 1000, BaseDen: 1})
	}
	causes := Explain([]string{"service", "container"}, leaves, DefaultConfig)
	if len(causes) == 0 || causes[0].String() != "container=api-17" {
		t.Fatalf("got %v", causes)
	}
	c := causes[0]
	if c.Ratio != 950 || c.Base != 320 || c.Share < 0.99 {
		t.Errorf("ratio %v base %v share %v", c.Ratio, c.Base, c.Share)
	}
}

func TestSubsets(t *testing.T) {
	if got := Subsets(4, 2); len(got) != 4+6 {
		t.Errorf("%d subsets of 1 or 2 of 4, want 10: %v", len(got), got)
	}
	if got := Subsets(3, 3); len(got) != 7 {
		t.Errorf("%d subsets of 3, want 7", len(got))
	}
}

func TestDeviance(t *testing.T) {
	cases := []struct{ o, e, want float64 }{
		{10, 10, 0},
		{0, 5, 10},
		{5, 0, 0},
		{20, 10, 2 * (20*0.6931471805599453 - 10)},
	}
	for _, c := range cases {
		if got := Deviance(c.o, c.e); got-c.want > 1e-9 || c.want-got > 1e-9 {
			t.Errorf("Deviance(%v, %v) = %v, want %v", c.o, c.e, got, c.want)
		}
	}
}
