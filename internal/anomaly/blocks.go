package anomaly

import "math"

// blocks cuts a series into blocks of step samples, the points of its coarse time scale.
type blocks struct {
	step  int
	n     int     // samples in the current block so far
	sum   float64 // their sum
	lo    float64 // and extremes
	hi    float64
	means float64 // moving average of the blocks' means
	seen  bool    // whether a block has closed before
}

// block is one closed block.
type block struct {
	mean float64
	// point stands for the block in a shape: its extreme that lies farther from the recent
	// blocks' means, so that a one-sample spike survives.
	point float64
}

// coarsePoints is how many blocks the learning time spans: the coarse time scale.
const coarsePoints = 104

// coarseStep is the block size of the coarse time scale for a learning time of learn samples:
// they make at least coarsePoints blocks (an even learning time, rounded down, as ARTime cuts
// it; rounding to the nearest instead scored 0.5 to 2.1 points lower on NAB).
func coarseStep(learn int) int { return max(1, (learn-learn%2)/coarsePoints) }

func newBlocks(step int) *blocks {
	return &blocks{step: step, lo: math.Inf(1), hi: math.Inf(-1)}
}

// add takes a sample (not NaN or ±Inf); it returns the block that the sample closes, if it
// closes one.
func (b *blocks) add(v float64) (block, bool) {
	b.sum += v
	b.lo, b.hi = min(b.lo, v), max(b.hi, v)
	if b.n++; b.n < b.step {
		return block{}, false
	}
	out := block{mean: b.sum / float64(b.n)}
	if !b.seen {
		b.means, b.seen = out.mean, true
	}
	b.means = (b.means + out.mean) / 2
	out.point = b.hi
	if math.Abs(b.hi-b.means) < math.Abs(b.lo-b.means) {
		out.point = b.lo
	}
	b.n, b.sum = 0, 0
	b.lo, b.hi = math.Inf(1), math.Inf(-1)
	return out, true
}
