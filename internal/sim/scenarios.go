package sim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ScenarioInfo names a scenario for listings and flags.
type ScenarioInfo struct {
	Number int
	Name   string
	Title  string
	// Note says what to expect when the scenario plays at the present time of day.
	Note string
}

// Catalogue lists the scenarios in number order.
var Catalogue = []ScenarioInfo{
	{1, "port-exhaustion-cascade", "A new batch caller exhausts the data plane's ephemeral ports; OOM kills and restarts cascade", ""},
	{2, "bad-deploy-one-app-version", "A deploy of the mobile backend breaks one app version", ""},
	{3, "flag-breaks-employees", "A feature flag turned on for employees breaks their checkout", ""},
	{4, "hot-container", "One hot container behind a normal fleet-average CPU", ""},
	{5, "third-party-outage", "The payment provider fails; the cause is outside", ""},
	{6, "slow-memory-leak", "A leak deployed days earlier ends in OOM kills under Monday's peak",
		"its impact follows the traffic of the hour: near the daily peak the OOM kills hurt, at night they barely show (sextant sim export plays it under Monday's peak)"},
}

// ScenarioNumber resolves a scenario by number or name.
func ScenarioNumber(s string) (int, error) {
	for _, c := range Catalogue {
		if s == c.Name || s == fmt.Sprint(c.Number) {
			return c.Number, nil
		}
	}
	return 0, fmt.Errorf("no scenario %q: choose 1–%d or a name (%s, …)", s, len(Catalogue), Catalogue[0].Name)
}

// ReferenceOnset is a scenario's onset when nothing else sets it (exports): a fixed week in
// April 2026, each scenario at a time of day that suits it (the leak under Monday's peak).
func ReferenceOnset(n int) time.Time {
	monday := time.Date(2026, 4, 13, 0, 0, 0, 0, time.UTC)
	at := map[int]time.Duration{
		1: 3*24*time.Hour + 14*time.Hour + 20*time.Minute,
		2: 1*24*time.Hour + 10*time.Hour + 5*time.Minute,
		3: 2*24*time.Hour + 16*time.Hour + 40*time.Minute,
		4: 3*24*time.Hour + 19*time.Hour + 10*time.Minute,
		5: 4*24*time.Hour + 12*time.Hour + 30*time.Minute,
		6: 19 * time.Hour,
	}[n]
	return monday.Add(at)
}

var yes = true

