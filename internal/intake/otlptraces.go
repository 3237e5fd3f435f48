package intake

import (
	"context"
	"fmt"
	"mime"
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/x-protobuf" && mt != "application/json" {
			http.Error(w, "unsupported Content-Type: send application/x-protobuf or application/json", http.StatusUnsupportedMediaType)
			return
		}
		body, err := readLimited(w, r, maxBytes)
		if err != nil {
			http.Error(w, err.Error(), statusOf(err))
			return
		}
		req := ptraceotlp.NewExportRequest()
		if mt == "application/json" {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			http.Error(w, "not an OTLP traces request: "+err.Error(), http.StatusBadRequest)
			return
		}
		g.Add(Spans(req.Traces()), time.Now())
		resp := ptraceotlp.NewExportResponse()
		var out []byte
		if mt == "application/json" {
			out, err = resp.MarshalJSON()
		} else {
			out, err = resp.MarshalProto()
		}
		if err != nil {
			http.Error(w, fmt.Sprint(err), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", mt)
		_, _ = w.Write(out)
	})
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
