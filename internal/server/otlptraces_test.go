package server

import (
	"context"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

func tracerProvider(t *testing.T, e *testEnv, service string) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(e.http.URL+"/v1/traces"),
		otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + e.tokens[auth.Responder]}))
	if err != nil {
		t.Fatal(err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service))))
}

// TestTracesBecomeServiceEdges sends spans of two services with the OpenTelemetry SDK (the
// callee's spans are children of the caller's client spans, as context propagation makes them),
// and reads the edge back with its rates and error ratio.
func TestTracesBecomeServiceEdges(t *testing.T) {
	e := newEnv(t)
	frontend, checkout := tracerProvider(t, e, "frontend"), tracerProvider(t, e, "checkout")
	ctx := context.Background()
	for i := range 10 {
		c, server := frontend.Tracer("t").Start(ctx, "GET /cart", trace.WithSpanKind(trace.SpanKindServer))
		c, client := frontend.Tracer("t").Start(c, "POST checkout", trace.WithSpanKind(trace.SpanKindClient))
		_, callee := checkout.Tracer("t").Start(c, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer))
		time.Sleep(time.Millisecond)
		if i%5 == 0 {
			callee.SetStatus(codes.Error, "boom")
		}
		callee.End()
		client.End()
		server.End()
	}
	// A call to a third party that no service of ours reports.
	_, stripe := checkout.Tracer("t").Start(ctx, "charge", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("peer.service", "stripe")))
	stripe.End()
	frontend.Shutdown(ctx)
	checkout.Shutdown(ctx)

	// The stripe client span never meets a child: once the window passes, it is a call to its
	// peer. Then the counters are written, as the graph's loop does every 15 s.
	e.graph.Expire(time.Now().Add(2 * time.Minute))
	db := e.srv.Metrics.(*telemetry.Embedded).Storage()
	if err := e.graph.Write(ctx, db, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Edges []telemetry.EdgeRate
	}
	time.Sleep(1100 * time.Millisecond) // the edges are read at the server's now, after the write
	code, raw := e.do("GET", "/api/edges?window=5m", auth.Viewer, nil, &got)
	if code != 200 || len(got.Edges) != 2 {
		t.Fatalf("edges: %d %s", code, raw)
	}
	fc := got.Edges[1]
	if fc.Caller != "frontend" || fc.Callee != "checkout" || fc.RequestsPerS <= 0 || fc.ErrorRatio < 0.19 || fc.ErrorRatio > 0.21 || fc.MeanLatencyMS < 1 {
		t.Fatalf("frontend → checkout: %+v", fc)
	}
	if got.Edges[0].Caller != "checkout" || got.Edges[0].Callee != "stripe" {
		t.Fatalf("checkout → stripe: %+v", got.Edges[0])
	}
	if code, _ := e.do("GET", "/api/edges?window=soon", auth.Viewer, nil, nil); code != 400 {
		t.Fatalf("bad window: %d", code)
	}
}

// TestTracesOverGRPC sends a caller and a callee span over OTLP gRPC and finds their edge.
func TestTracesOverGRPC(t *testing.T) {
	e := newEnv(t)
	addr := e.otlpGRPC(t)
	ctx := context.Background()
	provider := func(service string) *sdktrace.TracerProvider {
		exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithHeaders(map[string]string{"Authorization": "Bearer " + e.tokens[auth.Responder]}))
		if err != nil {
			t.Fatal(err)
		}
		return sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service))))
	}
	api, search := provider("api"), provider("search")
	c, client := api.Tracer("t").Start(ctx, "query", trace.WithSpanKind(trace.SpanKindClient))
	_, server := search.Tracer("t").Start(c, "GET /search", trace.WithSpanKind(trace.SpanKindServer))
	server.End()
	client.End()
	api.Shutdown(ctx)
	search.Shutdown(ctx)
	got := e.graph.Edges()
	if len(got) != 1 || got[0].Caller != "api" || got[0].Callee != "search" || got[0].Requests != 1 {
		t.Fatalf("edges: %+v", got)
	}
}
