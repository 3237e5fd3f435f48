package anomaly

import (
	"math"
	"sort"
)

// shapes alarms on a shape of the coarse series that its memory cannot place. After the
// ARTime detector (Hampton, 2021), at the top of NAB's scoreboard: each coarse point is the
// block's extreme (or its mean, when the extreme is within a tenth of it), in one of 80 levels
// of the series' range, pulled to the running median level when near it; the last 8 points
// form a shape, described by their levels and by the Haar wavelet of the shape scaled to [0, 1];
// a dual-vigilance fuzzy ART memory learns the shapes, and one that starts a new cluster is an
// alarm. The vigilances follow the series: the lower one tightens while nothing new comes, and
// loosens after alarms. An alarm soon after another counts less than one after a long quiet.
type shapes struct {
	learn  int     // coarse points to learn from
	lo     float64 // the range the levels span: from lo, span wide
	span   float64
	ranged bool // whether the range was known from the start

	points  int       // coarse points so far
	pending []float64 // without a known range, the learning time's points

	// the running median of the levels
	levelCount             [ShapeLevels + 1]int
	medLevel, below, above int

	recent   [ShapeBlocks]float64     // the last coarse points, as levels in [0, 1]
	features [2 * ShapeBlocks]float64 // the newest shape's
	learning []float64                // while learning: every point's features, one after another

	art         *fuzzyART
	matchMean   float64   // the mean best match of every point so far
	sims        []float64 // the best matches of the last learn/2+1 points
	shortfalls  []float64 // the upper vigilance less the best match, over the last learn+1 points
	lastAlarm   int       // the coarse point of the last alarm
	alarmMatch  float64   // its match
	alarms      int       // alarms so far
	alarmLows   float64   // the sum of each alarm's weakest match in the time just after it
	alarmLow    float64   // the last alarm's
	lastAdapted int
	quiet       bool // no alarm on a new cluster until shapeQuiet points without one
	sinceNovel  int
}

const (
	// ShapeBlocks is how many blocks make a shape, and ShapeLevels how many levels a block's
	// value is rounded to.
	ShapeBlocks = 8
	ShapeLevels = 80
	// shapeChomp pulls a level this near the running median onto it: noise around the median
	// makes no shapes.
	shapeChomp = 0.075
	// shapeSpike is how far from the block's mean, as a share of it, its extreme must lie to
	// stand for the block.
	shapeSpike = 0.1
	// shapeQuiet is how many coarse points after an alarm another needs a much weaker match.
	shapeQuiet = ShapeBlocks * 3 / 2
	// learnedRangeMargin widens the learning time's range on each side, as a share of it, when
	// the series' range is not known: the levels then leave room for what learning did not see.
	learnedRangeMargin = 0.75
)

// newShapes learns from the first learn coarse points of a series whose values lie between lo
// and hi; when hi <= lo, between the extremes of the learning time, widened.
func newShapes(learn int, lo, hi float64) *shapes {
	s := &shapes{learn: max(learn, ShapeBlocks), art: newFuzzyART(2 * ShapeBlocks)}
	if hi > lo && !math.IsInf(hi-lo, 0) {
		s.lo, s.span, s.ranged = lo, hi-lo, true
	}
	points := s.learn
	s.sims = make([]float64, points/2+1)
	for i := range s.sims {
		s.sims[i] = 1
	}
	s.shortfalls = make([]float64, points+1)
	return s
}

// add takes the next block of the coarse time scale and returns its score: in (0, 1] when
// the shape it ends is one the memory cannot place, 0 otherwise.
func (s *shapes) add(b block) float64 {
	s.points++
	point, mean := b.point, b.mean
	if math.Abs(point-mean) < shapeSpike*mean {
		point = mean
	}
	if s.ranged || s.points > s.learn {
		return s.place(point, s.points)
	}
	// Without a known range, the learning time's points wait for the range they span.
	s.pending = append(s.pending, point)
	if s.points == s.learn {
		lo, hi := s.pending[0], s.pending[0]
		for _, p := range s.pending {
			lo, hi = min(lo, p), max(hi, p)
		}
		width := hi - lo
		if width == 0 { // a flat learning time: levels in units of its magnitude
			width = max(math.Abs(lo), 1)
		}
		s.lo, s.span = lo-learnedRangeMargin*width, width*(1+2*learnedRangeMargin)
		for k, p := range s.pending {
			s.place(p, k+1)
		}
		s.pending = nil
	}
	return 0
}

