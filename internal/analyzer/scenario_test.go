package analyzer

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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

// scenarioRun writes a scenario into a real embedded store and a real SQLite change record as the
// demo does: its history straight into blocks up to liveTail before the end, then the rest
// through the real OTLP intake (metrics, and traces into the service graph, whose edges give the
// dependency graph), `after` past the onset. It runs the analysis as if the incident had been
// declared declaredAfter past the onset.
func scenarioRun(t *testing.T, n int, after, declaredAfter time.Duration) (sim.Scenario, Result) {
	t.Helper()
	ctx := context.Background()
	sc, err := sim.Build(n, sim.ReferenceOnset(n), 1)
	if err != nil {
		t.Fatal(err)
	}
	onset := sc.Onset
	end := onset.Add(after)
	start := onset.Add(-12 * time.Hour)
	if w := sc.WarmupStart(onset.Add(-time.Hour)); w.Before(start) {
		start = w.Add(-3 * time.Hour)
	}
	sc = sc.WithRoutineChanges(1, start, end)
	s, err := sim.New(sim.DefaultWorld(), sc, 1, start)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	record := func(ctx context.Context, c changes.Change) error {
		_, err := st.RecordChange(ctx, c, c.Time)
		return err
	}
	logs, err := logstore.Open(filepath.Join(dir, "logs"), logstore.Options{Templater: logparse.NewMiner().TemplateID})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	const liveTail = 40 * time.Minute
	if _, err := playback.Backfill(ctx, s, end.Add(-liveTail), playback.History{MetricsDir: filepath.Join(dir, "metrics"), Logs: logs, Changes: record}); err != nil {
		t.Fatal(err)
	}
	m, err := telemetry.OpenEmbedded("embedded", filepath.Join(dir, "metrics"), telemetry.EmbeddedOptions{OutOfOrderWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	handlers := map[string]http.Handler{
		"/v1/metrics": intake.OTLPMetrics(slog.New(slog.DiscardHandler), m.Storage(), 64<<20),
		"/v1/logs":    intake.OTLPLogs(logs, 64<<20),
	}
	graph := servicegraph.New(time.Minute)
	stream := sim.NewStream(s, sim.Protobuf)
	for s.Now().Before(end) {
		f, deliveries, err := stream.Next()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range f.Changes {
			nc, err := playback.NormalisedChange(c)
			if err != nil || record(ctx, nc) != nil {
				t.Fatalf("change %s: %v", c.ID, err)
			}
		}
		for _, d := range deliveries {
			switch d.Path {
			case "/v1/metrics", "/v1/logs":
				req := httptest.NewRequest("POST", d.Path, bytes.NewReader(d.Body))
				req.Header.Set("Content-Type", d.ContentType)
				rec := httptest.NewRecorder()
				handlers[d.Path].ServeHTTP(rec, req)
				if rec.Code != 200 {
					t.Fatalf("%s at %s: %d %s", d.Path, f.Time, rec.Code, rec.Body)
				}
			case "/v1/traces":
				td := ptraceotlp.NewExportRequest()
				if err := td.UnmarshalProto(d.Body); err != nil {
					t.Fatal(err)
				}
				graph.Add(intake.Spans(td.Traces()), f.Time)
			}
		}
		if f.Time.Second() == 0 {
			graph.Expire(f.Time)
			if err := graph.Write(ctx, m.Storage(), f.Time); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := Analyzer{Source: telemetry.Local{Metrics: m, Records: st, LogStore: logs}, Config: DefaultConfig}
	return sc, a.Run(ctx, onset.Add(declaredAfter), end)
}

// TestScenarios is the regression test of the diagnosis on every simulated scenario: its history
// written into a real embedded store and change record, the analysis run as if the incident had
// been declared three minutes after the onset, twenty minutes into the outage. What it gets right
// is required; what it does not get right yet is listed in known, and logged, so that the day it
// is fixed the entry is removed and kept.
func TestScenarios(t *testing.T) {
	if raceDetector {
		t.Skip("writing six scenarios' history takes over ten minutes under the race detector: make test runs this test on its own, without it")
	}
	cohort := map[int]string{1: "everyone", 2: "app_version=7.1", 3: "user_type=employee", 4: "everyone", 5: "everyone", 6: "everyone"}
	// The history holds no traces: the dependency graph comes from the last 40 minutes.
	known := map[int][]string{}
	// The log line that gives each fault away, among the new or surging patterns.
	logSign := map[int]string{1: "data-api logs", 2: "410 Gone", 3: "TaxComputationError", 5: "stripe logs", 6: "catalog logs"}
	for n := 1; n <= 6; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sc, res := scenarioRun(t, n, 20*time.Minute, 3*time.Minute)
			truth := sc.Truth
			// Stored change ids are the intake's ("github:deployment:…"), not the simulator's.
			stored := map[string]string{}
			for _, c := range sc.Changes {
				if nc, err := playback.NormalisedChange(c); err == nil {
					stored[c.ID] = "change:" + nc.ID
					if c.Flag != "" {
						stored[c.Flag] = "change:" + nc.ID
					}
				}
			}
			var impacted, cohorts, changeKeys, firsts []string
			for _, f := range res.Findings {
				switch f.Kind {
				case incident.FindingImpact:
					impacted = append(impacted, f.Entities...)
				case incident.FindingBreakdown:
					cohorts = append(cohorts, f.Title)
				case incident.FindingChange:
					changeKeys = append(changeKeys, f.Key)
				case incident.FindingCause:
					if strings.HasPrefix(f.Title, "First failure") {
						firsts = append(firsts, f.Entities...)
					}
				}
			}
			check := func(name string, ok bool, detail string) {
				switch {
				case !ok && !slices.Contains(known[n], name):
					t.Errorf("%s: %s", name, detail)
				case !ok:
					t.Logf("known gap, %s: %s", name, detail)
				case slices.Contains(known[n], name):
					t.Logf("%s now right: remove it from the known gaps", name)
				}
			}
			t.Logf("onset found %s after the true one", res.Onset.Sub(truth.Onset))
			if d := res.Onset.Sub(truth.Onset); d < -2*time.Minute || d > 3*time.Minute {
				t.Errorf("onset found at %s, true onset %s", res.Onset.Format(time.TimeOnly), truth.Onset.Format(time.TimeOnly))
			}
			for _, j := range truth.Journeys {
				if !slices.Contains(impacted, "journey:"+j) {
					t.Errorf("journey %s impacted, not found (found %v)", j, impacted)
				}
			}
			if want, ok := cohort[n]; ok || slices.Contains(known[n], "cohort") {
				check("cohort", len(cohorts) > 0 && strings.Contains(cohorts[0], want), fmt.Sprintf("want %q, found %v", want, cohorts))
			}
			if truth.RootChange != "" {
				check("root change first", len(changeKeys) > 0 && changeKeys[0] == stored[truth.RootChange],
					fmt.Sprintf("want %s, ranked %v", truth.RootChange, changeKeys))
			}
			if ff := truth.FirstFailure; ff.Kind == "service" || ff.Kind == "third-party" {
				check("first failure", slices.Contains(firsts, "service:"+ff.Name), fmt.Sprintf("want %s, found %v", ff.Name, firsts))
			}
			var outliers []string
			for _, f := range res.Findings {
				if strings.HasPrefix(f.Key, "resource:") {
					outliers = append(outliers, f.Entities...)
				}
			}
			if rc := truth.RootCause; rc.Kind == "instance" {
				check("resource outlier", len(outliers) == 1 && strings.HasPrefix(outliers[0], rc.Name+" "), fmt.Sprintf("want %s, found %v", rc.Name, outliers))
			} else if len(outliers) > 0 {
				t.Logf("resource outliers: %v", outliers)
			}
			var logFindings []string
			for _, f := range res.Findings {
				if f.Kind == incident.FindingLogs {
					logFindings = append(logFindings, f.Title)
				}
			}
			if want, ok := logSign[n]; ok {
				check("logs", strings.Contains(strings.Join(logFindings, "\n"), want), fmt.Sprintf("want %q among %q", want, logFindings))
			}
			herring := false
			for _, rh := range truth.RedHerrings {
				if rh.Entity.Kind == "change" || rh.Entity.Kind == "flag" {
					herring = herring || (len(changeKeys) > 0 && changeKeys[0] == stored[rh.Entity.Name])
				}
			}
			check("a red herring first", !herring, fmt.Sprintf("ranked %v", changeKeys))
		})
	}
}
