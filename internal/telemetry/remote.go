package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// RemoteOptions tunes a remote source.
type RemoteOptions struct {
	// Timeout bounds each attempt (default 10 s): a slow source must not hold a responder.
	Timeout time.Duration
	// Attempts is how many times a failing call is tried (default 3), with doubling backoff.
	Attempts int
	// Backoff is the wait before the second attempt (default 200 ms).
	Backoff time.Duration
	// BearerToken, if set, is sent on every request.
	BearerToken string
}

// Remote queries any Prometheus-compatible HTTP API: Prometheus, VictoriaMetrics, Thanos, Mimir.
type Remote struct {
	name string
	api  v1.API
	opt  RemoteOptions
}

var _ Metrics = (*Remote)(nil)

// NewRemote makes a source for the Prometheus-compatible API at baseURL.
func NewRemote(name, baseURL string, opt RemoteOptions) (*Remote, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Attempts <= 0 {
		opt.Attempts = 3
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 200 * time.Millisecond
	}
	var rt http.RoundTripper = api.DefaultRoundTripper
	if opt.BearerToken != "" {
		rt = bearer{token: opt.BearerToken, next: rt}
	}
	c, err := api.NewClient(api.Config{Address: baseURL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", name, err)
	}
	return &Remote{name: name, api: v1.NewAPI(c), opt: opt}, nil
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// Name implements Metrics.
func (r *Remote) Name() string { return r.name }

// call runs fn with a timeout per attempt, retrying what may pass on a second try (network
// errors, timeouts, 5xx) with doubling backoff. A refusal of the request itself is returned as a
// BadRequestError; a source that never answered gives an Unavailable answer.
func (r *Remote) call(ctx context.Context, fn func(ctx context.Context) (v1.Warnings, error)) (Answer, error) {
	var last error
	wait := r.opt.Backoff
	for attempt := range r.opt.Attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return Answer{}, ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		actx, cancel := context.WithTimeout(ctx, r.opt.Timeout)
		warnings, err := fn(actx)
		cancel()
		if err == nil {
			a := Answer{Source: r.name, Status: OK, Warnings: warnings}
			if len(warnings) > 0 {
				// Prometheus-compatible stores warn when an answer may lack data (a store or
				// a replica that did not answer): say so rather than pass it off as complete.
				a.Status, a.Reason = Partial, strings.Join(warnings, "; ")
			}
			return a, nil
		}
		if ctx.Err() != nil {
			return Answer{}, ctx.Err()
		}
		var apiErr *v1.Error
		if errors.As(err, &apiErr) {
			switch apiErr.Type {
			case v1.ErrBadData, v1.ErrExec:
				return Answer{}, badRequest("%s", apiErr.Msg)
			case v1.ErrClient:
				// 401, 403, 404: the source is misconfigured; retrying will not help.
				return Answer{Source: r.name, Status: Unavailable, Reason: err.Error()}, nil
			}
		}
		last = err
	}
	return Answer{Source: r.name, Status: Unavailable, Reason: fmt.Sprintf("no answer after %d attempts: %v", r.opt.Attempts, last)}, nil
}

// Query implements Metrics.
func (r *Remote) Query(ctx context.Context, q string, t time.Time) (QueryResult, error) {
	var v model.Value
	a, err := r.call(ctx, func(ctx context.Context) (w v1.Warnings, err error) {
		v, w, _, err = r.api.Query(ctx, q, t)
		return w, err
	})
	if err != nil || !a.Usable() {
		return QueryResult{Answer: a}, err
	}
	return QueryResult{Answer: a, Value: fromModel(v)}, nil
}

// QueryRange implements Metrics.
func (r *Remote) QueryRange(ctx context.Context, q string, rg Range) (QueryResult, error) {
	if err := checkRange(rg); err != nil {
		return QueryResult{}, err
	}
	var v model.Value
	a, err := r.call(ctx, func(ctx context.Context) (w v1.Warnings, err error) {
		v, w, _, err = r.api.QueryRange(ctx, q, v1.Range{Start: rg.Start, End: rg.End, Step: rg.Step})
		return w, err
	})
	if err != nil || !a.Usable() {
		return QueryResult{Answer: a}, err
	}
	return QueryResult{Answer: a, Value: fromModel(v)}, nil
}

// Samples implements Metrics with an instant query of a range selector, which Prometheus-compatible
// APIs answer with the raw samples.
func (r *Remote) Samples(ctx context.Context, selector string, start, end time.Time) (QueryResult, error) {
	if !end.After(start) {
		return QueryResult{}, badRequest("end must be after start")
	}
	if _, err := ParseSelectors([]string{selector}); err != nil {
		return QueryResult{}, err
	}
	window := end.Sub(start).Truncate(time.Millisecond)
	return r.Query(ctx, fmt.Sprintf("%s[%dms]", selector, window.Milliseconds()), end)
}

// Series implements Metrics.
func (r *Remote) Series(ctx context.Context, selectors []string, start, end time.Time) (SeriesResult, error) {
	if len(selectors) == 0 {
		return SeriesResult{}, badRequest("at least one series selector (match[]) is required")
	}
	var sets []model.LabelSet
	a, err := r.call(ctx, func(ctx context.Context) (w v1.Warnings, err error) {
		sets, w, _, err = r.api.Series(ctx, selectors, start, end)
		return w, err
	})
	if err != nil || !a.Usable() {
		return SeriesResult{Answer: a}, err
	}
	out := make([]labels.Labels, len(sets))
	for i, s := range sets {
		out[i] = labelsOf(model.Metric(s))
	}
	return SeriesResult{Answer: a, Series: out}, nil
}

// LabelNames implements Metrics.
func (r *Remote) LabelNames(ctx context.Context, selectors []string, start, end time.Time) (ValuesResult, error) {
	var names model.LabelNames
	a, err := r.call(ctx, func(ctx context.Context) (w v1.Warnings, err error) {
		names, w, _, err = r.api.LabelNames(ctx, selectors, start, end)
		return w, err
	})
	if err != nil || !a.Usable() {
		return ValuesResult{Answer: a}, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return ValuesResult{Answer: a, Values: out}, nil
}

// LabelValues implements Metrics.
func (r *Remote) LabelValues(ctx context.Context, name string, selectors []string, start, end time.Time) (ValuesResult, error) {
	var vals model.LabelValues
	a, err := r.call(ctx, func(ctx context.Context) (w v1.Warnings, err error) {
		vals, w, _, err = r.api.LabelValues(ctx, name, selectors, start, end)
		return w, err
	})
	if err != nil || !a.Usable() {
		return ValuesResult{Answer: a}, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return ValuesResult{Answer: a, Values: out}, nil
}

// fromModel converts the client's values to the engine's, so that callers see one shape whatever
// the source. (Native histograms are not carried over yet.)
func fromModel(v model.Value) parser.Value {
	switch v := v.(type) {
	case model.Matrix:
		out := make(promql.Matrix, 0, len(v))
		for _, s := range v {
			ser := promql.Series{Metric: labelsOf(s.Metric), Floats: make([]promql.FPoint, len(s.Values))}
			for i, p := range s.Values {
				ser.Floats[i] = promql.FPoint{T: int64(p.Timestamp), F: float64(p.Value)}
			}
			out = append(out, ser)
		}
		return out
	case model.Vector:
		out := make(promql.Vector, len(v))
		for i, s := range v {
			out[i] = promql.Sample{Metric: labelsOf(s.Metric), T: int64(s.Timestamp), F: float64(s.Value)}
		}
		return out
	case *model.Scalar:
		return promql.Scalar{T: int64(v.Timestamp), V: float64(v.Value)}
	case *model.String:
		return promql.String{T: int64(v.Timestamp), V: v.Value}
	}
	return nil
}

func labelsOf(m model.Metric) labels.Labels {
	b := labels.NewScratchBuilder(len(m))
	for k, v := range m {
		b.Add(string(k), string(v))
	}
	b.Sort()
	return b.Labels()
}