// place takes the i-th coarse point: it levels it, and learns or judges the shape it ends.
func (s *shapes) place(point float64, i int) float64 {
	x := point - s.lo
	if s.span > 0 {
		x /= s.span
	}
	level := min(max(int(math.RoundToEven(x*ShapeLevels)), 0), ShapeLevels)
	x = float64(level) / ShapeLevels
	if med := float64(s.medianLevel(level, i)) / ShapeLevels; math.Abs(x-med) < shapeChomp {
		x = med
	}
	copy(s.recent[:], s.recent[1:])
	s.recent[ShapeBlocks-1] = x
	f := s.features[:]
	if i <= s.learn {
		s.learning = append(s.learning, make([]float64, len(f))...)
		f = s.learning[len(s.learning)-len(f):]
	}
	if i >= ShapeBlocks {
		shapeFeatures(s.recent[:], f)
	} else {
		clear(f)
	}
	if i < s.learn {
		return 0
	}
	if i == s.learn {
		s.startFrom(s.learning)
		s.learning = nil
		return 0
	}
	return s.detect(f, i)
}

// medianLevel adds level to the histogram of levels and returns the median level, walked one
// step at a time: close to the running median, and cheap.
func (s *shapes) medianLevel(level, i int) int {
	s.levelCount[level]++
	if i == 1 {
		s.medLevel = level
	}
	if level < s.medLevel {
		s.below++
	} else if level > s.medLevel {
		s.above++
	}
	half := i / 2
	if half < s.above {
		s.below += s.levelCount[s.medLevel]
		s.medLevel++
		for s.levelCount[s.medLevel] == 0 {
			s.medLevel++
		}
		s.above -= s.levelCount[s.medLevel]
	} else if half < s.below {
		s.above += s.levelCount[s.medLevel]
		s.medLevel--
		for s.levelCount[s.medLevel] == 0 {
			s.medLevel--
		}
		s.below -= s.levelCount[s.medLevel]
	}
	return s.medLevel
}

// shapeFeatures writes the features of the window of levels w (the newest last) into f: the
// newest level; the Haar wavelet of w scaled to [0, 1], its coefficients scaled to [0, 1] again;
// the other levels from the newest back. The newest level comes first because the memory weighs
// it apart; the wavelet next because it tells shapes apart soonest, and the memory's search
// stops early on a shape that cannot match.
func shapeFeatures(w []float64, f []float64) {
	var shape [ShapeBlocks]float64
	copy(shape[:], w)
	scaleToUnit(shape[:])
	f[0] = w[ShapeBlocks-1]
	haar(shape[:], f[1:ShapeBlocks+1])
	scaleToUnit(f[1 : ShapeBlocks+1])
	for k := 1; k < ShapeBlocks; k++ {
		f[ShapeBlocks+k] = w[ShapeBlocks-1-k]
	}
}

// scaleToUnit maps v onto [0, 1] by its own minimum and maximum (a constant v becomes 0).
func scaleToUnit(v []float64) {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	for i := range v {
		v[i] -= lo
		if hi > lo {
			v[i] /= hi - lo
		}
	}
}

// haar is the full orthonormal Haar wavelet transform of x (a power of two long) into out:
// the coarsest average first, then the details from the coarsest to the finest. It overwrites
// x, its scratch space.
func haar(x, out []float64) {
	for n := len(x); n > 1; n /= 2 {
		half := n / 2
		for k := range half {
			a, b := x[2*k], x[2*k+1]
			out[half+k] = (b - a) / math.Sqrt2
			x[k] = (a + b) / math.Sqrt2
		}
	}
	out[0] = x[0]
}

// startFrom sets the vigilance from the learning time's features and learns them. The
// vigilance is the mean match, over the second half, of a memory at vigilance 0.8 that learns
// the shapes from the least typical (the least similar to the others) to the most.
func (s *shapes) startFrom(flat []float64) {
	const dim = 2 * ShapeBlocks
	features := make([][]float64, len(flat)/dim)
	for i := range features {
		features[i] = flat[i*dim : (i+1)*dim]
	}
	full := features[ShapeBlocks-1:]
	norms := make([]float64, len(full))
	for i, f := range full {
		norms[i] = math.Sqrt(dot(f, f))
	}
	typical := make([]float64, len(full))
	for i := range full {
		typical[i]++ // its similarity to itself
		for j := range i {
			sim := similarity(full[i], full[j], norms[i], norms[j])
			typical[i] += sim
			typical[j] += sim
		}
	}
	order := make([]int, len(full))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return typical[order[a]] < typical[order[b]] })
	trial := newFuzzyART(dim)
	trial.lower, trial.upper = 0.8, 0.8
	matches := make([]float64, len(order))
	for k, i := range order {
		matches[k] = trial.train(full[i], true).match
	}
	from := min(s.learn/2-1, len(matches)-1)
	var sum float64
	for _, m := range matches[from:] {
		sum += m
	}
	rho := sum / float64(len(matches)-from)
	s.art.lower, s.art.upper = rho, rho
	for i, f := range features {
		s.detect(f, i+1)
	}
}

