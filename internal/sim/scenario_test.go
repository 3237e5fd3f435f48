package sim

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// run is a scenario played from a start time, with a summary of each step.
type run struct {
	sc     Scenario
	steps  []summary
	alerts []AMNotification
	logs   map[string]int // body prefix → lines, before the onset
}

// summary is what the tests read of one frame.
type summary struct {
	t        time.Time
	journey  map[string][2]float64 // ok, errors
	cohort   map[string][2]float64 // the truth's journeys, by its cohort match: "in" and "out"
	services map[string]ServiceFrame
	inst     map[string]InstanceFrame
	links    map[string]LinkFrame
	vendor   bool
	changes  []Change
}

type cachedRun struct {
	once sync.Once
	r    *run
	err  error
}

var (
	runsMu sync.Mutex
	runs   = map[string]*cachedRun{}
)

// play runs scenario n (seed 1, reference onset) until onset+after, applying iv at onset+20m if
// given. Runs are cached: several tests read the same one.
func play(t *testing.T, n int, iv *Intervention, after time.Duration) *run {
	t.Helper()
	key := fmt.Sprint(n, iv, after)
	runsMu.Lock()
	c := runs[key]
	if c == nil {
		c = &cachedRun{}
		runs[key] = c
	}
	runsMu.Unlock()
	c.once.Do(func() { c.r, c.err = playOnce(n, iv, after) })
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.r
}

func playOnce(n int, iv *Intervention, after time.Duration) (*run, error) {
	sc, err := Build(n, ReferenceOnset(n), 1)
	if err != nil {
		return nil, err
	}
	start := sc.Onset.Add(-70 * time.Minute)
	if n == 6 {
		start = sc.WarmupStart(start)
	}
	s, err := New(DefaultWorld(), sc, 1, start)
	if err != nil {
		return nil, err
	}
	s.Advance(sc.Onset.Add(-70 * time.Minute))
	st := NewStream(s, Protobuf)
	r := &run{sc: sc, logs: map[string]int{}}
	match := CohortMatch{}
	if len(sc.Truth.Cohorts) > 0 {
		match = sc.Truth.Cohorts[0]
	}
	for s.Now().Before(sc.Onset.Add(after)) {
		if iv != nil && s.Now().Equal(sc.Onset.Add(20*time.Minute)) {
			if err := s.Apply(*iv); err != nil {
				return nil, err
			}
		}
		f := s.Step()
		r.alerts = append(r.alerts, st.rules.evaluate(s.World, f)...)
		sm := summary{t: f.Time, journey: map[string][2]float64{}, cohort: map[string][2]float64{}, services: f.Services,
			inst: map[string]InstanceFrame{}, links: map[string]LinkFrame{}, changes: f.Changes}
		for _, j := range f.Journeys {
			a := sm.journey[j.Journey]
			sm.journey[j.Journey] = [2]float64{a[0] + j.StepOK, a[1] + j.StepErrors}
			side := "out"
			if match.Matches(j.Cohort) {
				side = "in"
			}
			if slices.Contains(sc.Truth.Journeys, j.Journey) {
				c := sm.cohort[side]
				sm.cohort[side] = [2]float64{c[0] + j.StepOK, c[1] + j.StepErrors}
			}
		}
		for _, in := range f.Instances {
			in.Buckets = nil
			sm.inst[in.Name] = in
		}
		for _, l := range f.Links {
			sm.links[l.Link] = l
		}
		for _, v := range f.Vendors {
			sm.vendor = sm.vendor || v.Degraded
		}
		if f.Time.Before(sc.Onset) && f.Time.After(sc.Onset.Add(-70*time.Minute)) {
			for _, l := range f.Logs {
				r.logs[l.Service+": "+l.Body[:min(len(l.Body), 24)]]++
			}
		}
		r.steps = append(r.steps, sm)
	}
	return r, nil
}

