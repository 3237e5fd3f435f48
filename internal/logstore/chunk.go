package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
)

// builder collects lines in columns until they are sealed into a chunk.
type builder struct {
	ts       []int64
	streams  []uint32
	sev      []Severity
	tmpl     []uint32
	bodies   []string
	traceIDs []string
}

func newBuilder() *builder { return &builder{} }

func (b *builder) len() int { return len(b.ts) }

func (b *builder) add(ts int64, stream uint32, sev Severity, tmpl uint32, body, trace string) {
	b.ts = append(b.ts, ts)
	b.streams = append(b.streams, stream)
	b.sev = append(b.sev, sev)
	b.tmpl = append(b.tmpl, tmpl)
	b.bodies = append(b.bodies, body)
	b.traceIDs = append(b.traceIDs, trace)
}

// splitByHour parts the lines by the hour they fall in, so each chunk belongs to one partition.
func (b *builder) splitByHour() map[int64]*builder {
	out := map[int64]*builder{}
	for i, ts := range b.ts {
		h := time.Unix(0, ts).Truncate(time.Hour).Unix()
		p := out[h]
		if p == nil {
			p = newBuilder()
			out[h] = p
		}
		p.add(ts, b.streams[i], b.sev[i], b.tmpl[i], b.bodies[i], b.traceIDs[i])
	}
	return out
}

// meta is a chunk's index: what a query checks before decompressing the chunk.
type meta struct {
	minT, maxT int64
	n          int
	streams    []uint32 // sorted
	sevMask    uint8    // bit s set when a line of severity s is present
	templates  []uint32 // sorted
}

// chunk is a sealed chunk: its index and its compressed columns.
type chunk struct {
	meta
	data []byte // snappy-compressed columns; nil when only the index is in memory
}

func (b *builder) build() *chunk {
	c := &chunk{meta: meta{n: len(b.ts)}}
	if len(b.ts) == 0 {
		return c
	}
	c.minT, c.maxT = slices.Min(b.ts), slices.Max(b.ts)
	c.streams = uniq(b.streams)
	c.templates = uniq(b.tmpl)
	for _, s := range b.sev {
		c.sevMask |= 1 << s
	}
	var buf []byte
	prev := int64(0)
	for i := range b.ts {
		buf = binary.AppendVarint(buf, b.ts[i]-prev)
		prev = b.ts[i]
		buf = binary.AppendUvarint(buf, uint64(b.streams[i]))
		buf = append(buf, byte(b.sev[i]))
		buf = binary.AppendUvarint(buf, uint64(b.tmpl[i]))
		buf = binary.AppendUvarint(buf, uint64(len(b.bodies[i])))
		buf = append(buf, b.bodies[i]...)
		buf = binary.AppendUvarint(buf, uint64(len(b.traceIDs[i])))
		buf = append(buf, b.traceIDs[i]...)
	}
	c.data = snappy.Encode(nil, buf)
	return c
}

func uniq(v []uint32) []uint32 {
	out := slices.Clone(v)
	slices.Sort(out)
	return slices.Compact(out)
}

// filter is a query made ready for testing chunks and lines.
type filter struct {
	minT, maxT int64
	streams    map[uint32]bool // nil: all
	minSev     Severity
	templates  map[uint32]bool // nil: all
	contains   string
	fold       bool
}

func newFilter(q Query, streams map[uint32]bool) *filter {
	f := &filter{minT: q.Start.UnixNano(), maxT: q.End.UnixNano(), streams: streams, minSev: q.MinSeverity, contains: q.Contains, fold: q.Fold}
	if q.Fold {
		f.contains = strings.ToLower(q.Contains)
	}
	if len(q.Templates) > 0 {
		f.templates = map[uint32]bool{}
		for _, t := range q.Templates {
			f.templates[t] = true
		}
	}
	return f
}

// skips reports whether no line of a chunk with this index can match.
func (f *filter) skips(m meta) bool {
	if m.n == 0 || m.maxT < f.minT || m.minT > f.maxT {
		return true
	}
	if f.streams != nil && !anyIn(m.streams, f.streams) {
		return true
	}
	if m.sevMask>>f.minSev == 0 {
		return true
	}
	return f.templates != nil && !anyIn(m.templates, f.templates)
}

func anyIn(v []uint32, set map[uint32]bool) bool {
	for _, x := range v {
		if set[x] {
			return true
		}
	}
	return false
}

