package evaluation

import (
	"math"
	"testing"
)

var standard = NABProfiles[0]

// scoreAt is the raw score of one file at a threshold.
func scoreAt(t *testing.T, anomaly []float64, windows []NABWindow, prof NABProfile, threshold float64) float64 {
	t.Helper()
	return scoreAtThreshold(scoresByThreshold(sweepRows(anomaly, windows, prof, 0, nil), prof), threshold).Score
}

// TestNABScorerByHand checks the scorer on cases worked out by hand: a file of 20 rows (the
// first 3 on probation, floor(0.15 × 20)), one window over rows 10 to 14 (width 5).
func TestNABScorerByHand(t *testing.T) {
	w := []NABWindow{{10, 14}}
	rows := func(hits map[int]float64) []float64 {
		a := make([]float64, 20)
		for i, v := range hits {
			a[i] = v
		}
		return a
	}
	maxTP := 2/(1+math.Exp(-5)) - 1 // the sigmoid at the window's left edge: 0.98661
	cases := []struct {
		name      string
		hits      map[int]float64
		threshold float64
		want      float64
	}{
		{"nothing detected: one false negative", nil, 1.1, -1},
		{"detected at the left edge: a full true positive", map[int]float64{10: 0.9}, 0.9, 1},
		// Position -(14-14+1)/5 = -0.2: 2σ(1)-1 = 0.462117, divided by maxTP.
		{"detected at the right edge", map[int]float64{14: 0.9}, 0.9, (2/(1+math.Exp(-1)) - 1) / maxTP},
		{"two detections in the window: only the earliest counts", map[int]float64{11: 0.9, 13: 0.9}, 0.9, (2/(1+math.Exp(-5*0.8)) - 1) / maxTP},
		// Before any window a false positive costs the full FP weight.
		{"a false positive before the window", map[int]float64{5: 0.9}, 0.9, -1 - 0.11},
		// One row past the window: position |14-15|/(5-1) = 0.25: 2σ(-1.25)-1 = -0.554600.
		{"a false positive just after the window", map[int]float64{15: 0.9, 10: 0.95}, 0.9, 1 + 0.11*(2/(1+math.Exp(1.25))-1)},
		{"a detection on probation is not scored", map[int]float64{2: 0.9}, 0.9, -1},
	}
	for _, c := range cases {
		if got := scoreAt(t, rows(c.hits), w, standard, c.threshold); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: %.6f, want %.6f", c.name, got, c.want)
		}
	}
	// The low-FN profile doubles the cost of a miss; the low-FP profile of a false alarm.
	if got := scoreAt(t, rows(nil), w, NABProfiles[2], 1.1); got != -2 {
		t.Errorf("low FN profile miss: %v", got)
	}
	if got := scoreAt(t, rows(map[int]float64{5: 0.9}), w, NABProfiles[1], 0.9); math.Abs(got-(-1-0.22)) > 1e-9 {
		t.Errorf("low FP profile false alarm: %v", got)
	}
	// A window entirely on probation is neither a hit nor a miss.
	if got := scoreAt(t, rows(nil), []NABWindow{{0, 2}}, standard, 1.1); got != 0 {
		t.Errorf("a window on probation: %v", got)
	}
}

func TestNABThresholdSweepAndNormalisation(t *testing.T) {
	// Two files scored together: the sweep must pick the threshold that detects both windows
	// early and leaves the false alarm out.
	a := make([]float64, 20)
	b := make([]float64, 20)
	a[10], b[12], a[5] = 0.8, 0.7, 0.6
	var rows []nabRow
	rows = sweepRows(a, []NABWindow{{10, 14}}, standard, 0, rows)
	rows = sweepRows(b, []NABWindow{{12, 16}}, standard, 1, rows)
	best := bestThreshold(scoresByThreshold(rows, standard))
	if best.Threshold != 0.7 || math.Abs(best.Score-2) > 1e-9 || best.TP != 2 || best.FP != 0 {
		t.Fatalf("best: %+v", best)
	}
	// The null detector misses both windows (-2); a perfect one scores 2 × TP weight.
	if n := normalisedNAB(best.Score, -2, 2, standard); math.Abs(n-100) > 1e-9 {
		t.Fatalf("a perfect detector normalises to %v", n)
	}
	if n := normalisedNAB(-2, -2, 2, standard); n != 0 {
		t.Fatalf("the null detector normalises to %v", n)
	}
}

// Each file's part of the result, worked out by hand: three files of 20 rows (3 on probation),
// one window each. At the best threshold, 0.7, a and b detect their windows at the left edge
// (1 each, a's earlier 0.6 left out), and c misses its window (-1) and raises a false alarm
// before it (-0.11).
func TestNABResultFileByFile(t *testing.T) {
	scores := map[string][]float64{"a": make([]float64, 20), "b": make([]float64, 20), "c": make([]float64, 20)}
	scores["a"][10], scores["a"][5] = 0.8, 0.6
	scores["b"][12] = 0.7
	scores["c"][3] = 0.9
	files := []NABFile{
		{Name: "a", Values: make([]float64, 20), Windows: []NABWindow{{10, 14}}},
		{Name: "b", Values: make([]float64, 20), Windows: []NABWindow{{12, 16}}},
		{Name: "c", Values: make([]float64, 20), Windows: []NABWindow{{10, 14}}},
	}
	r := ScoreNAB(files, func(f NABFile) []float64 { return scores[f.Name] })[0]
	if r.Threshold != 0.7 || math.Abs(r.Raw-0.89) > 1e-9 {
		t.Fatalf("corpus: threshold %v, raw %v; want 0.7 and 0.89", r.Threshold, r.Raw)
	}
	want := []NABFileResult{
		{Name: "a", Windows: 1, Detected: 1, TP: 1, FP: 0, Raw: 1},
		{Name: "b", Windows: 1, Detected: 1, TP: 1, FP: 0, Raw: 1},
		{Name: "c", Windows: 1, Detected: 0, TP: 0, FP: 1, Raw: -1.11},
	}
	if len(r.Files) != len(want) {
		t.Fatalf("%d files, want %d", len(r.Files), len(want))
	}
	for i, w := range want {
		got := r.Files[i]
		if math.Abs(got.Raw-w.Raw) > 1e-9 {
			t.Errorf("%s: raw %v, want %v", w.Name, got.Raw, w.Raw)
		}
		got.Raw = w.Raw
		if got != w {
			t.Errorf("%s: %+v, want %+v", w.Name, got, w)
		}
	}
}
