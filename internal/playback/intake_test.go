package playback

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/sextant-sre/sextant/internal/intake"
	"github.com/sextant-sre/sextant/internal/sim"
)

// streamFrames runs scenario 1 around its onset and returns some frames.
func streamFrames(t *testing.T, n int) []sim.Frame {
	t.Helper()
	sc, err := sim.Build(1, sim.ReferenceOnset(1), 3)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.DefaultWorld(), sc, 3, sc.Onset.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var out []sim.Frame
	for range n {
		out = append(out, s.Step())
	}
	return out
}

type sample struct {
	labels string
	t      int64
	v      float64
}

func stored(t *testing.T, db *tsdb.DB) []sample {
	t.Helper()
	q, err := db.Querier(0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	var out []sample
	for set.Next() {
		it := set.At().Iterator(nil)
		for it.Next() != 0 {
			ts, v := it.At()
			out = append(out, sample{set.At().Labels().String(), ts, v})
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHistoryIsWhatTheIntakeWouldStore holds the backfill to the live path: the samples written
// straight into the store are those the OTLP intake stores for the same frames, series for
// series and value for value, and so are the log lines.
func TestHistoryIsWhatTheIntakeWouldStore(t *testing.T) {
	frames := streamFrames(t, 3)
	viaIntake, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer viaIntake.Close()
	h := intake.OTLPMetrics(nil, viaIntake, 64<<20)
	direct, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	start := frames[0].Time.Add(-time.Hour)
	for _, f := range frames {
		body, err := pmetricotlp.NewExportRequestFromMetrics(sim.OTLPMetrics(f, start)).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/metrics", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-protobuf")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("intake: %d %s", rec.Code, rec.Body)
		}
		app := direct.Appender(context.Background())
		series := promLabels(f)
		for i, v := range sim.PromValues(f, nil) {
			if _, err := app.Append(storage.SeriesRef(0), series[i], f.Time.UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	a, b := stored(t, viaIntake), stored(t, direct)
	// The intake also writes target_info, one series per resource with its other attributes:
	// history leaves it out (the resources are the same as live).
	a = slices.DeleteFunc(a, func(s sample) bool { return strings.Contains(s.labels, `__name__="target_info"`) })
	if len(a) != len(b) || len(a) < 3000*len(frames) {
		t.Fatalf("%d samples through the intake, %d written directly", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("sample %d differs:\n intake %+v\n direct %+v", i, a[i], b[i])
		}
	}

	for _, f := range frames {
		want := intake.LogLines(sim.OTLPLogs(f.Logs), f.Time)
		got := historyLines{}.convert(f.Logs)
		if len(want) == 0 || !reflect.DeepEqual(want, got) {
			t.Fatalf("log lines differ: %d through the intake, %d directly", len(want), len(got))
		}
	}
}
