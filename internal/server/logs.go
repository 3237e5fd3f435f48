package server

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/sextant-sre/sextant/internal/logparse"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/telemetry"
)

// logQuery reads a log query from the URL: from and to (default the last hour), selector
// ({service="checkout"}), severity (the least kept), q (text, case-insensitive), template, limit.
func (s *Server) logQuery(r *http.Request) (logstore.Query, error) {
	v := r.URL.Query()
	q := logstore.Query{End: s.Now(), Contains: v.Get("q"), Fold: true}
	q.Start = q.End.Add(-time.Hour)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.Start}, {"to", &q.End}} {
		if raw := v.Get(p.name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return q, badRequest(p.name, "%q is not an RFC 3339 time", raw)
			}
			*p.dst = t
		}
	}
	if sel := v.Get("selector"); sel != "" {
		ms, err := telemetry.ParseSelectors([]string{sel})
		if err != nil {
			return q, badRequest("selector", "%v", err)
		}
		q.Matchers = ms[0]
	}
	if sev := v.Get("severity"); sev != "" {
		level, err := logstore.ParseSeverity(sev)
		if err != nil {
			return q, badRequest("severity", "%v", err)
		}
		q.MinSeverity = level
	}
	for _, t := range v["template"] {
		id, err := strconv.ParseUint(t, 10, 32)
		if err != nil {
			return q, badRequest("template", "%q is not a template id", t)
		}
		q.Templates = append(q.Templates, uint32(id))
	}
	var err error
	q.Limit, err = intParam(v.Get("limit"), "limit", 1000, 10000)
	return q, err
}

type logLine struct {
	Time     time.Time         `json:"time"`
	Labels   map[string]string `json:"labels"`
	Severity string            `json:"severity"`
	Template uint32            `json:"template"`
	Body     string            `json:"body"`
	TraceID  string            `json:"trace_id,omitempty"`
}

// logHandler serves a log query: answer gets the parsed query and returns the JSON to send.
func (s *Server) logHandler(answer func(r *http.Request, q logstore.Query) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Logs == nil {
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "no log store is configured"})
			return
		}
		q, err := s.logQuery(r)
		if err == nil {
			var out any
			if out, err = answer(r, q); err == nil {
				writeJSON(w, http.StatusOK, out)
				return
			}
		}
		writeError(w, r, s.Logger, err)
	}
}

func (s *Server) queryLogs(w http.ResponseWriter, r *http.Request) {
	s.logHandler(func(r *http.Request, q logstore.Query) (any, error) {
		lines, err := s.Logs.Select(r.Context(), q)
		if err != nil {
			return nil, err
		}
		out := make([]logLine, len(lines))
		for i, l := range lines {
			out[i] = logLine{Time: l.Time, Labels: l.Labels.Map(), Severity: l.Severity.String(), Template: l.Template, Body: l.Body, TraceID: l.TraceID}
		}
		return map[string]any{"lines": out, "from": q.Start, "to": q.End}, nil
	})(w, r)
}

func (s *Server) logPatterns(w http.ResponseWriter, r *http.Request) {
	s.logHandler(func(r *http.Request, q logstore.Query) (any, error) {
		// With a baseline (a duration), each pattern is also measured against its rate in the
		// baseline period just before the window: new, or surging, or neither.
		var baseline time.Duration
		if raw := r.URL.Query().Get("baseline"); raw != "" {
			d, err := time.ParseDuration(raw)
			if err != nil || d <= 0 || d > 31*24*time.Hour {
				return nil, badRequest("baseline", "%q is not a duration up to 31 days (such as 24h)", raw)
			}
			baseline = d
		}
		pats, err := s.Logs.Patterns(r.Context(), q)
		if err != nil {
			return nil, err
		}
		out := make([]patternAnswer, len(pats))
		for i, p := range pats {
			out[i] = patternAnswer{PatternCount: p}
		}
		if baseline > 0 {
			ref := q
			ref.Start, ref.End = q.Start.Add(-baseline), q.Start
			before, err := s.Logs.Patterns(r.Context(), ref)
			if err != nil {
				return nil, err
			}
			refCounts, winCounts := map[uint32]int{}, map[uint32]int{}
			for _, p := range before {
				refCounts[p.Template] = p.Count
			}
			for _, p := range pats {
				winCounts[p.Template] = p.Count
			}
			changes := map[uint32]logparse.PatternChange{}
			for _, c := range logparse.PatternChanges(refCounts, winCounts, baseline, q.End.Sub(q.Start), 3) {
				changes[c.Template] = c
			}
			for i := range out {
				out[i].Baseline = refCounts[out[i].Template]
				if c, ok := changes[out[i].Template]; ok {
					out[i].Change, out[i].Expected, out[i].PValue = string(c.Kind), c.Expected, c.PValue
				}
			}
			// The surprising first: new and surging patterns, then by count.
			sort.SliceStable(out, func(i, j int) bool { return out[i].Change != "" && out[j].Change == "" })
		}
		if len(out) > q.Limit {
			out = out[:q.Limit]
		}
		return map[string]any{"patterns": out, "from": q.Start, "to": q.End}, nil
	})(w, r)
}

// patternAnswer is a pattern with, given a baseline, its count there and how it changed.
type patternAnswer struct {
	logstore.PatternCount
	Baseline int     `json:"baseline_count,omitempty"`
	Change   string  `json:"change,omitempty"` // new or surge
	Expected float64 `json:"expected,omitempty"`
	PValue   float64 `json:"p_value,omitempty"`
}
