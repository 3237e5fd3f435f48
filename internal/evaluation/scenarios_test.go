package evaluation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/diagnosis"
	"github.com/sextant-sre/sextant/internal/incident"
)

// TestScenarios is the regression test of the diagnosis on every simulated scenario: its history
// written into a real embedded store, log store and change record, the analysis run as if the
// incident had been declared three minutes after the onset, twenty minutes into the outage.
// Every check JudgeScenario makes is required, and the log line that gives each fault away.
func TestScenarios(t *testing.T) {
	if raceDetector {
		t.Skip("writing six scenarios' history takes over ten minutes under the race detector: make test runs this test on its own, without it")
	}
	// The log line that gives each fault away, among the new or surging patterns.
	logSign := map[int]string{1: "data-api logs", 2: "410 Gone", 3: "TaxComputationError", 5: "stripe logs", 6: "catalog logs"}
	var tallies ScenarioTallies
	ran := 0
	for n := 1; n <= 6; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			run, err := RunScenario(context.Background(), n, t.TempDir(), 20*time.Minute, 3*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			tallies.Add(run)
			ran++
			o := JudgeScenario(run)
			t.Logf("onset found %+.0f s from the true one", o.OnsetErr)
			if o.OnsetErr < -120 || o.OnsetErr > 180 {
				t.Errorf("onset found %+.0f s from the true one", o.OnsetErr)
			}
			for _, c := range o.Checks {
				if !c.OK {
					t.Errorf("%s: %s", c.Name, c.Detail)
				}
			}
			var logFindings []string
			for _, f := range run.Result.Findings {
				if f.Kind == incident.FindingLogs {
					logFindings = append(logFindings, f.Title)
				}
			}
			if want, ok := logSign[n]; ok && !strings.Contains(strings.Join(logFindings, "\n"), want) {
				t.Errorf("logs: want %q among %q (not examined: %q)", want, logFindings, run.Result.NotExamined)
			}
		})
	}
	// The tallies behind the confidence of the findings calibrated on these scenarios.
	cal := diagnosis.Calibration
	if want := (ScenarioTallies{cal.Everyone, cal.TopChange, cal.LaterChange, cal.NoChange}); ran == 6 && tallies != want {
		t.Errorf("scenario tallies %+v, recorded in diagnosis.Calibration %+v", tallies, want)
	}
}

// JudgeScenario on hand-made findings: each check can fail.
func TestJudgeScenario(t *testing.T) {
	run, _, _, err := scenarioSpan(2, 20*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tr := run.Scenario.Truth
	right := []incident.Finding{
		{Kind: incident.FindingImpact, Entities: []string{"journey:browse", "journey:search", "journey:checkout"}},
		{Kind: incident.FindingBreakdown, Key: "cohort:app_version=7.1", Entities: []string{"app_version:7.1"}},
		{Kind: incident.FindingCause, Title: "First failure: mobile-bff", Entities: []string{"service:mobile-bff"}},
		{Kind: incident.FindingChange, Key: run.Stored[tr.RootChange]},
		{Kind: incident.FindingLogs, Entities: []string{"service:mobile-bff"}},
	}
	run.Result.Findings = right
	for _, c := range JudgeScenario(run).Checks {
		if !c.OK {
			t.Errorf("right findings: %s wrong: %s", c.Name, c.Detail)
		}
	}
	wrong := []incident.Finding{
		{Kind: incident.FindingImpact, Entities: []string{"journey:browse"}},
		{Kind: incident.FindingBreakdown, Key: "cohort:everyone", Entities: []string{"cohort:everyone"}},
		{Kind: incident.FindingCause, Title: "First failure: catalog", Entities: []string{"service:catalog"}},
		{Kind: incident.FindingChange, Key: run.Stored[tr.RedHerrings[0].Entity.Name]},
	}
	run.Result.Findings = wrong
	failed := map[string]bool{}
	for _, c := range JudgeScenario(run).Checks {
		failed[c.Name] = !c.OK
	}
	for _, name := range []string{CheckJourneys, CheckCohort, CheckFirstFailure, CheckRootChange, CheckNoHerring, CheckLogs} {
		if !failed[name] {
			t.Errorf("wrong findings: %s passed", name)
		}
	}
}

// TestCalibrationMatchesData recounts the tallies behind the findings' confidence from every
// labelled data set present and fails when they differ from those recorded in
// diagnosis.Calibration.
func TestCalibrationMatchesData(t *testing.T) {
	cal := diagnosis.Calibration
	t.Run("petshop", func(t *testing.T) {
		scenarios, err := ReadPetshop(petshopDir(t))
		if err != nil {
			t.Fatal(err)
		}
		if end, several := PetshopTallies(scenarios); end != cal.ChainEnd || several != cal.SeveralEnds {
			t.Errorf("chain end %+v and several ends %+v, recorded %+v and %+v", end, several, cal.ChainEnd, cal.SeveralEnds)
		}
	})
	t.Run("riskloc", func(t *testing.T) {
		cases, err := ReadRS(rsDir(t))
		if err != nil {
			t.Fatal(err)
		}
		if bands := RSTallies(cases); !slices.Equal(bands, cal.Cohort) {
			t.Errorf("cohort bands %+v, recorded %+v", bands, cal.Cohort)
		}
	})
	t.Run("sockshop", func(t *testing.T) {
		cases, err := ReadSockShop(sockShopDir(t))
		if err != nil {
			t.Fatal(err)
		}
		if got := SockShopTally(cases); got != cal.Outlier {
			t.Errorf("outlier %+v, recorded %+v", got, cal.Outlier)
		}
	})
}
