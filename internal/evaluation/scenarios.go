package evaluation

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/analyzer"
	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/intake"
	"github.com/sextant-sre/sextant/internal/logparse"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/playback"
	"github.com/sextant-sre/sextant/internal/servicegraph"
	"github.com/sextant-sre/sextant/internal/sim"
	"github.com/sextant-sre/sextant/internal/store"
	"github.com/sextant-sre/sextant/internal/telemetry"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// The simulator's scenarios, each written into real stores the way the demo writes them and
// analysed by the diagnosis, judged against the truth the scenario carries.

// ScenarioRun is one scenario played and analysed.
type ScenarioRun struct {
	Scenario sim.Scenario
	Result   analyzer.Result
	// Stored maps the simulator's change ids (and flag names) to the change record's.
	Stored map[string]string
}

// liveTail is how much of a scenario, up to its end, goes through the real intake rather than
// straight into blocks: enough for the service graph to see every call.
const liveTail = 40 * time.Minute

// RunScenario writes scenario n into a real embedded store, log store and SQLite change record
// under dir as the demo does: its history straight into blocks up to liveTail before the end,
// then the rest through the real OTLP intake (metrics and logs, and traces into the service
// graph, whose edges give the dependency graph), after past the onset. It then analyses the
// incident as if declared declaredAfter past the onset.
func RunScenario(ctx context.Context, n int, dir string, after, declaredAfter time.Duration) (ScenarioRun, error) {
	run, start, end, err := scenarioSpan(n, after)
	if err != nil {
		return run, err
	}
	sc, onset := run.Scenario, run.Scenario.Onset
	s, err := sim.New(sim.DefaultWorld(), sc, 1, start)
	if err != nil {
		return run, err
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "db"), store.Options{})
	if err != nil {
		return run, err
	}
	defer st.Close()
	record := func(ctx context.Context, c changes.Change) error {
		_, err := st.RecordChange(ctx, c, c.Time)
		return err
	}
	// The scenario's clock, not the wall's: its past is months old, and retention must not
	// drop it while the run reads it.
	logs, err := logstore.Open(filepath.Join(dir, "logs"), logstore.Options{Templater: logparse.NewMiner().TemplateID, Now: func() time.Time { return end }})
	if err != nil {
		return run, err
	}
	defer logs.Close()
	if _, err := playback.Backfill(ctx, s, end.Add(-liveTail), playback.History{MetricsDir: filepath.Join(dir, "metrics"), Logs: logs, Changes: record}); err != nil {
		return run, fmt.Errorf("history: %w", err)
	}
	m, err := telemetry.OpenEmbedded("embedded", filepath.Join(dir, "metrics"), telemetry.EmbeddedOptions{OutOfOrderWindow: time.Hour})
	if err != nil {
		return run, err
	}
	defer m.Close()
	handlers := map[string]http.Handler{
		"/v1/metrics": intake.OTLPMetrics(slog.New(slog.DiscardHandler), m.Storage(), 64<<20),
		"/v1/logs":    intake.OTLPLogs(logs, 64<<20),
	}
	graph := servicegraph.New(time.Minute)
	stream := sim.NewStream(s, sim.Protobuf)
	for s.Now().Before(end) {
		if err := ctx.Err(); err != nil {
			return run, err
		}
		f, deliveries, err := stream.Next()
		if err != nil {
			return run, err
		}
		for _, c := range f.Changes {
			nc, err := playback.NormalisedChange(c)
			if err == nil {
				err = record(ctx, nc)
			}
			if err != nil {
				return run, fmt.Errorf("change %s: %w", c.ID, err)
			}
		}
		for _, d := range deliveries {
			switch d.Path {
			case "/v1/metrics", "/v1/logs":
				req := httptest.NewRequest("POST", d.Path, bytes.NewReader(d.Body))
				req.Header.Set("Content-Type", d.ContentType)
				rec := httptest.NewRecorder()
				handlers[d.Path].ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					return run, fmt.Errorf("%s at %s: %d %s", d.Path, f.Time, rec.Code, rec.Body)
				}
			case "/v1/traces":
				td := ptraceotlp.NewExportRequest()
				if err := td.UnmarshalProto(d.Body); err != nil {
					return run, err
				}
				graph.Add(intake.Spans(td.Traces()), f.Time)
			}
		}
		if f.Time.Second() == 0 {
			graph.Expire(f.Time)
			if err := graph.Write(ctx, m.Storage(), f.Time); err != nil {
				return run, err
			}
		}
	}
	a := analyzer.Analyzer{Source: telemetry.Local{Metrics: m, Records: st, LogStore: logs}, Config: analyzer.DefaultConfig}
	run.Result = a.Run(ctx, onset.Add(declaredAfter), end)
	return run, nil
}

