// Package breakdown finds which label-value combinations explain an aggregate's deviation: the
// one hot container inside a fleet average, the cohort inside an error ratio, the CDN and bitrate
// inside a failure rate. It is pure computation on plain values.
//
// The aggregate is a ratio of two sums over leaves (the finest label combinations): errors over
// requests, CPU seconds over containers, failed sessions over sessions. Each leaf has its value
// now and a baseline (a forecast, or the same window before the incident). A leaf's expected
// numerator is its denominator now times its baseline ratio, so a shift in traffic between leaves
// is not mistaken for a fault.
//
// A candidate cause is an element: one value for each of one to three labels ("bitrate=2000",
// "bitrate=2000&p2p=1"). The model says the leaves inside the element have their ratio multiplied
// by one factor and the leaves outside are as expected; its score is how much likelier that makes
// the data than "nothing changed", the Poisson deviance of the element's sums, divided by the
// noise the baseline itself shows so that big counts do not make every wobble significant. An
// element that mixes broken and healthy leaves scores lower than the broken part alone, and a
// part scores lower than the whole broken element, so the score finds the right granularity by
// itself; a label is added to an element only if it buys a clear gain. Several causes are found
// one after the other: once a cause is chosen its leaves count as explained.
package breakdown

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Leaf is one combination of label values and its sums now and in the baseline.
type Leaf struct {
	Values           []string // one per dimension, in the order of the dimensions
	Num, Den         float64  // now: e.g. failed requests and requests
	BaseNum, BaseDen float64  // the baseline's; BaseDen 0 means the leaf has no history
}

// Pair is one label and its value.
type Pair struct{ Label, Value string }

// Cause is an element that explains part of the deviation.
type Cause struct {
	Element []Pair  // sorted by label
	Score   float64 // the model's gain, in units of the baseline's noise
	Share   float64 // the share of the total excess (or deficit) that falls inside the element
	Ratio   float64 // the element's ratio now
	Base    float64 // the element's ratio had it followed its baseline
	Num     float64 // the element's numerator now, and what the baseline expects of it
	Expect  float64
}

// String is the element as label=value pairs joined by "&", sorted by label.
func (c Cause) String() string {
	parts := make([]string, len(c.Element))
	for i, p := range c.Element {
		parts[i] = p.Label + "=" + p.Value
	}
	return strings.Join(parts, "&")
}

// Config tunes the search.
type Config struct {
	MaxLabels int     // the most labels in one element
	MaxCauses int     // the most causes returned
	Refine    float64 // the score an extra label must multiply the score by to be kept
	Next      float64 // a further cause needs this fraction of the first cause's score
}

// DefaultConfig is the configuration used everywhere, evaluations included.
var DefaultConfig = Config{MaxLabels: 3, MaxCauses: 3, Refine: 1.15, Next: 0.25}

// Explain returns the causes of the deviation of the leaves' aggregate, best first; none if
// nothing deviates beyond the baseline's noise. There are at most 64 dimensions.
func Explain(dims []string, leaves []Leaf, cfg Config) []Cause {
	if len(leaves) == 0 || len(dims) == 0 || len(dims) > 64 {
		return nil
	}
	expect, noise := expectations(leaves)
	cuboids := Subsets(len(dims), cfg.MaxLabels)
	var causes []Cause
	absorbed := make([]float64, len(leaves)) // a chosen cause's factor on its leaves, or 0
	direction := 0.0
	for len(causes) < cfg.MaxCauses {
		adjusted := make([]float64, len(leaves))
		for i := range leaves {
			adjusted[i] = expect[i]
			if absorbed[i] > 0 {
				adjusted[i] = leaves[i].Num // explained: no longer evidence for anything
			}
		}
		best, ok := bestElement(dims, leaves, adjusted, cuboids, noise, direction, cfg)
		if !ok || best.Score < minScore || (len(causes) > 0 && best.Score < cfg.Next*causes[0].Score) {
			break
		}
		if direction == 0 {
			direction = math.Copysign(1, best.Num-best.Expect)
		}
		for i, l := range leaves {
			if contains(dims, l, best.Element) {
				absorbed[i] = 1
			}
		}
		causes = append(causes, best)
	}
	total := 0.0
	for i, l := range leaves {
		total += l.Num - expect[i]
	}
	for i := range causes {
		if total != 0 {
			causes[i].Share = (causes[i].Num - causes[i].Expect) / total
		}
	}
	return causes
}

