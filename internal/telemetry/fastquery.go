package telemetry

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"github.com/prometheus/prometheus/schema"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/kahansum"
)

// The fast path for the range query that dashboards and the analysis ask most:
//
//	[sum|min|max|count [by|without (…)]] (rate|increase(metric{…}[range]))
//
// evaluated straight from the chunks, one series at a time on every core: each series' samples
// are decoded once and swept with a window that moves forward step by step, and its values go
// into its group's running aggregate, so nothing holds all the samples at once. The arithmetic
// is PromQL's own (extrapolatedRate and the aggregations, Kahan summation included) up to the
// order of summation and a few reciprocals; a test requires the same answers as the engine, to
// 1e-9 relative, on random data with counter resets, gaps and staleness markers. Anything else, or a series with native histograms, is left to the engine.

// fastShape is a query the fast path evaluates.
type fastShape struct {
	op       parser.ItemType // 0 when not aggregated
	grouping []string
	without  bool
	rate     bool // rate, else increase
	metric   string
	matchers []*labels.Matcher
	rangeMs  int64
	pos      posrange.PositionRange
}

// promqlParser parses as the engine does (its default options).
var promqlParser = parser.NewParser(parser.Options{})

// matchFastShape reports whether q is a query the fast path evaluates.
func matchFastShape(q string) (fastShape, bool) {
	expr, err := promqlParser.ParseExpr(q)
	if err != nil {
		return fastShape{}, false
	}
	var s fastShape
	expr = unwrapParens(expr)
	if agg, ok := expr.(*parser.AggregateExpr); ok {
		switch agg.Op {
		case parser.SUM, parser.MIN, parser.MAX, parser.COUNT:
		default:
			return fastShape{}, false
		}
		if agg.Param != nil {
			return fastShape{}, false
		}
		s.op, s.grouping, s.without = agg.Op, agg.Grouping, agg.Without
		expr = unwrapParens(agg.Expr)
	}
	call, ok := expr.(*parser.Call)
	if !ok || (call.Func.Name != "rate" && call.Func.Name != "increase") || len(call.Args) != 1 {
		return fastShape{}, false
	}
	ms, ok := call.Args[0].(*parser.MatrixSelector)
	if !ok {
		return fastShape{}, false
	}
	vs, ok := ms.VectorSelector.(*parser.VectorSelector)
	if !ok || vs.Name == "" || vs.OriginalOffset != 0 || vs.Timestamp != nil || vs.StartOrEnd != 0 || vs.Anchored || vs.Smoothed {
		return fastShape{}, false
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && (m.Type != labels.MatchEqual || m.Value != vs.Name) {
			return fastShape{}, false // more than one metric name could collide once names are dropped
		}
	}
	s.rate, s.metric, s.matchers, s.rangeMs = call.Func.Name == "rate", vs.Name, vs.LabelMatchers, ms.Range.Milliseconds()
	s.pos = call.Args[0].PositionRange()
	return s, s.rangeMs > 0
}

