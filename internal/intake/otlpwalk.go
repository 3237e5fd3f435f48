package intake

import (
	"errors"
	"math"

	"github.com/prometheus/prometheus/model/value"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"google.golang.org/protobuf/encoding/protowire"
)

// The fast path's walk over an OTLP metrics request in its protobuf encoding: it finds the
// gauge and cumulative-sum points and their keys in place, and cuts every other metric out into
// a smaller request for the translator.

// The walk: protobuf field numbers of the OTLP metrics messages it reads.
const (
	fieldResourceMetrics = 1 // ExportMetricsServiceRequest
	fieldResource        = 1 // ResourceMetrics
	fieldScopeMetrics    = 2
	fieldSchemaURL       = 3 // ResourceMetrics and ScopeMetrics
	fieldScope           = 1 // ScopeMetrics
	fieldMetrics         = 2
	fieldGauge           = 5 // Metric
	fieldSum             = 7
	fieldHistogram       = 9
	fieldExpHistogram    = 10
	fieldSummary         = 11
	fieldDataPoints      = 1 // Gauge, Sum, Histogram, ExponentialHistogram, Summary
	fieldTemporality     = 2 // Sum
	fieldStartTime       = 2 // every data point
	fieldTime            = 3
	fieldAsDouble        = 4 // NumberDataPoint
	fieldExemplars       = 5
	fieldAsInt           = 6
	fieldAttributes      = 7
	fieldFlags           = 8
)

// field is one protobuf field as found in a message.
type field struct {
	num  protowire.Number
	typ  protowire.Type
	raw  []byte // the whole field, tag included
	data []byte // a length-delimited field's contents
	u    uint64 // a varint or fixed field's value
}

func nextField(b []byte) (field, []byte, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, nil, protowire.ParseError(n)
	}
	f := field{num: num, typ: typ}
	var m int
	switch typ {
	case protowire.VarintType:
		f.u, m = protowire.ConsumeVarint(b[n:])
	case protowire.Fixed64Type:
		f.u, m = protowire.ConsumeFixed64(b[n:])
	case protowire.Fixed32Type:
		var u uint32
		u, m = protowire.ConsumeFixed32(b[n:])
		f.u = uint64(u)
	case protowire.BytesType:
		f.data, m = protowire.ConsumeBytes(b[n:])
	default:
		m = protowire.ConsumeFieldValue(num, typ, b[n:])
	}
	if m < 0 {
		return field{}, nil, protowire.ParseError(m)
	}
	f.raw = b[:n+m]
	return f, b[n+m:], nil
}

var errUnusual = errors.New("unusual encoding")

// fields calls fn for each field of a message, stopping at the first error.
func fields(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		f, next, err := nextField(b)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		b = next
	}
	return nil
}

// messages calls fn for each field numbered num, which must hold a message.
func messages(b []byte, num protowire.Number, fn func(f field) error) error {
	return fields(b, func(f field) error {
		if f.num != num {
			return nil
		}
		if f.typ != protowire.BytesType {
			return errUnusual
		}
		return fn(f)
	})
}

// walk reads a request into the plan: gauge and cumulative-sum points into points, every other
// metric into rest.
func (p *fastPlan) walk(body []byte) error {
	p.keys, p.resources, p.points, p.rest = p.keys[:0], p.resources[:0], p.points[:0], p.rest[:0]
	var rmIndex int32
	return messages(body, fieldResourceMetrics, func(f field) error {
		err := p.walkResource(f.data, rmIndex)
		rmIndex++
		return err
	})
}

// single finds a message's one field numbered num (a repeated message field merges: that is left
// to the decoder) and its schema URL.
func single(b []byte, num protowire.Number) (one, schema field, err error) {
	err = fields(b, func(f field) error {
		switch f.num {
		case num:
			if one.raw != nil || f.typ != protowire.BytesType {
				return errUnusual
			}
			one = f
		case fieldSchemaURL:
			schema = f
		}
		return nil
	})
	return one, schema, err
}

func (p *fastPlan) walkResource(b []byte, rmIndex int32) error {
	resource, schema, err := single(b, fieldResource)
	if err != nil {
		return err
	}
	r := fastResource{key: p.addKey(resource.data, schema.raw), rm: rmIndex, earliest: math.MaxUint64}
	res := len(p.resources)
	var restScopes []byte
	var smIndex int32
	err = messages(b, fieldScopeMetrics, func(f field) error {
		left, err := p.walkScope(f.data, &r, res, rmIndex, smIndex)
		if left != nil {
			restScopes = protowire.AppendTag(restScopes, fieldScopeMetrics, protowire.BytesType)
			restScopes = protowire.AppendBytes(restScopes, left)
		}
		smIndex++
		return err
	})
	if err != nil {
		return err
	}
	p.resources = append(p.resources, r)
	if restScopes != nil {
		rm := append([]byte(nil), resource.raw...)
		rm = append(rm, schema.raw...)
		rm = append(rm, restScopes...)
		p.rest = protowire.AppendTag(p.rest, fieldResourceMetrics, protowire.BytesType)
		p.rest = protowire.AppendBytes(p.rest, rm)
	}
	return nil
}

