package analyzer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/playback"
	"github.com/sextant-sre/sextant/internal/sim"
	"github.com/sextant-sre/sextant/internal/store"
	"github.com/sextant-sre/sextant/internal/telemetry"
)

// scenarioRun writes a scenario's history up to `after` past its onset into a real embedded
// store and a real SQLite change record, and runs the analysis as if the incident had been
// declared `declaredAfter` past the onset.
func scenarioRun(t *testing.T, n int, after, declaredAfter time.Duration) (sim.Truth, Result) {
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
	if _, err := playback.Backfill(ctx, s, end, playback.History{MetricsDir: filepath.Join(dir, "metrics"),
		Changes: func(ctx context.Context, c changes.Change) error {
			_, err := st.RecordChange(ctx, c, c.Time)
			return err
		}}); err != nil {
		t.Fatal(err)
	}
	m, err := telemetry.OpenEmbedded("embedded", filepath.Join(dir, "metrics"), telemetry.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a := Analyzer{Source: telemetry.Local{Metrics: m, Records: st}, Config: DefaultConfig}
	return sc.Truth, a.Run(ctx, onset.Add(declaredAfter), end)
}

func TestScenarioScratch(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	for n := 1; n <= 6; n++ {
		truth, res := scenarioRun(t, n, 20*time.Minute, 3*time.Minute)
		fmt.Printf("\n=== scenario %d %s onset %s detected %s; root change %s\n", n, truth.Name, truth.Onset.Format("15:04:05"), res.Onset.Format("15:04:05"), truth.RootChange)
		for _, f := range res.Findings {
			fmt.Printf("  [%s %.2f c%.2f] %s\n", f.Kind, f.Score, f.Confidence, f.Title)
			if f.Kind == incident.FindingChange {
				fmt.Printf("       %s | %s\n", f.Evidence[0].Summary, f.BaseRate)
			}
		}
		fmt.Println("  not examined:", res.NotExamined)
	}
}
