package telemetry

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sextant-sre/sextant/internal/changes"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/store"
)

// Source is what everything downstream reads: metrics, logs, and the changes and alerts of a
// window. The service dependency edges derived from traces join it with the trace intake.
type Source interface {
	Metrics
	// Logs selects log lines (newest first); a source without logs answers unavailable.
	Logs(ctx context.Context, q logstore.Query) (LogResult, error)
	// LogPatterns counts the matching lines per template, most frequent first.
	LogPatterns(ctx context.Context, q logstore.Query) (PatternResult, error)
	// Edges gives the service dependency edges (derived from traces) active in the window
	// before at, with their request and error rates and mean latency.
	Edges(ctx context.Context, at time.Time, window time.Duration) (EdgeResult, error)
	// Changes lists the changes matching f, newest first.
	Changes(ctx context.Context, f changes.Filter) ([]changes.Change, error)
	// Alerts lists the alert states received in [start, end], oldest first.
	Alerts(ctx context.Context, start, end time.Time) ([]store.AlertEvent, error)
}

// Records is where Sextant keeps the changes and alerts it received.
type Records interface {
	Changes(ctx context.Context, f changes.Filter) ([]changes.Change, error)
	AlertEvents(ctx context.Context, start, end time.Time) ([]store.AlertEvent, error)
}

// LogResult is the answer to a log query.
type LogResult struct {
	Answer
	Lines []logstore.Line
}

// Local is a Source made of a metrics source, Sextant's own records of changes and alerts (which
// no Prometheus-compatible store holds) and, if set, the embedded log store.
type Local struct {
	Metrics
	Records  Records
	LogStore *logstore.Store
}

// Logs implements Source.
func (l Local) Logs(ctx context.Context, q logstore.Query) (LogResult, error) {
	if l.LogStore == nil {
		return LogResult{Answer: Answer{Source: l.Name(), Status: Unavailable, Reason: "this source holds no logs"}}, nil
	}
	lines, err := l.LogStore.Select(ctx, q)
	if err != nil {
		return LogResult{Answer: Answer{Source: l.Name(), Status: Unavailable, Reason: err.Error()}}, nil
	}
	return LogResult{Answer: Answer{Source: l.Name(), Status: OK}, Lines: lines}, nil
}

// PatternResult is the answer to a log pattern query.
type PatternResult struct {
	Answer
	Patterns []logstore.PatternCount
}

// LogPatterns implements Source.
func (l Local) LogPatterns(ctx context.Context, q logstore.Query) (PatternResult, error) {
	if l.LogStore == nil {
		return PatternResult{Answer: Answer{Source: l.Name(), Status: Unavailable, Reason: "this source holds no logs"}}, nil
	}
	pats, err := l.LogStore.Patterns(ctx, q)
	if err != nil {
		return PatternResult{Answer: Answer{Source: l.Name(), Status: Unavailable, Reason: err.Error()}}, nil
	}
	return PatternResult{Answer: Answer{Source: l.Name(), Status: OK}, Patterns: pats}, nil
}

// Changes implements Source.
func (l Local) Changes(ctx context.Context, f changes.Filter) ([]changes.Change, error) {
	return l.Records.Changes(ctx, f)
}

// Alerts implements Source.
func (l Local) Alerts(ctx context.Context, start, end time.Time) ([]store.AlertEvent, error) {
	return l.Records.AlertEvents(ctx, start, end)
}

// EdgeRate is one service dependency over a window.
type EdgeRate struct {
	Caller        string  `json:"caller"`
	Callee        string  `json:"callee"`
	RequestsPerS  float64 `json:"requests_per_second"`
	ErrorsPerS    float64 `json:"errors_per_second"`
	ErrorRatio    float64 `json:"error_ratio"`
	MeanLatencyMS float64 `json:"mean_latency_ms"`
}

// EdgeResult is the answer to an edge query.
type EdgeResult struct {
	Answer
	Edges []EdgeRate
}

