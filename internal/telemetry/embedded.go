package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// EmbeddedOptions tunes the embedded metrics store.
type EmbeddedOptions struct {
	// Retention is how long samples are kept (default 15 days).
	Retention time.Duration
	// OutOfOrderWindow is how far behind the newest sample of a series a sample may arrive and
	// still be accepted (0: in order only).
	OutOfOrderWindow time.Duration
	// QueryTimeout bounds one PromQL evaluation (default 2 minutes).
	QueryTimeout time.Duration
	// MaxSamples bounds the samples one query may hold in memory (default 50 million).
	MaxSamples int
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Embedded is the metrics store inside Sextant: the Prometheus TSDB and PromQL engine used as
// libraries. Timestamps are milliseconds.
type Embedded struct {
	name   string
	db     *tsdb.DB
	engine *promql.Engine
}

var _ Metrics = (*Embedded)(nil)

// OpenEmbedded opens (creating if needed) the store in dir. Only one process may hold it.
func OpenEmbedded(name, dir string, opt EmbeddedOptions) (*Embedded, error) {
	if opt.Retention <= 0 {
		opt.Retention = 15 * 24 * time.Hour
	}
	if opt.QueryTimeout <= 0 {
		opt.QueryTimeout = 2 * time.Minute
	}
	if opt.MaxSamples <= 0 {
		opt.MaxSamples = 50_000_000
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	o := tsdb.DefaultOptions()
	o.RetentionDuration = opt.Retention.Milliseconds()
	o.OutOfOrderTimeWindow = opt.OutOfOrderWindow.Milliseconds()
	o.EnableSharding = true // the fast query path splits series by shard (fastquery.go)
	db, err := tsdb.Open(dir, opt.Logger.With("component", "tsdb"), opt.Registerer, o, nil)
	if err != nil {
		return nil, fmt.Errorf("open metrics store in %s: %w", dir, err)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		Logger: opt.Logger.With("component", "promql"), Reg: opt.Registerer,
		MaxSamples: opt.MaxSamples, Timeout: opt.QueryTimeout, LookbackDelta: 5 * time.Minute,
		EnableAtModifier: true, EnableNegativeOffset: true,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
	})
	return &Embedded{name: name, db: db, engine: engine}, nil
}

// Name implements Metrics.
func (e *Embedded) Name() string { return e.name }

// Storage is where intake appends samples (remote write, OTLP).
func (e *Embedded) Storage() *tsdb.DB { return e.db }

// Close flushes and closes the store.
func (e *Embedded) Close() error { return e.db.Close() }

func (e *Embedded) answer(ws annotations.Annotations) Answer {
	a := Answer{Source: e.name, Status: OK}
	warnings, _ := ws.AsStrings("", 10, 10)
	a.Warnings = warnings
	return a
}

// Query implements Metrics.
func (e *Embedded) Query(ctx context.Context, q string, t time.Time) (QueryResult, error) {
	qry, err := e.engine.NewInstantQuery(ctx, e.db, nil, q, t)
	if err != nil {
		return QueryResult{}, queryError(err)
	}
	return e.exec(ctx, qry)
}

// QueryRange implements Metrics. The commonest shape of query (an aggregated rate or increase)
// takes a fast path (fastquery.go). Otherwise a long range is cut into as many consecutive pieces as there
// are cores, evaluated at once, and joined: PromQL evaluates each step on its own, so the pieces
// give the same points as one query would. Queries that use @ start() or @ end() (which refer to
// the whole range) are evaluated in one piece.
func (e *Embedded) QueryRange(ctx context.Context, q string, r Range) (QueryResult, error) {
	if err := checkRange(r); err != nil {
		return QueryResult{}, err
	}
	if shape, ok := matchFastShape(q); ok {
		if res, ok, err := e.fastRange(ctx, shape, r); ok {
			return res, err
		}
	}
	steps := int(r.End.Sub(r.Start)/r.Step) + 1
	pieces := min(runtime.GOMAXPROCS(0), steps/minStepsPerPiece)
	if pieces < 2 || strings.Contains(q, "@") {
		return e.rangePiece(ctx, q, r)
	}
	per := (steps + pieces - 1) / pieces
	results := make([]QueryResult, pieces)
	errs := make([]error, pieces)
	var wg sync.WaitGroup
	for i := range pieces {
		start := r.Start.Add(time.Duration(i*per) * r.Step)
		end := start.Add(time.Duration(per-1) * r.Step)
		if end.After(r.End) {
			end = r.End
		}
		if start.After(r.End) {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.rangePiece(ctx, q, Range{Start: start, End: end, Step: r.Step})
		}()
	}
	wg.Wait()
	joined := QueryResult{Answer: Answer{Source: e.name, Status: OK}}
	byLabels := map[uint64]int{}
	var m promql.Matrix
	for i, res := range results {
		if errs[i] != nil {
			return QueryResult{}, errs[i]
		}
		if !res.Usable() {
			return res, nil
		}
		joined.Warnings = append(joined.Warnings, res.Warnings...)
		for _, s := range res.Matrix() {
			h := s.Metric.Hash()
			if k, ok := byLabels[h]; ok && labels.Equal(m[k].Metric, s.Metric) {
				m[k].Floats = append(m[k].Floats, s.Floats...)
				m[k].Histograms = append(m[k].Histograms, s.Histograms...)
				continue
			}
			byLabels[h] = len(m)
			m = append(m, s)
		}
	}
	slices.SortFunc(m, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) })
	joined.Value = m
	return joined, nil
}

