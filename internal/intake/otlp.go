package intake

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/storage"
	otlptranslator "github.com/prometheus/prometheus/storage/remote/otlptranslator/prometheusremotewrite"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// EntityAttributes are the OpenTelemetry resource attributes kept as labels on every series, so
// that each series says which entity it belongs to (service.name and service.instance.id already
// become job and instance).
var EntityAttributes = []string{
	"service.namespace", "service.version", "deployment.environment", "deployment.environment.name",
	"k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "k8s.node.name", "host.name", "cloud.region",
}

// metricsConverter turns OTLP metrics into Prometheus series with Prometheus's own OTLP
// translation, called directly so that each request is decoded once.
type metricsConverter struct {
	db       storage.AppendableV2
	settings otlptranslator.Settings
	logger   *slog.Logger
	pool     sync.Pool

	learnt       learntSeries // the fast path's memory of translations
	fastRequests atomic.Int64 // requests the fast path wrote, for tests and benchmarks
}

// lookbackDelta is the query lookback the translator spaces target_info samples by.
const lookbackDelta = 5 * time.Minute

func newMetricsConverter(logger *slog.Logger, db storage.AppendableV2) *metricsConverter {
	cfg := config.DefaultOTLPConfig
	cfg.PromoteResourceAttributes = EntityAttributes
	return &metricsConverter{db: db, logger: logger, settings: otlptranslator.Settings{
		AddMetricSuffixes:                    cfg.TranslationStrategy.ShouldAddSuffixes(),
		AllowUTF8:                            !cfg.TranslationStrategy.ShouldEscape(),
		PromoteResourceAttributes:            otlptranslator.NewPromoteResourceAttributes(cfg),
		LookbackDelta:                        lookbackDelta,
		LabelNameUnderscoreSanitization:      cfg.LabelNameUnderscoreSanitization,
		LabelNamePreserveMultipleUnderscores: cfg.LabelNamePreserveMultipleUnderscores,
	}, pool: sync.Pool{New: func() any { return otlptranslator.NewPrometheusConverter(nil) }},
		learnt: learntSeries{resources: map[string]*resourceEntry{}}}
}

// clientError is a request the sender must fix: answered 400 (HTTP) or InvalidArgument (gRPC).
type clientError struct{ err error }

func (e clientError) Error() string { return e.err.Error() }
func (e clientError) Unwrap() error { return e.err }

// store checks and appends one request's metrics.
func (m *metricsConverter) store(ctx context.Context, md pmetric.Metrics) error {
	if err := checkMetrics(md); err != nil {
		return clientError{err}
	}
	app := m.db.AppenderV2(ctx)
	if err := m.translate(ctx, app, md, m.settings); err != nil {
		_ = app.Rollback()
		if isSampleError(err) {
			return clientError{err} // out of order, too old: retrying will not help
		}
		return fmt.Errorf("store metrics: %w", err)
	}
	return app.Commit()
}

// translate appends md into app through Prometheus's OTLP translation.
func (m *metricsConverter) translate(ctx context.Context, app storage.AppenderV2, md pmetric.Metrics, settings otlptranslator.Settings) error {
	conv := m.pool.Get().(*otlptranslator.PrometheusConverter)
	conv.Reset(app)
	defer func() {
		conv.Reset(nil)
		m.pool.Put(conv)
	}()
	annots, err := conv.FromMetrics(ctx, md, settings)
	if err != nil {
		return err
	}
	if ws, _ := annots.AsStrings("", 5, 0); len(ws) > 0 {
		m.logger.Warn("OTLP metrics translated with warnings", "warnings", ws)
	}
	return nil
}

// OTLPMetrics returns a handler for OTLP metrics over HTTP (protobuf or JSON, optionally gzip)
// that turns them into Prometheus series with Prometheus's own OTLP translation and appends them
// into db. maxBytes bounds the body both as sent and once decompressed.
func OTLPMetrics(logger *slog.Logger, db storage.AppendableV2, maxBytes int64) http.Handler {
	return newMetricsConverter(logger, db).httpHandler(maxBytes)
}

func (m *metricsConverter) httpHandler(maxBytes int64) http.Handler {
	return otlpHTTP(maxBytes, pmetricotlp.NewExportRequest, pmetricotlp.NewExportResponse(), func(ctx context.Context, _ []byte, req pmetricotlp.ExportRequest) error {
		return m.store(ctx, req.Metrics())
	}, &protobufHooks[pmetricotlp.ExportRequest]{
		fast: m.writeFast,
		learn: func(ctx context.Context, body []byte, req pmetricotlp.ExportRequest) {
			m.learn(ctx, body, req.Metrics())
		},
	})
}

// protobufHooks let a signal's handler take a protobuf body before it is decoded (fast answers
// errNotFast to decline), and see it again once the decoded request was handled.
type protobufHooks[R any] struct {
	fast  func(ctx context.Context, body []byte) error
	learn func(ctx context.Context, body []byte, req R)
}

// otlpRequest and otlpResponse are the pdata export messages of any signal.
type otlpRequest interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

type otlpResponse interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

