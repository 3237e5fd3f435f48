package diagnosis

import (
	"math"
	"slices"
)

// Shift is how far the median of after moved from the median of before, in units of before's
// spread (the MAD as a standard deviation, never less than 5% of before's median nor 1% of
// after's, so that a flat series does not turn every wobble into a large shift, nor a series
// flat at zero every move into an endless one). NaNs are ignored; fewer than 5 values on either
// side measure nothing (0, false).
func Shift(before, after []float64) (float64, bool) {
	b, a := finite(before), finite(after)
	if len(b) < 5 || len(a) < 5 {
		return 0, false
	}
	mb, ma := median(b), median(a)
	dev := make([]float64, len(b))
	for i, v := range b {
		dev[i] = math.Abs(v - mb)
	}
	spread := max(1.4826*median(dev), 0.05*math.Abs(mb), 0.01*math.Abs(ma), 1e-9)
	return math.Abs(ma-mb) / spread, true
}

func finite(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
