package intake

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/servicegraph"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// peerAttributes name what a client span calls, most specific first.
var peerAttributes = []string{"peer.service", "server.address", "net.peer.name", "db.system", "rpc.service"}

// Spans turns OTLP traces into the spans the service graph needs.
func Spans(td ptrace.Traces) []servicegraph.Span {
	var out []servicegraph.Span
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		service := "unknown"
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok && v.AsString() != "" {
			service = v.AsString()
		}
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				s := servicegraph.Span{TraceID: sp.TraceID().String(), SpanID: sp.SpanID().String(), Service: service,
					Kind: strings.ToLower(strings.TrimPrefix(sp.Kind().String(), "SPAN_KIND_")), End: sp.EndTimestamp().AsTime(),
					Error: sp.Status().Code() == ptrace.StatusCodeError}
				if !sp.ParentSpanID().IsEmpty() {
					s.ParentID = sp.ParentSpanID().String()
				}
				if end, start := sp.EndTimestamp(), sp.StartTimestamp(); end > start {
					s.Duration = time.Duration(end - start)
				}
				for _, a := range peerAttributes {
					if v, ok := sp.Attributes().Get(a); ok && v.AsString() != "" {
						s.Peer = v.AsString()
						break
					}
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// OTLPTraces returns a handler for OTLP traces over HTTP (protobuf or JSON, optionally gzip)
// that feeds the service graph. Spans are not stored beyond the graph's short window.
func OTLPTraces(g *servicegraph.Graph, maxBytes int64) http.Handler {
	return otlpHTTP(maxBytes, ptraceotlp.NewExportRequest, ptraceotlp.NewExportResponse(), func(_ context.Context, _ []byte, req ptraceotlp.ExportRequest) error {
		g.Add(Spans(req.Traces()), time.Now())
		return nil
	}, nil)
}

// OTLPTracesGRPC serves the OTLP traces gRPC service into the service graph.
type OTLPTracesGRPC struct {
	ptraceotlp.UnimplementedGRPCServer
	Graph *servicegraph.Graph
}

// Export implements ptraceotlp.GRPCServer.
func (g *OTLPTracesGRPC) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	if g.Graph == nil {
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unavailable, "no service graph")
	}
	g.Graph.Add(Spans(req.Traces()), time.Now())
	return ptraceotlp.NewExportResponse(), nil
}
