package diagnosis

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/breakdown"
	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/incident"
)

var t0 = time.Date(2026, 4, 16, 14, 0, 0, 0, time.UTC)

func TestRankChanges(t *testing.T) {
	g := Graph{"gateway": {"checkout"}, "checkout": {"payments", "db"}, "batch": {"db"}}
	cs := []changes.Change{
		{ID: "after", Time: t0.Add(time.Minute), Kind: changes.Deploy, Service: "checkout", From: "1", To: "2"},
		{ID: "same", Time: t0.Add(-10 * time.Minute), Kind: changes.Deploy, Service: "checkout", From: "1.4.1", To: "1.4.2"},
		{ID: "unrelated", Time: t0.Add(-5 * time.Minute), Kind: changes.Deploy, Service: "search", To: "9"},
		{ID: "caller-days-ago", Time: t0.Add(-72 * time.Hour), Kind: changes.Deploy, Service: "batch", To: "3.0"},
		{ID: "flag", Time: t0.Add(-2 * time.Minute), Kind: changes.Flag, Flag: "checkout-new-tax", From: "off", To: "on"},
	}
	cases := []struct {
		name    string
		failing []string
		shift   map[string]ShiftEvidence
		first   string
	}{
		{"the failing service's own recent deploy", []string{"checkout"}, nil, "change:flag"},
		{"a days-old caller whose behaviour moved", []string{"db"}, map[string]ShiftEvidence{"caller-days-ago": {Signal: "open connections", Z: 40}}, "change:caller-days-ago"},
	}
	for _, c := range cases {
		out := RankChanges(cs, ChangeContext{Onset: t0, Failing: c.failing, Graph: g, Shift: c.shift})
		if len(out) == 0 || out[0].Key != c.first {
			t.Errorf("%s: ranked %v, want %s first", c.name, keys(out), c.first)
		}
		for _, f := range out {
			if f.Key == "change:after" {
				t.Errorf("%s: a change after the onset ranked as a candidate", c.name)
			}
			if err := validFinding(f); err != "" {
				t.Errorf("%s: %s", c.name, err)
			}
		}
		if !strings.Contains(strings.Join(out[0].NotExamined, " "), "after the onset") {
			t.Errorf("%s: the top finding does not say a change after the onset was left out", c.name)
		}
	}
	// The flag is undone by turning it back; a deploy by rolling back.
	out := RankChanges(cs, ChangeContext{Onset: t0, Failing: []string{"checkout"}, Graph: g})
	actions := map[string]string{}
	for _, f := range out {
		actions[f.Key] = f.Action
	}
	if actions["change:flag"] != "turn flag checkout-new-tax back to off" || actions["change:same"] != "roll checkout back to 1.4.1" {
		t.Errorf("actions: %v", actions)
	}
	// Each candidate is read against how many changes came before the onset.
	if !strings.Contains(out[0].BaseRate, "recorded changes in the") || !strings.Contains(out[0].BaseRate, "of them to the failing services") {
		t.Errorf("base rate: %q", out[0].BaseRate)
	}
}

func keys(fs []incident.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key)
	}
	return out
}

// validFinding checks what every finding must carry.
func validFinding(f incident.Finding) string {
	switch {
	case f.Title == "" || f.Key == "":
		return "no title or key"
	case len(f.Evidence) == 0:
		return f.Key + ": no evidence"
	case f.Refutation == "":
		return f.Key + ": says nothing of what would refute it"
	case f.Confidence < 0 || f.Confidence > 1 || math.IsNaN(f.Score):
		return f.Key + ": confidence or score out of range"
	}
	return ""
}

func TestCausesOrdersAndSaysWhenItCannot(t *testing.T) {
	g := Graph{"gateway": {"api"}, "api": {"db"}}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	clear := []Anomaly{
		{Entity: "service:db", Signal: "error ratio", At: at(0), Lo: at(0), Hi: at(0), Before: 0.001, After: 0.3, Shift: 50},
		{Entity: "service:api", Signal: "error ratio", At: at(2), Lo: at(2), Hi: at(2), Before: 0.001, After: 0.2, Shift: 40},
	}
	f := Causes(clear, g)
	if len(f) != 1 || !strings.HasPrefix(f[0].Title, "First failure: db") || !strings.Contains(f[0].Evidence[1].Summary, "api (") {
		t.Fatalf("%+v", f)
	}
	// The same moment, to the data's resolution: the graph says api calls db, so db is first;
	// without a graph nothing can tell them apart.
	tied := []Anomaly{{Entity: "service:api", Signal: "error ratio", At: at(0), Lo: at(0), Hi: at(1), Shift: 60}, clear[0]}
	if f = Causes(tied, g); !strings.HasPrefix(f[0].Title, "First failure: db") {
		t.Errorf("tied onsets with a graph: %s", f[0].Title)
	}
	// A dependency whose error ratio rose far less than its caller's does not explain it.
	slight := []Anomaly{{Entity: "service:api", Signal: "error ratio", At: at(0), Lo: at(0), Hi: at(1), Before: 0.001, After: 0.6, Shift: 60},
		{Entity: "service:db", Signal: "error ratio", At: at(0), Lo: at(0), Hi: at(0), Before: 0.001, After: 0.01, Shift: 9}}
	if f = Causes(slight, g); !strings.HasPrefix(f[0].Title, "Inconclusive: api and db began") {
		t.Errorf("a slight failure in a dependency: %s", f[0].Title)
	}
	f = Causes(tied, nil)
	if !strings.HasPrefix(f[0].Title, "Inconclusive") || f[0].Confidence != 0.5 {
		t.Errorf("tied onsets without a graph: %s (confidence %.2f)", f[0].Title, f[0].Confidence)
	}
	if Causes(nil, g) != nil {
		t.Error("a cause with no anomaly")
	}
}