// otlpHTTP serves one OTLP signal over HTTP: it checks the content type, reads the body within
// the limit (gunzipping it), decodes it into a request made by newReq, hands it to handle, and
// answers with resp in the request's content type, as OTLP asks. An error from handle is the
// store's, answered 503 so the sender retries.
func otlpHTTP[R otlpRequest](maxBytes int64, newReq func() R, resp otlpResponse, handle func(ctx context.Context, body []byte, req R) error, hooks *protobufHooks[R]) http.Handler {
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
		proto := mt == "application/x-protobuf" && hooks != nil
		if proto {
			switch err := hooks.fast(r.Context(), body); {
			case err == nil:
				answer(w, mt, resp)
				return
			case !errors.Is(err, errNotFast):
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		req := newReq()
		if mt == "application/json" {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			http.Error(w, "not an OTLP export request: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := handle(r.Context(), body, req); err != nil {
			code := http.StatusServiceUnavailable
			if errors.As(err, new(clientError)) {
				code = http.StatusBadRequest
			}
			http.Error(w, err.Error(), code)
			return
		}
		if proto {
			hooks.learn(r.Context(), body, req)
		}
		answer(w, mt, resp)
	})
}

// answer writes an OTLP export response in the request's content type, as OTLP asks.
func answer(w http.ResponseWriter, mt string, resp otlpResponse) {
	var out []byte
	var err error
	if mt == "application/json" {
		out, err = resp.MarshalJSON()
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mt)
	_, _ = w.Write(out)
}

// checkMetrics refuses what the translation would fail on as if it were the server's fault: a
// metric with no type or no usable name, an attribute key with no usable character.
func checkMetrics(md pmetric.Metrics) error {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		if err := checkKeys(rms.At(i).Resource().Attributes()); err != nil {
			return fmt.Errorf("resourceMetrics[%d].resource.attributes: %w", i, err)
		}
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				switch {
				case m.Type() == pmetric.MetricTypeEmpty:
					return fmt.Errorf("resourceMetrics[%d].scopeMetrics[%d].metrics[%d] (%q): has no data type", i, j, k, m.Name())
				case !strings.ContainsFunc(m.Name(), isAlnum):
					return fmt.Errorf("resourceMetrics[%d].scopeMetrics[%d].metrics[%d].name: %q has no letter or digit", i, j, k, m.Name())
				}
				if err := checkPointKeys(m); err != nil {
					return fmt.Errorf("resourceMetrics[%d].scopeMetrics[%d].metrics[%d] (%q): %w", i, j, k, m.Name(), err)
				}
			}
		}
	}
	return nil
}

// checkKeys refuses attribute keys that would become an empty label name.
func checkKeys(attrs pcommon.Map) error {
	var bad error
	attrs.Range(func(k string, _ pcommon.Value) bool {
		if !strings.ContainsFunc(k, isAlnum) {
			bad = fmt.Errorf("attribute key %q has no letter or digit", k)
			return false
		}
		return true
	})
	return bad
}

// checkPointKeys checks the attribute keys of every data point of a metric.
func checkPointKeys(m pmetric.Metric) error {
	var attrs []pcommon.Map
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for i := range m.Gauge().DataPoints().Len() {
			attrs = append(attrs, m.Gauge().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeSum:
		for i := range m.Sum().DataPoints().Len() {
			attrs = append(attrs, m.Sum().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeHistogram:
		for i := range m.Histogram().DataPoints().Len() {
			attrs = append(attrs, m.Histogram().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeExponentialHistogram:
		for i := range m.ExponentialHistogram().DataPoints().Len() {
			attrs = append(attrs, m.ExponentialHistogram().DataPoints().At(i).Attributes())
		}
	case pmetric.MetricTypeSummary:
		for i := range m.Summary().DataPoints().Len() {
			attrs = append(attrs, m.Summary().DataPoints().At(i).Attributes())
		}
	}
	for i, a := range attrs {
		if err := checkKeys(a); err != nil {
			return fmt.Errorf("dataPoints[%d]: %w", i, err)
		}
	}
	return nil
}

func isAlnum(r rune) bool { return r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) }

// readLimited reads a body of at most max bytes, gunzipping it (to at most max bytes) if it says
// so, so that a small compressed body cannot expand without bound.
func readLimited(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	var rd io.Reader = http.MaxBytesReader(w, r.Body, max)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		rd = gz
	default:
		return nil, errUnsupported{"Content-Encoding " + enc + " (send gzip or none)"}
	}
	body, err := io.ReadAll(io.LimitReader(rd, max+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > max {
		return nil, errTooLarge
	}
	return body, nil
}

type errUnsupported struct{ what string }

func (e errUnsupported) Error() string { return "unsupported " + e.what }

var errTooLarge = errors.New("body over the intake limit once decompressed")

func statusOf(err error) int {
	var mbe *http.MaxBytesError
	var unsupported errUnsupported
	switch {
	case errors.As(err, &mbe), errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &unsupported):
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}

// OTLPMetricsGRPC serves the OTLP metrics gRPC service.
type OTLPMetricsGRPC struct {
	pmetricotlp.UnimplementedGRPCServer
	m *metricsConverter
}

// Export implements pmetricotlp.GRPCServer.
func (g *OTLPMetricsGRPC) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	err := g.m.store(ctx, req.Metrics())
	switch {
	case err == nil:
		return pmetricotlp.NewExportResponse(), nil
	case errors.As(err, new(clientError)):
		return pmetricotlp.NewExportResponse(), status.Error(codes.InvalidArgument, err.Error())
	}
	return pmetricotlp.NewExportResponse(), status.Error(codes.Unavailable, err.Error())
}
