// Package analyzer runs the diagnosis of an incident: it reads the telemetry around the incident
// through a telemetry.Source, hands plain values to internal/diagnosis, and turns the findings
// into incident-log drafts that supersede the previous run's. A source that cannot answer
// degrades one part of the analysis, said in the findings' "not examined"; it never fails the
// whole run.
package analyzer

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/sextant-sre/sextant/internal/anomaly"
	"github.com/sextant-sre/sextant/internal/breakdown"
	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/diagnosis"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/telemetry"
)

// Config names the metrics the analysis reads and the windows it looks at.
type Config struct {
	// JourneyMetric counts user-journey requests by journey, outcome and cohort labels; the
	// outcome ErrorOutcome counts failures, SlowOutcome successes slower than the journey's
	// latency objective (a journey that records none has no latency impact).
	JourneyMetric, JourneyLabel, OutcomeLabel, ErrorOutcome, SlowOutcome string
	// RequestMetric counts requests served per service (the service in ServiceLabel) by status
	// code in CodeLabel.
	RequestMetric, ServiceLabel, CodeLabel string
	// Baseline is how long before the onset the impact is compared with; Lookback how far back
	// changes are considered; Before how far before the declaration the onset is looked for.
	Baseline, Lookback, Before time.Duration
	// Step is the resolution of the series read; RateWindow the window of their rates (at least
	// two scrapes of the slowest data: history may hold a sample a minute).
	Step, RateWindow time.Duration
	// LogReference is the period before the onset that log patterns are compared with.
	LogReference time.Duration
}

// DefaultConfig follows OpenTelemetry's translation into Prometheus names.
var DefaultConfig = Config{
	JourneyMetric: "journey_requests_total", JourneyLabel: "journey", OutcomeLabel: "outcome", ErrorOutcome: "error", SlowOutcome: "slow",
	RequestMetric: "http_server_requests_total", ServiceLabel: "job", CodeLabel: "code",
	Baseline: 6 * time.Hour, Lookback: 7 * 24 * time.Hour, Before: 2 * time.Hour, Step: 30 * time.Second, RateWindow: 3 * time.Minute,
	LogReference: 24 * time.Hour,
}

// Analyzer runs analyses against one source.
type Analyzer struct {
	Source telemetry.Source
	Config Config
	// Progress, if set, is told each stage of a run as it begins (step of steps, from 1), so that
	// a long run can show how far it is.
	Progress func(stage string, step, steps int)
}

// Stages are a run's stages, in order, as Progress names them.
var Stages = []string{"onset", "impact", "services", "dependency graph", "changes", "resources", "logs"}

func (a *Analyzer) stage(name string) {
	if a.Progress != nil {
		a.Progress(name, slices.Index(Stages, name)+1, len(Stages))
	}
}

// Result is one run's findings and what the run could not examine.
type Result struct {
	// Onset is when the impact began; OnsetLatest the latest it can have begun, given the
	// resolution of the data: a change after it is never a candidate cause.
	Onset, OnsetLatest time.Time
	Findings           []incident.Finding
	NotExamined        []string
}

