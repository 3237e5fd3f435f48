package evaluation

import (
	"math"
	"sort"
)

// The NAB scorer (Numenta Anomaly Benchmark, v1.0 data, the scoring of its current code):
//
//   - each labelled anomaly window rewards its earliest detection with a scaled sigmoid of the
//     detection's position in the window (1 at the left edge, falling to 0 at the right edge),
//     times the profile's TP weight; a window without a detection costs the FN weight;
//   - a detection outside every window costs the FP weight times a scaled sigmoid of its
//     distance past the previous window's right edge (-1 with no window before it);
//   - the first 15% of each file (at most 750 rows) is a probationary period, not scored;
//   - one threshold per profile is swept over the whole corpus and the best total kept;
//   - the total is normalised between the null detector (0) and a perfect one (100).

// NABProfile is a scoring profile's cost matrix.
type NABProfile struct {
	Name       string
	TP, FP, FN float64
}

// NABProfiles are NAB's three application profiles (config/profiles.json).
var NABProfiles = []NABProfile{
	{"standard", 1, 0.11, 1},
	{"reward_low_FP_rate", 1, 0.22, 1},
	{"reward_low_FN_rate", 1, 0.11, 2},
}

// probationRows is the length of a file's probationary period.
func probationRows(n int) int {
	return int(math.Min(math.Floor(0.15*float64(n)), 0.15*5000))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// scaledSigmoid maps a position relative to a window to a reward: -1 (left edge) gives
// 0.98661, 0 (right edge) gives 0, positions past the window tend to -1, and 3 or more is -1.
func scaledSigmoid(pos float64) float64 {
	if pos >= 3 {
		return -1
	}
	return 2*sigmoid(-5*pos) - 1
}

// nabRow is one scored row of one file.
type nabRow struct {
	anomaly float64 // the detector's score
	sweep   float64 // what detecting it is worth
	window  int     // the window it is in (an index unique over the corpus), or -1
}

// NABWindow is a labelled anomaly window as row indexes, both included.
type NABWindow struct{ Left, Right int }

// sweepRows works out, for every row of one file outside the probationary period, what a
// detection there is worth; windows get ids from firstWindow on.
func sweepRows(anomaly []float64, windows []NABWindow, prof NABProfile, firstWindow int, out []nabRow) []nabRow {
	maxTP := scaledSigmoid(-1)
	probation := probationRows(len(anomaly))
	cur, prevRight, prevWidth := -1, -1, 0.0
	next := 0
	for i, a := range anomaly {
		if next < len(windows) && i == windows[next].Left {
			cur = next
			next++
		}
		var sweep float64
		window := -1
		if cur >= 0 {
			w := windows[cur]
			width := float64(w.Right - w.Left + 1)
			pos := -float64(w.Right-i+1) / width
			sweep = scaledSigmoid(pos) * prof.TP / maxTP
			window = firstWindow + cur
		} else {
			pos := 3.0
			if prevRight >= 0 {
				pos = math.Abs(float64(prevRight-i)) / (prevWidth - 1)
			}
			sweep = scaledSigmoid(pos) * prof.FP
		}
		if i >= probation {
			out = append(out, nabRow{anomaly: a, sweep: sweep, window: window})
		}
		if cur >= 0 && i == windows[cur].Right {
			prevRight, prevWidth = i, float64(windows[cur].Right-windows[cur].Left+1)
			cur = -1
		}
	}
	return out
}

// NABThresholdScore is the raw score of detecting every row whose anomaly score is at least
// Threshold.
type NABThresholdScore struct {
	Threshold      float64
	Score          float64
	TP, FP, TN, FN int // rows, as NAB counts them
}

// scoresByThreshold sweeps the threshold down through every distinct anomaly score of the rows
// (of one file or of a whole corpus) and returns the raw score at each.
func scoresByThreshold(rows []nabRow, prof NABProfile) []NABThresholdScore {
	rows = append([]nabRow(nil), rows...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].anomaly > rows[j].anomaly })
	windowBest := map[int]float64{}
	for _, r := range rows {
		if r.window >= 0 {
			windowBest[r.window] = -prof.FN
		}
	}
	fpSum, windowSum := 0.0, -prof.FN*float64(len(windowBest))
	tp, fp, tn, fn := 0, 0, 0, 0
	for _, r := range rows {
		if r.window >= 0 {
			fn++
		} else {
			tn++
		}
	}
	threshold := 1.1 // above every score: nothing detected
	var out []NABThresholdScore
	for _, r := range rows {
		if r.anomaly != threshold {
			out = append(out, NABThresholdScore{threshold, fpSum + windowSum, tp, fp, tn, fn})
			threshold = r.anomaly
		}
		if r.window >= 0 {
			tp++
			fn--
			if best := windowBest[r.window]; r.sweep > best {
				windowSum += r.sweep - best
				windowBest[r.window] = r.sweep
			}
		} else {
			fp++
			tn--
			fpSum += r.sweep
		}
	}
	return append(out, NABThresholdScore{threshold, fpSum + windowSum, tp, fp, tn, fn})
}

// bestThreshold is the threshold with the highest score (the first of equals, from the top).
func bestThreshold(scores []NABThresholdScore) NABThresholdScore {
	best := scores[0]
	for _, s := range scores[1:] {
		if s.Score > best.Score {
			best = s
		}
	}
	return best
}

// normalisedNAB is NAB's final score: 100 for a perfect detector, 0 for the null detector.
func normalisedNAB(score, null float64, windows int, prof NABProfile) float64 {
	perfect := float64(windows) * prof.TP
	return 100 * (score - null) / (perfect - null)
}

// scoreAtThreshold is the raw score at threshold t: that of the lowest swept threshold that is
// still at least t (so a file with no score equal to t is scored as NAB's scorer does).
func scoreAtThreshold(scores []NABThresholdScore, t float64) NABThresholdScore {
	prev := scores[0]
	for _, s := range scores {
		if s.Threshold == t {
			return s
		}
		if s.Threshold < t {
			return prev
		}
		prev = s
	}
	return prev
}
