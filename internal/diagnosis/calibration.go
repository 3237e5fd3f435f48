package diagnosis

import "math"

// A finding's confidence is how often findings of its class were right on labelled data:
// Laplace's rule of succession over the tally, (right + 1) / (of + 2), so that a small sample
// claims little. The tallies are recorded here with the data and the command that count them;
// tests recount them whenever the data are present and fail when they differ
// (internal/evaluation: TestCalibrationMatchesData, TestScenarios).

// Tally is how often a class of finding was right on labelled data.
type Tally struct {
	Right, Of int
}

// Confidence is the tally's rule-of-succession estimate, to two decimals.
func (t Tally) Confidence() float64 {
	return math.Round(float64(t.Right+1)/float64(t.Of+2)*100) / 100
}

// Add counts one more finding, right or not.
func (t *Tally) Add(right bool) {
	t.Of++
	if right {
		t.Right++
	}
}

// Band is the tally of the findings whose score is at least From (and below the next band's).
type Band struct {
	From float64
	Tally
}

// CohortBandFrom are the scores where the bands of for-whom elements begin: the quartiles of the
// elements found on RiskLoc RS, the middle two joined (their precision did not differ).
var CohortBandFrom = []float64{0, 75, 1100}

// Calibration holds the tallies behind every finding's confidence.
var Calibration = struct {
	// Cohort: for-whom elements by score band, right when the element is one of the case's
	// root-cause elements: RiskLoc RS, 135 cases (`sextant eval breakdown`).
	Cohort []Band
	// Everyone: "no cohort fails much more than the others", right when every cohort was
	// affected: the simulated scenarios (`sextant eval scenarios`).
	Everyone Tally
	// ChainEnd: the first root-cause candidate when it is the only moved component that no moved
	// dependency explains; SeveralEnds: the first, by its move, of several such: PetShop, 68
	// issues (`sextant eval rca` on PetShop). The first failure and an inconclusive finding's
	// first-named service take these.
	ChainEnd, SeveralEnds Tally
	// Outlier: the entity whose own resource signals moved most at the onset, right when it is
	// the faulty one: Sock Shop, 50 fault injections, Sextant's detected onset (`sextant eval
	// rca` on Sock Shop).
	Outlier Tally
	// TopChange and LaterChange: the first candidate change and those ranked below it, right when
	// it is the scenario's root change; NoChange: "no recorded change stands out", right when the
	// scenario has no root change: the simulated scenarios.
	TopChange, LaterChange, NoChange Tally
}{
	Cohort:      []Band{{0, Tally{16, 34}}, {75, Tally{48, 68}}, {1100, Tally{30, 34}}},
	Everyone:    Tally{4, 4},
	ChainEnd:    Tally{58, 60},
	SeveralEnds: Tally{8, 8},
	Outlier:     Tally{50, 50},
	TopChange:   Tally{4, 4},
	LaterChange: Tally{0, 4},
	NoChange:    Tally{2, 2},
}

// cohortConfidence is the calibrated confidence of a for-whom element with this score.
func cohortConfidence(score float64) float64 {
	bands := Calibration.Cohort
	for i := len(bands) - 1; i >= 0; i-- {
		if score >= bands[i].From {
			return bands[i].Confidence()
		}
	}
	return bands[0].Confidence()
}