// Run analyses the incident declared at declared, with the data up to now.
func (a *Analyzer) Run(ctx context.Context, declared, now time.Time) Result {
	c := a.Config
	var res Result
	a.stage("onset")
	res.Onset = a.onset(ctx, declared, now, &res)
	a.stage("impact")
	impactFindings := a.impact(ctx, res.Onset, now, &res)
	a.stage("services")
	anomalies := a.serviceAnomalies(ctx, res.Onset, now, &res)
	a.stage("dependency graph")
	graph := a.graph(ctx, now, &res)
	var failing []string
	ordered, _ := diagnosis.Failing(anomalies, graph)
	for _, an := range ordered {
		failing = append(failing, strings.TrimPrefix(an.Entity, "service:"))
	}
	a.stage("changes")
	cs, err := a.Source.Changes(ctx, changes.Filter{Start: res.Onset.Add(-c.Lookback), End: now})
	if err != nil {
		res.NotExamined = append(res.NotExamined, "changes: "+err.Error())
	}
	shifts := a.shifts(ctx, cs, res.OnsetLatest, failing, graph)
	res.Findings = append(res.Findings, impactFindings...)
	res.Findings = append(res.Findings, diagnosis.Causes(anomalies, graph)...)
	a.stage("resources")
	res.Findings = append(res.Findings, a.resources(ctx, res.Onset, now, &res)...)
	res.Findings = append(res.Findings, diagnosis.RankChanges(cs, diagnosis.ChangeContext{Onset: res.Onset, Latest: res.OnsetLatest, Failing: failing, Graph: graph, Shift: shifts})...)
	a.stage("logs")
	res.Findings = append(res.Findings, diagnosis.LogPatterns(a.logs(ctx, failing, res.Onset, now, &res))...)
	run := now.UTC().Format(time.RFC3339)
	for i := range res.Findings {
		res.Findings[i].Run = run
		if len(res.NotExamined) > 0 && i == 0 {
			res.Findings[i].NotExamined = append(res.Findings[i].NotExamined, res.NotExamined...)
		}
	}
	return res
}

// onset finds when the impact began: the earliest change of level among the journeys' error
// ratios in the window before the declaration, or the declaration itself when none stands out.
func (a *Analyzer) onset(ctx context.Context, declared, now time.Time, res *Result) time.Time {
	c := a.Config
	w := promDuration(c.RateWindow)
	q := fmt.Sprintf(`sum by (%s) (rate(%s{%s=%q}[%s])) / sum by (%s) (rate(%s[%s]))`,
		c.JourneyLabel, c.JourneyMetric, c.OutcomeLabel, c.ErrorOutcome, w, c.JourneyLabel, c.JourneyMetric, w)
	start := declared.Add(-c.Before)
	r, err := a.Source.QueryRange(ctx, q, telemetry.Range{Start: start, End: now, Step: c.Step})
	if err != nil || !r.Usable() {
		res.NotExamined = append(res.NotExamined, "the journeys' error ratio, for the onset: "+reason(r.Answer, err))
		return declared
	}
	best := time.Time{}
	for _, s := range r.Matrix() {
		values, times := points(s)
		if len(values) < 8 {
			continue
		}
		o := anomaly.FindOnset(values, 4)
		if o.Found && o.After > o.Before {
			// A rate over a window ramps up over the window after a step: the split lands
			// half a window late.
			if at := times[o.At].Add(-c.RateWindow / 2); best.IsZero() || at.Before(best) {
				best = at
				res.OnsetLatest = times[o.Hi].Add(-c.RateWindow/2 + c.Step)
			}
		}
	}
	if best.IsZero() || best.After(declared) {
		res.OnsetLatest = declared
		return declared
	}
	return best
}