// minScore is the least gain, in units of the baseline's noise, worth calling a cause: a
// chi-square with one degree of freedom beyond 99.9%.
const minScore = 10.8

// minExpected is the least count the baseline must expect of a group for its factor to mean
// anything.
const minExpected = 5.0

// expectations gives each leaf's expected numerator under its baseline ratio, and the noise
// factor: how much more the leaves scatter around their expectation than Poisson counts would
// (at least 1), measured on the leaves as a whole with a robust quantile.
func expectations(leaves []Leaf) ([]float64, float64) {
	var num, den float64
	for _, l := range leaves {
		num += l.BaseNum
		den += l.BaseDen
	}
	global := 0.0
	if den > 0 {
		global = num / den
	}
	expect := make([]float64, len(leaves))
	var scatter []float64
	for i, l := range leaves {
		rate := global
		if l.BaseDen > 0 {
			rate = l.BaseNum / l.BaseDen
		}
		expect[i] = l.Den * rate
		if expect[i] > 0 {
			d := l.Num - expect[i]
			scatter = append(scatter, d*d/expect[i])
		}
	}
	noise := 1.0
	if len(scatter) > 0 {
		// The lower quartile, so that the estimate holds while up to three leaves in four are
		// broken; a chi-square with one degree of freedom has its lower quartile at 0.1015.
		slices.Sort(scatter)
		noise = max(1, scatter[len(scatter)/4]/0.1015)
	}
	return expect, noise
}

// Deviance is the Poisson deviance of observing o where e was expected: twice the log-likelihood
// ratio of "the rate changed" against "it did not".
func Deviance(o, e float64) float64 {
	switch {
	case e <= 0:
		return 0 // no expectation: nothing to compare with
	case o <= 0:
		return 2 * e
	}
	return 2 * (o*math.Log(o/e) - (o - e))
}

type sums struct{ num, expect, den float64 }

// group is one element's sums, keyed by its cuboid (a bit per dimension) and its values.
type groupKey struct {
	cuboid uint64
	values string // the element's values in dimension order, each ended by a 0 byte
}

// bestElement scores every element of every cuboid and returns the best, preferring fewer labels
// unless more buy the Refine factor. An element is not a cause on its own if, taking one of its
// labels away, what the wider element adds to it deviates the same way beyond the noise: then
// the cause is wider than the element.
func bestElement(dims []string, leaves []Leaf, expect []float64, cuboids [][]int, noise, direction float64, cfg Config) (Cause, bool) {
	groups := map[groupKey]*sums{}
	var key strings.Builder
	for _, cuboid := range cuboids {
		mask := uint64(0)
		for _, d := range cuboid {
			mask |= 1 << d
		}
		for i, l := range leaves {
			key.Reset()
			for _, d := range cuboid {
				key.WriteString(l.Values[d])
				key.WriteByte(0)
			}
			k := groupKey{mask, key.String()}
			g := groups[k]
			if g == nil {
				g = &sums{}
				groups[k] = g
			}
			g.num += l.Num
			g.expect += expect[i]
			g.den += l.Den
		}
	}
	all := &sums{}
	for i, l := range leaves {
		all.num += l.Num
		all.expect += expect[i]
		all.den += l.Den
	}
	groups[groupKey{}] = all
	var best Cause
	found := false
	for k, g := range groups {
		if k.cuboid == 0 {
			continue // the whole: "everyone" is what is left when no element explains better
		}
		if direction != 0 && (g.num-g.expect)*direction <= 0 {
			continue
		}
		score := Deviance(g.num, g.expect) / noise
		if score < minScore || (found && score < best.Score) && bits.OnesCount64(k.cuboid) >= len(best.Element) {
			continue
		}
		if wider(k, g, groups, noise) {
			continue
		}
		c := Cause{Element: element(dims, k), Score: score, Num: g.num, Expect: g.expect}
		if g.den > 0 {
			c.Ratio, c.Base = g.num/g.den, g.expect/g.den
		}
		if !found || better(c, best, cfg) {
			best, found = c, true
		}
	}
	return best, found
}

