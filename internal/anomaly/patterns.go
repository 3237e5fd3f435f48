package anomaly

import "math"

// patterns remembers how a series moves at a coarse time scale, and alarms on a move it has
// never made. A pattern is two consecutive coarse points (blocks): their levels, and whether
// the series rose, fell or stayed.
//
// The memory first learns for learn coarse points, and sets its vigilance from how far the
// patterns of the second half of that time lay from the patterns before them: a series whose
// ordinary moves are varied gets a wide vigilance, a regular one a narrow one. Afterwards, a
// pattern farther than that from every remembered one is an alarm, and is remembered. Levels
// are compared in units of the range the series has covered so far, so the memory needs no
// scale of its own.
//
// This is the idea of adaptive-resonance and context detectors (a new category is an anomaly)
// in its simplest form: the pattern of one step of a coarse series, one nearest-neighbour
// test, one vigilance.
type patterns struct {
	learn  int     // coarse points to learn from
	points int     // coarse points so far
	prev   float64 // the last coarse point
	lo, hi float64 // the range seen so far

	known      []pattern
	farthest   float64 // while learning: the largest distance from a new pattern to a known one
	vigilance  float64
	lastAlarm  int     // the coarse point of the last alarm
	alarmWidth float64 // the distance that raised it
}

// pattern is one move of the coarse series: from level from to level to, in the direction dir
// (-1, 0, 1).
type pattern struct {
	from, to float64
	dir      float64
}

const (
	// maxPatterns bounds the memory, and the time a search for the nearest pattern takes.
	maxPatterns = 256
	// learnedApart is how far (in the units of distance) a pattern must lie from the known
	// ones to be kept while learning: nearer ones add nothing.
	learnedApart = 0.02
	// vigilanceShare scales the farthest new pattern seen while learning into the vigilance,
	// and minVigilance bounds it below, so that a flat series does not alarm on noise.
	vigilanceShare, minVigilance = 0.6, 0.05
	// directionWeight is how much the direction of a move counts against its levels.
	directionWeight = 0.25
	// alarmQuiet is how many coarse points after an alarm a new pattern alarms again only
	// when it lies quietFactor times farther than the one that raised it.
	alarmQuiet, quietFactor = 12, 1.3
	// alarmRaise is how far an alarm raises the vigilance, as a share of its distance: a
	// series that keeps making new moves needs more to alarm again.
	alarmRaise = 0.4
)

// newPatterns learns from the first learn coarse points (at least two, the first pattern's).
func newPatterns(learn int) *patterns {
	return &patterns{learn: max(learn, 2), lo: math.Inf(1), hi: math.Inf(-1)}
}

// add takes the next block and returns how strongly it completes a new pattern: 0 when it
// does not, and in (0.5, 1] by how far beyond the vigilance the new pattern lies.
func (p *patterns) add(b block) float64 {
	p.lo, p.hi = min(p.lo, b.lo), max(p.hi, b.hi)
	point := b.point
	p.points++
	if p.points == 1 {
		p.prev = point
		return 0
	}
	move := pattern{from: p.prev, to: point, dir: direction(p.prev, point)}
	p.prev = point
	nearest := p.nearest(move)
	if p.points <= p.learn {
		if p.points > p.learn/2 && !math.IsInf(nearest, 1) {
			p.farthest = max(p.farthest, nearest)
		}
		if nearest > learnedApart {
			p.remember(move)
		}
		if p.points == p.learn {
			p.vigilance = max(p.farthest*vigilanceShare, minVigilance)
		}
		return 0
	}
	if nearest <= p.vigilance {
		return 0
	}
	p.remember(move)
	if p.points-p.lastAlarm <= alarmQuiet && p.lastAlarm > 0 && nearest <= p.alarmWidth*quietFactor {
		return 0
	}
	strength := 1 - p.vigilance/nearest/2
	p.lastAlarm, p.alarmWidth = p.points, nearest
	p.vigilance = max(p.vigilance, nearest*alarmRaise)
	return strength
}

func direction(from, to float64) float64 {
	switch {
	case to > from:
		return 1
	case to < from:
		return -1
	}
	return 0
}

// nearest is the distance from m to the nearest known pattern (+Inf with none): the mean
// difference of the levels in units of the range seen, and of the directions, weighted. Past
// the learning, it stops at the first pattern within the vigilance (the move is known, and how
// near does not matter) and moves that pattern one place forward: the series' usual moves
// gather at the front, where the search finds them first.
func (p *patterns) nearest(m pattern) float64 {
	span := p.hi - p.lo
	if span <= 0 {
		span = 1
	}
	levelWeight := (1 - directionWeight) / 2 / span
	best := math.Inf(1)
	for i, k := range p.known {
		d := levelWeight*(math.Abs(m.from-k.from)+math.Abs(m.to-k.to)) + directionWeight/2*math.Abs(m.dir-k.dir)
		if d < best {
			if best = d; best <= p.vigilance {
				if i > 0 {
					p.known[i-1], p.known[i] = k, p.known[i-1]
				}
				break
			}
		}
	}
	return best
}

// remember keeps m; once the memory is full, in place of the last pattern: searches move the
// patterns they find forward, so the last is one rarely found.
func (p *patterns) remember(m pattern) {
	if len(p.known) < maxPatterns {
		p.known = append(p.known, m)
		return
	}
	p.known[len(p.known)-1] = m
}