// impact reads the journey metric broken down by every cohort label, since the onset and in the
// baseline before it.
func (a *Analyzer) impact(ctx context.Context, onset, now time.Time, res *Result) []incident.Finding {
	c := a.Config
	since := max(now.Sub(onset), time.Minute).Round(time.Second)
	sel := c.JourneyMetric
	nowQ := fmt.Sprintf(`increase(%s[%ds] @ %d)`, sel, int(since.Seconds()), now.Unix())
	baseQ := fmt.Sprintf(`increase(%s[%ds] @ %d)`, sel, int(c.Baseline.Seconds()), onset.Unix())
	cur, err1 := a.Source.Query(ctx, nowQ, now)
	base, err2 := a.Source.Query(ctx, baseQ, now)
	if err1 != nil || err2 != nil || !cur.Usable() || !base.Usable() {
		res.NotExamined = append(res.NotExamined, "the user journeys' impact: "+reason(cur.Answer, err1)+" "+reason(base.Answer, err2))
		return nil
	}
	dims := cohortDims(cur.Vector(), c)
	if !slices.Contains(dims, c.JourneyLabel) {
		res.NotExamined = append(res.NotExamined, "the user journeys' impact: no "+c.JourneyMetric+" series with a "+c.JourneyLabel+" label")
		return nil
	}
	leaves := map[string]*breakdown.Leaf{}
	var order []string
	var outcome string // the bad outcome being counted
	seen := false      // whether any series has it
	add := func(v promql.Vector, isBase bool) {
		for _, s := range v {
			values := make([]string, len(dims))
			for i, d := range dims {
				values[i] = s.Metric.Get(d)
			}
			k := strings.Join(values, "\x00")
			l := leaves[k]
			if l == nil {
				l = &breakdown.Leaf{Values: values}
				leaves[k] = l
				order = append(order, k)
			}
			// The counters count outcomes apart: every outcome is in a leaf's denominator.
			bad := s.Metric.Get(c.OutcomeLabel) == outcome
			if isBase {
				l.BaseDen += s.F
				if bad {
					l.BaseNum += s.F
				}
			} else {
				l.Den += s.F
				if bad {
					l.Num += s.F
				}
			}
			seen = seen || bad
		}
	}
	var findings []incident.Finding
	for _, sig := range []struct {
		outcome string
		signal  diagnosis.Signal
	}{{c.ErrorOutcome, diagnosis.Errors}, {c.SlowOutcome, diagnosis.Latency}} {
		if sig.outcome == "" {
			continue
		}
		outcome, seen = sig.outcome, false
		clear(leaves)
		order = order[:0]
		add(cur.Vector(), false)
		add(base.Vector(), true)
		if !seen {
			continue // the journeys record no such outcome
		}
		var ls []breakdown.Leaf
		for _, k := range order {
			if l := leaves[k]; l.Den > 0 {
				ls = append(ls, *l)
			}
		}
		_, f := diagnosis.Impact(diagnosis.Cohorts{Dims: dims, Journey: c.JourneyLabel, Leaves: ls,
			Query: nowQ, BaseQuery: baseQ, Since: onset, Baseline: c.Baseline, Signal: sig.signal})
		findings = append(findings, f...)
	}
	return findings
}

// cohortDims are the labels of the journey metric that vary, other than the outcome and the
// scrape identity.
func cohortDims(v promql.Vector, c Config) []string {
	values := map[string]map[string]bool{}
	for _, s := range v {
		s.Metric.Range(func(l labels.Label) {
			if values[l.Name] == nil {
				values[l.Name] = map[string]bool{}
			}
			values[l.Name][l.Value] = true
		})
	}
	var dims []string
	for name, vals := range values {
		switch name {
		case "__name__", c.OutcomeLabel, "job", "instance":
			continue
		}
		if len(vals) > 1 || name == c.JourneyLabel {
			dims = append(dims, name)
		}
	}
	slices.Sort(dims)
	return dims
}

// serviceAnomalies finds the services whose error ratio rose around the onset, in order.
func (a *Analyzer) serviceAnomalies(ctx context.Context, onset, now time.Time, res *Result) []diagnosis.Anomaly {
	c := a.Config
	w := promDuration(c.RateWindow)
	// The two sides are read apart and divided here: each is the shape the embedded store
	// answers fastest (an aggregated rate), where the ratio as one query is not.
	num := fmt.Sprintf(`sum by (%s) (rate(%s{%s=~"5.."}[%s]))`, c.ServiceLabel, c.RequestMetric, c.CodeLabel, w)
	den := fmt.Sprintf(`sum by (%s) (rate(%s[%s]))`, c.ServiceLabel, c.RequestMetric, w)
	start := onset.Add(-c.Before)
	rng := telemetry.Range{Start: start, End: now, Step: c.Step}
	rn, err1 := a.Source.QueryRange(ctx, num, rng)
	rd, err2 := a.Source.QueryRange(ctx, den, rng)
	if err1 != nil || err2 != nil || !rn.Usable() || !rd.Usable() {
		res.NotExamined = append(res.NotExamined, "the services' error ratios: "+reason(rn.Answer, err1)+" "+reason(rd.Answer, err2))
		return nil
	}
	steps := int(now.Sub(start)/c.Step) + 1
	grid := func(s promql.Series) []float64 { return onGrid(s, start, c.Step, steps) }
	errs := map[string][]float64{}
	for _, s := range rn.Matrix() {
		errs[s.Metric.Get(c.ServiceLabel)] = grid(s)
	}
	var series []diagnosis.Series
	for _, s := range rd.Matrix() {
		svc := s.Metric.Get(c.ServiceLabel)
		values, e := grid(s), errs[svc]
		for i, d := range values {
			switch {
			case math.IsNaN(d) || d <= 0:
				values[i] = math.NaN()
			case e == nil || math.IsNaN(e[i]):
				values[i] = 0 // requests and no server errors
			default:
				values[i] = e[i] / d
			}
		}
		sel := fmt.Sprintf(`%s=%q`, c.ServiceLabel, svc)
		q := fmt.Sprintf(`sum(rate(%s{%s,%s=~"5.."}[%s])) / sum(rate(%s{%s}[%s]))`, c.RequestMetric, sel, c.CodeLabel, w, c.RequestMetric, sel, w)
		// Rates ramp over their window after a step: times are moved back half a window.
		series = append(series, diagnosis.Series{Entity: "service:" + svc, Signal: "error ratio", Start: start.Add(-c.RateWindow / 2),
			Step: c.Step, Values: values, Query: q})
	}
	return diagnosis.Anomalies(series, onset)
}