func TestAnomalies(t *testing.T) {
	flat := make([]float64, 120)
	step := make([]float64, 120)
	old := make([]float64, 120)
	for i := range flat {
		flat[i] = 0.01 + 0.001*float64(i%3)
		step[i] = flat[i]
		old[i] = flat[i]
		if i >= 90 {
			step[i] = 0.3
		}
		if i >= 10 {
			old[i] = 0.3 // a level that changed long before the onset: the base rate
		}
	}
	start := t0.Add(-90 * time.Minute)
	got := Anomalies([]Series{
		{Entity: "service:flat", Signal: "error ratio", Start: start, Step: time.Minute, Values: flat},
		{Entity: "service:step", Signal: "error ratio", Start: start, Step: time.Minute, Values: step},
		{Entity: "service:old", Signal: "error ratio", Start: start, Step: time.Minute, Values: old},
	}, t0)
	if len(got) != 1 || got[0].Entity != "service:step" || !got[0].At.Equal(t0) {
		t.Fatalf("%+v", got)
	}
}

func TestImpactAndWhom(t *testing.T) {
	var leaves []breakdown.Leaf
	for _, j := range []string{"checkout", "browse"} {
		for _, u := range []string{"public", "employee"} {
			den := 10000.0
			if u == "employee" {
				den = 400
			}
			num := den * 0.002
			if j == "checkout" && u == "employee" {
				num = den * 0.5
			}
			leaves = append(leaves, breakdown.Leaf{Values: []string{j, u}, Num: num, Den: den, BaseNum: den * 0.002, BaseDen: den})
		}
	}
	degraded, fs := Impact(Cohorts{Dims: []string{"journey", "user_type"}, Journey: "journey", Leaves: leaves,
		Query: "q", BaseQuery: "b", Since: t0, Baseline: 6 * time.Hour})
	if len(degraded) != 1 || degraded[0].Journey != "checkout" {
		t.Fatalf("degraded: %+v", degraded)
	}
	var whom string
	for _, f := range fs {
		if f.Kind == incident.FindingBreakdown {
			whom = f.Title
		}
		if err := validFinding(f); err != "" {
			t.Error(err)
		}
	}
	if !strings.Contains(whom, "user_type=employee") {
		t.Errorf("for whom: %q", whom)
	}
	// The same counts as slow requests: the latency signal's own keys and words.
	_, fs = Impact(Cohorts{Dims: []string{"journey", "user_type"}, Journey: "journey", Leaves: leaves,
		Query: "q", BaseQuery: "b", Since: t0, Baseline: 6 * time.Hour, Signal: Latency})
	if len(fs) != 2 || fs[0].Key != "impact-latency:checkout" || !strings.Contains(fs[0].Title, "slower than the objective") ||
		!strings.HasPrefix(fs[1].Key, "cohort-latency:") {
		t.Fatalf("latency findings: %+v", fs)
	}
}

func TestShift(t *testing.T) {
	before := []float64{10, 11, 10, 9, 10, 11, 10}
	cases := []struct {
		after []float64
		min   float64
		max   float64
		ok    bool
	}{
		{[]float64{10, 10, 11, 9, 10}, 0, 1, true},
		{[]float64{30, 31, 29, 30, 30}, 15, 1e9, true},
		{[]float64{30, 31}, 0, 0, false},
		{[]float64{math.NaN(), 10, 10, 10, 10, 10}, 0, 1, true},
	}
	// A series flat at zero that moves: a large shift, not an endless one.
	if z, ok := Shift([]float64{0, 0, 0, 0, 0}, []float64{50, 50, 50, 50, 50}); !ok || z < 50 || z > 1000 {
		t.Errorf("from zero: %.2f %v", z, ok)
	}
	for i, c := range cases {
		z, ok := Shift(before, c.after)
		if ok != c.ok || z < c.min || z > c.max {
			t.Errorf("case %d: %.2f %v", i, z, ok)
		}
	}
}
