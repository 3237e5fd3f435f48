package anomaly

import "math"

// window is the last size samples of a series, counted in a histogram of fine bins over the
// span they cover, for the order statistics of the baseline. A sample costs two counts (its bin,
// in and out) and a few comparisons, where a sorted copy of the window costs a search and a
// shift. A fit reads the median, the MAD and the extremes from the counts, each found by
// walking from where the last fit found it: between two fits they move by a few bins, so a fit
// costs a few steps instead of a pass over the bins. They are exact to within a bin, which is at
// most a 256th of the samples' span.
type window struct {
	ring   []float64 // the last size samples; once full, next is the oldest
	next   int
	size   int
	lo     float64 // bin i counts the samples in [lo+i*width, lo+(i+1)*width)
	width  float64
	inv    float64 // 1/width
	span   float64 // the samples' span when the bins were last spanned
	radius int     // the MAD in bins at the last fit

	bins [fineBins]uint32

	// Kept up to date by every count, for the next fit to walk from:
	first, last int    // no sample lies in a bin before first or after last
	pivot       int    // a bin near the median,
	belowPivot  uint32 // and how many samples lie in the bins before it
	center      int    // the bins from center-radius to center+radius (clamped),
	inside      uint32 // and how many samples lie in them
}

// fineBins is how many bins the window's span is counted in.
const fineBins = 4096

func newWindow(size int) *window {
	return &window{ring: make([]float64, 0, max(size, 1)), size: max(size, 1)}
}

// len is how many samples the window holds.
func (w *window) len() int { return len(w.ring) }

// push adds v, pushing the oldest sample out once the window is full.
func (w *window) push(v float64) {
	var old float64
	evict := len(w.ring) == w.size
	if evict {
		old = w.ring[w.next]
		w.ring[w.next] = v
		if w.next++; w.next == w.size {
			w.next = 0
		}
	} else {
		w.ring = append(w.ring, v)
	}
	b, ok := w.bin(v)
	ob, okOld := w.bin(old)
	if !ok || (evict && !okOld) || len(w.ring) == 1 {
		w.recount() // a sample outside the span: span the window anew
		return
	}
	if evict {
		w.add(ob, ^uint32(0)) // minus one
	}
	w.add(b, 1)
	w.first, w.last = min(w.first, b), max(w.last, b)
}

// bin is v's bin, and whether v falls in the span.
func (w *window) bin(v float64) (int, bool) {
	f := (v - w.lo) * w.inv
	if !(f >= 0 && f < fineBins) {
		return 0, false
	}
	return int(f), true
}

// recount spans the bins over the window's samples with half the span again on each side (so
// that a series that trends recounts rarely), and counts them all.
func (w *window) recount() {
	lo, hi := w.ring[0], w.ring[0]
	for _, v := range w.ring {
		lo, hi = min(lo, v), max(hi, v)
	}
	w.span = hi - lo
	margin := max(w.span/2, 1e-3*max(math.Abs(lo), math.Abs(hi)), 1e-9)
	w.lo = lo - margin
	w.width = (hi + margin - w.lo) / fineBins
	w.inv = 1 / w.width
	w.bins = [fineBins]uint32{}
	w.first, w.last = fineBins-1, 0
	for _, v := range w.ring {
		b := min(max(int((v-w.lo)*w.inv), 0), fineBins-1)
		w.bins[b]++
		w.first, w.last = min(w.first, b), max(w.last, b)
	}
	// The walks start over from the lowest bin, with nothing below it or inside.
	w.pivot, w.belowPivot = 0, 0
	w.center, w.inside, w.radius = 0, w.bins[0], 0
}

// add counts delta (1, or minus one) samples into bin, and into the walks' counts.
func (w *window) add(bin int, delta uint32) {
	w.bins[bin] += delta
	// Without branches, which noise would mispredict half the time.
	below, inside := uint32(0), uint32(0)
	if bin < w.pivot {
		below = delta
	}
	if uint(bin-w.center+w.radius) <= uint(2*w.radius) {
		inside = delta
	}
	w.belowPivot += below
	w.inside += inside
}

// kth is the k-th smallest sample (from 0), read as its place among its bin's samples spread
// evenly over the bin. It walks the pivot to the bin that holds it.
func (w *window) kth(k int) float64 {
	for int(w.belowPivot) > k {
		w.pivot--
		w.belowPivot -= w.bins[w.pivot]
	}
	for int(w.belowPivot+w.bins[w.pivot]) <= k {
		w.belowPivot += w.bins[w.pivot]
		w.pivot++
	}
	rest := uint32(k) - w.belowPivot
	return w.lo + (float64(w.pivot)+(float64(rest)+0.5)/float64(w.bins[w.pivot]))*w.width
}

// extremes are the smallest and largest samples, read like kth's.
func (w *window) extremes() (lo, hi float64) {
	for w.bins[w.first] == 0 {
		w.first++
	}
	for w.bins[w.last] == 0 {
		w.last--
	}
	lo = w.lo + (float64(w.first)+0.5/float64(w.bins[w.first]))*w.width
	c := float64(w.bins[w.last])
	hi = w.lo + (float64(w.last)+(c-0.5)/c)*w.width
	return lo, hi
}

// binCount is bin's count, 0 outside the bins.
func (w *window) binCount(bin int) uint32 {
	if bin < 0 || bin >= fineBins {
		return 0
	}
	return w.bins[bin]
}

// mad is the smallest radius around bin mb whose bins hold more than half of the n samples,
// found by moving the counted interval's center to mb and then widening or narrowing it.
func (w *window) mad(mb, n int) int {
	for w.center < mb {
		w.inside -= w.binCount(w.center - w.radius)
		w.center++
		w.inside += w.binCount(w.center + w.radius)
	}
	for w.center > mb {
		w.inside -= w.binCount(w.center + w.radius)
		w.center--
		w.inside += w.binCount(w.center - w.radius)
	}
	half := uint32(n / 2)
	for w.inside <= half && w.radius < fineBins {
		w.radius++
		w.inside += w.binCount(w.center-w.radius) + w.binCount(w.center+w.radius)
	}
	for w.radius > 0 {
		edge := w.binCount(w.center-w.radius) + w.binCount(w.center+w.radius)
		if w.inside-edge <= half {
			break
		}
		w.inside -= edge
		w.radius--
	}
	return w.radius
}

// fit reads the median, spread and extremes of the window; it spans the bins anew when the
// samples' span has shrunk to an eighth of what it was (a spike has left the window), so that
// the bins still resolve the spread.
func (w *window) fit() windowFit {
	n := len(w.ring)
	lo, hi := w.extremes()
	if hi-lo < w.span/8 {
		w.recount()
		lo, hi = w.extremes()
	}
	med := w.kth(n / 2)
	if n%2 == 0 {
		med = (w.kth(n/2-1) + med) / 2
	}
	mb, _ := w.bin(med)
	mad := float64(w.mad(mb, n)) * w.width
	s := max(1.4826*mad, 0.05*(hi-lo), 1e-3*math.Abs(med), 1e-9)
	return windowFit{median: med, perScale: 1 / s, lo: lo, hi: hi}
}