// resources looks for one instance whose own CPU or memory moved at the onset far more than
// any other's: the hot container a fleet average hides.
func (a *Analyzer) resources(ctx context.Context, onset, now time.Time, res *Result) []incident.Finding {
	c := a.Config
	w := promDuration(c.RateWindow)
	queries := map[string]string{
		"CPU":    fmt.Sprintf(`sum by (%s, instance) (rate(process_cpu_seconds_total[%s]))`, c.ServiceLabel, w),
		"memory": fmt.Sprintf(`sum by (%s, instance) (process_resident_memory_bytes)`, c.ServiceLabel),
	}
	start := onset.Add(-time.Hour)
	steps := int(now.Sub(start)/c.Step) + 1
	entities := map[string]*diagnosis.EntitySignals{}
	var names []string
	for _, signal := range []string{"CPU", "memory"} {
		r, err := a.Source.QueryRange(ctx, queries[signal], telemetry.Range{Start: start, End: now, Step: c.Step})
		if err != nil || !r.Usable() {
			res.NotExamined = append(res.NotExamined, "instances' "+signal+": "+reason(r.Answer, err))
			continue
		}
		for _, s := range r.Matrix() {
			name := s.Metric.Get("instance") + " (" + s.Metric.Get(c.ServiceLabel) + ")"
			e := entities[name]
			if e == nil {
				e = &diagnosis.EntitySignals{Entity: name, Signals: map[string][]float64{}}
				entities[name] = e
				names = append(names, name)
			}
			e.Signals[signal] = onGrid(s, start, c.Step, steps)
		}
	}
	slices.Sort(names)
	list := make([]diagnosis.EntitySignals, 0, len(names))
	for _, n := range names {
		list = append(list, *entities[n])
	}
	// A rate shows a step half a window late: the split is moved by as much.
	at := int((onset.Sub(start) + c.RateWindow/2) / c.Step)
	return diagnosis.ResourceOutlier(list, at, onset, c.Step, queries)
}

// graph reads the service dependency graph from the trace-derived edges.
func (a *Analyzer) graph(ctx context.Context, now time.Time, res *Result) diagnosis.Graph {
	r, err := a.Source.Edges(ctx, now, time.Hour)
	if err != nil || !r.Usable() {
		res.NotExamined = append(res.NotExamined, "the dependency graph: "+reason(r.Answer, err))
		return nil
	}
	g := diagnosis.Graph{}
	for _, e := range r.Edges {
		g[e.Caller] = append(g[e.Caller], e.Callee)
	}
	if len(g) == 0 {
		res.NotExamined = append(res.NotExamined, "the dependency graph: no trace-derived edges in the last hour")
	}
	return g
}

