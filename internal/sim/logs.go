package sim

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

// Severity of a log line, as OpenTelemetry's severity text.
type Severity int

const (
	Debug Severity = iota
	Info
	Warn
	Error
	Fatal
)

func (s Severity) String() string { return [...]string{"debug", "info", "warn", "error", "fatal"}[s] }

// OTelNumber is the OpenTelemetry severity number of the level's first step.
func (s Severity) OTelNumber() int32 { return [...]int32{5, 9, 13, 17, 21}[s] }

// LogRecord is one log line a service writes.
type LogRecord struct {
	Time     time.Time
	Service  string
	Instance string
	Version  string
	Node     string
	Severity Severity
	Body     string
	TraceID  string
}

// Log volumes. Services log every failure, a sample of their requests (an access-log sample), and
// warnings about their runtime. A flood is capped per instance and step so the live path stays
// cheap; log_messages_total counts every line, written or not.
const (
	maxLinesPerTemplate = 60
	accessLogSample     = 1.0 / 5000
)

// routes are the HTTP routes each service logs, by service.
var routes = map[string][]string{
	"cdn-edge": {"GET /", "GET /static/app.js"}, "api-gateway": {"GET /api/products", "POST /api/cart", "POST /api/checkout", "POST /api/login"},
	"web-frontend": {"GET /products/{id}", "GET /search"}, "mobile-bff": {"GET /api/v2/products", "GET /api/v2/search"},
	"auth": {"POST /v1/token/verify", "POST /v1/login"}, "catalog": {"GET /v1/products/{id}"}, "search": {"GET /v1/search"},
	"recommendations": {"GET /v1/recs"}, "cart": {"POST /v1/cart/items"}, "checkout": {"POST /v1/checkout"},
	"payments": {"POST /v1/charges"}, "orders": {"POST /v1/orders"}, "notifications": {"POST /v1/notify"},
	"search-indexer": {"POST /v1/reindex"}, "data-api": {"POST /v1/get", "POST /v1/get_many"}, "memcache": {"get"}, "scylla": {"SELECT"},
	"stripe": {"POST /v1/payment_intents"},
}