// minStepsPerPiece keeps short ranges in one piece, where cutting costs more than it saves.
const minStepsPerPiece = 200

func (e *Embedded) rangePiece(ctx context.Context, q string, r Range) (QueryResult, error) {
	qry, err := e.engine.NewRangeQuery(ctx, e.db, nil, q, r.Start, r.End, r.Step)
	if err != nil {
		return QueryResult{}, queryError(err)
	}
	return e.exec(ctx, qry)
}

func (e *Embedded) exec(ctx context.Context, qry promql.Query) (QueryResult, error) {
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		var tooMany promql.ErrTooManySamples
		var timeout promql.ErrQueryTimeout
		switch {
		case errors.As(res.Err, &tooMany), errors.As(res.Err, &timeout):
			return QueryResult{}, badRequest("%v", res.Err)
		case ctx.Err() != nil:
			return QueryResult{}, ctx.Err()
		}
		var ee promql.ErrStorage
		if errors.As(res.Err, &ee) {
			return QueryResult{Answer: Answer{Source: e.name, Status: Unavailable, Reason: res.Err.Error()}}, nil
		}
		return QueryResult{}, badRequest("%v", res.Err)
	}
	// The engine reuses the result's memory when the query is closed: keep a copy.
	return QueryResult{Answer: e.answer(res.Warnings), Value: copyValue(res.Value)}, nil
}

// queryError wraps an error from preparing a query (it does not parse, or uses something the
// engine does not allow): always the caller's to fix.
func queryError(err error) error { return badRequest("%v", err) }

// copyValue detaches a result from the engine's pooled memory.
func copyValue(v parser.Value) parser.Value {
	switch v := v.(type) {
	case promql.Matrix:
		out := make(promql.Matrix, len(v))
		for i, s := range v {
			out[i] = promql.Series{Metric: s.Metric, Floats: slices.Clone(s.Floats), Histograms: slices.Clone(s.Histograms)}
		}
		return out
	case promql.Vector:
		return slices.Clone(v)
	}
	return v
}

// Samples implements Metrics by reading the TSDB's chunks directly, with no evaluation: the
// series are split into as many shards as there are cores (by the hash of their labels), and
// each core lists its shard's chunks (the chunk querier merges overlapping ones) and decodes each
// series into a slice sized from its chunks' sample counts.
func (e *Embedded) Samples(ctx context.Context, selector string, start, end time.Time) (QueryResult, error) {
	sets, err := ParseSelectors([]string{selector})
	if err != nil {
		return QueryResult{}, err
	}
	mint, maxt := start.UnixMilli(), end.UnixMilli()
	shards := runtime.GOMAXPROCS(0)
	results := make([]promql.Matrix, shards)
	errs := make([]error, shards)
	warnings := make([]annotations.Annotations, shards)
	var wg sync.WaitGroup
	for i := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], warnings[i], errs[i] = e.samplesShard(ctx, sets[0], mint, maxt, uint64(i), uint64(shards))
		}()
	}
	wg.Wait()
	var out promql.Matrix
	var ws annotations.Annotations
	for i := range shards {
		if errs[i] != nil {
			if ctx.Err() != nil {
				return QueryResult{}, ctx.Err()
			}
			return QueryResult{Answer: Answer{Source: e.name, Status: Unavailable, Reason: errs[i].Error()}}, nil
		}
		out = append(out, results[i]...)
		ws.Merge(warnings[i])
	}
	slices.SortFunc(out, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) })
	return QueryResult{Answer: e.answer(ws), Value: out}, nil
}

// samplesShard reads one shard of the series' samples in (mint, maxt].
func (e *Embedded) samplesShard(ctx context.Context, matchers []*labels.Matcher, mint, maxt int64, index, count uint64) (promql.Matrix, annotations.Annotations, error) {
	q, err := e.db.ChunkQuerier(mint, maxt)
	if err != nil {
		return nil, nil, err
	}
	defer q.Close()
	// Select sorts the matchers in place: each shard gives its own copy.
	set := q.Select(ctx, false, &storage.SelectHints{Start: mint, End: maxt, ShardIndex: index, ShardCount: count}, slices.Clone(matchers)...)
	var (
		out     promql.Matrix
		chunkIt chunks.Iterator
		it      chunkenc.Iterator
		last    int // the last series' sample count: series selected together tend to be alike
	)
	for n := 0; set.Next(); n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		s := set.At()
		var pts []promql.FPoint
		chunkIt = s.Iterator(chunkIt)
		for chunkIt.Next() {
			// Each chunk is decoded at once: a chunk is only sure to be valid until the next.
			m := chunkIt.At()
			if m.MaxTime <= mint || m.MinTime > maxt || m.Chunk == nil {
				continue
			}
			if pts == nil {
				pts = make([]promql.FPoint, 0, max(last, m.Chunk.NumSamples()))
			}
			if pts, err = decodeFloats(pts, m, mint, maxt, &it); err != nil {
				return nil, nil, fmt.Errorf("decode chunk of %s: %w", s.Labels(), err)
			}
		}
		if err := chunkIt.Err(); err != nil {
			return nil, nil, fmt.Errorf("read chunks: %w", err)
		}
		if len(pts) > 0 {
			out = append(out, promql.Series{Metric: s.Labels(), Floats: pts})
			last = len(pts)
		}
	}
	return out, set.Warnings(), set.Err()
}