// shiftSignals are the signals of a changed service compared before and after the change.
// steady signals hardly follow the traffic, so they can be compared across days.
var shiftSignals = []struct {
	name, query string
	steady      bool
}{
	{"CPU", `sum(rate(process_cpu_seconds_total{job=%q}[5m]))`, false},
	{"memory", `sum(process_resident_memory_bytes{job=%q})`, true},
	{"open connections", `sum(net_open_connections{job=%q})`, false},
	{"threads", `sum(go_threads{job=%q})`, true},
	{"requests served", `sum(rate(http_server_requests_total{job=%q}[5m]))`, false},
	{"TIME_WAIT sockets", `sum(tcp_time_wait_sockets{job=%q})`, false},
}

func boolRank(b bool) int {
	if b {
		return 0
	}
	return 1
}

// shifts measures, for each change before the onset that names a service, how far the service's
// own signals moved because of it, in two ways, keeping the larger: right after the change
// (its first minutes left out: a deploy restarts the service) against the two hours before it;
// and, for a change more than an hour old, in the hour before the onset against the same hour
// of the day before the change, so that a slow effect (a leak, a caller that grows) shows and
// the daily cycle does not (only for the signals that do not follow the traffic). At most
// maxShiftChanges changes: the failing services' first, then the newest.
func (a *Analyzer) shifts(ctx context.Context, cs []changes.Change, onset time.Time, failing []string, g diagnosis.Graph) map[string]diagnosis.ShiftEvidence {
	out := map[string]diagnosis.ShiftEvidence{}
	// The failing services' changes first, then the newest (cs is newest first).
	order := slices.Clone(cs)
	slices.SortStableFunc(order, func(x, y changes.Change) int {
		return cmp.Compare(boolRank(slices.Contains(failing, x.Service)), boolRank(slices.Contains(failing, y.Service)))
	})
	measured := 0
	for _, ch := range order {
		if ch.Service == "" || !ch.Time.Before(onset) || measured >= maxShiftChanges {
			continue
		}
		measured++
		best := diagnosis.ShiftEvidence{}
		var of string
		consider := func(name, q string, before, after []float64) {
			if z, ok := diagnosis.Shift(before, after); ok && (best.Signal == "" || z > best.Z) {
				best = diagnosis.ShiftEvidence{Signal: name, Of: of, Z: z, Query: q}
			}
		}
		// right is consider for the samples right after the change against those before it:
		// the move must also begin at the change, not an hour later with something else.
		right := func(name, q string, before, after []float64) {
			if z, ok := diagnosis.Shift(before, after); ok && z >= minTimedShift && !beganAtChange(before, after) {
				return
			}
			consider(name, q, before, after)
		}
		settle := ch.Time.Add(5 * time.Minute)
		soon := ch.Time.Add(2 * time.Hour)
		if onset.Before(soon) {
			soon = onset
		}
		age := onset.Sub(ch.Time)
		days := time.Duration(math.Ceil(age.Hours()/24)) * 24 * time.Hour
		// The changed service's own signals, and those of the failing services it calls: a
		// change can show first in what it does to a dependency.
		examined := []string{ch.Service}
		for _, callee := range g[ch.Service] {
			if slices.Contains(failing, callee) {
				examined = append(examined, callee)
			}
		}
		for _, sig := range shiftSignals {
			for _, svc := range examined {
				of = ""
				if svc != ch.Service {
					of = svc
				}
				q := fmt.Sprintf(sig.query, svc)
				if settle.Before(soon) {
					before := a.values(ctx, q, ch.Time.Add(-2*time.Hour), ch.Time.Add(-time.Minute))
					right(sig.name, q, before, a.values(ctx, q, settle, soon))
				}
				if age > time.Hour && sig.steady {
					hour := onset.Add(-time.Hour)
					last := a.values(ctx, q, hour, onset)
					if before := a.values(ctx, q, hour.Add(-days), onset.Add(-days)); len(before) > 0 {
						consider(sig.name+" (the hour before the onset, against the same hour before the change)", q, before, last)
					} else { // no history that far back: the two hours before the change
						consider(sig.name+" (the hour before the onset, against the hours before the change)", q,
							a.values(ctx, q, ch.Time.Add(-2*time.Hour), ch.Time.Add(-time.Minute)), last)
					}
				}
			}
		}
		out[ch.ID] = best
	}
	return out
}