// scenarioSpan builds scenario n with its routine changes from the start its history needs to
// after past the onset, and the change record's ids of its changes.
func scenarioSpan(n int, after time.Duration) (run ScenarioRun, start, end time.Time, err error) {
	run.Stored = map[string]string{}
	sc, err := sim.Build(n, sim.ReferenceOnset(n), 1)
	if err != nil {
		return run, start, end, err
	}
	end = sc.Onset.Add(after)
	start = sc.Onset.Add(-12 * time.Hour)
	if w := sc.WarmupStart(sc.Onset.Add(-time.Hour)); w.Before(start) {
		start = w.Add(-3 * time.Hour)
	}
	run.Scenario = sc.WithRoutineChanges(1, start, end)
	for _, c := range run.Scenario.Changes {
		if nc, err := playback.NormalisedChange(c); err == nil {
			run.Stored[c.ID] = "change:" + nc.ID
			if c.Flag != "" {
				run.Stored[c.Flag] = "change:" + nc.ID
			}
		}
	}
	return run, start, end, nil
}

// ScenarioCheck is one thing the diagnosis should have got right.
type ScenarioCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// ScenarioOutcome is how the diagnosis did on one scenario.
type ScenarioOutcome struct {
	Scenario int             `json:"scenario"`
	Name     string          `json:"name"`
	OnsetErr float64         `json:"onset_error_seconds"` // found minus true
	Checks   []ScenarioCheck `json:"checks"`
}

// Check names, in the order they are reported.
const (
	CheckJourneys     = "impacted journeys"
	CheckCohort       = "for whom"
	CheckFirstFailure = "first failure"
	CheckOutlier      = "resource outlier"
	CheckRootChange   = "root change first"
	CheckNoHerring    = "no red herring first"
	CheckLogs         = "logs of the failing service"
)

// JudgeScenario checks a run's findings against its scenario's truth: every impacted journey
// found; the right cohort first; the first failure (a service) or the hot instance (a resource
// outlier); the root change ranked first; no red herring ranked first; and, where the first
// failure is a service, a log finding about it.
func JudgeScenario(run ScenarioRun) ScenarioOutcome {
	truth, res := run.Scenario.Truth, run.Result
	out := ScenarioOutcome{Scenario: run.Scenario.Number, Name: run.Scenario.Name, OnsetErr: res.Onset.Sub(truth.Onset).Seconds()}
	check := func(name string, ok bool, detail string) {
		out.Checks = append(out.Checks, ScenarioCheck{name, ok, detail})
	}
	var impacted, firsts, changeKeys, outliers, logged []string
	var cohort *incident.Finding
	for i, f := range res.Findings {
		switch f.Kind {
		case incident.FindingImpact:
			impacted = append(impacted, f.Entities...)
		case incident.FindingBreakdown:
			if cohort == nil {
				cohort = &res.Findings[i]
			}
		case incident.FindingChange:
			changeKeys = append(changeKeys, f.Key)
		case incident.FindingCause:
			if strings.HasPrefix(f.Title, "First failure") {
				firsts = append(firsts, f.Entities...)
			}
		case incident.FindingLogs:
			logged = append(logged, f.Entities...)
		}
		if strings.HasPrefix(f.Key, "resource:") {
			outliers = append(outliers, f.Entities...)
		}
	}
	missing := slices.DeleteFunc(slices.Clone(truth.Journeys), func(j string) bool { return slices.Contains(impacted, "journey:"+j) })
	check(CheckJourneys, len(missing) == 0, fmt.Sprintf("%d of %d found", len(truth.Journeys)-len(missing), len(truth.Journeys)))
	found := "none"
	if cohort != nil {
		found = strings.TrimPrefix(cohort.Key, "cohort:")
	}
	check(CheckCohort, cohortRight(cohort, truth.Cohorts), found+" (truth: "+truth.CohortsSummary+")")
	if ff := truth.FirstFailure; ff.Kind == "service" || ff.Kind == "third-party" {
		check(CheckFirstFailure, slices.Contains(firsts, "service:"+ff.Name),
			fmt.Sprintf("%v (truth: %s; chance 1 in %d services)", firsts, ff.Name, len(sim.DefaultWorld().Services)))
	}
	if rc := truth.RootCause; rc.Kind == "instance" {
		check(CheckOutlier, len(outliers) == 1 && strings.HasPrefix(outliers[0], rc.Name+" "), fmt.Sprintf("%v (truth: %s)", outliers, rc.Name))
	}
	top := "none named"
	if len(changeKeys) > 0 {
		top = changeKeys[0]
	}
	if truth.RootChange != "" {
		// Chance: a random pick among the changes recorded in the look-back before the onset.
		before := 0
		for _, c := range run.Scenario.Changes {
			if c.At.Before(truth.Onset) && !c.At.Before(truth.Onset.Add(-analyzer.DefaultConfig.Lookback)) {
				before++
			}
		}
		check(CheckRootChange, len(changeKeys) > 0 && changeKeys[0] == run.Stored[truth.RootChange],
			fmt.Sprintf("%s (truth: %s; chance 1 in %d)", top, truth.RootChange, before))
	}
	herring := ""
	for _, rh := range truth.RedHerrings {
		if (rh.Entity.Kind == "change" || rh.Entity.Kind == "flag") && len(changeKeys) > 0 && changeKeys[0] == run.Stored[rh.Entity.Name] {
			herring = rh.Entity.Name
		}
		if (rh.Entity.Kind == "service" || rh.Entity.Kind == "third-party") && len(firsts) > 0 && firsts[0] == "service:"+rh.Entity.Name {
			herring = rh.Entity.Name
		}
	}
	check(CheckNoHerring, herring == "", "first: "+cmp.Or(herring, "no red herring"))
	if ff := truth.FirstFailure; ff.Kind == "service" || ff.Kind == "third-party" {
		check(CheckLogs, slices.Contains(logged, "service:"+ff.Name), "log findings about "+ff.Name)
	}
	return out
}

