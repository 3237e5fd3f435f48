package anomaly

import (
	"math"
	"testing"
)

func step(n, at int, before, after, noise float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = before + noise*math.Sin(float64(i)*2.1)
		if i >= at {
			out[i] = after + noise*math.Sin(float64(i)*2.1)
		}
	}
	return out
}

func TestFindOnset(t *testing.T) {
	o := FindOnset(step(100, 60, 10, 20, 1), 3)
	if !o.Found || o.At != 60 || o.Lo > 60 || o.Hi < 60 || o.Shift < 5 || math.Abs(o.Before-10) > 1 || math.Abs(o.After-20) > 1 {
		t.Fatalf("a clear step at 60: %+v", o)
	}
	// A smaller step against the same noise is placed less surely: a wider interval.
	small := FindOnset(step(100, 60, 10, 11.5, 1), 0.5)
	if small.Hi-small.Lo <= o.Hi-o.Lo {
		t.Fatalf("interval for a small step %d, for a large one %d", small.Hi-small.Lo, o.Hi-o.Lo)
	}
	// A drop is found like a rise, with a negative shift.
	if d := FindOnset(step(100, 30, 20, 10, 1), 3); !d.Found || d.At != 30 || d.Shift > -5 {
		t.Fatalf("a drop: %+v", d)
	}
	// Noise alone is no change.
	if n := FindOnset(step(100, 100, 10, 10, 1), 3); n.Found {
		t.Fatalf("noise: %+v", n)
	}
	if short := FindOnset([]float64{1, 2, 3}, 1); short.Found {
		t.Fatal("too short to tell")
	}
}

func TestBaseRateOf(t *testing.T) {
	ref := []float64{1, 1, 1, 5, 5, 1, 1, 5, 1, 1}
	br := BaseRateOf(ref, 5)
	if br.Share != 0.3 || br.Episodes != 2 || br.Longest != 2 || br.Novel || br.Typical != 1 || br.Peak != 5 {
		t.Fatalf("level 5: %+v", br)
	}
	if br := BaseRateOf(ref, 9); !br.Novel || br.Share != 0 || br.Episodes != 0 {
		t.Fatalf("level 9 was never reached: %+v", br)
	}
	// A drop below the usual level is measured on the low side.
	if br := BaseRateOf([]float64{10, 10, 2, 10, 10, 10}, 3); br.Share != 1.0/6 || br.Episodes != 1 || br.Peak != 2 {
		t.Fatalf("a low level: %+v", br)
	}
	if br := BaseRateOf(nil, 1); !br.Novel {
		t.Fatal("no reference: nothing was seen before")
	}
}

func TestSeasonalDeviation(t *testing.T) {
	const period = 24
	daily := make([]float64, 3*period+1)
	for i := range daily {
		daily[i] = 100 + 50*math.Sin(2*math.Pi*float64(i)/period) + math.Sin(float64(i)*1.7)
	}
	if z, ok := SeasonalDeviation(daily, period); !ok || math.Abs(z) > 2 {
		t.Fatalf("the usual daily peak is not an anomaly: %v %v", z, ok)
	}
	daily[len(daily)-1] += 30
	if z, ok := SeasonalDeviation(daily, period); !ok || z < 5 {
		t.Fatalf("30 above the same time yesterday: %v", z)
	}
	if _, ok := SeasonalDeviation(daily[:period+5], period); ok {
		t.Fatal("less than two periods of history")
	}
	// With a weekly period too, a week that has not happened yet is simply not compared.
	if z, ok := SeasonalDeviation(daily, period, 7*period); !ok || z < 5 {
		t.Fatalf("a day and a week: %v %v", z, ok)
	}
}
