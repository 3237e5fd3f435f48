package evaluation

import (
	"slices"
	"strings"

	"github.com/sextant-sre/sextant/internal/breakdown"
	"github.com/sextant-sre/sextant/internal/diagnosis"
	"github.com/sextant-sre/sextant/internal/incident"
)

// The counts behind the findings' confidence (diagnosis.Calibration), recounted from the
// labelled data.

// PetshopTallies counts, over every PetShop issue, how often the first root-cause candidate was
// the true one: when it was the only moved component no moved dependency explains, and when it
// was the first, by its move, of several.
func PetshopTallies(scenarios []PetshopScenario) (chainEnd, severalEnds diagnosis.Tally) {
	for _, s := range scenarios {
		for _, is := range s.Issues {
			ranked := s.Localise(is)
			ends := 0
			for _, c := range ranked {
				if len(c.Explained) == 0 && !c.Opaque {
					ends++
				}
			}
			right := len(ranked) > 0 && ranked[0].Entity == is.RootCause
			if ends > 1 {
				severalEnds.Add(right)
			} else {
				chainEnd.Add(right)
			}
		}
	}
	return chainEnd, severalEnds
}

// RSTallies counts the for-whom elements found on RiskLoc RS, by band of their score, right
// when the element is one of the case's root-cause elements.
func RSTallies(cases []RSCase) []diagnosis.Band {
	bands := make([]diagnosis.Band, len(diagnosis.CohortBandFrom))
	for i, from := range diagnosis.CohortBandFrom {
		bands[i].From = from
	}
	for _, c := range cases {
		for _, cause := range breakdown.Explain(c.Dims, c.Leaves, breakdown.DefaultConfig) {
			i := len(bands) - 1
			for i > 0 && cause.Score < bands[i].From {
				i--
			}
			bands[i].Add(slices.Contains(c.Truth, cause.String()))
		}
	}
	return bands
}

// SockShopTally counts the Sock Shop cases whose faulty service ranked first by the shift of its
// own resources at Sextant's detected onset.
func SockShopTally(cases []RCACase) diagnosis.Tally {
	var t diagnosis.Tally
	for _, c := range cases {
		t.Add(hitAt(c.Rank(c.DetectOnset()), c.Service, 1) == 1)
	}
	return t
}

// ScenarioTallies are the counts taken from the simulated scenarios.
type ScenarioTallies struct {
	Everyone, TopChange, LaterChange, NoChange diagnosis.Tally
}

// Add counts one scenario run's findings: its first for-whom finding when it says everyone, its
// candidate changes by rank, or its "no recorded change stands out".
func (t *ScenarioTallies) Add(run ScenarioRun) {
	truth := run.Scenario.Truth
	cohortSeen, rank := false, 0
	for _, f := range run.Result.Findings {
		switch f.Kind {
		case incident.FindingBreakdown:
			if cohortSeen {
				continue
			}
			cohortSeen = true
			if !slices.ContainsFunc(f.Entities, func(e string) bool { return !strings.HasPrefix(e, "journey:") && e != "cohort:everyone" }) {
				t.Everyone.Add(cohortRight(&f, truth.Cohorts))
			}
		case incident.FindingChange:
			switch {
			case f.Key == "change:none":
				t.NoChange.Add(truth.RootChange == "")
			case rank == 0:
				t.TopChange.Add(f.Key == run.Stored[truth.RootChange])
			default:
				t.LaterChange.Add(f.Key == run.Stored[truth.RootChange])
			}
			rank++
		}
	}
}
