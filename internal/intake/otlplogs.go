package intake

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/sextant-sre/sextant/internal/logstore"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// streamLabels are the resource attributes that name a log stream, and the label each becomes.
var streamLabels = [][2]string{
	{"service.name", "service"}, {"service.namespace", "namespace"}, {"service.instance.id", "instance"},
	{"deployment.environment", "environment"}, {"deployment.environment.name", "environment"},
	{"k8s.pod.name", "pod"}, {"k8s.container.name", "container"}, {"host.name", "host"},
}

// LogLines turns OTLP logs into log store lines: the resource names the stream, the severity
// number (or text) gives the severity.
func LogLines(ld plog.Logs, now time.Time) []logstore.Line {
	var out []logstore.Line
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		b := labels.NewScratchBuilder(4)
		attrs := rl.Resource().Attributes()
		for _, sl := range streamLabels {
			if v, ok := attrs.Get(sl[0]); ok && v.AsString() != "" {
				b.Add(sl[1], v.AsString())
			}
		}
		b.Sort()
		stream := b.Labels()
		if stream.IsEmpty() {
			stream = labels.FromStrings("service", "unknown")
		}
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				lr := lrs.At(k)
				at := lr.Timestamp().AsTime()
				if lr.Timestamp() == 0 {
					at = lr.ObservedTimestamp().AsTime()
				}
				if lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 {
					at = now
				}
				sev := logstore.FromOTel(int32(lr.SeverityNumber()))
				if sev == logstore.Unspecified && lr.SeverityText() != "" {
					sev, _ = logstore.ParseSeverity(strings.TrimSuffix(strings.ToLower(lr.SeverityText()), "ing"))
				}
				line := logstore.Line{Time: at.UTC(), Labels: stream, Severity: sev, Body: lr.Body().AsString()}
				if tid := lr.TraceID(); !tid.IsEmpty() {
					line.TraceID = tid.String()
				}
				out = append(out, line)
			}
		}
	}
	return out
}

// OTLPLogs returns a handler for OTLP logs over HTTP (protobuf or JSON, optionally gzip) into
// the log store. A body identical to one stored in the last 10 minutes (a retried delivery) is
// acknowledged without being stored again.
func OTLPLogs(store *logstore.Store, maxBytes int64) http.Handler {
	dedup := newRecent(10*time.Minute, 100_000)
	return otlpHTTP(maxBytes, plogotlp.NewExportRequest, plogotlp.NewExportResponse(), func(_ context.Context, body []byte, req plogotlp.ExportRequest) error {
		if !dedup.first(body, time.Now()) {
			return nil
		}
		if err := store.Append(LogLines(req.Logs(), time.Now())); err != nil {
			dedup.forget(body)
			return fmt.Errorf("store logs: %w", err)
		}
		return nil
	}, nil)
}

// OTLPLogsGRPC serves the OTLP logs gRPC service into the log store.
type OTLPLogsGRPC struct {
	plogotlp.UnimplementedGRPCServer
	Store *logstore.Store
}

// Export implements plogotlp.GRPCServer.
func (g *OTLPLogsGRPC) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	if err := g.Store.Append(LogLines(req.Logs(), time.Now())); err != nil {
		return plogotlp.NewExportResponse(), status.Error(codes.Unavailable, fmt.Sprintf("store logs: %v", err))
	}
	return plogotlp.NewExportResponse(), nil
}
