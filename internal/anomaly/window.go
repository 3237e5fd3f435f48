package anomaly

import "math"

// window is the last size samples of a series, counted in a histogram of fine bins over the
// span they cover, for the order statistics of the baseline. A sample costs four counts (its
// bin and its block of bins, in and out), where a sorted copy of the window costs a search and a
// shift; a fit reads the median and MAD from the counts. They are exact to within a bin, which
// is at most a 256th of the samples' span.
type window struct {
	ring   []float64 // the last size samples; once full, next is the oldest
	next   int
	size   int
	lo     float64 // bin i counts the samples in [lo+i*width, lo+(i+1)*width)
	width  float64
	inv    float64 // 1/width
	span   float64 // the samples' span when the bins were last spanned
	radius int     // the MAD in bins at the last fit

	bins   [fineBins]uint32
	blocks [fineBins / blockBins]uint32   // the samples in each block of blockBins bins
	below  [fineBins/blockBins + 1]uint32 // during a fit: the samples in the blocks before each
}

// fineBins is how many bins the window's span is counted in.
const fineBins = 4096

// blockBins is how many bins a block counts together, so that a count of the samples below a
// bin adds up blocks and then at most blockBins-1 bins.
const blockBins = 16

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
	w.bins, w.blocks = [fineBins]uint32{}, [fineBins / blockBins]uint32{}
	for _, v := range w.ring {
		w.add(min(max(int((v-w.lo)*w.inv), 0), fineBins-1), 1)
	}
}

func (w *window) add(bin int, delta uint32) {
	w.bins[bin] += delta
	w.blocks[bin/blockBins] += delta
}

// prefix is how many samples fall in bins 0 to bin; it reads the block sums of the current fit.
func (w *window) prefix(bin int) int {
	if bin < 0 {
		return 0
	}
	bin = min(bin, fineBins-1)
	block := bin / blockBins
	sum := w.below[block]
	for _, c := range w.bins[block*blockBins : bin+1] {
		sum += c
	}
	return int(sum)
}

// kth is the k-th smallest sample (from 0), read as its place among its bin's samples spread
// evenly over the bin.
func (w *window) kth(k int) float64 {
	// The last block with at most k samples before it, then the bin in it.
	block, n := 0, len(w.blocks)
	for n > 1 { // halve the blocks left, moving past those with at most k before their end
		half := n / 2
		if int(w.below[block+half]) <= k {
			block += half
		}
		n -= half
	}
	rest := uint32(k) - w.below[block]
	bin := block * blockBins
	for bin < fineBins-1 && w.bins[bin] <= rest {
		rest -= w.bins[bin]
		bin++
	}
	return w.lo + (float64(bin)+(float64(rest)+0.5)/float64(max(w.bins[bin], 1)))*w.width
}

// fit reads the median, spread and extremes of the window; it spans the bins anew when the
// samples' span has shrunk to an eighth of what it was (a spike has left the window), so that
// the bins still resolve the spread.
func (w *window) fit() windowFit {
	n := len(w.ring)
	w.sumBlocks()
	lo, hi := w.kth(0), w.kth(n-1)
	if hi-lo < w.span/8 {
		w.recount()
		w.sumBlocks()
		lo, hi = w.kth(0), w.kth(n-1)
	}
	med := w.kth(n / 2)
	if n%2 == 0 {
		med = (w.kth(n/2-1) + med) / 2
	}
	// The MAD: the smallest radius around the median's bin holding more than half the samples,
	// searched for near the last one (it moves little from one fit to the next).
	mb, _ := w.bin(med)
	enough := func(r int) bool { return w.prefix(mb+r)-w.prefix(mb-r-1) > n/2 }
	low, high := w.radius, w.radius // the answer is in (low, high]
	for step := 1; !enough(high); step *= 2 {
		low, high = high, min(high+step, fineBins)
	}
	if low == high {
		low = -1
		for step := 1; high > 0; step *= 2 {
			if r := max(high-step, 0); enough(r) {
				high = r
			} else {
				low = r
				break
			}
		}
	}
	for high-low > 1 {
		if r := int(uint(low+high) >> 1); enough(r) {
			high = r
		} else {
			low = r
		}
	}
	w.radius = high
	mad := float64(high) * w.width
	s := max(1.4826*mad, 0.05*(hi-lo), 1e-3*math.Abs(med), 1e-9)
	return windowFit{median: med, perScale: 1 / s, lo: lo, hi: hi}
}

func (w *window) sumBlocks() {
	var sum uint32
	for i, c := range w.blocks {
		w.below[i] = sum
		sum += c
	}
	w.below[len(w.blocks)] = sum
}