// cohortRight reports whether the first for-whom finding names the truth: everyone when everyone
// is affected, else labels that all belong to one of the affected cohorts.
func cohortRight(f *incident.Finding, truth []sim.CohortMatch) bool {
	if f == nil {
		return false
	}
	var named []string // the cohort labels the finding names; a journey alone is everyone on it
	for _, e := range f.Entities {
		if !strings.HasPrefix(e, "journey:") && e != "cohort:everyone" {
			named = append(named, e)
		}
	}
	if everyone := len(truth) == 1 && truth[0] == (sim.CohortMatch{}); everyone || len(named) == 0 {
		return everyone && len(named) == 0
	}
	for _, m := range truth {
		pairs := cohortPairs(m)
		if !slices.ContainsFunc(named, func(e string) bool { return !slices.Contains(pairs, e) }) {
			return true
		}
	}
	return false
}

// cohortPairs are a cohort match's labels as the journey metric writes them (label:value).
func cohortPairs(m sim.CohortMatch) []string {
	var out []string
	if m.Employee != nil {
		user := "public"
		if *m.Employee {
			user = "employee"
		}
		out = append(out, "user_type:"+user)
	}
	for _, p := range [][2]string{{"region", m.Region}, {"client", m.Client}, {"app_version", m.AppVersion}, {"plan", m.Plan}} {
		if p[1] != "" {
			out = append(out, p[0]+":"+p[1])
		}
	}
	return out
}

// ScenariosReport is the result of `sextant eval scenarios`.
type ScenariosReport struct {
	Dataset  string            `json:"dataset"`
	Command  string            `json:"command"`
	Config   string            `json:"config"`
	Outcomes []ScenarioOutcome `json:"scenarios"`
}

// scenarioColumns are the checks the table shows, in order.
var scenarioColumns = []string{CheckJourneys, CheckCohort, CheckFirstFailure, CheckOutlier, CheckRootChange, CheckNoHerring, CheckLogs}

// WriteTable writes one row per scenario: each check right (✓), wrong (✗, with what was found)
// or not applicable (—).
func (r ScenariosReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "Command: `%s`\n\nConfiguration: %s\n\n", r.Command, r.Config)
	fmt.Fprintf(w, "| scenario | onset found | %s |\n", strings.Join(scenarioColumns, " | "))
	fmt.Fprintf(w, "|---|---|%s\n", strings.Repeat("---|", len(scenarioColumns)))
	right, all := 0, 0
	for _, o := range r.Outcomes {
		cells := make([]string, len(scenarioColumns))
		for i, name := range scenarioColumns {
			cells[i] = "—"
			for _, c := range o.Checks {
				if c.Name != name {
					continue
				}
				all++
				if c.OK {
					right++
					cells[i] = "✓ " + c.Detail
				} else {
					cells[i] = "✗ " + c.Detail
				}
			}
		}
		fmt.Fprintf(w, "| %d %s | %+.0f s | %s |\n", o.Scenario, o.Name, o.OnsetErr, strings.Join(cells, " | "))
	}
	fmt.Fprintf(w, "\n%d of %d checks right.\n", right, all)
}

// WriteDoc replaces the scenarios table in a Markdown file between its markers.
func (r ScenariosReport) WriteDoc(path string) error {
	return replaceSection(path, "<!-- scenarios table: begin -->", "<!-- scenarios table: end -->", r.WriteTable)
}