// logLines writes the step's log lines into the frame and counts them on their instances.
func (s *Sim) logLines(f *Frame) {
	t := f.Time
	for i := range f.Instances {
		in := &f.Instances[i]
		st := s.state[in.Name]
		c := in.step
		seq := int64(0)
		ik := splitmix64(streamKey(in.Name))
		emit := func(sev Severity, count float64, body func(k int64) string) {
			st.logLines[sev] += count
			if s.quiet {
				return
			}
			n := int64(math.Floor(count))
			if s.noise.uniform(ik^0x6c6f6766726163, t.Unix()*8+int64(sev)) < count-math.Floor(count) {
				n++
			}
			for k := range min(n, maxLinesPerTemplate) {
				seq++
				at := t.Add(-StepSize + time.Duration(float64(StepSize)*float64(k+1)/float64(min(n, maxLinesPerTemplate)+1)))
				f.Logs = append(f.Logs, LogRecord{Time: at, Service: in.Service, Instance: in.Name, Version: in.Version, Node: in.Node,
					Severity: sev, Body: body(k), TraceID: s.traceID(in.Name, t, seq)})
			}
		}
		// Variables: one stream per variable name and instance, combined without allocating.
		v := func(stream string, k int64, n int) int64 {
			return int64(s.noise.uniform(streamKey(stream)^ik, t.Unix()*1000+k) * float64(n))
		}
		route := func(k int64) string { r := routes[in.Service]; return r[v("route", k, len(r))] }
		ms := func(k int64, base float64) int64 {
			return int64(base * (1 + 3*s.noise.uniform(streamKey("ms")^ik, t.Unix()*1000+k)))
		}
		if c.started {
			emit(Info, 1, func(int64) string {
				return fmt.Sprintf("starting %s version=%s pid=%d gomaxprocs=2", in.Service, in.Version, 1+v("pid", 0, 400))
			})
		}
		if !in.Up {
			continue
		}
		emit(Info, c.served*accessLogSample, func(k int64) string {
			return fmt.Sprintf("%s 200 %dms bytes=%d", route(k), ms(k, in.P50*1000), 200+v("bytes", k, 40000))
		})
		if c.connectFailures > 0 {
			emit(Error, c.connectFailures, func(k int64) string {
				return fmt.Sprintf("get_many: dial tcp 10.4.%d.%d:0->10.6.0.%d:11211: bind: address already in use", v("ip3", k, 8), 2+v("ip4", k, 200), 10+v("mc", k, 4))
			})
		}
		if c.fault > 0 {
			for _, fl := range s.Scenario.Faults {
				if fl.Kind == FaultErrors && fl.Service == in.Service && fl.Log != "" && s.active(fl) > 0 {
					emit(Error, c.fault, func(k int64) string { return fmt.Sprintf(fl.Log, 100000+v("id", k, 900000)) })
				}
			}
		}
		// Every failure a dependency relays is counted; only those that began at a direct
		// dependency are written, so a failure deep down is not written once per hop.
		st.logLines[Error] += c.dep - c.depDirect
		if c.depDirect > 0 && c.worstDep != "" {
			emit(Error, c.depDirect, func(k int64) string {
				return fmt.Sprintf("%s: upstream %s failed: status=503 after %dms", route(k), c.worstDep, ms(k, 40))
			})
		}
		if base := c.own; base > 0 {
			emit(Error, base, func(k int64) string {
				return fmt.Sprintf("%s: internal error: context deadline exceeded after %dms (request_id=%016x)", route(k), ms(k, 200), uint64(v("rid", k, 1<<31)))
			})
		}
		if c.rejected > 0 {
			emit(Warn, c.rejected, func(k int64) string {
				return fmt.Sprintf("%s: rejected, over capacity: %d requests in flight (limit %d)", route(k), 500+v("inflight", k, 200), 512)
			})
		}
		if in.Service == "auth" {
			// Errors that were always there: expired tokens, about 0.1% of verifications.
			emit(Error, c.served*0.001, func(k int64) string {
				return fmt.Sprintf("token validation failed: token expired (user_id=%d, expired %ds ago)", 1000000+v("uid", k, 9000000), 1+v("ago", k, 86400))
			})
		}
		if c.gc > 0.05 {
			emit(Warn, 1, func(int64) string {
				return fmt.Sprintf("gc: pause %dms, heap %dMB of %dMB limit", int64(c.gc*1000), int64(in.MemoryBytes/1e6), int64(memoryLimitMB))
			})
		}
		if in.Threads > 500 {
			emit(Warn, 1, func(int64) string {
				return fmt.Sprintf("log writer blocked %dms: %d goroutines waiting on stdout", ms(0, 800), int64(in.Threads))
			})
		}
		if c.oom {
			emit(Fatal, 1, func(int64) string { return "fatal error: runtime: out of memory" })
		}
		if c.slow > 0 {
			emit(Warn, c.slow*0.01, func(k int64) string {
				return fmt.Sprintf("%s: slow request %dms (p50 %dms)", route(k), int64(in.P99*1000), int64(in.P50*1000))
			})
		}
	}
	// The counters in the frame include this step's lines.
	for i := range f.Instances {
		f.Instances[i].LogLines = s.state[f.Instances[i].Name].logLines
	}
}

// traceID is a deterministic trace id for a line or a span.
func (s *Sim) traceID(stream string, t time.Time, k int64) string {
	key := streamKey("trace/" + stream)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], splitmix64(s.noise.Seed^key^uint64(t.Unix())))
	binary.BigEndian.PutUint64(b[8:], splitmix64(uint64(k)^key^s.noise.Seed))
	return hex.EncodeToString(b[:])
}
