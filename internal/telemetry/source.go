// Package telemetry owns how Sextant reads the system it helps with: the Source interface that
// everything downstream (diagnosis, charts) queries, and its answers. A source's failure is an
// answer too: a result is "ok", "partial" or "unavailable", and an unavailable source never
// looks like empty data that reads as zero.
//
// Implementations: embedded (the Prometheus TSDB and PromQL engine in Sextant's data directory)
// and remote (any Prometheus-compatible HTTP API).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// Status says how far a result can be trusted.
type Status string

const (
	// OK: the source answered in full.
	OK Status = "ok"
	// Partial: the source answered, but said some data may be missing (its warnings say why).
	Partial Status = "partial"
	// Unavailable: the source did not answer; there is no data, which is not the same as zero.
	Unavailable Status = "unavailable"
)

// Range is the time span and resolution of a range query.
type Range struct {
	Start, End time.Time
	Step       time.Duration
}

// Answer is what every source call returns besides its data.
type Answer struct {
	Source string `json:"source"`
	Status Status `json:"status"`
	// Reason says why the result is partial or unavailable.
	Reason   string   `json:"reason,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Usable reports whether there is data to look at (ok or partial).
func (a Answer) Usable() bool { return a.Status == OK || a.Status == Partial }

// QueryResult is the answer to a PromQL query: a matrix for range queries; a vector, scalar or
// matrix for instant queries. Value is nil when the source was unavailable.
type QueryResult struct {
	Answer
	Value parser.Value
}

// Matrix returns the result as a matrix (empty if it is not one).
func (r QueryResult) Matrix() promql.Matrix {
	m, _ := r.Value.(promql.Matrix)
	return m
}

// Vector returns the result as a vector (empty if it is not one).
func (r QueryResult) Vector() promql.Vector {
	v, _ := r.Value.(promql.Vector)
	return v
}

// SeriesResult lists series.
type SeriesResult struct {
	Answer
	Series []labels.Labels
}

// ValuesResult lists label names or label values.
type ValuesResult struct {
	Answer
	Values []string
}

// Metrics is the metric part of a source: PromQL and series discovery.
type Metrics interface {
	// Name is the source's configured name.
	Name() string
	// Query runs an instant PromQL query at t.
	Query(ctx context.Context, q string, t time.Time) (QueryResult, error)
	// QueryRange runs a PromQL range query.
	QueryRange(ctx context.Context, q string, r Range) (QueryResult, error)
	// Samples reads the raw samples of the series matching selector in (start, end] (as a PromQL
	// range selector would) into memory, for analysis: no evaluation, no step, no JSON on the
	// embedded store.
	Samples(ctx context.Context, selector string, start, end time.Time) (QueryResult, error)
	// Series lists the series matching any of the selectors in [start, end].
	Series(ctx context.Context, selectors []string, start, end time.Time) (SeriesResult, error)
	// LabelNames lists label names, of the series matching the selectors if any are given.
	LabelNames(ctx context.Context, selectors []string, start, end time.Time) (ValuesResult, error)
	// LabelValues lists a label's values, of the series matching the selectors if any are given.
	LabelValues(ctx context.Context, name string, selectors []string, start, end time.Time) (ValuesResult, error)
}

// The error of a source call is for a request that no source could answer: a query that does
// not parse, a bad range. A source that fails is not an error but an Unavailable answer.

// BadRequestError is a query or argument the source refuses; retrying will not help.
type BadRequestError struct {
	Msg string
}

func (e *BadRequestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) error {
	return &BadRequestError{Msg: fmt.Sprintf(format, args...)}
}

// IsBadRequest reports whether err is the caller's fault.
func IsBadRequest(err error) bool {
	var b *BadRequestError
	return errors.As(err, &b)
}

// maxPoints bounds a range query the way Prometheus does, so one careless query cannot eat
// the memory of the tool responders depend on.
const maxPoints = 11_000

func checkRange(r Range) error {
	switch {
	case r.Step <= 0:
		return badRequest("step must be positive")
	case r.End.Before(r.Start):
		return badRequest("end is before start")
	case r.End.Sub(r.Start)/r.Step > maxPoints:
		return badRequest("range/step gives more than %d points per series; use a larger step", maxPoints)
	}
	return nil
}

var selectorParser = parser.NewParser(parser.Options{})

// ParseSelectors parses series selectors ({job="api"}, up), naming the bad one.
func ParseSelectors(selectors []string) ([][]*labels.Matcher, error) {
	out := make([][]*labels.Matcher, 0, len(selectors))
	for _, s := range selectors {
		m, err := selectorParser.ParseMetricSelector(s)
		if err != nil {
			return nil, badRequest("selector %q: %v", s, err)
		}
		out = append(out, m)
	}
	return out, nil
}