// ratio is the error ratio of a counter pair over [from, to) relative to the onset.
func (r *run) ratio(from, to time.Duration, get func(summary) [2]float64) float64 {
	ok, bad := 0.0, 0.0
	for _, s := range r.steps {
		if !s.t.Before(r.sc.Onset.Add(from)) && s.t.Before(r.sc.Onset.Add(to)) {
			v := get(s)
			ok, bad = ok+v[0], bad+v[1]
		}
	}
	return bad / max(ok+bad, 1)
}

// first is the first step at or after from (relative to the onset) where cond holds.
func (r *run) first(from time.Duration, cond func(summary) bool) (time.Time, bool) {
	for _, s := range r.steps {
		if !s.t.Before(r.sc.Onset.Add(from)) && cond(s) {
			return s.t, true
		}
	}
	return time.Time{}, false
}

// firstWindow is the end of the first run of n steps, starting at or after from, whose error
// ratio passes cond: one step of a small cohort is too noisy to judge.
func (r *run) firstWindow(from time.Duration, n int, get func(summary) [2]float64, cond func(errs, ratio float64) bool) (time.Time, bool) {
	var win [][2]float64
	for _, s := range r.steps {
		if s.t.Before(r.sc.Onset.Add(from)) {
			continue
		}
		win = append(win, get(s))
		if len(win) > n {
			win = win[1:]
		}
		ok, bad := 0.0, 0.0
		for _, v := range win {
			ok, bad = ok+v[0], bad+v[1]
		}
		if len(win) == n && cond(bad, bad/max(ok+bad, 1)) {
			return s.t, true
		}
	}
	return time.Time{}, false
}

func journeys(names ...string) func(summary) [2]float64 {
	return func(s summary) [2]float64 {
		var out [2]float64
		for _, n := range names {
			out[0] += s.journey[n][0]
			out[1] += s.journey[n][1]
		}
		return out
	}
}

// rootSignals is, per scenario, the root cause's own signal: it must turn anomalous before the
// impact does.
var rootSignals = map[int]func(summary) bool{
	1: func(s summary) bool {
		for _, in := range s.inst {
			if in.Service == "data-api" && in.Up && in.TimeWait > 0.9*in.PortLimit {
				return true
			}
		}
		return false
	},
	2: func(s summary) bool { return s.services["mobile-bff"].ErrorRatio > 0.005 },
	3: func(s summary) bool { return s.services["checkout"].ErrorRatio > 0.003 },
	4: func(s summary) bool { return s.inst["search-2"].CPUCores > 0.95*cpuLimitCores },
	5: func(s summary) bool { return s.services["stripe"].ErrorRatio > 0.02 },
	6: func(s summary) bool {
		for _, in := range s.inst {
			if in.Service == "catalog" && in.MemoryBytes > 0.97*memoryLimitMB*1e6 {
				return true
			}
		}
		return false
	},
}