// minTimedShift is the shift from which a move right after a change must be seen to begin at
// the change to count for it; a smaller one counts against the change as it is.
const minTimedShift = 4

// beganAtChange reports whether the level change in before+after (samples a minute apart, the
// change between them, after starting five minutes past it) began between a few minutes before
// the change and half an hour after it: a move that began later is another cause's.
func beganAtChange(before, after []float64) bool {
	o := anomaly.FindOnset(append(slices.Clone(before), after...), minTimedShift)
	if !o.Found {
		return true // no single step: a drift, which the window's medians measure as it is
	}
	minutes := o.At - len(before) + 5
	return minutes >= -5 && minutes <= 30
}

// maxShiftChanges bounds the queries one analysis makes for the changes' shifts.
const maxShiftChanges = 60

// values reads one series' values in [from, to] at a minute's step; nil if the source cannot say.
func (a *Analyzer) values(ctx context.Context, q string, from, to time.Time) []float64 {
	r, err := a.Source.QueryRange(ctx, q, telemetry.Range{Start: from, End: to, Step: time.Minute})
	if err != nil || !r.Usable() || len(r.Matrix()) == 0 {
		return nil
	}
	v, _ := points(r.Matrix()[0])
	return v
}

// onGrid places a series' points on a grid of n steps from start, NaN where there is none.
func onGrid(s promql.Series, start time.Time, step time.Duration, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	for _, p := range s.Floats {
		if i := int(time.UnixMilli(p.T).Sub(start) / step); i >= 0 && i < n {
			v[i] = p.F
		}
	}
	return v
}

func points(s promql.Series) ([]float64, []time.Time) {
	values := make([]float64, 0, len(s.Floats))
	times := make([]time.Time, 0, len(s.Floats))
	for _, p := range s.Floats {
		if !math.IsNaN(p.F) {
			values = append(values, p.F)
			times = append(times, time.UnixMilli(p.T))
		}
	}
	return values, times
}

// maxLogServices bounds the services whose logs one analysis reads: the first failing ones.
const maxLogServices = 5

// logs counts the failing services' log lines per template since the onset and over the day
// before it.
func (a *Analyzer) logs(ctx context.Context, failing []string, onset, now time.Time, res *Result) []diagnosis.ServiceLogs {
	var out []diagnosis.ServiceLogs
	for i, svc := range failing {
		if i >= maxLogServices {
			res.NotExamined = append(res.NotExamined, fmt.Sprintf("the logs of %d more failing services", len(failing)-maxLogServices))
			break
		}
		m := labels.MustNewMatcher(labels.MatchEqual, "service", svc)
		win, err1 := a.Source.LogPatterns(ctx, logstore.Query{Start: onset, End: now, Matchers: []*labels.Matcher{m}})
		ref, err2 := a.Source.LogPatterns(ctx, logstore.Query{Start: onset.Add(-a.Config.LogReference), End: onset, Matchers: []*labels.Matcher{m}})
		if err1 != nil || err2 != nil || !win.Usable() || !ref.Usable() {
			res.NotExamined = append(res.NotExamined, "the logs of "+svc+": "+reason(win.Answer, err1)+" "+reason(ref.Answer, err2))
			if (err1 == nil && win.Status == telemetry.Unavailable) || (err2 == nil && ref.Status == telemetry.Unavailable) {
				break // the same answer for every service
			}
			continue
		}
		out = append(out, diagnosis.ServiceLogs{Service: svc, Window: win.Patterns, Reference: ref.Patterns,
			WindowSpan: now.Sub(onset), RefSpan: a.Config.LogReference,
			Query: fmt.Sprintf("/api/logs?selector=%s&from=%s&to=%s", url.QueryEscape(fmt.Sprintf(`{service=%q}`, svc)),
				onset.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))})
	}
	return out
}

// promDuration writes a duration as PromQL does ("3m", "90s").
func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

func reason(a telemetry.Answer, err error) string {
	if err != nil {
		return err.Error()
	}
	if a.Reason != "" {
		return a.Source + " " + string(a.Status) + ": " + a.Reason
	}
	return ""
}
