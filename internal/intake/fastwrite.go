package intake

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"google.golang.org/protobuf/encoding/protowire"
)

// The fast path for remote write 1.0 float samples, the bulk of what Prometheus sends. It walks
// the protobuf in place (no message objects), and remembers each series' storage reference by a
// hash of its encoded labels, so a known series costs one map lookup instead of building,
// validating and hashing a label set. Anything else (remote write 2.0, native histograms,
// exemplars) goes to Prometheus's own handler.

// seriesCache maps the hash of a series' encoded labels to its storage reference.
type seriesCache struct {
	mu      sync.RWMutex
	entries map[uint64]cacheEntry
}

type cacheEntry struct {
	ref    storage.SeriesRef
	labels []byte // the encoded labels, to tell a hash collision from a hit
}

// maxCachedSeries bounds the cache; past it the cache starts over (every series is looked up once
// more), which keeps memory bounded without bookkeeping.
const maxCachedSeries = 2_000_000

func (c *seriesCache) get(h uint64, enc []byte) (storage.SeriesRef, bool) {
	c.mu.RLock()
	e, ok := c.entries[h]
	c.mu.RUnlock()
	if !ok || !bytes.Equal(e.labels, enc) {
		return 0, false
	}
	return e.ref, true
}

func (c *seriesCache) put(h uint64, enc []byte, ref storage.SeriesRef) {
	c.mu.Lock()
	if len(c.entries) >= maxCachedSeries {
		c.entries = make(map[uint64]cacheEntry)
	}
	c.entries[h] = cacheEntry{ref: ref, labels: bytes.Clone(enc)}
	c.mu.Unlock()
}

type fastWrite struct {
	db       *tsdb.DB
	fallback http.Handler
	maxBytes int64
	cache    seriesCache
	logger   *slog.Logger
}

// errFallback means the request holds something the fast path leaves to Prometheus's handler.
var errFallback = errors.New("needs the full handler")

// RemoteWriteFast is RemoteWrite with the fast path for remote write 1.0 float samples in front.
func RemoteWriteFast(logger *slog.Logger, reg prometheus.Registerer, db *tsdb.DB, maxBytes int64) http.Handler {
	return &fastWrite{db: db, fallback: RemoteWrite(logger, reg, db, maxBytes), maxBytes: maxBytes,
		cache: seriesCache{entries: map[uint64]cacheEntry{}}, logger: logger}
}

