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
func (z Noise) Uniform(stream string, n int64) float64 { return z.uniform(streamKey(stream), n) }

// Normal returns a standard normal value for (stream, n) (Box-Muller on two uniforms).
func (z Noise) Normal(stream string, n int64) float64 { return z.normal(streamKey(stream), n) }

// uniform and normal take the stream's key, for loops that would hash the same name each time.
func (z Noise) uniform(key uint64, n int64) float64 {
	return float64(splitmix64(z.Seed^key^splitmix64(uint64(n)))>>11) / (1 << 53)
}

func (z Noise) normal(key uint64, n int64) float64 {
	u1 := max(z.uniform(key, 2*n), 1e-12)
	u2 := z.uniform(key, 2*n+1)
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

// CohortShare is a cohort and the fraction of all requests it makes.
type CohortShare struct {
	Cohort
	Share float64
}

// Cohorts lists every cohort with its share of requests: 2% employees; regions eu 45%, us 40%,
// apac 15%; clients web 50%, ios 25%, android 25%, each with its current app version (80%) and
// the previous one; plans free 70%, pro 25%, enterprise 5%. The shares sum to 1.
func Cohorts() []CohortShare {
	type kv struct {
		v string
		p float64
	}
	regions := []kv{{"eu", .45}, {"us", .40}, {"apac", .15}}
	clients := []kv{{"web", .5}, {"ios", .25}, {"android", .25}}
	versions := map[string][]kv{"web": {{"2026.11.3", .8}, {"2026.11.2", .2}}, "ios": {{"7.2", .8}, {"7.1", .2}}, "android": {{"7.2", .8}, {"7.0", .2}}}
	plans := []kv{{"free", .7}, {"pro", .25}, {"enterprise", .05}}
	var out []CohortShare
	for _, emp := range []kv{{"false", .98}, {"true", .02}} {
		for _, r := range regions {
			for _, c := range clients {
				for _, v := range versions[c.v] {
					for _, p := range plans {
						out = append(out, CohortShare{Cohort: Cohort{Employee: emp.v == "true", Region: r.v, Client: c.v, AppVersion: v.v, Plan: p.v},
							Share: emp.p * r.p * c.p * v.p * p.p})
					}
				}
			}
		}
	}
	return out
}

// poisson draws a whole count with the given mean: exactly by inversion for small means, by the
// normal approximation (rounded) for large ones.
func (z Noise) poisson(key uint64, n int64, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	if mean > 15 {
		return max(0, math.Round(mean+math.Sqrt(mean)*z.normal(key, n)))
	}
	u := z.uniform(key, n)
	p := math.Exp(-mean)
	cum, k := p, 0.0
	for u > cum && k < 1000 {
		k++
		p *= mean / k
		cum += p
	}
	return k
}
