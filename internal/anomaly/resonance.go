package anomaly

import (
	"math"
	"slices"
)

// fuzzyART is a dual-vigilance fuzzy adaptive-resonance memory (fuzzy ART after Carpenter,
// Grossberg and Rosen, 1991; the two vigilances after da Silva, Elnabarawy and Wunsch, 2019).
// Its categories are boxes over inputs in [0, 1]^dim. An input that matches a category at
// least the upper vigilance is learned into it (the box grows to hold it); one whose best match
// lies between the two vigilances becomes a category of its own in that category's cluster;
// one that matches nothing at the lower vigilance starts a new cluster, and that is what a
// detector reads as an anomaly.
//
// The match weighs the input's shape and its newest value apart: the share of the category's
// box that the input shares (cubed), times that share for the newest value alone (squared), so
// that a familiar shape at an unfamiliar level still reads as new.
type fuzzyART struct {
	dim int // the input's length
	// Each category's box, complement-coded: for each value of the input, the box's lower
	// corner and one less its upper corner. The search reads the values in order, and stops
	// early when the match cannot reach what it needs: inputs should put the values that tell
	// categories apart soonest first, after the newest.
	boxes    []float64
	newest   []float64 // each box's first two values again, packed, for a quick first test
	perSize  []float64 // one over each box's sum
	cluster  []int     // each category's cluster
	used     []int     // when each category last matched best or learned, to forget the oldest
	clusters int
	clock    int // inputs so far
	last     int // the category that matched best last: searched first, since series dwell
	lower    float64
	upper    float64
	in       []float64 // the input, coded as the boxes are

	// The last input, and the categories it resonated with (none when it resonated with none,
	// or was only read) at the upper vigilance then: a series at rest repeats its input, and
	// the answer.
	prev          []float64
	prevUpper     float64
	prevResonance []int
}

// maxCategories bounds the memory: a series that keeps making new shapes for weeks does not
// grow it, or the time a search takes, without end. Past it, a new category takes the place of
// the one unused longest (NAB's files make up to 831 categories; a bound of 512 changes their
// score by 0.04).
const maxCategories = 512

// newFuzzyART returns an empty memory of inputs of dim values, a multiple of 4.
func newFuzzyART(dim int) *fuzzyART {
	if dim%4 != 0 {
		panic("anomaly: fuzzy ART inputs must be a multiple of 4 long")
	}
	return &fuzzyART{dim: dim, in: make([]float64, 2*dim)}
}

// resonance is how one input met the memory: its best match, the share of that category that
// its newest value alone matches, and whether it started a new cluster.
type resonance struct {
	match, energy float64
	novel         bool
}

// categories is how many categories the memory holds.
func (a *fuzzyART) categories() int { return len(a.cluster) }

// code writes x complement-coded into a.in, each value beside its complement.
func (a *fuzzyART) code(x []float64) {
	for i, v := range x {
		a.in[2*i], a.in[2*i+1] = v, 1-v
	}
}

// train presents x (dim values in [0, 1], the newest first) to the memory; with learn false
// the memory only reads it.
func (a *fuzzyART) train(x []float64, learn bool) resonance {
	a.clock++
	if learn && len(a.prevResonance) > 0 && a.upper == a.prevUpper && slices.Equal(x, a.prev) {
		// Every category that reached the upper vigilance learned the input last time, so it
		// holds it now and matches it fully, and the others are as they were: the same answer,
		// without the search.
		for _, j := range a.prevResonance {
			a.used[j] = a.clock
		}
		return resonance{match: 1, energy: 1}
	}
	a.prev, a.prevUpper, a.prevResonance = append(a.prev[:0], x...), a.upper, a.prevResonance[:0]
	a.code(x)
	if len(a.cluster) == 0 {
		// The first category is uncommitted: all ones, which every input matches at a half.
		for range a.in {
			a.boxes = append(a.boxes, 1)
		}
		a.newest = append(a.newest, 1, 1)
		a.cluster, a.used, a.clusters = append(a.cluster, 1), append(a.used, 0), 1
		a.perSize = append(a.perSize, 1/float64(len(a.in)))
		return resonance{}
	}
	// The last best category first: its match is usually high, and bounds out most others.
	bestAt := a.last
	best, bestEnergy := a.matchOf(bestAt, 0)
	resonant := false
	if learn && best >= a.upper {
		a.learnInto(bestAt)
		a.prevResonance = append(a.prevResonance, bestAt)
		resonant = true
	}
	for j := range a.cluster {
		if j == a.last {
			continue
		}
		m, e := a.matchOf(j, min(best, a.upper))
		if m > best {
			best, bestAt, bestEnergy = m, j, e
		}
		if learn && m >= a.upper {
			a.learnInto(j)
			a.prevResonance = append(a.prevResonance, j)
			resonant = true
		}
	}
	a.last = bestAt
	a.used[bestAt] = a.clock
	out := resonance{match: max(best, 0), energy: bestEnergy}
	if !learn || resonant {
		return out
	}
	c := a.cluster[bestAt]
	if best < a.lower {
		a.clusters++
		c, out.novel = a.clusters, true
	}
	a.commit(c)
	return out
}

