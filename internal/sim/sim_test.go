package sim

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultWorld(t *testing.T) {
	w := DefaultWorld()
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(w.Services) < 15 {
		t.Fatalf("%d services, want at least 15", len(w.Services))
	}
	tiers := map[Tier]bool{}
	for _, s := range w.Services {
		tiers[s.Tier] = true
	}
	for _, tier := range []Tier{TierEdge, TierGateway, TierFrontend, TierAuth, TierInternal, TierBatch, TierData, TierExternal} {
		if !tiers[tier] {
			t.Errorf("no service in tier %s", tier)
		}
	}
	payments, _ := w.Service("payments")
	if len(payments.Calls) != 1 || payments.Calls[0].To != "stripe" || payments.Calls[0].Via == "" {
		t.Fatalf("the third party is reached over a transit link: %+v", payments.Calls)
	}
	insts := w.Instances()
	nodes := map[string]int{}
	for _, i := range insts {
		nodes[i.Node]++
	}
	if len(nodes) != len(w.Nodes) || insts[0].Name != "cdn-edge-0" {
		t.Fatalf("placement: %v", nodes)
	}
}

func TestValidateNamesWhatIsWrong(t *testing.T) {
	cases := []struct {
		name   string
		tweak  func(*World)
		expect string
	}{
		{"unknown callee", func(w *World) { w.Services[0].Calls = append(w.Services[0].Calls, Call{To: "nope", PerRequest: 1}) }, "unknown service nope"},
		{"cycle", func(w *World) {
			i := len(w.Services) - 3 // memcache calls back up to cdn-edge
			w.Services[i].Calls = []Call{{To: "cdn-edge", PerRequest: 1}}
		}, "cycle"},
		{"zero error base rate", func(w *World) { w.Services[2].ErrorRatio = 0 }, "error base rate"},
		{"duplicate", func(w *World) { w.Services = append(w.Services, w.Services[0]) }, "defined twice"},
		{"journey at nowhere", func(w *World) { w.Journeys[0].Entry = "nope" }, "unknown service"},
	}
	for _, c := range cases {
		w := DefaultWorld()
		c.tweak(&w)
		if err := w.Validate(); err == nil || !strings.Contains(err.Error(), c.expect) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestNoiseIsDeterministicAndIndependent(t *testing.T) {
	a, b := Noise{Seed: 42}, Noise{Seed: 42}
	for n := range int64(1000) {
		if a.Uniform("x", n) != b.Uniform("x", n) || a.Normal("y", n) != b.Normal("y", n) {
			t.Fatal("the same seed gave different values")
		}
	}
	if a.Uniform("x", 1) == (Noise{Seed: 43}).Uniform("x", 1) {
		t.Fatal("another seed gave the same value")
	}
	if a.Uniform("x", 1) == a.Uniform("z", 1) {
		t.Fatal("two streams gave the same value")
	}
	var sum, sq float64
	const n = 200_000
	for i := range int64(n) {
		v := a.Normal("stats", i)
		sum += v
		sq += v * v
	}
	mean, sd := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
	if math.Abs(mean) > 0.01 || math.Abs(sd-1) > 0.01 {
		t.Fatalf("normal noise: mean %.4f, sd %.4f", mean, sd)
	}
}

func TestShape(t *testing.T) {
	wed := time.Date(2026, 4, 8, 0, 0, 0, 0, time.UTC) // a Wednesday
	peak, trough := Shape(wed.Add(19*time.Hour)), Shape(wed.Add(7*time.Hour))
	if math.Abs(peak-1) > 1e-9 || math.Abs(trough-0.25) > 1e-9 {
		t.Fatalf("daily peak %.3f, trough %.3f", peak, trough)
	}
	if sat := Shape(wed.Add(3*24*time.Hour + 19*time.Hour)); math.Abs(sat-0.7) > 1e-9 {
		t.Fatalf("Saturday peak %.3f", sat)
	}
	if mon := Shape(wed.Add(5*24*time.Hour + 19*time.Hour)); math.Abs(mon-1.1) > 1e-9 {
		t.Fatalf("Monday peak %.3f", mon)
	}
	z := Noise{Seed: 1}
	j := DefaultWorld().Journeys[0]
	if r := z.RPS(j, wed.Add(19*time.Hour)); math.Abs(r/j.BaseRPS-1) > 0.2 {
		t.Fatalf("peak rate %.1f for base %.1f", r, j.BaseRPS)
	}
}

func TestCohortShares(t *testing.T) {
	got := map[string]float64{}
	total := 0.0
	for _, c := range Cohorts() {
		total += c.Share
		got["region="+c.Region] += c.Share
		got["client="+c.Client] += c.Share
		got["plan="+c.Plan] += c.Share
		if c.Employee {
			got["employee"] += c.Share
		}
		if c.Client == "ios" && c.AppVersion == "7.2" {
			got["ios 7.2"] += c.Share
		}
	}
	if math.Abs(total-1) > 1e-9 {
		t.Fatalf("shares sum to %v", total)
	}
	want := map[string]float64{"region=eu": 0.45, "region=us": 0.40, "region=apac": 0.15, "client=web": 0.5, "client=ios": 0.25,
		"plan=free": 0.7, "plan=enterprise": 0.05, "employee": 0.02, "ios 7.2": 0.2}
	for k, share := range want {
		if math.Abs(got[k]-share) > 1e-9 {
			t.Errorf("%s: %.3f, want %.2f", k, got[k], share)
		}
	}
}

// Every span of a step has its own id: trace processors count a span id seen twice once.
func TestSpanIDsAreUnique(t *testing.T) {
	sc, err := Build(1, ReferenceOnset(1), 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(DefaultWorld(), sc, 1, sc.Onset.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	spans := 0
	for range 4 {
		f := s.Step()
		for _, tr := range f.Traces {
			for _, sp := range tr.Spans {
				if seen[sp.SpanID] {
					t.Fatalf("span id %s of %s given twice", sp.SpanID, sp.Service)
				}
				seen[sp.SpanID] = true
				spans++
			}
		}
	}
	if spans < 20 {
		t.Fatalf("only %d spans in four steps", spans)
	}
}
