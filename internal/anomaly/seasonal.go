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
	cfg    Config
	period int // samples in a cycle
	cycles int // how many earlier cycles the same moment is read from
	// history is the last cycles*period samples (NaN where one was missing); once full, next
	// is the oldest.
	history []float64
	next    int
	inner   *Detector // scores the residuals; nil until the series first looks periodic
	// How far the series usually is from the same moment one cycle before, and from its median
	// (moving averages over memory samples), and how many samples they have averaged.
	fromLast, fromMedian float64
	compared, memory     int
	perMemory            float64 // 1/memory
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

// newSeasonal compares with cycles earlier cycles of period samples, and judges whether the
// series is periodic over memory samples: a week, so that a daily comparison sees the weekend
// in a series that is weekly.
func newSeasonal(cfg Config, period, cycles, memory int) *seasonal {
	// The residuals' detector has no earlier days, and no coarse time scale, of its own.
	cfg.Period, cfg.Learn = 0, 0
	return &seasonal{cfg: cfg, period: period, cycles: cycles, memory: memory, perMemory: 1 / float64(memory),
		history: make([]float64, 0, cycles*period)}
}

// add scores v, given the series' current median level, and learns it. The score is 0 until
// three of the earlier cycles have a sample at this moment, and while the series is not
// periodic. A missing sample (NaN) keeps its place, so that the cycles stay aligned.
func (s *seasonal) add(v, level float64) float64 {
	score := s.score(v, level)
	s.remember(v)
	return score
}

func (s *seasonal) score(v, level float64) float64 {
	if s.period > len(s.history) || v-v != 0 {
		return 0
	}
	last := s.history[s.back(s.period)]
	if last-last != 0 {
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
	for k := 1; k <= s.cycles && k*s.period <= len(s.history); k++ {
		if x := s.history[s.back(k*s.period)]; x-x == 0 {
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

// back is where in history the sample back samples before the one being added is.
func (s *seasonal) back(back int) int {
	i := s.next - back
	if i < 0 {
		i += len(s.history)
	}
	return i
}

// remember stores v in the history, the oldest sample making way once it is full.
func (s *seasonal) remember(v float64) {
	if len(s.history) < cap(s.history) {
		s.history = append(s.history, v)
		s.next = len(s.history) % cap(s.history)
		return
	}
	s.history[s.next] = v
	if s.next++; s.next == len(s.history) {
		s.next = 0
	}
}

// insertionSort sorts a handful of values.
func insertionSort(s []float64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