// similarity is the cosine of the angle between a and b, whose lengths are na and nb; or one
// less the other's length when one of them is zero.
func similarity(a, b []float64, na, nb float64) float64 {
	switch {
	case na == 0:
		return 1 - nb
	case nb == 0:
		return 1 - na
	}
	return dot(a, b) / (na * nb)
}

func dot(a, b []float64) float64 {
	var sum float64
	for i, x := range a {
		sum += x * b[i]
	}
	return sum
}

// detect presents the i-th coarse point's features to the memory and returns the alarm's
// score, 0 for none.
func (s *shapes) detect(f []float64, i int) float64 {
	since := i - s.lastAlarm
	if i > s.learn+shapeQuiet && s.quiet && s.sinceNovel >= shapeQuiet {
		s.quiet = false
	}
	var r resonance
	novel := true
	if i < ShapeBlocks {
		r = s.art.train(f, false)
	} else {
		r = s.art.train(f, true)
		novel = r.novel
	}
	if novel {
		s.sinceNovel = 0
	} else {
		s.sinceNovel++
	}
	s.matchMean += (r.match - s.matchMean) / float64(i)
	shift(s.sims, r.match)
	shift(s.shortfalls, s.art.upper-r.match)
	if since < shapeQuiet && s.alarms > 0 && r.match < s.alarmLow {
		s.alarmLows -= s.alarmLow - r.match
		s.alarmLow = r.match
	}
	afterAlarm := since <= shapeQuiet
	weaker := 0.7
	if afterAlarm {
		weaker = 0.9
	}
	score := 0.0
	if i > s.learn && novel && (!(s.quiet || afterAlarm) || r.match < s.alarmMatch*weaker) {
		score = s.confidence(r) * s.credibility(since)
		s.alarms++
		s.alarmLows += r.match
		s.alarmMatch, s.alarmLow, s.lastAlarm = r.match, r.match, i
	}
	s.quiet = s.quiet || novel
	if i > s.learn && (since == shapeQuiet || i-s.lastAdapted >= s.learn/2) {
		s.adapt(i)
	}
	return score
}

// adapt moves the vigilances: the upper to the mean match so far; the lower up a fifth of the
// way to the weakest recent match when every recent match reached it, down by half the mean
// recent shortfall otherwise, but not below the mean alarm's match.
func (s *shapes) adapt(i int) {
	upper := min(0.97, s.matchMean)
	lower := s.art.lower
	weakest := s.sims[0]
	for _, m := range s.sims {
		weakest = min(weakest, m)
	}
	if lower <= weakest {
		lower += (weakest - lower) * 0.19
	} else {
		loosen := 0.0
		if i > 2*s.learn {
			var sum float64
			var n int
			for _, d := range s.shortfalls {
				if d > 0.05 {
					sum += min(0.37, d)
					n++
				}
			}
			if n > 0 {
				loosen = sum / float64(n)
			}
		}
		lower -= max(0.01, loosen) / 2
		if s.alarms > 0 {
			lower = max(lower, s.alarmLows/float64(s.alarms))
		}
	}
	s.art.lower, s.art.upper = min(upper, lower), upper
	s.lastAdapted = i
	s.quiet = true
}

// confidence scores an alarm by how far its match falls short of the two vigilances, and by how
// far its newest value lies outside its nearest category.
func (s *shapes) confidence(r resonance) float64 {
	m := min(0.999, r.match)
	upper := ((1 - m) - (1 - s.art.upper)) / (1 - m)
	lower := ((1 - m) - (1 - s.art.lower)) / (1 - m)
	return min(1, upper*0.35+lower*0.65+(1-r.energy)*1.5)
}

// credibility weighs an alarm by how long the series went without one: half its confidence
// right after an alarm, its whole confidence a learning time after. A series that alarmed a
// moment ago is unsettled, and its next alarm is likelier the same event, or its noise, than a
// new one.
func (s *shapes) credibility(since int) float64 {
	return min(1, 0.5+0.5*float64(since)/float64(s.learn))
}

// shift drops w's oldest value and appends v.
func shift(w []float64, v float64) {
	copy(w, w[1:])
	w[len(w)-1] = v
}
