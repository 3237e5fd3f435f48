package sim

import (
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Environment is the deployment environment every simulated resource reports.
const Environment = "production"

// Namespace is the Kubernetes namespace the services run in.
const Namespace = "shop"

// metricKind is how a metric is exported.
type metricKind int

const (
	gauge metricKind = iota
	counter
	histogram
)

// resource is an OpenTelemetry resource: the entity a group of series belongs to.
type resource struct {
	attrs [][2]string // in a fixed order
}

// point is one data point of a frame, in a form both OTLP and Prometheus samples are made from.
type point struct {
	res    int
	name   string
	kind   metricKind
	attrs  [][2]string
	value  float64
	counts []float64 // histogram: cumulative counts at each bound, then the total
	sum    float64
}

// framePoints lists a frame's data points and the resources they belong to, in a fixed order.
func framePoints(f Frame, withAttrs bool) ([]resource, []point) {
	var res []resource
	pts := make([]point, 0, 40*len(f.Instances)+3*len(f.Journeys)+8)
	for _, in := range f.Instances {
		r := len(res)
		if !withAttrs {
			res = append(res, resource{})
		} else {
			res = append(res, resource{attrs: [][2]string{
				{"service.name", in.Service}, {"service.instance.id", in.Name}, {"service.version", in.Version},
				{"deployment.environment.name", Environment}, {"k8s.namespace.name", Namespace}, {"k8s.pod.name", in.Name},
				{"k8s.node.name", in.Node}, {"cloud.region", "eu-west-1"},
			}})
		}
		add := func(name string, kind metricKind, v float64, attrs ...[2]string) {
			if !withAttrs {
				attrs = nil
			}
			pts = append(pts, point{res: r, name: name, kind: kind, value: v, attrs: attrs})
		}
		for c, code := range Codes {
			add("http_server_requests", counter, in.Requests[c], [2]string{"code", code})
		}
		counts := append(in.Buckets[:len(in.Buckets):len(in.Buckets)], in.LatencyCount)
		pts = append(pts, point{res: r, name: "http_server_request_duration_seconds", kind: histogram, counts: counts, sum: in.LatencySum})
		add("process_cpu_seconds", counter, in.CPUSeconds)
		add("container_cpu_limit_cores", gauge, cpuLimitCores)
		add("process_resident_memory_bytes", gauge, in.MemoryBytes)
		add("container_memory_limit_bytes", gauge, memoryLimitMB*1e6)
		add("go_gc_pause_seconds", counter, in.GCSeconds)
		add("go_threads", gauge, in.Threads)
		add("go_threads_limit", gauge, MaxThreads)
		add("go_goroutines", gauge, in.Goroutines)
		add("net_open_connections", gauge, in.OpenConnections)
		add("tcp_ephemeral_ports_in_use", gauge, in.PortsInUse)
		add("tcp_ephemeral_ports_limit", gauge, in.PortLimit)
		add("tcp_time_wait_sockets", gauge, in.TimeWait)
		add("net_connect_failures", counter, in.ConnectFailuresTotal)
		add("kube_pod_container_status_restarts", counter, in.Restarts)
		add("container_oom_events", counter, in.OOMs)
		up := 0.0
		if in.Up {
			up = 1
		}
		add("container_ready", gauge, up)
		for sev := Debug; sev <= Fatal; sev++ {
			add("log_messages", counter, in.LogLines[sev], [2]string{"severity", sev.String()})
		}
	}
	rum := len(res)
	res = append(res, resource{attrs: [][2]string{{"service.name", "user-journeys"}, {"service.instance.id", "rum"}, {"deployment.environment.name", Environment}}})
	for _, j := range f.Journeys {
		if !withAttrs {
			pts = append(pts, point{res: rum, name: "journey_requests", kind: counter, value: j.OK - j.Slow},
				point{res: rum, name: "journey_requests", kind: counter, value: j.Slow}, point{res: rum, name: "journey_requests", kind: counter, value: j.Errors})
			continue
		}
		user := "public"
		if j.Cohort.Employee {
			user = "employee"
		}
		attrs := [][2]string{{"journey", j.Journey}, {"user_type", user}, {"region", j.Cohort.Region}, {"client", j.Cohort.Client},
			{"app_version", j.Cohort.AppVersion}, {"plan", j.Cohort.Plan}}
		// Outcomes partition the requests: fast successes, slow ones (over the journey's latency
		// objective), failures.
		pts = append(pts, point{res: rum, name: "journey_requests", kind: counter, value: j.OK - j.Slow, attrs: append(attrs, [2]string{"outcome", "ok"})})
		pts = append(pts, point{res: rum, name: "journey_requests", kind: counter, value: j.Slow, attrs: append(attrs[:len(attrs):len(attrs)], [2]string{"outcome", "slow"})})
		pts = append(pts, point{res: rum, name: "journey_requests", kind: counter, value: j.Errors, attrs: append(attrs[:len(attrs):len(attrs)], [2]string{"outcome", "error"})})
	}
	net := len(res)
	res = append(res, resource{attrs: [][2]string{{"service.name", "network"}, {"service.instance.id", "probe"}, {"deployment.environment.name", Environment}}})
	for _, l := range f.Links {
		pts = append(pts, point{res: net, name: "network_packet_loss_ratio", kind: gauge, value: l.PacketLoss, attrs: [][2]string{{"link", l.Link}}})
		pts = append(pts, point{res: net, name: "network_rtt_seconds", kind: gauge, value: l.RTTSeconds, attrs: [][2]string{{"link", l.Link}}})
	}
	vendors := map[string]bool{}
	for _, v := range f.Vendors {
		vendors[v.Vendor] = vendors[v.Vendor] || v.Degraded
	}
	for _, svc := range []string{"stripe"} {
		v := 0.0
		if vendors[svc] {
			v = 1
		}
		pts = append(pts, point{res: net, name: "vendor_status_degraded", kind: gauge, value: v, attrs: [][2]string{{"vendor", svc}}})
	}
	return res, pts
}

// OTLPMetrics is a frame as an OTLP metrics request: one resource per instance (plus the real-user
// monitoring and network probes), cumulative counters since start.
func OTLPMetrics(f Frame, start time.Time) pmetric.Metrics {
	res, pts := framePoints(f, true)
	md := pmetric.NewMetrics()
	ts, st := pcommon.NewTimestampFromTime(f.Time), pcommon.NewTimestampFromTime(start)
	scopes := make([]pmetric.MetricSlice, len(res))
	for i, r := range res {
		rm := md.ResourceMetrics().AppendEmpty()
		for _, kv := range r.attrs {
			rm.Resource().Attributes().PutStr(kv[0], kv[1])
		}
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("sextant-sim")
		scopes[i] = sm.Metrics()
	}
	// Points of one metric and resource are consecutive: one OTLP metric holds them all.
	var cur pmetric.Metric
	curName, curRes := "", -1
	for _, p := range pts {
		if p.name != curName || p.res != curRes {
			cur = scopes[p.res].AppendEmpty()
			cur.SetName(p.name)
			curName, curRes = p.name, p.res
			switch p.kind {
			case gauge:
				cur.SetEmptyGauge()
			case counter:
				s := cur.SetEmptySum()
				s.SetIsMonotonic(true)
				s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			case histogram:
				cur.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			}
		}
		switch p.kind {
		case gauge, counter:
			var dp pmetric.NumberDataPoint
			if p.kind == gauge {
				dp = cur.Gauge().DataPoints().AppendEmpty()
			} else {
				dp = cur.Sum().DataPoints().AppendEmpty()
				dp.SetStartTimestamp(st)
			}
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(p.value)
			for _, kv := range p.attrs {
				dp.Attributes().PutStr(kv[0], kv[1])
			}
		case histogram:
			dp := cur.Histogram().DataPoints().AppendEmpty()
			dp.SetStartTimestamp(st)
			dp.SetTimestamp(ts)
			dp.ExplicitBounds().FromRaw(HistogramBounds)
			// OTLP counts are per bucket; the frame's are cumulative.
			buckets := make([]uint64, len(p.counts))
			prev := uint64(0)
			for i, c := range p.counts {
				cum := uint64(c)
				buckets[i] = cum - min(prev, cum)
				prev = max(prev, cum)
			}
			dp.BucketCounts().FromRaw(buckets)
			dp.SetCount(prev)
			dp.SetSum(p.sum)
		}
	}
	return md
}

// Sample is one Prometheus sample with its labels (sorted by name, __name__ included).
type Sample struct {
	Labels [][2]string
	T      int64
	V      float64
}

// promotedAttributes are the resource attributes the OTLP intake keeps as labels on every
// series (intake.EntityAttributes, which a test keeps in step).
var promotedAttributes = map[string]bool{
	"service.namespace": true, "service.version": true, "deployment.environment": true, "deployment.environment.name": true,
	"k8s.namespace.name": true, "k8s.pod.name": true, "k8s.node.name": true, "k8s.container.name": true, "host.name": true, "cloud.region": true,
}

// PromSamples is a frame as the Prometheus samples the OTLP intake would store for it, for
// writing history straight into the store. A test holds it to the intake's translation.
func PromSamples(f Frame) []Sample {
	var out []Sample
	t := f.Time.UnixMilli()
	walkSamples(f, true, func(ls [][2]string, v float64) { out = append(out, Sample{Labels: ls, T: t, V: v}) })
	return out
}

// PromValues appends the values of PromSamples(f) to dst, in the same order, without building
// labels: series stay the same from one frame to the next as long as the instances do.
func PromValues(f Frame, dst []float64) []float64 {
	walkSamples(f, false, func(_ [][2]string, v float64) { dst = append(dst, v) })
	return dst
}

func walkSamples(f Frame, withLabels bool, fn func(ls [][2]string, v float64)) {
	res, pts := framePoints(f, withLabels)
	base := make([][][2]string, len(res))
	for i, r := range res {
		var ls [][2]string
		for _, kv := range r.attrs {
			switch {
			case kv[0] == "service.name":
				ls = append(ls, [2]string{"job", kv[1]})
			case kv[0] == "service.instance.id":
				ls = append(ls, [2]string{"instance", kv[1]})
			case promotedAttributes[kv[0]]:
				ls = append(ls, [2]string{labelName(kv[0]), kv[1]})
			}
		}
		base[i] = ls
	}
	emit := func(p point, name string, v float64, extra ...[2]string) {
		if !withLabels {
			fn(nil, v)
			return
		}
		ls := make([][2]string, 0, len(base[p.res])+len(p.attrs)+2)
		ls = append(ls, [2]string{"__name__", name})
		ls = append(ls, base[p.res]...)
		for _, kv := range p.attrs {
			ls = append(ls, [2]string{labelName(kv[0]), kv[1]})
		}
		ls = append(ls, extra...)
		sortLabels(ls)
		fn(ls, v)
	}
	for _, p := range pts {
		switch p.kind {
		case gauge:
			emit(p, p.name, p.value)
		case counter:
			emit(p, p.name+"_total", p.value)
		case histogram:
			for i, b := range HistogramBounds {
				emit(p, p.name+"_bucket", float64(uint64(p.counts[i])), [2]string{"le", strconv.FormatFloat(b, 'f', -1, 64)})
			}
			total := float64(uint64(p.counts[len(p.counts)-1]))
			emit(p, p.name+"_bucket", total, [2]string{"le", "+Inf"})
			emit(p, p.name+"_sum", p.sum)
			emit(p, p.name+"_count", total)
		}
	}
}

// labelName turns an attribute name into a Prometheus label name the way the intake does.
func labelName(attr string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, attr)
}

func sortLabels(ls [][2]string) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j][0] < ls[j-1][0]; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}
