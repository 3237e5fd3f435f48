package analyzer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/store"
	"github.com/sextant-sre/sextant/internal/telemetry"
)

// BenchmarkAnalysis10kSeries6h runs a whole analysis over an embedded store holding 10,000
// request series (100 services × 25 instances × 4 status codes) with a sample every 15 s for
// 6 hours, journey series by cohort, and 60 changes over a week; one service starts failing an
// hour before the end. Each b.N is one full run (onset, impact and cohorts, service anomalies,
// the changes and their shifts).
// Run: go test ./internal/analyzer -run XXX -bench Analysis10kSeries6h -benchtime 5x
func BenchmarkAnalysis10kSeries6h(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	m, err := telemetry.OpenEmbedded("embedded", filepath.Join(dir, "metrics"), telemetry.EmbeddedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-6 * time.Hour)
	onset := end.Add(-time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	var series []labels.Labels
	var rates []float64
	for svc := range 100 {
		for inst := range 25 {
			for _, code := range []string{"200", "404", "500", "503"} {
				series = append(series, labels.FromStrings("__name__", "http_server_requests_total", "job", fmt.Sprintf("svc-%d", svc),
					"instance", fmt.Sprintf("svc-%d-%d", svc, inst), "code", code))
				r := 10.0
				if code != "200" {
					r = 0.01
				}
				rates = append(rates, r)
			}
		}
	}
	for _, j := range []string{"checkout", "browse", "search"} {
		for _, u := range []string{"public", "employee"} {
			for _, region := range []string{"eu", "us"} {
				for _, o := range []string{"ok", "error"} {
					series = append(series, labels.FromStrings("__name__", "journey_requests_total", "journey", j, "user_type", u, "region", region, "outcome", o))
					r := 50.0
					if o == "error" {
						r = 0.1
					}
					rates = append(rates, r)
				}
			}
		}
	}
	refs := make([]storage.SeriesRef, len(series))
	totals := make([]float64, len(series))
	for ts := start; !ts.After(end); ts = ts.Add(15 * time.Second) {
		app := m.Storage().Appender(ctx)
		for i, l := range series {
			r := rates[i]
			if !ts.Before(onset) && (l.Get("job") == "svc-7" && l.Get("code") == "500" || l.Get("journey") == "checkout" && l.Get("outcome") == "error") {
				r *= 200
			}
			totals[i] += r * 15 * (0.9 + 0.2*rng.Float64())
			if refs[i], err = app.Append(refs[i], l, ts.UnixMilli(), totals[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 60 {
		c := changes.Change{ID: fmt.Sprintf("deploy-%d", i), Time: end.Add(-time.Duration(i) * 170 * time.Minute), Kind: changes.Deploy,
			Service: fmt.Sprintf("svc-%d", i%100), To: "1.0", Source: "api"}
		if _, err := st.RecordChange(ctx, c, c.Time); err != nil {
			b.Fatal(err)
		}
	}
	a := Analyzer{Source: telemetry.Local{Metrics: m, Records: st}, Config: DefaultConfig}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	var res Result
	for b.Loop() {
		res = a.Run(ctx, onset.Add(5*time.Minute), end)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if len(res.Findings) == 0 {
		b.Fatal("no findings")
	}
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/(1<<20), "MiB-alloc/run")
}