func unwrapParens(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// fastGroup is one output series being aggregated, step by step.
type fastGroup struct {
	labels labels.Labels
	value  []float64
	kahan  []float64
	count  []float64 // series with a value at the step; 0 means no output
}

// fastWorker is one core's share: its groups (merged at the end) and its scratch space.
type fastWorker struct {
	groups   map[string]*fastGroup
	points   []promql.FPoint
	it       chunkenc.Iterator
	mixed    bool // a series had histogram samples: the engine must answer
	err      error
	noCount  bool // a series whose name does not say it is a counter
	warnings annotations.Annotations
}

// fastRange evaluates the shape over the range, or answers ok=false when the engine must. The
// series are split into as many shards as there are cores (by the hash of their labels, which the
// TSDB's index supports), and each core lists, decodes, evaluates and aggregates its own. (Cutting
// the range into consecutive pieces instead, one per core, measured slower: every piece lists
// every series.)
func (e *Embedded) fastRange(ctx context.Context, s fastShape, r Range) (QueryResult, bool, error) {
	start, end, step := r.Start.UnixMilli(), r.End.UnixMilli(), r.Step.Milliseconds()
	if step <= 0 {
		return QueryResult{}, false, nil
	}
	steps := int((end-start)/step) + 1
	workers := make([]*fastWorker, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range workers {
		w := &fastWorker{groups: map[string]*fastGroup{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.err = w.shard(ctx, e.db, s, start, end, step, steps, uint64(i), uint64(len(workers)))
		}()
	}
	wg.Wait()
	var annos annotations.Annotations
	for _, w := range workers {
		switch {
		case w.mixed:
			return QueryResult{}, false, nil
		case w.err != nil && ctx.Err() != nil:
			return QueryResult{}, true, ctx.Err()
		case w.err != nil:
			return QueryResult{Answer: Answer{Source: e.name, Status: Unavailable, Reason: w.err.Error()}}, true, nil
		}
		if w.noCount {
			annos.Add(annotations.NewPossibleNonCounterInfo(s.metric, s.pos))
		}
		annos.Merge(w.warnings)
	}
	return QueryResult{Answer: e.answer(annos), Value: mergeGroups(s, workers, start, step)}, true, nil
}

// shard evaluates one shard of the series over the whole range.
func (w *fastWorker) shard(ctx context.Context, db *tsdb.DB, s fastShape, start, maxt, step int64, steps int, index, count uint64) error {
	mint := start - s.rangeMs
	q, err := db.ChunkQuerier(mint, maxt)
	if err != nil {
		return err
	}
	defer q.Close()
	hints := &storage.SelectHints{Start: mint, End: maxt, Step: step, Range: s.rangeMs, ShardIndex: index, ShardCount: count}
	// Select sorts the matchers in place: each shard gives its own copy.
	set := q.Select(ctx, false, hints, slices.Clone(s.matchers)...)
	var chunkIt chunks.Iterator
	for n := 0; set.Next(); n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		series := set.At()
		w.points = w.points[:0]
		chunkIt = series.Iterator(chunkIt)
		for chunkIt.Next() {
			m := chunkIt.At()
			if m.Chunk == nil || m.MaxTime <= mint || m.MinTime > maxt {
				continue
			}
			if err := w.decode(m.Chunk); err != nil || w.mixed {
				return err
			}
		}
		if err := chunkIt.Err(); err != nil {
			return fmt.Errorf("read chunks: %w", err)
		}
		if len(w.points) >= 2 && w.evalSeries(s, start, step, w.group(s, series.Labels(), steps)) {
			w.noCount = w.noCount || !looksLikeCounter(s.metric)
		}
	}
	w.warnings = set.Warnings()
	return set.Err()
}

// decode appends a chunk's float samples to the worker's points, leaving out staleness markers.
func (w *fastWorker) decode(c chunkenc.Chunk) error {
	w.it = c.Iterator(w.it)
	for vt := w.it.Next(); vt != chunkenc.ValNone; vt = w.it.Next() {
		if vt != chunkenc.ValFloat {
			w.mixed = true
			return nil
		}
		t, v := w.it.At()
		if !value.IsStaleNaN(v) {
			w.points = append(w.points, promql.FPoint{T: t, F: v})
		}
	}
	if err := w.it.Err(); err != nil {
		return fmt.Errorf("decode chunk: %w", err)
	}
	return nil
}

// evalSeries computes the decoded series' rate or increase at every step and folds each value
// into the group. It answers whether there was any value.
func (w *fastWorker) evalSeries(s fastShape, start, step int64, g *fastGroup) bool {
	pts := w.points
	any := false
	perRangeSecond := 1000 / float64(s.rangeMs)
	// The window is pts[lo:hi]; reset is the first point after lo lower than the one before it
	// (a counter reset), so that a window without one needs no loop.
	lo, hi, reset := 0, 0, 1
	for k := range g.count {
		ts := start + int64(k)*step
		mint := ts - s.rangeMs
		for lo < len(pts) && pts[lo].T <= mint {
			lo++
		}
		if hi < lo {
			hi = lo
		}
		for hi < len(pts) && pts[hi].T <= ts {
			hi++
		}
		if hi-lo < 2 {
			continue
		}
		reset = max(reset, lo+1)
		for reset < hi && pts[reset].F >= pts[reset-1].F {
			reset++
		}
		f := extrapolatedRate(pts[lo:hi], reset < hi, mint, ts, perRangeSecond, s.rate)
		any = true
		if g.count[k] == 0 || s.op != parser.SUM {
			g.combine(s.op, k, f, 0, 1)
			continue
		}
		g.count[k]++
		g.value[k], g.kahan[k] = kahansum.Inc(f, g.value[k], g.kahan[k])
	}
	return any
}

// extrapolatedRate is PromQL's rate and increase of a counter over a window of at least two
// float samples (no start timestamps), as promql/functions.go computes it, except that it
// multiplies by reciprocals where the engine divides by 1,000 and by the range (a division
// costs as much as the rest of the function): the results differ in the last bits at most.
func extrapolatedRate(pts []promql.FPoint, resets bool, rangeStart, rangeEnd int64, perRangeSecond float64, isRate bool) float64 {
	first, last := pts[0], pts[len(pts)-1]
	result := last.F - first.F
	if resets {
		for i := 1; i < len(pts); i++ {
			if pts[i].F < pts[i-1].F {
				result += pts[i-1].F
			}
		}
	}
	durationToStart := float64(first.T-rangeStart) * 1e-3
	durationToEnd := float64(rangeEnd-last.T) * 1e-3
	sampledInterval := float64(last.T-first.T) * 1e-3
	averageDurationBetweenSamples := sampledInterval / float64(len(pts)-1)
	extrapolationThreshold := averageDurationBetweenSamples * 1.1
	if durationToStart >= extrapolationThreshold {
		durationToStart = averageDurationBetweenSamples / 2
	}
	if result > 0 && first.F >= 0 {
		if durationToZero := sampledInterval * (first.F / result); durationToZero < durationToStart {
			durationToStart = durationToZero
		}
	}
	if durationToEnd >= extrapolationThreshold {
		durationToEnd = averageDurationBetweenSamples / 2
	}
	factor := 1.0
	if sampledInterval != 0 {
		factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
	}
	if isRate {
		factor *= perRangeSecond
	}
	return result * factor
}

// looksLikeCounter is the engine's test before it warns that rate or increase may be applied
// to something that is not a counter.
func looksLikeCounter(name string) bool {
	return strings.HasSuffix(name, "_total") || strings.HasSuffix(name, "_sum") ||
		strings.HasSuffix(name, "_count") || strings.HasSuffix(name, "_bucket")
}

// group returns the output series a series' values go into.
func (w *fastWorker) group(s fastShape, lset labels.Labels, steps int) *fastGroup {
	key := lset.DropReserved(schema.IsMetadataLabel)
	switch {
	case s.op == 0:
	case s.without:
		key = labels.NewBuilder(key).Del(s.grouping...).Labels()
	default:
		key = labels.NewBuilder(key).Keep(s.grouping...).Labels()
	}
	k := key.String()
	g := w.groups[k]
	if g == nil {
		g = &fastGroup{labels: key, value: make([]float64, steps), kahan: make([]float64, steps), count: make([]float64, steps)}
		w.groups[k] = g
	}
	return g
}

// combine folds a value (with its Kahan compensation and the number of series behind it) into
// the group at a step, as PromQL's aggregation does.
func (g *fastGroup) combine(op parser.ItemType, i int, f, c, n float64) {
	if g.count[i] == 0 {
		g.value[i], g.kahan[i], g.count[i] = f, c, n
		return
	}
	g.count[i] += n
	switch op {
	case parser.SUM:
		g.value[i], g.kahan[i] = kahansum.Inc(f, g.value[i], g.kahan[i])
		if c != 0 {
			g.value[i], g.kahan[i] = kahansum.Inc(c, g.value[i], g.kahan[i])
		}
	case parser.MAX:
		if g.value[i] < f || math.IsNaN(g.value[i]) {
			g.value[i] = f
		}
	case parser.MIN:
		if g.value[i] > f || math.IsNaN(g.value[i]) {
			g.value[i] = f
		}
	}
}

// mergeGroups joins the workers' groups into the result matrix, sorted by labels.
func mergeGroups(s fastShape, workers []*fastWorker, start, step int64) promql.Matrix {
	all := map[string]*fastGroup{}
	var keys []string
	for _, w := range workers {
		for k, g := range w.groups {
			into := all[k]
			if into == nil {
				all[k] = g
				keys = append(keys, k)
				continue
			}
			for i := range g.count {
				if g.count[i] > 0 {
					into.combine(s.op, i, g.value[i], g.kahan[i], g.count[i])
				}
			}
		}
	}
	out := make(promql.Matrix, 0, len(all))
	for _, k := range keys {
		g := all[k]
		series := promql.Series{Metric: g.labels}
		for i, n := range g.count {
			if n == 0 {
				continue
			}
			f := g.value[i]
			switch s.op {
			case parser.SUM:
				f += g.kahan[i]
			case parser.COUNT:
				f = n
			}
			series.Floats = append(series.Floats, promql.FPoint{T: start + int64(i)*step, F: f})
		}
		if len(series.Floats) > 0 {
			out = append(out, series)
		}
	}
	slices.SortFunc(out, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) })
	return out
}