// Build returns scenario n of the default world with its onset at the given time. The seed is
// recorded in the truth; everything else about the scenario is fixed by n and the onset.
func Build(n int, onset time.Time, seed uint64) (Scenario, error) {
	onset = onset.UTC().Truncate(StepSize)
	w := DefaultWorld()
	deploy := func(id string, at time.Time, service, to, via, summary string) Change {
		return Change{ID: id, At: at, Kind: ChangeDeploy, Service: service, From: initialVersion(service), To: to, Actor: "ci-bot", Via: via, Summary: summary}
	}
	svc := func(name, level string) Entity { return Entity{Kind: "service", Name: name, Level: level} }
	everyone := []CohortMatch{{}}
	var sc Scenario
	switch n {
	case 1:
		d := deploy("deploy-search-indexer-3.0.0", onset.Add(-3*24*time.Hour-5*time.Hour), "search-indexer", "3.0.0", "github",
			"bulk re-index: fetch every key of a shard in one GetMany")
		herring := deploy("deploy-catalog-5.2.1", onset.Add(-25*time.Minute), "catalog", "5.2.1", "cdevents", "copy change on product pages")
		sc = Scenario{Changes: []Change{d, herring}, Faults: []Fault{
			// Since the deploy, a trickle of bulk requests: TIME_WAIT on data-api rises, far from the limit.
			{Cause: d.ID, Kind: FaultBulkCaller, From: d.At.Add(10 * time.Minute), Until: onset, Service: "search-indexer", Target: "data-api", Value: 0.05, Keys: 17500},
			// The first full re-index: a few requests a second of 15,000–20,000 keys.
			{Cause: d.ID, Kind: FaultBulkCaller, From: onset, Service: "search-indexer", Target: "data-api", Value: 3, Keys: 17500, Ramp: 2 * time.Minute},
			{Cause: "transit-eu-loss", Kind: FaultPacketLoss, From: onset.Add(-8 * time.Minute), Until: onset.Add(25 * time.Minute), Link: "transit-eu", Value: 0.02},
			{Cause: "stripe-status-notice", Kind: FaultVendorStatus, From: onset.Add(6 * time.Minute), Until: onset.Add(16 * time.Minute), Service: "stripe"},
		}}
		sc.Truth = Truth{RootCause: svc("search-indexer", LevelForm), RootChange: d.ID,
			FirstFailure: Entity{Kind: "service", Name: "data-api", Level: LevelAbstract},
			Chain: []Step{
				{svc("search-indexer", LevelForm), "the new bulk re-index sends ~3 requests/s of 17,500 keys each to data-api"},
				{svc("data-api", LevelGeneralised), "the GetMany handler opens one cache connection per key, with no concurrency limit"},
				{svc("data-api", LevelAbstract), "ephemeral ports run out: TIME_WAIT holds them for 60 s; connects fail with \"bind: address already in use\""},
				{svc("data-api", LevelPhysical), "the error flood blocks log writes; OS threads multiply, memory grows, GC pauses lengthen"},
				{svc("data-api", LevelPhysical), "OOM kills and restarts into the same TIME_WAIT trap; the cache pool cannot reconnect"},
				{svc("scylla", LevelGeneralised), "cache reads fall through to the database: its load and latency rise"},
				{Entity{Kind: "journey", Name: "browse", Level: LevelPurpose}, "every journey through data-api fails intermittently, about half of requests"},
			},
			Journeys: []string{"browse", "search", "checkout", "login"}, Cohorts: everyone, CohortsSummary: "everyone, intermittently",
			RedHerrings: []RedHerring{
				{Entity{Kind: "link", Name: "transit-eu", Level: LevelAbstract}, "2% packet loss on the transit link to the payment provider", onset.Add(-8 * time.Minute)},
				{svc("scylla", LevelGeneralised), "database latency rising: cache misses falling through, an effect", onset},
				{Entity{Kind: "third-party", Name: "stripe", Level: LevelGeneralised}, "a notice on the payment provider's status page", onset.Add(6 * time.Minute)},
				{svc("auth", LevelGeneralised), "\"token expired\" errors that were always there", onset.Add(-7 * 24 * time.Hour)},
				{Entity{Kind: "change", Name: herring.ID, Level: LevelForm}, "a catalog deploy 25 minutes before the onset", herring.At},
			},
			Mitigations: []Intervention{{RateLimitCaller, "search-indexer"}, {SpreadSources, "data-api"}},
			Fix:         Intervention{Rollback, "search-indexer"},
			Ineffective: []Intervention{{Restart, "data-api"}, {ScaleOut, "data-api"}},
		}
	case 2:
		d := deploy("deploy-mobile-bff-4.8.0", onset.Add(-2*time.Minute), "mobile-bff", "4.8.0", "github", "drop the v1 product API")
		herring := Change{ID: "flag-catalog-new-ranking", At: onset.Add(-10 * time.Minute), Kind: ChangeFlag, Flag: "catalog-new-ranking", From: "off", To: "on", Actor: "pm-lena", Via: "unleash"}
		after := Change{ID: "config-api-gateway-timeouts", At: onset.Add(4 * time.Minute), Kind: ChangeConfig, Service: "api-gateway", From: "timeout=5s", To: "timeout=4s", Actor: "sre-jo", Via: "plain", Summary: "tighter upstream timeout"}
		sc = Scenario{Changes: []Change{d, herring, after}, Faults: []Fault{
			{Cause: d.ID, Kind: FaultErrors, From: onset, Service: "mobile-bff", Cohorts: CohortMatch{Client: "ios", AppVersion: "7.1"}, Value: 0.6, Ramp: time.Minute,
				Log: "GET /api/v1/products: 410 Gone: API v1 was removed (client=ios app=7.1 request_id=%d)"},
		}}
		sc.Truth = Truth{RootCause: svc("mobile-bff", LevelForm), RootChange: d.ID, FirstFailure: svc("mobile-bff", LevelGeneralised),
			Chain: []Step{
				{Entity{Kind: "change", Name: d.ID, Level: LevelForm}, "mobile-bff 4.8.0 drops the v1 product API that iOS app 7.1 still calls"},
				{svc("mobile-bff", LevelGeneralised), "60% of iOS 7.1 requests fail"},
				{Entity{Kind: "journey", Name: "browse", Level: LevelPurpose}, "browse, search and checkout fail for iOS 7.1 users"},
			},
			Journeys: []string{"browse", "search", "checkout"}, Cohorts: []CohortMatch{{Client: "ios", AppVersion: "7.1"}}, CohortsSummary: "iOS app 7.1 users only",
			RedHerrings: []RedHerring{
				{Entity{Kind: "flag", Name: "catalog-new-ranking", Level: LevelForm}, "a flag turned on 10 minutes before", herring.At},
				{Entity{Kind: "change", Name: after.ID, Level: LevelForm}, "a gateway config change after the onset", after.At},
			},
			Fix: Intervention{Rollback, "mobile-bff"}}
	case 3:
		flag := Change{ID: "flag-checkout-new-tax-engine", At: onset, Kind: ChangeFlag, Flag: "checkout-new-tax-engine", From: "off", To: "on", Actor: "pm-sam", Via: "unleash",
			Summary: "dogfood the new tax engine (employees)"}
		herring := deploy("deploy-cart-2.9.0", onset.Add(-15*time.Minute), "cart", "2.9.0", "cdevents", "bump dependencies")
		sc = Scenario{Changes: []Change{flag, herring}, Faults: []Fault{
			{Cause: flag.Flag, Kind: FaultErrors, From: onset, Service: "checkout", Cohorts: CohortMatch{Employee: &yes}, Value: 0.7,
				Log: "tax engine: TaxComputationError: no jurisdiction for cart %d"},
		}}
		sc.Truth = Truth{RootCause: Entity{Kind: "flag", Name: flag.Flag, Level: LevelForm}, RootChange: flag.ID, FirstFailure: svc("checkout", LevelGeneralised),
			Chain: []Step{
				{Entity{Kind: "flag", Name: flag.Flag, Level: LevelForm}, "the new tax engine is turned on for employees"},
				{svc("checkout", LevelGeneralised), "70% of employees' checkouts fail in the new tax engine"},
				{Entity{Kind: "journey", Name: "checkout", Level: LevelPurpose}, "checkout fails for employees only; the public is unaffected"},
			},
			Journeys: []string{"checkout"}, Cohorts: []CohortMatch{{Employee: &yes}}, CohortsSummary: "employees only",
			RedHerrings: []RedHerring{{Entity{Kind: "change", Name: herring.ID, Level: LevelForm}, "a cart deploy 15 minutes before", herring.At}},
			Fix:         Intervention{RevertFlag, flag.Flag}}
	case 4:
		herring := Change{ID: "config-cdn-edge-cache-ttl", At: onset.Add(-40 * time.Minute), Kind: ChangeConfig, Service: "cdn-edge", From: "ttl=300s", To: "ttl=600s", Actor: "sre-jo", Via: "plain", Summary: "longer cache TTL"}
		sc = Scenario{Changes: []Change{herring}, Faults: []Fault{
			{Cause: "runaway-search-2", Kind: FaultCPUHog, From: onset, Service: "search", Instance: "search-2", Value: 1.7, Ramp: 3 * time.Minute},
		}}
		inst := Entity{Kind: "instance", Name: "search-2", Level: LevelPhysical}
		sc.Truth = Truth{RootCause: inst, FirstFailure: inst,
			Chain: []Step{
				{inst, "a runaway thread takes 1.7 of the container's 2 cores"},
				{svc("search", LevelGeneralised), "search-2 queues and sheds: latency and 429/503 up, while request volume and fleet-average CPU look normal"},
				{Entity{Kind: "journey", Name: "search", Level: LevelPurpose}, "a quarter of searches land on search-2: slow, and a few percent fail"},
			},
			Journeys: []string{"search"}, Cohorts: everyone, CohortsSummary: "everyone, the requests that land on search-2",
			RedHerrings: []RedHerring{
				{Entity{Kind: "change", Name: herring.ID, Level: LevelForm}, "a CDN config change 40 minutes before", herring.At},
				{Entity{Kind: "journey", Name: "search", Level: LevelPurpose}, "evening traffic rising towards the daily peak", onset.Add(-time.Hour)},
			},
			Mitigations: []Intervention{{ScaleOut, "search"}},
			Fix:         Intervention{Restart, "search-2"}}
	case 5:
		herring := deploy("deploy-payments-3.3.0", onset.Add(-50*time.Minute), "payments", "3.3.0", "cdevents", "retry budget metrics")
		sc = Scenario{Changes: []Change{herring}, Faults: []Fault{
			{Cause: "stripe-outage", Kind: FaultErrors, From: onset, Until: onset.Add(45 * time.Minute), Service: "stripe", Value: 0.5, Ramp: time.Minute},
			{Cause: "stripe-outage", Kind: FaultLatency, From: onset, Until: onset.Add(45 * time.Minute), Service: "stripe", Value: 2000, Ramp: time.Minute},
			{Cause: "stripe-outage", Kind: FaultVendorStatus, From: onset.Add(12 * time.Minute), Until: onset.Add(50 * time.Minute), Service: "stripe"},
			{Cause: "transit-eu-loss", Kind: FaultPacketLoss, From: onset.Add(-5 * time.Minute), Until: onset.Add(20 * time.Minute), Link: "transit-eu", Value: 0.005},
		}}
		ext := Entity{Kind: "third-party", Name: "stripe", Level: LevelGeneralised}
		sc.Truth = Truth{RootCause: ext, FirstFailure: ext,
			Chain: []Step{
				{ext, "the payment provider fails half of its calls and slows to seconds"},
				{svc("payments", LevelGeneralised), "payments fails with it"},
				{Entity{Kind: "journey", Name: "checkout", Level: LevelPurpose}, "about half of checkouts fail, for everyone"},
			},
			Journeys: []string{"checkout"}, Cohorts: everyone, CohortsSummary: "everyone who checks out",
			RedHerrings: []RedHerring{
				{Entity{Kind: "change", Name: herring.ID, Level: LevelForm}, "a payments deploy 50 minutes before", herring.At},
				{Entity{Kind: "link", Name: "transit-eu", Level: LevelAbstract}, "0.5% packet loss on the transit link", onset.Add(-5 * time.Minute)},
			},
			Mitigations: []Intervention{{SetFlag, "payments-fallback-provider"}},
			Fix:         Intervention{Kind: "vendor-recovers", Target: "stripe"}}
	case 6:
		deployAt := onset.Add(-(3*24 + 4) * time.Hour)
		d := deploy("deploy-catalog-5.3.0", deployAt, "catalog", "5.3.0", "cdevents", "cache rendered product cards")
		herring := deploy("deploy-recommendations-2.4.0", onset.Add(-8*time.Hour), "recommendations", "2.4.0", "github", "new ranking model")
		leak := leakToReachLimitAt(w, "catalog", deployAt, onset)
		sc = Scenario{Changes: []Change{d, herring}, Faults: []Fault{
			{Cause: d.ID, Kind: FaultLeak, From: deployAt, Service: "catalog", Value: leak},
			{Cause: "scylla-compaction", Kind: FaultLatency, From: onset.Add(-70 * time.Minute), Until: onset.Add(-40 * time.Minute), Service: "scylla", Value: 4},
		}}
		sc.Truth = Truth{RootCause: svc("catalog", LevelForm), RootChange: d.ID, FirstFailure: Entity{Kind: "service", Name: "catalog", Level: LevelPhysical},
			Chain: []Step{
				{Entity{Kind: "change", Name: d.ID, Level: LevelForm}, fmt.Sprintf("catalog 5.3.0 keeps %.0f bytes per request it serves", leak)},
				{svc("catalog", LevelPhysical), "memory climbs for three days, faster at each daily peak; GC pauses lengthen"},
				{svc("catalog", LevelPhysical), "under Monday's peak the instances, all up since the deploy, are OOM-killed one after another"},
				{Entity{Kind: "journey", Name: "browse", Level: LevelPurpose}, "browsing slows and fails while they thrash and restart"},
			},
			Journeys: []string{"browse"}, Cohorts: everyone, CohortsSummary: "everyone, while catalog instances restart",
			RedHerrings: []RedHerring{
				{Entity{Kind: "change", Name: herring.ID, Level: LevelForm}, "a recommendations deploy the same morning", herring.At},
				{svc("scylla", LevelGeneralised), "a database latency bump from compaction an hour before", onset.Add(-70 * time.Minute)},
				{Entity{Kind: "journey", Name: "browse", Level: LevelPurpose}, "Monday's peak traffic", onset.Add(-2 * time.Hour)},
			},
			Mitigations: []Intervention{{Restart, "catalog"}, {ScaleOut, "catalog"}},
			Fix:         Intervention{Rollback, "catalog"}}
	default:
		return Scenario{}, fmt.Errorf("no scenario %d: choose 1–%d", n, len(Catalogue))
	}
	info := Catalogue[n-1]
	sc.Number, sc.Name, sc.Title, sc.Onset = n, info.Name, info.Title, onset
	sc.Truth.Scenario, sc.Truth.Name, sc.Truth.Title, sc.Truth.Seed, sc.Truth.Onset = n, info.Name, info.Title, seed, onset
	if n == 6 {
		// The leak's end depends on the traffic it meets: the onset is when the first instance
		// starts to thrash in GC (its requests time out), a few minutes before its OOM kill.
		at, err := firstThrash(sc, seed, sc.Changes[0].At, onset.Add(3*time.Hour))
		if err != nil {
			return Scenario{}, err
		}
		sc.Onset, sc.Truth.Onset = at, at
	}
	return sc, nil
}

