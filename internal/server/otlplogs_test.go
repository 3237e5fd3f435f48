package server

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/sextant-sre/sextant/internal/logstore"

	"github.com/sextant-sre/sextant/internal/auth"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// emitLogs writes lines with the OpenTelemetry Go SDK's logger and flushes them through exporter.
func emitLogs(t *testing.T, exporter sdklog.Exporter, service string, bodies ...string) error {
	t.Helper()
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service), semconv.ServiceInstanceID(service+"-0"),
		attribute.String("deployment.environment", "prod"))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(exporter)))
	logger := lp.Logger("test")
	for i, b := range bodies {
		var rec otellog.Record
		rec.SetTimestamp(time.Now().Add(time.Duration(i-len(bodies)) * time.Second))
		rec.SetSeverity(otellog.SeverityError)
		rec.SetBody(attribute.StringValue(b))
		logger.Emit(context.Background(), rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := lp.ForceFlush(ctx)
	lp.Shutdown(ctx)
	return err
}

type logsAnswer struct {
	Lines []logLine `json:"lines"`
}

// TestOTLPLogsFromTheSDKOverHTTPAndGRPC sends logs with the OpenTelemetry Go SDK's exporters over
// HTTP and gRPC, and reads them back by stream, severity, text and pattern.
func TestOTLPLogsFromTheSDKOverHTTPAndGRPC(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bearer := map[string]string{"Authorization": "Bearer " + e.tokens[auth.Responder]}
	httpExp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(e.http.URL+"/v1/logs"), otlploghttp.WithHeaders(bearer))
	if err != nil {
		t.Fatal(err)
	}
	if err := emitLogs(t, httpExp, "checkout", "dial tcp 10.0.0.7:11211: bind: address already in use",
		"dial tcp 10.0.3.9:11211: bind: address already in use", "payment 4411 declined"); err != nil {
		t.Fatalf("OTLP logs over HTTP: %v", err)
	}
	addr := e.otlpGRPC(t)
	grpcExp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(addr), otlploggrpc.WithInsecure(), otlploggrpc.WithHeaders(bearer))
	if err != nil {
		t.Fatal(err)
	}
	if err := emitLogs(t, grpcExp, "search", "index shard 3 unavailable"); err != nil {
		t.Fatalf("OTLP logs over gRPC: %v", err)
	}

	var got logsAnswer
	code, raw := e.do("GET", "/api/logs?selector="+url.QueryEscape(`{service="checkout"}`)+"&severity=error&q=BIND", auth.Viewer, nil, &got)
	if code != 200 || len(got.Lines) != 2 || got.Lines[0].Labels["environment"] != "prod" || got.Lines[0].Labels["instance"] != "checkout-0" || got.Lines[0].Severity != "error" {
		t.Fatalf("checkout bind errors: %d %s", code, raw)
	}
	e.do("GET", "/api/logs?selector="+url.QueryEscape(`{service="search"}`), auth.Viewer, nil, &got)
	if len(got.Lines) != 1 || got.Lines[0].Body != "index shard 3 unavailable" {
		t.Fatalf("search logs: %+v", got)
	}
	var pats struct {
		Patterns []struct {
			Count   int
			Example string
		}
	}
	e.do("GET", "/api/logs/patterns?selector="+url.QueryEscape(`{service="checkout"}`), auth.Viewer, nil, &pats)
	if len(pats.Patterns) != 2 || pats.Patterns[0].Count != 2 {
		t.Fatalf("patterns: %+v", pats)
	}
	for _, bad := range []string{"severity=loud", "selector=" + url.QueryEscape("{service="), "from=yesterday", "template=x"} {
		if code, _ := e.do("GET", "/api/logs?"+bad, auth.Viewer, nil, nil); code != 400 {
			t.Errorf("%s: %d", bad, code)
		}
	}
}

// TestLogPatternsAgainstABaseline writes a day of steady lines and a window in which one
// pattern is new and one surges: with baseline=24h they come first, marked so.
func TestLogPatternsAgainstABaseline(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC().Truncate(time.Minute)
	stream := labels.FromStrings("service", "api")
	var lines []logstore.Line
	add := func(tmpl uint32, at time.Time, body string) {
		lines = append(lines, logstore.Line{Time: at, Labels: stream, Severity: logstore.Info, Template: tmpl, Body: body})
	}
	// The day before the window: template 1 once a minute, template 3 every ten minutes.
	for m := 24 * 60; m > 10; m-- {
		at := now.Add(-time.Duration(m) * time.Minute)
		add(1, at, "request served")
		if m%10 == 0 {
			add(3, at, "cache miss")
		}
	}
	// The last ten minutes: template 1 as usual, template 3 forty times, template 2 new.
	for m := 10; m > 0; m-- {
		at := now.Add(-time.Duration(m) * time.Minute)
		add(1, at, "request served")
		for k := range 4 {
			add(3, at.Add(time.Duration(k)*time.Second), "cache miss")
		}
		if m <= 5 {
			add(2, at, "bind: address already in use")
		}
	}
	if err := e.srv.Logs.Append(lines); err != nil {
		t.Fatal(err)
	}
	from := now.Add(-10 * time.Minute).Add(-time.Second).Format(time.RFC3339)
	var res struct {
		Patterns []struct {
			Template uint32
			Count    int
			Baseline int `json:"baseline_count"`
			Change   string
		}
	}
	code, raw := e.do("GET", "/api/logs/patterns?baseline=24h&from="+url.QueryEscape(from), auth.Viewer, nil, &res)
	if code != 200 || len(res.Patterns) != 3 {
		t.Fatalf("%d %s", code, raw)
	}
	got := map[uint32]string{}
	for i, p := range res.Patterns {
		got[p.Template] = p.Change
		if i < 2 && p.Change == "" {
			t.Fatalf("the changed patterns come first: %+v", res.Patterns)
		}
	}
	if got[2] != "new" || got[3] != "surge" || got[1] != "" {
		t.Fatalf("%+v", res.Patterns)
	}
	if code, raw := e.do("GET", "/api/logs/patterns?baseline=forever", auth.Viewer, nil, nil); code != 400 || !strings.Contains(string(raw), "baseline") {
		t.Fatalf("a bad baseline: %d %s", code, raw)
	}
}
