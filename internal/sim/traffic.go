package sim

import (
	"hash/fnv"
	"math"
	"time"
)

// Noise is deterministic randomness: a pure function of a seed, a stream name and a counter,
// so that values do not depend on the order they are computed in, and adding a stream (a
// service, a cohort) leaves every other stream's values as they were.
type Noise struct{ Seed uint64 }

// splitmix64 is a fast, well-mixed 64-bit hash (Steele, Lea and Flood 2014).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func streamKey(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// Uniform returns a value in [0, 1) for (stream, n).
func (z Noise) Uniform(stream string, n int64) float64 {
	return float64(splitmix64(z.Seed^streamKey(stream)^splitmix64(uint64(n)))>>11) / (1 << 53)
}

// Normal returns a standard normal value for (stream, n) (Box-Muller on two uniforms).
func (z Noise) Normal(stream string, n int64) float64 {
	u1 := max(z.Uniform(stream, 2*n), 1e-12)
	u2 := z.Uniform(stream, 2*n+1)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Shape is the traffic multiplier at t relative to the daily peak: a daily curve peaking at 19:00
// UTC and lowest twelve hours earlier (4:1), weekends at 70%, Monday 10% higher.
func Shape(t time.Time) float64 {
	t = t.UTC()
	hour := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600
	// A cosine peaking at 19:00, between 0.25 and 1.
	daily := 0.625 + 0.375*math.Cos(2*math.Pi*(hour-19)/24)
	switch t.Weekday() {
	case time.Saturday, time.Sunday:
		daily *= 0.7
	case time.Monday:
		daily *= 1.1
	}
	return daily
}

// RPS is a journey's request rate at t: its base rate, the shape, and a few percent of noise
// that changes every second.
func (z Noise) RPS(j Journey, t time.Time) float64 {
	noise := 1 + 0.04*z.Normal("rps/"+j.Name, t.Unix())
	return max(0, j.BaseRPS*Shape(t)*noise)
}

// Cohort is who a request is from, so impact can be broken down.
type Cohort struct {
	Employee   bool
	Region     string
	Client     string
	AppVersion string
	Plan       string
}

// weighted picks one of values by weights from a uniform value u.
func weighted(u float64, values []string, weights []float64) string {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	u *= total
	for i, w := range weights {
		if u < w {
			return values[i]
		}
		u -= w
	}
	return values[len(values)-1]
}

// CohortOf draws the cohort of request n: 2% employees; regions eu 45%, us 40%, apac 15%;
// clients web 50%, ios 25%, android 25%, each with its current and previous app version; plans
// free 70%, pro 25%, enterprise 5%.
func (z Noise) CohortOf(n int64) Cohort {
	c := Cohort{
		Employee: z.Uniform("cohort/employee", n) < 0.02,
		Region:   weighted(z.Uniform("cohort/region", n), []string{"eu", "us", "apac"}, []float64{45, 40, 15}),
		Client:   weighted(z.Uniform("cohort/client", n), []string{"web", "ios", "android"}, []float64{50, 25, 25}),
		Plan:     weighted(z.Uniform("cohort/plan", n), []string{"free", "pro", "enterprise"}, []float64{70, 25, 5}),
	}
	versions := map[string][]string{"web": {"2026.11.3", "2026.11.2"}, "ios": {"7.2", "7.1"}, "android": {"7.2", "7.0"}}[c.Client]
	c.AppVersion = weighted(z.Uniform("cohort/version", n), versions, []float64{80, 20})
	return c
}
