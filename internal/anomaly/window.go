package anomaly

import "slices"

// window is the last size samples of a series, with a sorted copy for order statistics.
// Samples reach the sorted copy in batches: one merge moves each sorted value once however many
// samples the batch holds, where inserting them one at a time moves a share of the window for
// every sample. Between merges the sorted copy lags by up to batch-1 samples. The window holds
// whole batches, each kept sorted, so the batch a merge pushes out is already in order.
type window struct {
	batches       []float64 // size/batch batches, each sorted; once full, next is the oldest
	next, filled  int       // the batch the pending samples will replace; batches held
	sorted, spare []float64 // the merged samples, sorted; spare is the next merge's buffer
	pending       []float64 // samples not yet merged
	batch         int
}

// newWindow holds size samples (rounded up to whole batches) merged batch at a time.
func newWindow(size, batch int) *window {
	size = max(size, 1)
	batch = max(1, min(batch, size))
	n := (size + batch - 1) / batch
	return &window{
		batches: make([]float64, n*batch), batch: batch,
		sorted: make([]float64, 0, n*batch), spare: make([]float64, 0, n*batch),
		pending: make([]float64, 0, batch),
	}
}

// push adds v and reports whether the sorted copy was brought up to date.
func (w *window) push(v float64) bool {
	w.pending = append(w.pending, v)
	if len(w.pending) < w.batch {
		return false
	}
	slices.Sort(w.pending)
	slot := w.batches[w.next*w.batch : (w.next+1)*w.batch]
	var evicted []float64
	if w.filled == len(w.batches)/w.batch {
		evicted = slot
	} else {
		w.filled++
	}
	w.merge(w.pending, evicted)
	copy(slot, w.pending)
	if w.next++; w.next*w.batch == len(w.batches) {
		w.next = 0
	}
	w.pending = w.pending[:0]
	return true
}

// merge brings the sorted copy up to date with added in and evicted out (both sorted, every
// evicted value present). It takes the evicted values out in place and then merges the added
// ones in: two passes that copy the runs between the values whole, where one pass choosing
// between the two lists at every step would mispredict half its choices.
func (w *window) merge(added, evicted []float64) {
	src := w.sorted
	if len(evicted) > 0 {
		kept, from := 0, 0
		for _, e := range evicted {
			at := from + countBelow(src[from:], e) // the first copy of e left
			kept += copy(src[kept:], src[from:at])
			from = at + 1
		}
		kept += copy(src[kept:], src[from:])
		src = src[:kept]
	}
	out, from := w.spare[:0], 0
	for _, a := range added {
		at := from + countBelow(src[from:], a)
		out = append(append(out, src[from:at]...), a)
		from = at
	}
	w.sorted, w.spare = append(out, src[from:]...), src[:0]
}

// countBelow is how many values at the start of sorted are below v, by a scan that steps four
// values at a time: the values a merge looks for are close to each other.
func countBelow(sorted []float64, v float64) int {
	i := 0
	for i+4 <= len(sorted) && sorted[i+3] < v {
		i += 4
	}
	for i < len(sorted) && sorted[i] < v {
		i++
	}
	return i
}
