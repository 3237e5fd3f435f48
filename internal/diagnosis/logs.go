package diagnosis

import (
	"fmt"
	"math"
	"time"

	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/logparse"
	"github.com/sextant-sre/sextant/internal/logstore"
)

// ServiceLogs are one service's log lines counted per template since the onset and in a
// reference period before it.
type ServiceLogs struct {
	Service             string
	Window, Reference   []logstore.PatternCount
	WindowSpan, RefSpan time.Duration
	// Query is the log query that shows the lines (the API's /api/logs parameters).
	Query string
}

// maxLogFindings bounds the log findings per service.
const maxLogFindings = 3

// LogPatterns finds the templates that are new since the onset or surged against their rate in
// the reference period, linked to their service.
func LogPatterns(services []ServiceLogs) []incident.Finding {
	var out []incident.Finding
	for _, s := range services {
		ref, win := map[uint32]int{}, map[uint32]int{}
		examples := map[uint32]logstore.PatternCount{}
		for _, p := range s.Reference {
			ref[p.Template] = p.Count
		}
		for _, p := range s.Window {
			win[p.Template] = p.Count
			examples[p.Template] = p
		}
		for i, c := range logparse.PatternChanges(ref, win, s.RefSpan, s.WindowSpan, 3) {
			if i >= maxLogFindings {
				break
			}
			ex := examples[c.Template]
			what := fmt.Sprintf("new since the onset: %d lines, never in the %s before", c.Count, s.RefSpan)
			base := fmt.Sprintf("never seen in the %s before the onset", s.RefSpan)
			if c.Kind == logparse.PatternSurge {
				what = fmt.Sprintf("%d lines where the rate before predicts %.1f (%.0f×)", c.Count, c.Expected, c.Ratio)
				base = fmt.Sprintf("%d lines in the %s before the onset", ref[c.Template], s.RefSpan)
			}
			out = append(out, incident.Finding{
				Kind: incident.FindingLogs, Key: fmt.Sprintf("logs:%s:%d", s.Service, c.Template),
				Title:    fmt.Sprintf("%s logs: %q %s", s.Service, ex.Example, what),
				Entities: []string{"service:" + s.Service}, Score: -math.Log10(math.Max(c.PValue, 1e-300)),
				Confidence: math.Round((1-c.PValue)*100) / 100,
				Evidence: []incident.Evidence{{Kind: "logs", Query: fmt.Sprintf("%s&template=%d", s.Query, c.Template),
					Summary: fmt.Sprintf("template %d, first at %s, last at %s", c.Template, ex.First.UTC().Format(time.TimeOnly), ex.Last.UTC().Format(time.TimeOnly))}},
				BaseRate:   base,
				Refutation: "the same pattern at the same rate on other days at this hour, or lines that follow the failure rather than precede it",
			})
		}
	}
	return out
}
