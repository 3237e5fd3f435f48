package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	metricapi "go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// sendMetrics records a counter with the OpenTelemetry Go SDK and flushes it through exporter.
func sendMetrics(t *testing.T, exporter sdkmetric.Exporter, service string, n int64) error {
	t.Helper()
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service), semconv.ServiceInstanceID(service+"-0"),
		attribute.String("deployment.environment", "prod"), attribute.String("k8s.pod.name", service+"-7d9f"))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithInterval(time.Hour))))
	counter, err := mp.Meter("test").Int64Counter("checkout.requests")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(context.Background(), n, metricAttr("route", "/pay"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = mp.ForceFlush(ctx)
	mp.Shutdown(ctx)
	return err
}

// checkStored asks the embedded store for the counter a service sent, with its entity labels.
func checkStored(t *testing.T, e *testEnv, service string, want float64) {
	t.Helper()
	res, err := e.srv.Metrics.Query(context.Background(), `checkout_requests_total{job="`+service+`"}`, time.Now())
	if err != nil || res.Status != telemetry.OK || len(res.Vector()) != 1 {
		t.Fatalf("%s: %+v %v", service, res, err)
	}
	s := res.Vector()[0]
	if s.F != want || s.Metric.Get("instance") != service+"-0" || s.Metric.Get("route") != "/pay" ||
		s.Metric.Get("deployment_environment") != "prod" || s.Metric.Get("k8s_pod_name") != service+"-7d9f" {
		t.Fatalf("%s: stored %v = %v", service, s.Metric, s.F)
	}
}

// TestOTLPMetricsFromTheSDKOverHTTPAndGRPC sends metrics with the OpenTelemetry Go SDK's own
// exporters, over HTTP (protobuf, gzip) and gRPC, and reads them back with their entity labels.
func TestOTLPMetricsFromTheSDKOverHTTPAndGRPC(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bearer := map[string]string{"Authorization": "Bearer " + e.tokens[auth.Responder]}

	httpExp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(e.http.URL+"/v1/metrics"), otlpmetrichttp.WithHeaders(bearer),
		otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	if err := sendMetrics(t, httpExp, "checkout-http", 7); err != nil {
		t.Fatalf("OTLP over HTTP: %v", err)
	}
	checkStored(t, e, "checkout-http", 7)

	addr := e.otlpGRPC(t)
	grpcExp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(addr), otlpmetricgrpc.WithInsecure(), otlpmetricgrpc.WithHeaders(bearer))
	if err != nil {
		t.Fatal(err)
	}
	if err := sendMetrics(t, grpcExp, "checkout-grpc", 11); err != nil {
		t.Fatalf("OTLP over gRPC: %v", err)
	}
	checkStored(t, e, "checkout-grpc", 11)

	viewer, _ := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(addr), otlpmetricgrpc.WithInsecure(),
		otlpmetricgrpc.WithHeaders(map[string]string{"Authorization": "Bearer " + e.tokens[auth.Viewer]}), otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: false}))
	if err := sendMetrics(t, viewer, "nope", 1); err == nil || !strings.Contains(err.Error(), "PermissionDenied") {
		t.Fatalf("a viewer token must not send telemetry: %v", err)
	}
	anon, _ := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(addr), otlpmetricgrpc.WithInsecure(), otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: false}))
	if err := sendMetrics(t, anon, "nope", 1); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("no token: %v", err)
	}
}

func metricAttr(k, v string) metricapi.AddOption {
	return metricapi.WithAttributes(attribute.String(k, v))
}