// Edges implements Source from the edge series the service graph writes.
func (l Local) Edges(ctx context.Context, at time.Time, window time.Duration) (EdgeResult, error) {
	return EdgesFrom(ctx, l.Metrics, at, window)
}

// EdgesFrom computes edge rates with PromQL over the service graph's series in m.
func EdgesFrom(ctx context.Context, m Metrics, at time.Time, window time.Duration) (EdgeResult, error) {
	if window < time.Second {
		return EdgeResult{}, badRequest("window must be at least 1s")
	}
	w := fmt.Sprintf("[%ds]", int(window.Seconds()))
	by := func(metric string) string { return "sum by (caller, callee) (rate(" + metric + w + "))" }
	queries := []string{by("sextant_edge_requests_total"), by("sextant_edge_errors_total"),
		by("sextant_edge_duration_seconds_sum") + " / " + by("sextant_edge_duration_seconds_count")}
	edges := map[[2]string]*EdgeRate{}
	var ans Answer
	for i, q := range queries {
		res, err := m.Query(ctx, q, at)
		if err != nil || !res.Usable() {
			return EdgeResult{Answer: res.Answer}, err
		}
		ans = res.Answer
		for _, s := range res.Vector() {
			k := [2]string{s.Metric.Get("caller"), s.Metric.Get("callee")}
			e := edges[k]
			if e == nil {
				e = &EdgeRate{Caller: k[0], Callee: k[1]}
				edges[k] = e
			}
			switch i {
			case 0:
				e.RequestsPerS = s.F
			case 1:
				e.ErrorsPerS = s.F
			case 2:
				e.MeanLatencyMS = s.F * 1000
			}
		}
	}
	out := make([]EdgeRate, 0, len(edges))
	for _, e := range edges {
		if e.RequestsPerS > 0 {
			e.ErrorRatio = e.ErrorsPerS / e.RequestsPerS
		}
		if math.IsNaN(e.MeanLatencyMS) {
			e.MeanLatencyMS = 0
		}
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b EdgeRate) int { return strings.Compare(a.Caller+"\x00"+a.Callee, b.Caller+"\x00"+b.Callee) })
	return EdgeResult{Answer: ans, Edges: out}, nil
}

// Registry holds the configured sources by name; "embedded" is always there.
type Registry struct {
	mu      sync.RWMutex
	sources map[string]Source
}

// NewRegistry returns a registry holding the given sources.
func NewRegistry(sources ...Source) *Registry {
	r := &Registry{sources: map[string]Source{}}
	for _, s := range sources {
		r.Add(s)
	}
	return r
}

// Add adds (or replaces) a source.
func (r *Registry) Add(s Source) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources[s.Name()] = s
}

// Get returns a source by name.
func (r *Registry) Get(name string) (Source, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.sources[name]
	return s, ok
}

// Names lists the sources, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.sources))
	for n := range r.sources {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Health asks every source a trivial query, all at once, within timeout: a dead source shows as
// unavailable with its reason, and never holds up the others.
func (r *Registry) Health(ctx context.Context, timeout time.Duration) []Answer {
	names := r.Names()
	out := make([]Answer, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		s, _ := r.Get(n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			res, err := s.Query(cctx, "vector(1)", time.Now())
			switch {
			case err != nil:
				out[i] = Answer{Source: n, Status: Unavailable, Reason: err.Error()}
			default:
				out[i] = res.Answer
				out[i].Source = n
			}
		}()
	}
	wg.Wait()
	return out
}

// ParseRemotes reads the remote sources setting: comma-separated name=URL pairs
// ("prom=http://prometheus:9090,vm=http://victoria:8428").
func ParseRemotes(setting string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(setting, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, raw, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("remote source %q: want name=URL", part)
		}
		if name == "embedded" {
			return nil, fmt.Errorf("remote source %q: the name embedded is taken by Sextant's own store", part)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("remote source %q: the name is given twice", name)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("remote source %s: %q is not an http(s) URL", name, raw)
		}
		out[name] = raw
	}
	return out, nil
}
