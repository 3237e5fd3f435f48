package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/protobuf/encoding/protowire"
)

// The fast path for OTLP metrics over HTTP protobuf. An exporter sends the same series every
// interval, so the translation of a series (its labels, built from the resource, the scope, the
// metric and the point's attributes) is worked out once, by Prometheus's own translator, and
// remembered by the bytes it was built from. A known gauge or cumulative-sum point then costs a
// few map lookups on sub-slices of the body: no message objects, no label building, no name
// normalisation. target_info is appended as the translator would append it. Metrics the fast
// path leaves alone (histograms, summaries, points with exemplars, anything unusual) are cut out
// of the body into a smaller request that goes through the translator in the same transaction.
// A request with any series not yet known goes through the translator whole, and its new series
// are learnt afterwards.

// seriesEntry is one learnt series: its labels and, once appended, its storage reference.
type seriesEntry struct {
	ref  atomic.Uint64
	lset labels.Labels
}

// metricEntry is one learnt metric (a resource's scope, name, type, unit, description) and its
// series, keyed by the encoded attributes of their points.
type metricEntry struct {
	opts   storage.AOptions
	points map[string]*seriesEntry
}

// resourceEntry is one learnt resource: its target_info series, if the translator makes one, and
// its metrics keyed by scope and metric header.
type resourceEntry struct {
	targetInfo     *seriesEntry
	targetInfoOpts storage.AOptions
	targetInfoHash uint64
	metrics        map[string]*metricEntry
}

// learntSeries is the translation memory, keyed by the encoded resource.
type learntSeries struct {
	mu        sync.RWMutex
	resources map[string]*resourceEntry
	size      int
}

// fastPoint is one gauge or cumulative-sum point of a request, as the walk found it.
type fastPoint struct {
	res           int      // index into fastPlan.resources
	metric        [2]int32 // the metric's key: offsets into fastPlan.keys
	attrs         []byte   // the point's encoded attributes (a sub-slice of the body)
	st, t         int64
	v             float64
	rm, sm, m, dp int32 // where the point is in the request, to find it in the decoded message
}

// fastResource is one resource of a request.
type fastResource struct {
	key              [2]int32 // offsets into fastPlan.keys
	rm               int32
	points           bool   // the resource has points of any kind
	earliest, latest uint64 // over all its points, as the translator computes them for target_info
}

// fastPlan is a request walked once: its fast points, its resources, and what is left for the
// translator.
type fastPlan struct {
	keys      []byte
	resources []fastResource
	points    []fastPoint
	rest      []byte // an export request of the metrics left to the translator; empty if none
	entries   []*seriesEntry
	opts      []*storage.AOptions
	targets   []*resourceEntry
}

var errNotFast = errors.New("not for the fast path")

var planPool = sync.Pool{New: func() any { return new(fastPlan) }}

// writeFast appends a protobuf request through the fast path. It answers errNotFast, having
// appended nothing, when the request has a series it does not know yet or is not one it can
// read; the caller then decodes it and translates it whole.
func (m *metricsConverter) writeFast(ctx context.Context, body []byte) error {
	p := planPool.Get().(*fastPlan)
	defer planPool.Put(p)
	if err := p.walk(body); err != nil {
		return errNotFast
	}
	if !m.learnt.lookup(p) {
		return errNotFast
	}
	app := m.db.AppenderV2(ctx)
	if err := p.append(app); err != nil {
		_ = app.Rollback()
		return errNotFast // the translator will give the same refusal, with its own words
	}
	if len(p.rest) > 0 {
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(p.rest); err != nil {
			_ = app.Rollback()
			return errNotFast
		}
		settings := m.settings
		settings.DisableTargetInfo = true // appended above, over all the resource's points
		if err := m.translate(ctx, app, req.Metrics(), settings); err != nil {
			_ = app.Rollback()
			return errNotFast // translated whole, the refusal names the request's own indices
		}
	}
	m.fastRequests.Add(1)
	return app.Commit()
}

// lookup finds every resource and point of the plan, reporting whether all are known.
func (l *learntSeries) lookup(p *fastPlan) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p.targets = p.targets[:0]
	for _, r := range p.resources {
		re := l.resources[string(p.key(r.key))]
		if re == nil {
			return false
		}
		p.targets = append(p.targets, re)
	}
	p.entries, p.opts = p.entries[:0], p.opts[:0]
	for i := range p.points {
		pt := &p.points[i]
		me := p.targets[pt.res].metrics[string(p.key(pt.metric))]
		if me == nil {
			return false
		}
		e := me.points[string(pt.attrs)]
		if e == nil {
			return false
		}
		p.entries = append(p.entries, e)
		p.opts = append(p.opts, &me.opts)
	}
	return true
}