var errCorrupt = errors.New("corrupt log chunk")

// scan decodes the chunk (if the index does not rule it out) and calls fn for each matching line.
func (c *chunk) scan(f *filter, labelsOf func(uint32) labels.Labels, fn func(Line) bool) error {
	if f.skips(c.meta) {
		return nil
	}
	buf, err := snappy.Decode(nil, c.data)
	if err != nil {
		return fmt.Errorf("%w: %v", errCorrupt, err)
	}
	var ts int64
	for i := 0; i < c.n; i++ {
		d, k := binary.Varint(buf)
		if k <= 0 {
			return errCorrupt
		}
		ts += d
		buf = buf[k:]
		stream, k := binary.Uvarint(buf)
		if k <= 0 || len(buf) < k+1 {
			return errCorrupt
		}
		sev := Severity(buf[k])
		buf = buf[k+1:]
		tmpl, k := binary.Uvarint(buf)
		if k <= 0 {
			return errCorrupt
		}
		buf = buf[k:]
		body, rest, err := readString(buf)
		if err != nil {
			return err
		}
		trace, rest, err := readString(rest)
		if err != nil {
			return err
		}
		buf = rest
		if ts < f.minT || ts > f.maxT || sev < f.minSev || (f.streams != nil && !f.streams[uint32(stream)]) ||
			(f.templates != nil && !f.templates[uint32(tmpl)]) || !f.textMatches(body) {
			continue
		}
		if !fn(Line{Time: time.Unix(0, ts).UTC(), Labels: labelsOf(uint32(stream)), Severity: sev, Template: uint32(tmpl), Body: body, TraceID: trace}) {
			return nil
		}
	}
	return nil
}

func (f *filter) textMatches(body string) bool {
	switch {
	case f.contains == "":
		return true
	case f.fold:
		return strings.Contains(strings.ToLower(body), f.contains)
	}
	return strings.Contains(body, f.contains)
}

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", nil, errCorrupt
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

// encodeMeta writes a chunk's index and the length of its data.
func encodeMeta(c *chunk) []byte {
	var b []byte
	b = append(b, "SXLC"...)
	b = binary.AppendVarint(b, c.minT)
	b = binary.AppendVarint(b, c.maxT)
	b = binary.AppendUvarint(b, uint64(c.n))
	b = binary.AppendUvarint(b, uint64(len(c.streams)))
	for _, s := range c.streams {
		b = binary.AppendUvarint(b, uint64(s))
	}
	b = append(b, c.sevMask)
	b = binary.AppendUvarint(b, uint64(len(c.templates)))
	for _, t := range c.templates {
		b = binary.AppendUvarint(b, uint64(t))
	}
	b = binary.AppendUvarint(b, uint64(len(c.data)))
	return b
}

// byteReader reads the index fields of a chunk.
type byteReader struct {
	b   []byte
	err error
}

func (r *byteReader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *byteReader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[k:]
	return v
}

// decodeMeta reads an index written by encodeMeta; it returns the index, the data length and
// how many bytes the index took.
func decodeMeta(b []byte) (meta, int, int, error) {
	if len(b) < 4 || string(b[:4]) != "SXLC" {
		return meta{}, 0, 0, errCorrupt
	}
	r := &byteReader{b: b[4:]}
	var m meta
	m.minT, m.maxT = r.varint(), r.varint()
	n := r.uvarint()
	if n > 1<<24 {
		return meta{}, 0, 0, errCorrupt
	}
	m.n = int(n)
	ns := r.uvarint()
	if r.err != nil || ns > uint64(len(r.b)) {
		return meta{}, 0, 0, errCorrupt
	}
	for range ns {
		m.streams = append(m.streams, uint32(r.uvarint()))
	}
	if r.err != nil || len(r.b) == 0 {
		return meta{}, 0, 0, errCorrupt
	}
	m.sevMask, r.b = r.b[0], r.b[1:]
	nt := r.uvarint()
	if r.err != nil || nt > uint64(len(r.b)) {
		return meta{}, 0, 0, errCorrupt
	}
	for range nt {
		m.templates = append(m.templates, uint32(r.uvarint()))
	}
	dataLen := r.uvarint()
	if r.err != nil || dataLen > 1<<31 {
		return meta{}, 0, 0, errCorrupt
	}
	return m, int(dataLen), len(b) - len(r.b), nil
}