func (f *fastWrite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if v := r.Header.Get("X-Prometheus-Remote-Write-Version"); strings.HasPrefix(v, "2.") || strings.Contains(r.Header.Get("Content-Type"), "proto=io.prometheus.write.v2") ||
		r.Header.Get("Content-Encoding") != "snappy" {
		f.fallback.ServeHTTP(w, r)
		return
	}
	compressed, err := io.ReadAll(http.MaxBytesReader(w, r.Body, f.maxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n, err := snappy.DecodedLen(compressed)
	if err != nil || int64(n) > f.maxBytes*8 {
		http.Error(w, "body is not snappy-compressed, or decompresses past the limit", http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		http.Error(w, "snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch err := f.write(r, raw); {
	case errors.Is(err, errFallback):
		r.Body = io.NopCloser(bytes.NewReader(compressed))
		f.fallback.ServeHTTP(w, r)
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// write appends every float sample of a remote-write 1.0 request. Samples refused by the store
// (out of order, too old, a duplicate with another value) are skipped and reported, as
// Prometheus does, so that the sender does not retry what will never be accepted.
func (f *fastWrite) write(r *http.Request, raw []byte) error {
	// A first pass checks the request is plain float samples before anything is appended.
	if err := walkSeries(raw, func(_ []byte, samples []byte) error { return walkSamples(samples, nil) }); err != nil {
		return err
	}
	app := f.db.Appender(r.Context())
	var refused, invalid int
	var firstRefusal error
	err := walkSeries(raw, func(enc, samples []byte) error {
		h := xxhash.Sum64(enc)
		ref, known := f.cache.get(h, enc)
		var lset labels.Labels
		if !known {
			var err error
			if lset, err = decodeLabels(enc); errors.Is(err, errInvalidSeries) {
				invalid++
				return nil
			} else if err != nil {
				return err
			}
		}
		cached := ref
		err := walkSamples(samples, func(t int64, v float64) error {
			got, err := app.Append(ref, lset, t, v)
			if err == nil {
				ref = got
				return nil
			}
			if known && lset.IsEmpty() && !isSampleError(err) {
				// The cached reference is gone (the series left the head): look it up again.
				if lset, err = decodeLabels(enc); err != nil {
					return err
				}
				got, err = app.Append(0, lset, t, v)
			}
			switch {
			case isSampleError(err):
				refused++
				if firstRefusal == nil {
					firstRefusal = err
				}
				return nil
			case err != nil:
				return err
			}
			ref = got
			return nil
		})
		if err == nil && ref != 0 && ref != cached {
			f.cache.put(h, enc, ref)
		}
		return err
	})
	if err != nil {
		app.Rollback()
		return err
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if invalid > 0 {
		f.logger.Warn("remote write: series with invalid labels skipped", "series", invalid)
	}
	if refused > 0 {
		return fmt.Errorf("%d samples refused, the first: %w", refused, firstRefusal)
	}
	return nil
}

func isSampleError(err error) bool {
	return errors.Is(err, storage.ErrOutOfOrderSample) || errors.Is(err, storage.ErrOutOfBounds) ||
		errors.Is(err, storage.ErrDuplicateSampleForTimestamp) || errors.Is(err, storage.ErrTooOldSample)
}

// walkSeries calls fn with the encoded labels and samples of each TimeSeries of a WriteRequest
// (field 1). Metadata (field 3) is skipped.
func walkSeries(b []byte, fn func(labels, samples []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errors.New("malformed WriteRequest")
		}
		b = b[n:]
		if num != 1 || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return errors.New("malformed WriteRequest field")
			}
			b = b[n:]
			continue
		}
		ts, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return errors.New("malformed TimeSeries")
		}
		b = b[n:]
		lbls, samples, err := splitSeries(ts)
		if err != nil {
			return err
		}
		if err := fn(lbls, samples); err != nil {
			return err
		}
	}
	return nil
}

// splitSeries separates a TimeSeries' labels (field 1, repeated) from its samples (field 2,
// repeated), each kept in wire form. Exemplars and histograms send the request to the full
// handler.
func splitSeries(ts []byte) (lbls, samples []byte, err error) {
	start := ts
	var lEnd, sStart int = 0, -1
	for off := 0; off < len(ts); {
		num, typ, n := protowire.ConsumeTag(ts[off:])
		if n < 0 {
			return nil, nil, errors.New("malformed TimeSeries field")
		}
		m := protowire.ConsumeFieldValue(num, typ, ts[off+n:])
		if m < 0 || typ != protowire.BytesType {
			return nil, nil, errors.New("malformed TimeSeries field")
		}
		switch num {
		case 1:
			if sStart >= 0 {
				return nil, nil, errFallback // labels after samples: unusual, let the full handler judge
			}
			lEnd = off + n + m
		case 2:
			if sStart < 0 {
				sStart = off
			}
		default:
			return nil, nil, errFallback
		}
		off += n + m
	}
	if sStart < 0 {
		sStart = len(ts)
	}
	if lEnd > sStart {
		return nil, nil, errFallback
	}
	return start[:lEnd], start[sStart:], nil
}

// walkSamples calls fn (if not nil) with each Sample{value: double 1, timestamp: int64 2}.
func walkSamples(b []byte, fn func(t int64, v float64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != 2 || typ != protowire.BytesType {
			return errFallback
		}
		msg, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return errors.New("malformed Sample")
		}
		b = b[n+m:]
		var t int64
		var v float64
		for len(msg) > 0 {
			fnum, ftyp, k := protowire.ConsumeTag(msg)
			if k < 0 {
				return errors.New("malformed Sample field")
			}
			msg = msg[k:]
			switch {
			case fnum == 1 && ftyp == protowire.Fixed64Type:
				x, k := protowire.ConsumeFixed64(msg)
				if k < 0 {
					return errors.New("malformed Sample value")
				}
				v, msg = math.Float64frombits(x), msg[k:]
			case fnum == 2 && ftyp == protowire.VarintType:
				x, k := protowire.ConsumeVarint(msg)
				if k < 0 {
					return errors.New("malformed Sample timestamp")
				}
				t, msg = int64(x), msg[k:]
			default:
				k := protowire.ConsumeFieldValue(fnum, ftyp, msg)
				if k < 0 {
					return errors.New("malformed Sample field")
				}
				msg = msg[k:]
			}
		}
		if fn != nil {
			if err := fn(t, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// errInvalidSeries is a series Prometheus would skip: no metric name, an invalid name or value,
// a duplicate label name. Like Prometheus, the fast path skips it and stores the rest.
var errInvalidSeries = errors.New("invalid series labels")

// decodeLabels builds the label set of a series from its encoded labels, as Prometheus does.
func decodeLabels(b []byte) (labels.Labels, error) {
	sb := labels.NewScratchBuilder(8)
	for len(b) > 0 {
		_, _, n := protowire.ConsumeTag(b)
		if n < 0 {
			return labels.EmptyLabels(), errors.New("malformed Label")
		}
		msg, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return labels.EmptyLabels(), errors.New("malformed Label")
		}
		b = b[n+m:]
		var name, value []byte
		for len(msg) > 0 {
			fnum, ftyp, k := protowire.ConsumeTag(msg)
			if k < 0 || ftyp != protowire.BytesType {
				return labels.EmptyLabels(), errors.New("malformed Label field")
			}
			v, j := protowire.ConsumeBytes(msg[k:])
			if j < 0 {
				return labels.EmptyLabels(), errors.New("malformed Label field")
			}
			msg = msg[k+j:]
			switch fnum {
			case 1:
				name = v
			case 2:
				value = v
			}
		}
		sb.Add(string(name), string(value))
	}
	sb.Sort()
	lset := sb.Labels()
	if !lset.Has(model.MetricNameLabel) || !lset.IsValid(model.UTF8Validation) {
		return lset, errInvalidSeries
	}
	if _, dup := lset.HasDuplicateLabelNames(); dup {
		return lset, errInvalidSeries
	}
	return lset, nil
}