func (a *fuzzyART) box(j int) []float64 { return a.boxes[j*2*a.dim : (j+1)*2*a.dim] }

// learnInto grows category j to hold the input.
func (a *fuzzyART) learnInto(j int) {
	box := a.box(j)
	var size float64
	for i, w := range box {
		box[i] = min(w, a.in[i])
		size += box[i]
	}
	a.newest[2*j], a.newest[2*j+1] = box[0], box[1]
	a.perSize[j] = 1 / max(size, 0.001)
	a.used[j] = a.clock
}

// commit makes the input a category of cluster c; at the bound, in place of the category
// unused longest (never the uncommitted one).
func (a *fuzzyART) commit(c int) {
	perSize := 1 / float64(a.dim) // each value and its complement sum to one
	if len(a.cluster) < maxCategories {
		a.boxes = append(a.boxes, a.in...)
		a.newest = append(a.newest, a.in[0], a.in[1])
		a.cluster, a.used, a.perSize = append(a.cluster, c), append(a.used, a.clock), append(a.perSize, perSize)
		return
	}
	oldest := 1
	for j := 2; j < len(a.used); j++ {
		if a.used[j] < a.used[oldest] {
			oldest = j
		}
	}
	copy(a.box(oldest), a.in)
	a.newest[2*oldest], a.newest[2*oldest+1] = a.in[0], a.in[1]
	a.cluster[oldest], a.used[oldest], a.perSize[oldest] = c, a.clock, perSize
}

// matchOf is how well the input matches category j, and how well its newest value alone
// does; or 0 and that share when the match is sure to fall under floor.
func (a *fuzzyART) matchOf(j int, floor float64) (match, energy float64) {
	lo, back := a.newest[2*j], a.newest[2*j+1]
	// The match is at most the newest value's share squared: a category too far from it to
	// reach floor costs two values, not the whole box.
	shared, span := min(lo, a.in[0])+min(back, a.in[1]), lo+back
	if shared*shared < floor*span*span {
		return 0, shared / span
	}
	energy = 1 // a box that spans the whole range holds every newest value
	if span > 0 {
		energy = shared / span
	}
	e2 := energy * energy
	perSize := a.perSize[j]
	box := a.box(j)
	in := a.in[:len(box)]
	// The share of the box that the input misses only grows as the values are summed: stop
	// once it is too much to reach floor. Four sums, so that no addition waits on the one
	// before; d+|d| is twice what a value misses, exactly.
	var missed float64
	for i := 0; i+8 <= len(box); i += 8 {
		b, x := (*[8]float64)(box[i:]), (*[8]float64)(in[i:])
		d0, d1, d2, d3 := b[0]-x[0], b[1]-x[1], b[2]-x[2], b[3]-x[3]
		d4, d5, d6, d7 := b[4]-x[4], b[5]-x[5], b[6]-x[6], b[7]-x[7]
		m0 := d0 + math.Abs(d0) + d4 + math.Abs(d4)
		m1 := d1 + math.Abs(d1) + d5 + math.Abs(d5)
		m2 := d2 + math.Abs(d2) + d6 + math.Abs(d6)
		m3 := d3 + math.Abs(d3) + d7 + math.Abs(d7)
		missed += ((m0 + m1) + (m2 + m3)) / 2
		if s := 1 - missed*perSize; s*s*s*e2 < floor {
			return 0, energy
		}
	}
	s := 1 - missed*perSize
	return s * s * s * e2, energy
}