// append appends the plan's points and target_info samples.
func (p *fastPlan) append(app storage.AppenderV2) error {
	for i := range p.points {
		pt, e := &p.points[i], p.entries[i]
		ref, err := app.Append(storage.SeriesRef(e.ref.Load()), e.lset, pt.st, pt.t, pt.v, nil, nil, *p.opts[i])
		if err != nil {
			return err
		}
		e.ref.Store(uint64(ref))
	}
	// target_info: a sample every half lookback delta from the resource's earliest point to its
	// latest, and one at the latest, each labelset and time once per request.
	type seen struct {
		hash uint64
		t    int64
	}
	var done map[seen]struct{}
	if len(p.resources) > 1 {
		done = make(map[seen]struct{}, 2*len(p.resources))
	}
	step := uint64(lookbackDelta.Nanoseconds() / 2)
	for i, r := range p.resources {
		re := p.targets[i]
		if !r.points || re.targetInfo == nil {
			continue
		}
		add := func(ns uint64) error {
			t := int64(ns / 1e6)
			if done != nil {
				k := seen{re.targetInfoHash, t}
				if _, dup := done[k]; dup {
					return nil
				}
				done[k] = struct{}{}
			}
			ref, err := app.Append(storage.SeriesRef(re.targetInfo.ref.Load()), re.targetInfo.lset, 0, t, 1, nil, nil, re.targetInfoOpts)
			if err == nil {
				re.targetInfo.ref.Store(uint64(ref))
			}
			return err
		}
		for ns := r.earliest; ns < r.latest; ns += step {
			if err := add(ns); err != nil {
				return err
			}
		}
		if err := add(r.latest); err != nil {
			return err
		}
	}
	return nil
}

func (p *fastPlan) key(k [2]int32) []byte { return p.keys[k[0]:k[1]] }

// addKey appends the parts, each length-prefixed, to the plan's keys and returns their offsets.
func (p *fastPlan) addKey(parts ...[]byte) [2]int32 {
	start := len(p.keys)
	for _, b := range parts {
		p.keys = protowire.AppendBytes(p.keys, b)
	}
	return [2]int32{int32(start), int32(len(p.keys))}
}

// learn remembers the translation of every series of md that the fast path does not know yet.
// body is md as it was received; it gives the keys. A series whose translation is not one
// sample (or one sample and target_info) is not learnt: its requests keep going the slow way.
func (m *metricsConverter) learn(ctx context.Context, body []byte, md pmetric.Metrics) {
	p := planPool.Get().(*fastPlan)
	defer planPool.Put(p)
	if p.walk(body) != nil {
		return
	}
	rms := md.ResourceMetrics()
	newResources := map[string]*resourceEntry{}
	resources := make([]*resourceEntry, len(p.resources))
	m.learnt.mu.RLock()
	for i, r := range p.resources {
		resources[i] = m.learnt.resources[string(p.key(r.key))]
	}
	m.learnt.mu.RUnlock()
	for i, r := range p.resources {
		if resources[i] != nil {
			continue
		}
		if re := newResources[string(p.key(r.key))]; re != nil {
			resources[i] = re
			continue
		}
		re, err := m.learnResource(ctx, rms.At(int(r.rm)))
		if err != nil {
			return
		}
		newResources[string(p.key(r.key))] = re
		resources[i] = re
	}
	type newSeries struct {
		point  int
		metric string
		attrs  string
		entry  *seriesEntry
		opts   storage.AOptions
	}
	var learnt []newSeries
	m.learnt.mu.RLock()
	for i, pt := range p.points {
		me := resources[pt.res].metrics[string(p.key(pt.metric))]
		if me != nil && me.points[string(pt.attrs)] != nil {
			continue
		}
		learnt = append(learnt, newSeries{point: i, metric: string(p.key(pt.metric)), attrs: string(pt.attrs)})
	}
	m.learnt.mu.RUnlock()
	for i := range learnt {
		lset, opts, err := m.learnPoint(ctx, rms, &p.points[learnt[i].point])
		if err != nil {
			return
		}
		learnt[i].entry, learnt[i].opts = &seriesEntry{lset: lset}, opts
	}

	l := &m.learnt
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.size+len(learnt)+len(newResources) > maxCachedSeries {
		l.resources, l.size = map[string]*resourceEntry{}, 0
	}
	for k, re := range newResources {
		if l.resources[k] == nil {
			l.resources[k] = re
			l.size++
		}
	}
	for i, r := range p.resources {
		resources[i] = l.resources[string(p.key(r.key))]
	}
	for _, s := range learnt {
		re := resources[p.points[s.point].res]
		if re == nil { // forgotten since: the next request learns it again
			continue
		}
		me := re.metrics[s.metric]
		if me == nil {
			me = &metricEntry{opts: s.opts, points: map[string]*seriesEntry{}}
			re.metrics[s.metric] = me
		}
		if me.points[s.attrs] == nil {
			me.points[s.attrs] = s.entry
			l.size++
		}
	}
}