// walkScope reads one ScopeMetrics and returns the encoding of what is left of it for the
// translator (nil if nothing).
func (p *fastPlan) walkScope(b []byte, r *fastResource, res int, rmIndex, smIndex int32) ([]byte, error) {
	scope, schema, err := single(b, fieldScope)
	if err != nil {
		return nil, err
	}
	var left, header []byte
	var mIndex int32
	err = messages(b, fieldMetrics, func(f field) error {
		fast, err := p.walkMetric(f.data, r, res, [2]field{scope, schema}, &header, [3]int32{rmIndex, smIndex, mIndex})
		if !fast {
			left = append(left, f.raw...)
		}
		mIndex++
		return err
	})
	if err != nil || left == nil {
		return nil, err
	}
	out := append([]byte(nil), scope.raw...)
	out = append(out, schema.raw...)
	return append(out, left...), nil
}

// walkMetric reads one Metric. It answers whether its points went to the plan; if not, the
// metric is left to the translator, and only its points' times are read (for target_info).
func (p *fastPlan) walkMetric(b []byte, r *fastResource, res int, scope [2]field, header *[]byte, at [3]int32) (bool, error) {
	h := (*header)[:0]
	var data field
	dataFields := 0
	for rest := b; len(rest) > 0; {
		f, next, err := nextField(rest)
		if err != nil {
			return false, err
		}
		rest = next
		switch f.num {
		case fieldGauge, fieldSum, fieldHistogram, fieldExpHistogram, fieldSummary:
			if f.typ != protowire.BytesType {
				return false, errUnusual
			}
			data = f
			dataFields++
		default:
			h = append(h, f.raw...)
		}
	}
	*header = h
	switch dataFields {
	case 0:
		return false, nil // no type: the translator refuses it
	case 1:
	default:
		return false, errUnusual // a oneof set twice: leave the merging to the decoder
	}
	fast := data.num == fieldGauge || data.num == fieldSum
	// The data message's own fields other than its points belong to the metric's key.
	h = append(h, byte(data.num))
	cumulative := false
	for rest := data.data; len(rest) > 0; {
		f, next, err := nextField(rest)
		if err != nil {
			return false, err
		}
		rest = next
		if f.num == fieldDataPoints {
			continue
		}
		if f.num == fieldTemporality {
			cumulative = f.typ == protowire.VarintType && f.u == uint64(pmetric.AggregationTemporalityCumulative)
		}
		h = append(h, f.raw...)
	}
	if data.num == fieldSum && !cumulative {
		fast = false // delta or unspecified: the translator answers for it
	}
	*header = h
	first := len(p.points)
	var key [2]int32
	if fast {
		key = p.addKey(scope[0].data, scope[1].raw, h)
	}
	var dpIndex int32
	for rest := data.data; len(rest) > 0; {
		f, next, _ := nextField(rest)
		rest = next
		if f.num != fieldDataPoints {
			continue
		}
		if f.typ != protowire.BytesType {
			return false, errUnusual
		}
		pt, t, ok, err := readPoint(f.data)
		if err != nil {
			return false, err
		}
		if t > math.MaxInt64 {
			return false, errUnusual // the translator's target_info times wrap; leave it to it
		}
		r.points = true
		r.earliest, r.latest = min(r.earliest, t), max(r.latest, t)
		if fast && ok {
			pt.res, pt.metric = res, key
			pt.rm, pt.sm, pt.m, pt.dp = at[0], at[1], at[2], dpIndex
			p.points = append(p.points, pt)
		} else {
			fast = false
		}
		dpIndex++
	}
	if !fast {
		p.points = p.points[:first]
		if key != ([2]int32{}) {
			p.keys = p.keys[:key[0]]
		}
	}
	return fast, nil
}

// readPoint reads a data point. ok says whether it is a plain number point the fast path takes:
// no exemplars, no field it does not know, a time that fits. t is its time for target_info
// whatever its kind.
func readPoint(b []byte) (pt fastPoint, t uint64, ok bool, err error) {
	ok = true
	var start, flags uint64
	attrsFrom, attrsTo := -1, -1
	for off := 0; off < len(b); {
		f, _, err := nextField(b[off:])
		if err != nil {
			return pt, 0, false, err
		}
		switch {
		case f.num == fieldTime && f.typ == protowire.Fixed64Type:
			t = f.u
		case f.num == fieldStartTime && f.typ == protowire.Fixed64Type:
			start = f.u
		case f.num == fieldAsDouble && f.typ == protowire.Fixed64Type:
			pt.v = math.Float64frombits(f.u)
		case f.num == fieldAsInt && f.typ == protowire.Fixed64Type:
			pt.v = float64(int64(f.u))
		case f.num == fieldFlags && f.typ == protowire.VarintType:
			flags = f.u
		case f.num == fieldAttributes && f.typ == protowire.BytesType:
			// Attributes must be one run of fields, so that the key is a sub-slice.
			switch {
			case attrsFrom < 0:
				attrsFrom = off
			case attrsTo != off:
				ok = false
			}
			attrsTo = off + len(f.raw)
		default:
			ok = false // exemplars, or something this walk does not know
		}
		off += len(f.raw)
	}
	if attrsFrom >= 0 {
		pt.attrs = b[attrsFrom:attrsTo]
	}
	if start > math.MaxInt64 {
		ok = false
	}
	if flags&1 != 0 { // no recorded value: a staleness marker
		pt.v = math.Float64frombits(value.StaleNaN)
	}
	pt.t, pt.st = int64(t)/1e6, int64(start)/1e6
	return pt, t, ok, nil
}
