// Package promapi serves the Prometheus HTTP query API (/api/v1/query, query_range, series,
// labels, label values) over a telemetry source, so that Grafana, promtool or any Prometheus
// client can point at Sextant's embedded store. The answers have Prometheus's JSON shapes.
package promapi

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/sextant-sre/sextant/internal/telemetry"
)

// API answers Prometheus query requests from one source.
type API struct {
	Source telemetry.Metrics
	// Now is the clock for queries without a time; nil means time.Now.
	Now func() time.Time
}

type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

type queryData struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
}

func write(w http.ResponseWriter, status int, r response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(r)
}

func fail(w http.ResponseWriter, status int, typ string, err error) {
	write(w, status, response{Status: "error", ErrorType: typ, Error: err.Error()})
}

// answer writes a source's answer: data when it has some (warnings included), and a 503 with
// errorType "unavailable" when the source did not answer, so no client mistakes it for no data.
func answer(w http.ResponseWriter, a telemetry.Answer, err error, data func() any) {
	switch {
	case telemetry.IsBadRequest(err):
		fail(w, http.StatusBadRequest, "bad_data", err)
	case err != nil:
		fail(w, http.StatusServiceUnavailable, "unavailable", err)
	case !a.Usable():
		fail(w, http.StatusServiceUnavailable, "unavailable", errors.New("source "+a.Source+" unavailable: "+a.Reason))
	default:
		write(w, http.StatusOK, response{Status: "success", Data: data(), Warnings: a.Warnings})
	}
}

func (api *API) now() time.Time {
	if api.Now != nil {
		return api.Now()
	}
	return time.Now()
}

// Query serves /api/v1/query.
func (api *API) Query(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		fail(w, http.StatusBadRequest, "bad_data", err)
		return
	}
	t, err := parseTime(r.Form.Get("time"), api.now())
	if err != nil {
		fail(w, http.StatusBadRequest, "bad_data", errors.New("time: "+err.Error()))
		return
	}
	res, err := api.Source.Query(r.Context(), r.Form.Get("query"), t)
	answer(w, res.Answer, err, func() any { return queryData{ResultType: res.Value.Type(), Result: res.Value} })
}

// QueryRange serves /api/v1/query_range.
func (api *API) QueryRange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		fail(w, http.StatusBadRequest, "bad_data", err)
		return
	}
	var rg telemetry.Range
	var err error
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start", &rg.Start}, {"end", &rg.End}} {
		if *p.dst, err = parseTime(r.Form.Get(p.name), time.Time{}); err != nil || p.dst.IsZero() {
			fail(w, http.StatusBadRequest, "bad_data", errors.New(p.name+": a time is required (RFC 3339 or Unix seconds)"))
			return
		}
	}
	if rg.Step, err = parseDuration(r.Form.Get("step")); err != nil {
		fail(w, http.StatusBadRequest, "bad_data", errors.New("step: "+err.Error()))
		return
	}
	res, err := api.Source.QueryRange(r.Context(), r.Form.Get("query"), rg)
	answer(w, res.Answer, err, func() any { return queryData{ResultType: res.Value.Type(), Result: res.Value} })
}

// span parses the form and reads start and end, defaulting to all time. On a bad request it
// answers and returns ok false.
func span(w http.ResponseWriter, r *http.Request) (start, end time.Time, ok bool) {
	err := r.ParseForm()
	if err == nil {
		if start, err = parseTime(r.Form.Get("start"), minTime); err != nil {
			err = errors.New("start: " + err.Error())
		}
	}
	if err == nil {
		if end, err = parseTime(r.Form.Get("end"), maxTime); err != nil {
			err = errors.New("end: " + err.Error())
		}
	}
	if err != nil {
		fail(w, http.StatusBadRequest, "bad_data", err)
		return start, end, false
	}
	return start, end, true
}

// Series serves /api/v1/series.
func (api *API) Series(w http.ResponseWriter, r *http.Request) {
	start, end, ok := span(w, r)
	if !ok {
		return
	}
	res, err := api.Source.Series(r.Context(), r.Form["match[]"], start, end)
	answer(w, res.Answer, err, func() any {
		out := make([]map[string]string, len(res.Series))
		for i, l := range res.Series {
			out[i] = l.Map()
		}
		return out
	})
}

// Labels serves /api/v1/labels.
func (api *API) Labels(w http.ResponseWriter, r *http.Request) {
	start, end, ok := span(w, r)
	if !ok {
		return
	}
	res, err := api.Source.LabelNames(r.Context(), r.Form["match[]"], start, end)
	answer(w, res.Answer, err, func() any { return nonNil(res.Values) })
}

// LabelValues serves /api/v1/label/{name}/values.
func (api *API) LabelValues(w http.ResponseWriter, r *http.Request) {
	start, end, ok := span(w, r)
	if !ok {
		return
	}
	res, err := api.Source.LabelValues(r.Context(), r.PathValue("name"), r.Form["match[]"], start, end)
	answer(w, res.Answer, err, func() any { return nonNil(res.Values) })
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// The bounds Prometheus uses for "all time".
var (
	minTime = time.Unix(math.MinInt64/1000+62135596801, 0).UTC()
	maxTime = time.Unix(math.MaxInt64/1000-62135596801, 999999999).UTC()
)

// parseTime reads a time as Prometheus does: Unix seconds (with a fraction) or RFC 3339.
func parseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
			return def, errors.New("cannot use " + strconv.Quote(s) + " as a time")
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return def, errors.New("cannot parse " + strconv.Quote(s) + " as Unix seconds or RFC 3339")
	}
	return t, nil
}

// parseDuration reads a step as Prometheus does: seconds (with a fraction) or a duration ("15s").
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("is required")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if !(f > 0) || f > float64(math.MaxInt64/int64(time.Second)) { // !(f > 0) also refuses NaN
			return 0, errors.New("must be positive")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	md, err := model.ParseDuration(strings.TrimSpace(s))
	d := time.Duration(md)
	if err != nil || d <= 0 {
		return 0, errors.New("cannot parse " + strconv.Quote(s) + " as a positive duration")
	}
	return d, nil
}
