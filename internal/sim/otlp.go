package sim

import (
	"encoding/hex"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// instanceResource sets the resource attributes of one instance, as its OpenTelemetry SDK would.
func instanceResource(r pcommon.Resource, service, instance, version, node string) {
	a := r.Attributes()
	a.PutStr("service.name", service)
	a.PutStr("service.instance.id", instance)
	a.PutStr("service.version", version)
	a.PutStr("deployment.environment.name", Environment)
	a.PutStr("k8s.namespace.name", Namespace)
	a.PutStr("k8s.pod.name", instance)
	a.PutStr("k8s.node.name", node)
}

// OTLPLogs is a frame's log lines as an OTLP logs request, one resource per instance, in the
// order the lines were written.
func OTLPLogs(lines []LogRecord) plog.Logs {
	ld := plog.NewLogs()
	var sl plog.LogRecordSlice
	current := ""
	for _, l := range lines {
		if l.Instance != current {
			rl := ld.ResourceLogs().AppendEmpty()
			instanceResource(rl.Resource(), l.Service, l.Instance, l.Version, l.Node)
			ss := rl.ScopeLogs().AppendEmpty()
			ss.Scope().SetName("sextant-sim")
			sl = ss.LogRecords()
			current = l.Instance
		}
		r := sl.AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(l.Time))
		r.SetObservedTimestamp(pcommon.NewTimestampFromTime(l.Time))
		r.SetSeverityNumber(plog.SeverityNumber(l.Severity.OTelNumber()))
		r.SetSeverityText(l.Severity.String())
		r.Body().SetStr(l.Body)
		if id, ok := traceID(l.TraceID); ok {
			r.SetTraceID(id)
		}
	}
	return ld
}

// OTLPTraces is a frame's sampled traces as an OTLP traces request, one resource per instance.
func OTLPTraces(traces []Trace, versions func(service string) string, nodes map[string]string) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := map[string]ptrace.SpanSlice{}

	for _, tr := range traces {
		for _, sp := range tr.Spans {
			ss, ok := spans[sp.Instance]
			if !ok {
				rs := td.ResourceSpans().AppendEmpty()
				instanceResource(rs.Resource(), sp.Service, sp.Instance, versions(sp.Service), nodes[sp.Instance])
				sc := rs.ScopeSpans().AppendEmpty()
				sc.Scope().SetName("sextant-sim")
				ss = sc.Spans()
				spans[sp.Instance] = ss

			}
			s := ss.AppendEmpty()
			if id, ok := traceID(sp.TraceID); ok {
				s.SetTraceID(id)
			}
			s.SetSpanID(spanID(sp.SpanID))
			if sp.ParentID != "" {
				s.SetParentSpanID(spanID(sp.ParentID))
			}
			s.SetName(sp.Name)
			s.SetKind(ptrace.SpanKindServer)
			if sp.Kind == "client" {
				s.SetKind(ptrace.SpanKindClient)
				s.Attributes().PutStr("peer.service", sp.Peer)
			}
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(sp.Start))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(sp.End))
			if sp.Error {
				s.Status().SetCode(ptrace.StatusCodeError)
			}
			s.Attributes().PutStr("journey", tr.Journey)
			if sp.ParentID == "" {
				// The request's cohort, as the edge knows it, on the trace's root span.
				user := "public"
				if tr.Cohort.Employee {
					user = "employee"
				}
				a := s.Attributes()
				a.PutStr("user_type", user)
				a.PutStr("region", tr.Cohort.Region)
				a.PutStr("client", tr.Cohort.Client)
				a.PutStr("app_version", tr.Cohort.AppVersion)
				a.PutStr("plan", tr.Cohort.Plan)
			}
		}
	}
	return td
}

func traceID(s string) (pcommon.TraceID, bool) {
	var id pcommon.TraceID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, false
	}
	copy(id[:], b)
	return id, true
}

func spanID(s string) pcommon.SpanID {
	var id pcommon.SpanID
	b, _ := hex.DecodeString(s)
	copy(id[:], b)
	return id
}