func TestScenarioTruthAgreesWithSignals(t *testing.T) {
	for _, info := range Catalogue {
		t.Run(info.Name, func(t *testing.T) {
			t.Parallel()
			r := play(t, info.Number, nil, 40*time.Minute)
			tr := r.sc.Truth
			impacted := journeys(tr.Journeys...)
			if tr.CohortsSummary != "" && tr.Cohorts[0] != (CohortMatch{}) {
				impacted = func(s summary) [2]float64 { return s.cohort["in"] }
			}
			before, during := r.ratio(-60*time.Minute, -5*time.Minute, impacted), r.ratio(5*time.Minute, 25*time.Minute, impacted)
			if before <= 0 {
				t.Errorf("the error base rate must never be zero: %v before the onset", before)
			}
			// The cascade fails about half of all requests, intermittently (docs/simulator.md).
			if info.Number == 1 && (during < 0.35 || during > 0.65) {
				t.Errorf("the cascade fails %.3f of requests, not about half", during)
			}
			if during < 5*before || during < 0.01 {
				t.Errorf("impact: the named journeys and cohorts fail at %.4f during, %.4f before", during, before)
			}
			if tr.Cohorts[0] != (CohortMatch{}) {
				out := func(s summary) [2]float64 { return s.cohort["out"] }
				if o1, o2 := r.ratio(-60*time.Minute, -5*time.Minute, out), r.ratio(5*time.Minute, 25*time.Minute, out); o2 > 3*o1+0.002 {
					t.Errorf("cohorts not named in the truth rose too: %.4f → %.4f", o1, o2)
				}
			}
			// The root cause's own signal turns anomalous no later than the impact.
			impactAt, ok := r.firstWindow(-60*time.Minute, 8, impacted, func(errs, ratio float64) bool { return errs >= 10 && ratio > 3*before+0.01 })
			if !ok {
				t.Fatal("no impact found")
			}
			rootAt, ok := r.first(-60*time.Minute, rootSignals[info.Number])
			if !ok || rootAt.After(impactAt) {
				t.Errorf("the root cause's signal (%v, found %v) must precede the impact (%v)", rootAt, ok, impactAt)
			}
			if d := impactAt.Sub(tr.Onset); d < -2*time.Minute || d > 5*time.Minute {
				t.Errorf("the impact begins at %v, %v from the truth's onset", impactAt, d)
			}
			for _, h := range tr.RedHerrings {
				if !r.herringPresent(h) {
					t.Errorf("red herring %s %q is not in the data", h.Entity.Name, h.What)
				}
			}
			if tr.RootChange != "" && !hasChange(r.sc.Changes, tr.RootChange) {
				t.Errorf("the root change %s is not among the scenario's changes", tr.RootChange)
			}
			for _, a := range r.alerts {
				if a.CommonLabels["severity"] == "page" && a.Status == "firing" && a.Alerts[0].StartsAt.Before(tr.Onset) {
					t.Errorf("a page before the onset: %s at %v", a.CommonAnnotations["summary"], a.Alerts[0].StartsAt)
				}
			}
		})
	}
}