// wider reports whether the element's cause is wider than it: for some label, the rest of the
// element without that label deviates in the same direction beyond the noise (for an element of
// one label, the rest of everything moved by a comparable factor).
func wider(k groupKey, g *sums, groups map[groupKey]*sums, noise float64) bool {
	if bits.OnesCount64(k.cuboid) == 1 {
		// Against the whole: if everything outside the element moved almost as much (at least
		// half the element's factor), the element is only where most of the traffic is, and the
		// cause is everyone's.
		// Not the noise-scaled test: when nearly everything is broken the noise estimate is
		// broken too. Enough expected counts outside the element to judge its factor suffice.
		all := groups[groupKey{}]
		restNum, restExpect := all.num-g.num, all.expect-g.expect
		if restExpect < minExpected || g.expect <= 0 || Deviance(restNum, restExpect) < minScore {
			return false
		}
		in, out := g.num/g.expect-1, restNum/restExpect-1
		return in*out > 0 && math.Abs(out) >= 0.5*math.Abs(in)
	}
	values := strings.SplitAfter(k.values, "\x00")
	i := 0
	for d := 0; d < 64; d++ {
		if k.cuboid&(1<<d) == 0 {
			continue
		}
		parentValues := strings.Join(values[:i], "") + strings.Join(values[i+1:], "")
		i++
		p := groups[groupKey{k.cuboid &^ (1 << d), parentValues}]
		if p == nil {
			continue
		}
		restNum, restExpect := p.num-g.num, p.expect-g.expect
		if (restNum-restExpect)*(g.num-g.expect) > 0 && Deviance(restNum, restExpect)/noise >= minScore {
			return true
		}
	}
	return false
}

// better reports whether a beats b: a higher score, where each extra label must multiply the
// score by cfg.Refine.
func better(a, b Cause, cfg Config) bool {
	extra := len(a.Element) - len(b.Element)
	return a.Score > b.Score*math.Pow(cfg.Refine, float64(extra)) ||
		(a.Score == b.Score && extra == 0 && a.String() < b.String())
}

// element turns a group key back into label-value pairs, sorted by label.
func element(dims []string, k groupKey) []Pair {
	values := strings.Split(strings.TrimSuffix(k.values, "\x00"), "\x00")
	var out []Pair
	for d := range dims {
		if k.cuboid&(1<<d) != 0 {
			out = append(out, Pair{Label: dims[d], Value: values[len(out)]})
		}
	}
	slices.SortFunc(out, func(a, b Pair) int { return cmp.Compare(a.Label, b.Label) })
	return out
}

// contains reports whether a leaf is inside an element.
func contains(dims []string, l Leaf, e []Pair) bool {
	for _, p := range e {
		i := slices.Index(dims, p.Label)
		if i < 0 || l.Values[i] != p.Value {
			return false
		}
	}
	return true
}

// Subsets lists the index sets of 1 to k of n dimensions: the cuboids searched.
func Subsets(n, k int) [][]int {
	var out [][]int
	var walk func(start int, cur []int)
	walk = func(start int, cur []int) {
		if len(cur) > 0 {
			out = append(out, slices.Clone(cur))
		}
		if len(cur) == k {
			return
		}
		for i := start; i < n; i++ {
			walk(i+1, append(cur, i))
		}
	}
	walk(0, nil)
	return out
}
