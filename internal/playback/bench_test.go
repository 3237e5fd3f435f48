package playback

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb"

	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/intake"
	"github.com/sextant-sre/sextant/internal/logparse"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/servicegraph"
	"github.com/sextant-sre/sextant/internal/sim"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBackfill7d writes seven days of the default world's history (scenario 1, which
// starts its warm-up three days before the onset, inside the seven days) into real stores.
func BenchmarkBackfill7d(b *testing.B) {
	for range b.N {
		dir := b.TempDir()
		logs, err := logstore.Open(filepath.Join(dir, "logs"), logstore.Options{Retention: 30 * 24 * time.Hour, Templater: logparse.NewMiner().TemplateID})
		if err != nil {
			b.Fatal(err)
		}
		s, live := historySim(b, 1, sim.ReferenceOnset(1), 7*24*time.Hour)
		n := 0
		began := time.Now()
		st, err := Backfill(context.Background(), s, live, History{MetricsDir: filepath.Join(dir, "metrics"), Logs: logs,
			Changes: func(context.Context, changes.Change) error { n++; return nil }})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(began).Seconds(), "s/history")
		b.ReportMetric(float64(st.Samples), "samples")
		b.ReportMetric(float64(st.Lines), "lines")
		b.ReportMetric(float64(st.Blocks), "blocks")
		logs.Close()
	}
}

// BenchmarkLive plays the default world as fast as it goes through the real OTLP intake
// handlers (metrics into a TSDB, logs into the log store, traces into the service graph) over
// loopback HTTP; the changes and alerts go to a handler that only reads them. It reports
// simulated seconds per wall second: 60x needs at least 60.
func BenchmarkLive(b *testing.B) {
	dir := b.TempDir()
	db, err := tsdb.Open(filepath.Join(dir, "metrics"), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	logs, err := logstore.Open(filepath.Join(dir, "logs"), logstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer logs.Close()
	mux := http.NewServeMux()
	mux.Handle("/v1/metrics", intake.OTLPMetrics(nil, db, 64<<20))
	mux.Handle("/v1/logs", intake.OTLPLogs(logs, 64<<20))
	mux.Handle("/v1/traces", intake.OTLPTraces(servicegraph.New(2*time.Minute), 64<<20))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	sc, err := sim.Build(1, time.Now().Add(-30*time.Minute), 1)
	if err != nil {
		b.Fatal(err)
	}
	s, err := sim.New(sim.DefaultWorld(), sc, 1, sc.Onset.Add(-10*time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	st := sim.NewStream(s, sim.Protobuf)
	snd := &Sender{BaseURL: srv.URL, Token: "t"}
	ctx := context.Background()
	steps := 0
	cpu0, began := cpuTime(), time.Now()
	b.ResetTimer()
	for range b.N {
		_, ds, err := st.Next()
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range ds {
			if err := snd.Send(ctx, d); err != nil {
				b.Fatal(err)
			}
		}
		steps++
	}
	wall := time.Since(began)
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(steps)*sim.StepSize.Seconds()/wall.Seconds(), "sim-s/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(wall), "cores")
	b.ReportMetric(float64(ms.HeapInuse)/1e6, "heap-MB")
}
