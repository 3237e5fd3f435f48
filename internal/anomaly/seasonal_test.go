package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
)

// daily is a day of 288 samples (five minutes each): low at night, high from 9:00 to 18:00,
// with noise.
func daily(rnd *rand.Rand, day int, rises bool) []float64 {
	out := make([]float64, 288)
	for i := range out {
		v := 20.0
		if rises && i >= 108 && i < 216 {
			v = 80
		}
		out[i] = v + rnd.NormFloat64()
	}
	return out
}

// The morning rise that does not come is wrong for the hour but an ordinary level for the
// series: only the comparison with earlier days sees it.
func TestSeasonalSeesTheRiseThatDoesNotCome(t *testing.T) {
	for _, period := range []int{0, 288} {
		rnd := rand.New(rand.NewPCG(1, 2))
		cfg := DefaultConfig
		cfg.Period = period
		d := NewDetector(cfg)
		before := 0.0
		for day := range 10 {
			for _, v := range daily(rnd, day, true) {
				s := d.Add(v)
				if day >= 8 {
					before = max(before, s)
				}
			}
		}
		missing := 0.0
		for _, v := range daily(rnd, 10, false) {
			missing = max(missing, d.Add(v))
		}
		switch {
		case period > 0 && (missing < 0.9 || before > 0.5):
			t.Errorf("with the day's period: the missing rise scored %.3f, ordinary days up to %.3f", missing, before)
		case period == 0 && missing > 0.5:
			t.Errorf("without the period the missing rise scored %.3f: the test no longer shows what the period adds", missing)
		}
	}
}

// A series that does not repeat from day to day scores the same with a period as without.
func TestSeasonalStaysOutOfASeriesThatIsNotPeriodic(t *testing.T) {
	values := noisyWalk(rand.New(rand.NewPCG(3, 4)), 5000)
	with := DefaultConfig
	with.Period = 288
	a, b := NewDetector(DefaultConfig), NewDetector(with)
	for i, v := range values {
		if sa, sb := a.Add(v), b.Add(v); sa != sb {
			t.Fatalf("sample %d: %v without the period, %v with it", i, sa, sb)
		}
	}
	for _, s := range b.seasons {
		if s.inner != nil {
			t.Errorf("the residuals' detector (a cycle of %d samples) started on a series that is not periodic", s.period)
		}
	}
}

// A missing sample keeps its place: the days stay aligned and the missing rise is still seen.
func TestSeasonalKeepsTheDaysAlignedOverAGap(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	cfg := DefaultConfig
	cfg.Period = 288
	d := NewDetector(cfg)
	for day := range 10 {
		for i, v := range daily(rnd, day, true) {
			if day == 8 && i == 50 {
				v = math.NaN()
			}
			if s := d.Add(v); day >= 9 && s > 0.5 {
				t.Fatalf("day %d, sample %d: an ordinary sample scored %.3f", day, i, s)
			}
		}
	}
	missing := 0.0
	for _, v := range daily(rnd, 10, false) {
		missing = max(missing, d.Add(v))
	}
	if missing < 0.9 {
		t.Errorf("after a gap the missing rise scored %.3f", missing)
	}
}

// A weekday that looks like a Sunday (a holiday) is ordinary for the series, and for the hour
// of a day in general; only the same day of earlier weeks says it is not. On the ordinary days
// before it, the comparisons add nothing that reads as an alarm: the daily one stays out, as
// the series is not the same from one day to the next over a week.
func TestSeasonalSeesAWeekdayLikeASunday(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	cfg := DefaultConfig
	cfg.Period = 288
	with, without := NewDetector(cfg), NewDetector(DefaultConfig)
	added, holiday, holidayWithout := 0.0, 0.0, 0.0
	for day := range 37 {
		weekend := day%7 >= 5
		for _, v := range daily(rnd, day, !weekend && day != 36) {
			a, b := with.Add(v), without.Add(v)
			switch {
			case day == 36:
				holiday, holidayWithout = max(holiday, a), max(holidayWithout, b)
			case day >= 29:
				added = max(added, a-b)
			}
		}
	}
	if holiday < 0.9 || holidayWithout > 0.5 || added > 0.5 {
		t.Errorf("the holiday scored %.3f with the period and %.3f without; the week before, the period added up to %.3f",
			holiday, holidayWithout, added)
	}
	if with.seasons[0].inner != nil {
		t.Error("the daily comparison started on a series that is weekly")
	}
}

// noisyWalk is a random walk from 100 with noise three times its steps on top.
func noisyWalk(rnd *rand.Rand, n int) []float64 {
	values := make([]float64, n)
	walk := 100.0
	for i := range values {
		walk += rnd.NormFloat64()
		values[i] = walk + 3*rnd.NormFloat64()
	}
	return values
}
