package anomaly

import "math"

// seasonal scores a periodic series against the same time on its last cycles (days, or
// weeks): a level that is ordinary for the series may be wrong for the hour (the morning's rise
// that does not come) or for the day of the week. It scores the residual, the distance from
// the median of the same moment on the earlier cycles, with a detector of its own (without a
// coarse time scale), and speaks only while the series is periodic: while it is far closer to
// the same moment one cycle before than to its median. The residuals' detector starts the
// first time the series looks periodic, so that a series that never does costs little more
// than without it.
type seasonal struct {
	cfg     Config
	period  int       // samples in a cycle
	cycles  int       // how many earlier cycles the same moment is read from
	history *history  // the series' last samples, shared by the comparisons
	inner   *Detector // scores the residuals; nil until the series first looks periodic
	// How far the series usually is from the same moment one cycle before, and from its median
	// (moving averages over memory samples), and how many samples they have averaged.
	fromLast, fromMedian float64
	compared, memory     int
	perMemory            float64 // 1/memory
}

// history is the last samples of a series (NaN where one was missing): as many as the longest
// comparison reads, which the shorter ones read too.
type history struct {
	samples []float64 // once full, next is the oldest
	next    int
}

func newHistory(size int) *history { return &history{samples: make([]float64, 0, size)} }

// back is the sample back samples before the one about to be pushed, and whether it is held.
func (h *history) back(back int) (float64, bool) {
	if back > len(h.samples) {
		return 0, false
	}
	i := h.next - back
	if i < 0 {
		i += len(h.samples)
	}
	return h.samples[i], true
}

// push stores v, the oldest sample making way once full.
func (h *history) push(v float64) {
	if len(h.samples) < cap(h.samples) {
		h.samples = append(h.samples, v)
		h.next = len(h.samples) % cap(h.samples)
		return
	}
	h.samples[h.next] = v
	if h.next++; h.next == len(h.samples) {
		h.next = 0
	}
}

const (
	// dayCycles and weekCycles are how many earlier days and weeks the same moment is read
	// from: a week of days, a month of weeks.
	dayCycles, weekCycles = 7, 4
	// minCycles is how many of them must be there before the residual is scored.
	minCycles = 3
	// periodicShare is how much smaller than the distance from the median the distance from
	// the last cycle must be for the series to count as periodic.
	periodicShare = 0.2
)

// newSeasonal compares with cycles earlier cycles of period samples, read from h (which the
// caller pushes each sample into after add), and judges whether the series is periodic over
// memory samples: a week, so that a daily comparison sees the weekend in a series that is
// weekly.
func newSeasonal(cfg Config, h *history, period, cycles, memory int) *seasonal {
	// The residuals' detector has no earlier days, and no coarse time scale, of its own.
	cfg.Period, cfg.Learn = 0, 0
	return &seasonal{cfg: cfg, period: period, cycles: cycles, memory: memory, perMemory: 1 / float64(memory),
		history: h}
}

// add scores v, given the series' current median level. The score is 0 until three of the
// earlier cycles have a sample at this moment, and while the series is not periodic. A missing
// sample (NaN) keeps its place in the history, so that the cycles stay aligned.
func (s *seasonal) add(v, level float64) float64 {
	if v-v != 0 {
		return 0
	}
	last, ok := s.history.back(s.period)
	if !ok || last-last != 0 {
		return 0
	}
	// Whether the series is periodic: far closer to the last cycle's sample than to its
	// median. Cheaper than the median of the earlier cycles, which only a periodic series
	// needs.
	s.fromLast += (math.Abs(v-last) - s.fromLast) * s.perMemory
	s.fromMedian += (math.Abs(v-level) - s.fromMedian) * s.perMemory
	s.compared++
	periodic := s.compared >= s.memory && s.fromLast < periodicShare*s.fromMedian
	if s.inner == nil && !periodic {
		return 0
	}
	var buf [max(dayCycles, weekCycles)]float64
	ref := buf[:0]
	for k := 1; k <= s.cycles; k++ {
		x, ok := s.history.back(k * s.period)
		if !ok {
			break
		}
		if x-x == 0 {
			ref = append(ref, x)
		}
	}
	if len(ref) < minCycles {
		return 0
	}
	if s.inner == nil {
		s.inner = NewDetector(s.cfg)
	}
	insertionSort(ref)
	score := s.inner.Add(v - median(ref))
	if !periodic {
		return 0
	}
	return score
}

// insertionSort sorts a handful of values.
func insertionSort(s []float64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