// Series implements Metrics.
func (e *Embedded) Series(ctx context.Context, selectors []string, start, end time.Time) (SeriesResult, error) {
	sets, err := ParseSelectors(selectors)
	if err != nil {
		return SeriesResult{}, err
	}
	if len(sets) == 0 {
		return SeriesResult{}, badRequest("at least one series selector (match[]) is required")
	}
	q, err := e.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return SeriesResult{Answer: Answer{Source: e.name, Status: Unavailable, Reason: err.Error()}}, nil
	}
	defer q.Close()
	seen := map[uint64]labels.Labels{}
	var ws annotations.Annotations
	hints := &storage.SelectHints{Start: start.UnixMilli(), End: end.UnixMilli(), Func: "series"}
	for _, ms := range sets {
		set := q.Select(ctx, false, hints, ms...)
		for set.Next() {
			l := set.At().Labels()
			seen[l.Hash()] = l
		}
		if err := set.Err(); err != nil {
			return SeriesResult{}, fmt.Errorf("select series: %w", err)
		}
		ws.Merge(set.Warnings())
	}
	out := make([]labels.Labels, 0, len(seen))
	for _, l := range seen {
		out = append(out, l)
	}
	slices.SortFunc(out, labels.Compare)
	return SeriesResult{Answer: e.answer(ws), Series: out}, nil
}

// LabelNames implements Metrics.
func (e *Embedded) LabelNames(ctx context.Context, selectors []string, start, end time.Time) (ValuesResult, error) {
	return e.labelQuery(ctx, selectors, start, end, func(q storage.Querier, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelNames(ctx, nil, ms...)
	})
}

// LabelValues implements Metrics.
func (e *Embedded) LabelValues(ctx context.Context, name string, selectors []string, start, end time.Time) (ValuesResult, error) {
	if name == "" || !utf8.ValidString(name) {
		return ValuesResult{}, badRequest("invalid label name %q", name)
	}
	return e.labelQuery(ctx, selectors, start, end, func(q storage.Querier, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
		return q.LabelValues(ctx, name, nil, ms...)
	})
}

// labelQuery runs a label lookup for each selector (or once without one) and merges the
// answers, sorted and without duplicates.
func (e *Embedded) labelQuery(ctx context.Context, selectors []string, start, end time.Time,
	look func(storage.Querier, []*labels.Matcher) ([]string, annotations.Annotations, error)) (ValuesResult, error) {
	sets, err := ParseSelectors(selectors)
	if err != nil {
		return ValuesResult{}, err
	}
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	q, err := e.db.Querier(start.UnixMilli(), end.UnixMilli())
	if err != nil {
		return ValuesResult{Answer: Answer{Source: e.name, Status: Unavailable, Reason: err.Error()}}, nil
	}
	defer q.Close()
	var all []string
	var ws annotations.Annotations
	for _, ms := range sets {
		vals, w, err := look(q, ms)
		if err != nil {
			return ValuesResult{}, fmt.Errorf("label lookup: %w", err)
		}
		all = append(all, vals...)
		ws.Merge(w)
	}
	slices.Sort(all)
	return ValuesResult{Answer: e.answer(ws), Values: slices.Compact(all)}, nil
}

// decodeFloats appends the float samples of one chunk (its metadata: m) in (mint, maxt] to pts,
// as a PromQL range selector would select them. Native histogram samples are not read here. A
// chunk wholly inside the range skips the per-sample bounds check: that is most of them.
func decodeFloats(pts []promql.FPoint, m chunks.Meta, mint, maxt int64, it *chunkenc.Iterator) ([]promql.FPoint, error) {
	*it = m.Chunk.Iterator(*it)
	inside := m.MinTime > mint && m.MaxTime <= maxt
	for vt := (*it).Next(); vt != chunkenc.ValNone; vt = (*it).Next() {
		if vt != chunkenc.ValFloat {
			continue
		}
		t, v := (*it).At()
		if inside || (t > mint && t <= maxt) {
			pts = append(pts, promql.FPoint{T: t, F: v})
		}
	}
	return pts, (*it).Err()
}
