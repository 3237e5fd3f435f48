package logparse

import (
	"math"
	"testing"
	"time"
)

func TestPoissonTail(t *testing.T) {
	for _, c := range []struct {
		mean float64
		k    int
		want float64
	}{
		{2, 0, 1},
		{2, 1, 1 - math.Exp(-2)},         // 1 - P(0)
		{2, 3, 1 - math.Exp(-2)*(1+2+2)}, // 1 - P(0) - P(1) - P(2)
		{1, 10, 1.1142547833872e-07},     // the upper sum, to the first digits
	} {
		if got := poissonTail(c.mean, c.k); math.Abs(got-c.want) > 1e-12+1e-6*c.want {
			t.Errorf("P(X ≥ %d | %v) = %v, want %v", c.k, c.mean, got, c.want)
		}
	}
}

func TestPatternChanges(t *testing.T) {
	// A reference day and a ten-minute window: 144 windows in the reference span.
	ref := map[uint32]int{1: 1440, 2: 144, 3: 14400}
	win := map[uint32]int{
		1: 12,  // 10 expected: ordinary
		2: 40,  // 1 expected: a surge
		3: 120, // 100 expected: 1.2 times, not a surge
		4: 25,  // never seen: new
		5: 1,   // never seen, but a single line
	}
	got := PatternChanges(ref, win, 24*time.Hour, 10*time.Minute, 3)
	if len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	kinds := map[uint32]PatternKind{}
	for _, c := range got {
		kinds[c.Template] = c.Kind
	}
	if kinds[2] != PatternSurge || kinds[4] != PatternNew {
		t.Fatalf("%+v", got)
	}
	for _, c := range got {
		if c.Template == 2 && (math.Abs(c.Expected-1) > 1e-9 || c.Ratio != 40 || c.PValue > 1e-20) {
			t.Fatalf("the surge: %+v", c)
		}
	}
	if PatternChanges(ref, win, 0, time.Minute, 1) != nil {
		t.Fatal("an empty reference span has no rate")
	}
}