// capture is an appender that keeps what it is given, for learning a translation.
type capture struct{ appends []captured }

type captured struct {
	lset labels.Labels
	opts storage.AOptions
}

func (c *capture) Append(_ storage.SeriesRef, ls labels.Labels, _, _ int64, _ float64, _ *histogram.Histogram, _ *histogram.FloatHistogram, opts storage.AOptions) (storage.SeriesRef, error) {
	opts.MetricFamilyName = strings.Clone(opts.MetricFamilyName) // only valid during the call
	opts.Exemplars = nil
	c.appends = append(c.appends, captured{lset: ls.Copy(), opts: opts})
	return 0, nil
}
func (c *capture) Commit() error   { return nil }
func (c *capture) Rollback() error { return nil }

// learnResource translates a probe point under the resource to find its target_info series.
func (m *metricsConverter) learnResource(ctx context.Context, rm pmetric.ResourceMetrics) (*resourceEntry, error) {
	md := pmetric.NewMetrics()
	probe := md.ResourceMetrics().AppendEmpty()
	rm.Resource().CopyTo(probe.Resource())
	probe.SetSchemaUrl(rm.SchemaUrl())
	g := probe.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	g.SetName("sextant_probe")
	g.SetEmptyGauge().DataPoints().AppendEmpty().SetTimestamp(1e6)
	var c capture
	if err := m.translate(ctx, &c, md, m.settings); err != nil {
		return nil, err
	}
	re := &resourceEntry{metrics: map[string]*metricEntry{}}
	switch len(c.appends) {
	case 1:
	case 2:
		ti := c.appends[1]
		if ti.lset.Get(model.MetricNameLabel) != "target_info" {
			return nil, fmt.Errorf("unexpected probe translation %v", ti.lset)
		}
		re.targetInfo, re.targetInfoOpts, re.targetInfoHash = &seriesEntry{lset: ti.lset}, ti.opts, ti.lset.Hash()
	default:
		return nil, fmt.Errorf("probe translated into %d samples", len(c.appends))
	}
	return re, nil
}

// learnPoint translates one point alone, under its resource, scope and metric.
func (m *metricsConverter) learnPoint(ctx context.Context, rms pmetric.ResourceMetricsSlice, pt *fastPoint) (labels.Labels, storage.AOptions, error) {
	if int(pt.rm) >= rms.Len() {
		return labels.EmptyLabels(), storage.AOptions{}, errors.New("point not found")
	}
	rm := rms.At(int(pt.rm))
	sms := rm.ScopeMetrics()
	if int(pt.sm) >= sms.Len() || int(pt.m) >= sms.At(int(pt.sm)).Metrics().Len() {
		return labels.EmptyLabels(), storage.AOptions{}, errors.New("point not found")
	}
	sm := sms.At(int(pt.sm))
	metric := sm.Metrics().At(int(pt.m))

	md := pmetric.NewMetrics()
	one := md.ResourceMetrics().AppendEmpty()
	rm.Resource().CopyTo(one.Resource())
	one.SetSchemaUrl(rm.SchemaUrl())
	osm := one.ScopeMetrics().AppendEmpty()
	sm.Scope().CopyTo(osm.Scope())
	osm.SetSchemaUrl(sm.SchemaUrl())
	om := osm.Metrics().AppendEmpty()
	metric.CopyTo(om)
	var dps pmetric.NumberDataPointSlice
	switch om.Type() {
	case pmetric.MetricTypeGauge:
		dps = om.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		dps = om.Sum().DataPoints()
	default:
		return labels.EmptyLabels(), storage.AOptions{}, errors.New("not a number metric")
	}
	i := 0
	dps.RemoveIf(func(pmetric.NumberDataPoint) bool { i++; return i-1 != int(pt.dp) })
	settings := m.settings
	settings.DisableTargetInfo = true
	var c capture
	if err := m.translate(ctx, &c, md, settings); err != nil {
		return labels.EmptyLabels(), storage.AOptions{}, err
	}
	if len(c.appends) != 1 {
		return labels.EmptyLabels(), storage.AOptions{}, fmt.Errorf("point translated into %d samples", len(c.appends))
	}
	return c.appends[0].lset, c.appends[0].opts, nil
}
