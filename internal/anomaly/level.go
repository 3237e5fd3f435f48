package anomaly

import "math"

// LevelSamples is how many of the newest samples the level of a shift is read from, besides
// the one being scored: the median of seven samples, where a spike is one.
const LevelSamples = 6

// recentLevel holds the newest samples for the level of a shift. It keeps them as order keys
// (integers that sort like the samples) and reads their median with a fixed network of
// comparisons: branch-free integer minimums and maximums, where a sorted copy of the samples
// costs branches that mispredict on noise, and float minimums the care for NaN and signed
// zeros that the finite samples here do not need.
type recentLevel struct {
	keys [LevelSamples]int64 // a ring; once full, next is the oldest
	next int
	held int
}

// full is whether LevelSamples samples are held.
func (r *recentLevel) full() bool { return r.held == LevelSamples }

// push holds v, the oldest sample making way once full.
func (r *recentLevel) push(v float64) {
	r.keys[r.next] = orderKey(v)
	r.held = min(r.held+1, LevelSamples)
	if r.next++; r.next == LevelSamples {
		r.next = 0
	}
}

// medianWith is the median of the held samples and v, once full.
func (r *recentLevel) medianWith(v float64) float64 {
	k := &r.keys
	return fromOrderKey(median7(k[0], k[1], k[2], k[3], k[4], k[5], orderKey(v)))
}

// median7 is the median of seven values, by a selection network of thirteen comparisons
// (N. Devillard's, after Paeth). The values are variables, not an array, so that they stay in
// registers.
func median7(p0, p1, p2, p3, p4, p5, p6 int64) int64 {
	p0, p5 = min(p0, p5), max(p0, p5)
	p0, p3 = min(p0, p3), max(p0, p3)
	p1, p6 = min(p1, p6), max(p1, p6)
	p2, p4 = min(p2, p4), max(p2, p4)
	p1 = max(p0, p1)
	p3, p5 = min(p3, p5), max(p3, p5)
	p2, p6 = min(p2, p6), max(p2, p6)
	p3 = max(p2, p3)
	p3 = min(p3, p6)
	p4 = min(p4, p5)
	p1, p4 = min(p1, p4), max(p1, p4)
	p3 = max(p1, p3)
	return min(p3, p4)
}

// orderKey maps a finite float to an integer of the same order: the bits of a negative float
// count down as it grows, so they are flipped, all but the sign.
func orderKey(v float64) int64 {
	b := int64(math.Float64bits(v))
	return b ^ int64(uint64(b>>63)>>1)
}

// fromOrderKey is the float whose order key k is.
func fromOrderKey(k int64) float64 {
	return math.Float64frombits(uint64(k ^ int64(uint64(k>>63)>>1)))
}
