package intake

import (
	"context"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/servicegraph"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

func logsRequest(t testing.TB) []byte {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("k8s.pod.name", "checkout-7d9f")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 4, 6, 14, 2, 0, 0, time.UTC)))
	lr.SetSeverityText("Warning")
	lr.Body().SetStr("pool exhausted")
	raw, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestLogLines(t *testing.T) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(logsRequest(t)); err != nil {
		t.Fatal(err)
	}
	lines := LogLines(req.Logs(), time.Now())
	if len(lines) != 1 || lines[0].Labels.Get("service") != "checkout" || lines[0].Labels.Get("pod") != "checkout-7d9f" ||
		lines[0].Severity != logstore.Warn || lines[0].Body != "pool exhausted" {
		t.Fatalf("%+v", lines)
	}
}

// FuzzOTLPLogs feeds arbitrary bodies to the OTLP logs receiver: no panic and no server error.
func FuzzOTLPLogs(f *testing.F) {
	f.Add(logsRequest(f), false)
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"},"severityNumber":17}]}]}]}`), true)
	ls, err := logstore.Open(f.TempDir(), logstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer ls.Close()
	h := OTLPLogs(ls, 1<<20)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) { fuzzOTLP(t, h, body, asJSON) })
}

// FuzzOTLPTraces feeds arbitrary bodies to the OTLP traces receiver: no panic, no server error.
func FuzzOTLPTraces(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}`), true)
	f.Add([]byte{0x0a, 0x00}, false)
	h := OTLPTraces(servicegraph.New(time.Minute), 1<<20)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) { fuzzOTLP(t, h, body, asJSON) })
}

func TestOTLPLogsRedeliveryStoredOnce(t *testing.T) {
	ls, err := logstore.Open(t.TempDir(), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	h := OTLPLogs(ls, 1<<20)
	body := logsRequest(t)
	for range 3 {
		if rec := postOTLP(h, body, "application/x-protobuf", ""); rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	lines, _ := ls.Select(context.Background(), logstore.Query{Start: time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 4, 7, 0, 0, 0, 0, time.UTC)})
	if len(lines) != 1 {
		t.Fatalf("a delivery sent three times stored %d lines", len(lines))
	}
}