func hasChange(cs []Change, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

// herringPresent finds a red herring in the run's data.
func (r *run) herringPresent(h RedHerring) bool {
	switch h.Entity.Kind {
	case "change", "flag":
		for _, c := range r.sc.Changes {
			if c.ID == h.Entity.Name || (c.Flag != "" && c.Flag == h.Entity.Name) {
				return true
			}
		}
	case "link":
		_, ok := r.first(-70*time.Minute, func(s summary) bool { return s.links[h.Entity.Name].PacketLoss > 0.004 })
		return ok
	case "third-party":
		_, ok := r.first(-70*time.Minute, func(s summary) bool { return s.vendor })
		return ok
	case "service":
		if h.Entity.Name == "auth" {
			for k, n := range r.logs {
				if strings.HasPrefix(k, "auth: token validation failed") && n > 10 {
					return true
				}
			}
			return false
		}
		base := r.steps[0].services[h.Entity.Name].LatencyMS
		_, ok := r.first(-70*time.Minute, func(s summary) bool { return s.services[h.Entity.Name].LatencyMS > 1.5*base })
		return ok
	case "journey":
		// Traffic shape: the rate rises towards the daily peak.
		return Shape(h.At) < Shape(r.sc.Onset)
	}
	return false
}

func TestInterventionsActOnTheWorld(t *testing.T) {
	cases := []struct {
		n       int
		iv      Intervention
		effect  string // fixes, mitigates or nothing
		journey []string
	}{
		{1, Intervention{Rollback, "search-indexer"}, "fixes", []string{"browse"}},
		{1, Intervention{RateLimitCaller, "search-indexer"}, "fixes", []string{"browse"}},
		{1, Intervention{SpreadSources, "data-api"}, "mitigates", []string{"browse"}},
		{1, Intervention{Restart, "data-api"}, "nothing", []string{"browse"}},
		{2, Intervention{Rollback, "mobile-bff"}, "fixes", nil},
		{3, Intervention{RevertFlag, "checkout-new-tax-engine"}, "fixes", nil},
		{4, Intervention{Restart, "search-2"}, "fixes", []string{"search"}},
		{5, Intervention{SetFlag, "payments-fallback-provider"}, "mitigates", []string{"checkout"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d %s %s", c.n, c.iv.Kind, c.iv.Target), func(t *testing.T) {
			t.Parallel()
			base := play(t, c.n, nil, 40*time.Minute)
			r := play(t, c.n, &c.iv, 40*time.Minute)
			get := func(s summary) [2]float64 { return s.cohort["in"] }
			if c.journey != nil {
				get = journeys(c.journey...)
			}
			before := r.ratio(-60*time.Minute, -5*time.Minute, get)
			without, with := base.ratio(30*time.Minute, 40*time.Minute, get), r.ratio(30*time.Minute, 40*time.Minute, get)
			switch c.effect {
			case "fixes":
				if with > 2*before+0.002 {
					t.Errorf("after the fix %.4f, before the onset %.4f (without it %.4f)", with, before, without)
				}
			case "mitigates":
				if with > 0.5*without || with < before {
					t.Errorf("a mitigation should more than halve the errors: %.4f with, %.4f without", with, without)
				}
			case "nothing":
				if with < 0.7*without {
					t.Errorf("this intervention should not help: %.4f with, %.4f without", with, without)
				}
			}
		})
	}
}

func TestCheckAndApplyNameWhatIsWrong(t *testing.T) {
	sc, err := Build(3, ReferenceOnset(3), 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(DefaultWorld(), sc, 1, sc.Onset.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		iv  Intervention
		err string
	}{
		{Intervention{"reboot", "x"}, "unknown intervention"},
		{Intervention{Rollback, "nope"}, "no service"},
		{Intervention{Restart, "search-99"}, ""},
		{Intervention{Restart, "search-x"}, "no service or instance"},
		{Intervention{RevertFlag, "some-flag"}, "no flag"},
		{Intervention{RevertFlag, "checkout-new-tax-engine"}, ""},
		{Intervention{SetFlag, "payments-fallback-provider"}, ""},
	} {
		err := s.Check(c.iv)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Check(%v) = %v, want %q", c.iv, err, c.err)
		}
	}
	// Check lets a flag through that Apply refuses: it has not been changed yet.
	if err := s.Apply(Intervention{RevertFlag, "checkout-new-tax-engine"}); err == nil || !strings.Contains(err.Error(), "no flag") {
		t.Errorf("reverting a flag before it changed: %v", err)
	}
	if err := s.Apply(Intervention{Rollback, "catalog"}); err == nil || !strings.Contains(err.Error(), "no deploy") {
		t.Errorf("rolling back a service never deployed: %v", err)
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	deliveries := func(seed uint64) [][]byte {
		sc, err := Build(1, ReferenceOnset(1), seed)
		if err != nil {
			t.Fatal(err)
		}
		sc = sc.WithRoutineChanges(seed, sc.Onset.Add(-24*time.Hour), sc.Onset.Add(time.Hour))
		s, err := New(DefaultWorld(), sc, seed, sc.Onset.Add(-2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		st := NewStream(s, JSON)
		var out [][]byte
		for range 16 {
			_, ds, err := st.Next()
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				out = append(out, append([]byte(d.Path+"\n"), d.Body...))
			}
		}
		return out
	}
	a, b, c := deliveries(7), deliveries(7), deliveries(8)
	if len(a) != len(b) || len(a) < 16*3 {
		t.Fatalf("%d and %d deliveries", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("delivery %d differs between two runs of the same seed", i)
		}
	}
	same := 0
	for i := range min(len(a), len(c)) {
		if bytes.Equal(a[i], c[i]) {
			same++
		}
	}
	if same > len(a)/4 {
		t.Errorf("another seed gives %d of %d identical deliveries", same, len(a))
	}
}