// firstThrash runs the scenario from start and returns when an instance first spends so much
// time in GC that its requests time out.
func firstThrash(sc Scenario, seed uint64, start, until time.Time) (time.Time, error) {
	s, err := New(DefaultWorld(), sc, seed, start)
	if err != nil {
		return time.Time{}, err
	}
	s.NoTraces, s.quiet = true, true
	for s.Now().Before(until) {
		for _, in := range s.Step().Instances {
			if in.Up && in.GCPauseRatio > gcTimeouts {
				return s.Now(), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("scenario %d: no instance thrashed by %s", sc.Number, until.Format(time.RFC3339))
}

// leakToReachLimitAt is the bytes per request that fill an instance of service from its base
// memory to its limit between from and to, given the traffic the world sends it.
func leakToReachLimitAt(w World, service string, from, to time.Time) float64 {
	share := serviceShare(w, service)
	svc, _ := w.Service(service)
	total := 0.0
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		rps := 0.0
		for _, j := range w.Journeys {
			rps += j.BaseRPS * Shape(t)
		}
		total += rps * share / float64(svc.Instances) * 60
	}
	headroom := (memoryLimitMB - baseMemoryMB - 1) * 1e6 // goroutines and threads take about a megabyte
	return math.Round(1.02 * headroom / total)           // a little more: served traffic is a little less than offered
}

// serviceShare is the requests a service receives per journey request entering the world.
func serviceShare(w World, service string) float64 {
	load := map[string]float64{}
	for _, j := range w.Journeys {
		load[j.Entry] = 1
	}
	for _, name := range topoOrder(w) {
		svc, _ := w.Service(name)
		for _, c := range svc.Calls {
			load[c.To] += load[name] * c.PerRequest
		}
	}
	return load[service]
}

// WithRoutineChanges returns the scenario with the routine deploys between from and to added
// to its changes, in time order.
func (sc Scenario) WithRoutineChanges(seed uint64, from, to time.Time) Scenario {
	skip := map[string]bool{}
	for _, c := range sc.Changes {
		if c.Service != "" {
			skip[c.Service] = true
		}
	}
	out := sc
	out.Changes = append(RoutineChanges(DefaultWorld(), seed, from, to, skip), sc.Changes...)
	slices.SortStableFunc(out.Changes, func(a, b Change) int { return a.At.Compare(b.At) })
	return out
}

// WarmupStart is when the world must start so that it reaches live in the state the scenario
// needs: before its earliest change or fault (a leak deployed days earlier), and never after live.
func (sc Scenario) WarmupStart(live time.Time) time.Time {
	start := live
	for _, c := range sc.Changes {
		if c.At.Before(start) && c.ID != "" && !strings.HasPrefix(c.ID, "routine-") {
			start = c.At
		}
	}
	for _, f := range sc.Faults {
		if f.From.Before(start) {
			start = f.From
		}
	}
	return start.Add(-time.Hour).Truncate(StepSize)
}
