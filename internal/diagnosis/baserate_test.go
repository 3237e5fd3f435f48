package diagnosis

import (
	"strings"
	"testing"
	"time"
)

// The first failure's finding says whether its level since the change was already reached
// before it: never, for a clean step; in one short episode, for a step that an earlier blip
// already reached.
func TestFirstFailureSaysWhetherItsLevelWasReachedBefore(t *testing.T) {
	start := t0.Add(-90 * time.Minute)
	series := func(blip bool) Series {
		v := make([]float64, 120)
		for i := range v {
			v[i] = 0.01 + 0.001*float64(i%3)
			if i >= 90 || (blip && i >= 30 && i < 32) {
				v[i] = 0.3
			}
		}
		return Series{Entity: "service:db", Signal: "error ratio", Start: start, Step: time.Minute, Values: v}
	}
	for _, c := range []struct {
		blip bool
		want string
	}{
		{false, "its level since, 30%, was never reached in the 1.5 h before"},
		{true, "its level since, 30%, was reached in 2.2% of the 1.5 h before (1 episode, the longest 2 min)"},
	} {
		a := Anomalies([]Series{series(c.blip)}, t0)
		if len(a) != 1 {
			t.Fatalf("blip %v: %d anomalies", c.blip, len(a))
		}
		f := Causes(a, nil)
		if len(f) != 1 || !strings.HasSuffix(f[0].BaseRate, c.want) {
			t.Errorf("blip %v: base rate %q, want it to end %q", c.blip, f[0].BaseRate, c.want)
		}
	}
}

// The resource outlier's finding says the same of the hot instance's signal.
func TestResourceOutlierSaysWhetherItsLevelWasReachedBefore(t *testing.T) {
	const onset = 60
	fleet := func(hotBefore bool) []EntitySignals {
		var out []EntitySignals
		for k, name := range []string{"a", "b", "c"} {
			cpu := make([]float64, 90)
			for i := range cpu {
				cpu[i] = 0.2 + 0.01*float64((i+k)%3)
				if name == "b" && (i >= onset || (hotBefore && i >= 10 && i < 13)) {
					cpu[i] = 0.95
				}
			}
			out = append(out, EntitySignals{Entity: name, Signals: map[string][]float64{"CPU": cpu}})
		}
		return out
	}
	for _, c := range []struct {
		hotBefore bool
		want      string
	}{
		{false, "its level since, 0.95, was never reached in the 1.0 h before"},
		{true, "its level since, 0.95, was reached in 5.0% of the 1.0 h before (1 episode, the longest 3 min)"},
	} {
		f := ResourceOutlier(fleet(c.hotBefore), onset, t0, time.Minute, map[string]string{"CPU": "q"})
		if len(f) != 1 || f[0].Entities[0] != "b" {
			t.Fatalf("hot before %v: %+v", c.hotBefore, f)
		}
		if !strings.HasSuffix(f[0].BaseRate, c.want) {
			t.Errorf("hot before %v: base rate %q, want it to end %q", c.hotBefore, f[0].BaseRate, c.want)
		}
		if err := validFinding(f[0]); err != "" {
			t.Error(err)
		}
	}
}
