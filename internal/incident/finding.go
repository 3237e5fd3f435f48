package incident

import (
	"fmt"
	"math"
)

// TypeFinding is a piece of evidence an analyzer found: what hurts and for whom, what changed,
// which label values explain an aggregate, what is cause and what effect, which log patterns are
// new. A finding is evidence with a base rate, not a verdict (DESIGN.md section 3.2). A re-run of
// the analysis supersedes its earlier finding of the same key instead of adding another.
const TypeFinding Type = "finding.posted"

// FindingKind is what a finding is about.
type FindingKind string

const (
	FindingImpact    FindingKind = "impact"
	FindingChange    FindingKind = "change"
	FindingBreakdown FindingKind = "breakdown"
	FindingCause     FindingKind = "cause"
	FindingLogs      FindingKind = "logs"
)

// FindingKinds lists the kinds of findings.
var FindingKinds = []FindingKind{FindingImpact, FindingChange, FindingBreakdown, FindingCause, FindingLogs}

// Finding is one piece of evidence with what it rests on and what would refute it.
type Finding struct {
	Kind FindingKind `json:"kind"`
	// Key identifies what the finding is about across runs ("change:deploy-123",
	// "impact:checkout"): a re-run supersedes the earlier finding of the same key.
	Key      string   `json:"key"`
	Title    string   `json:"title"`
	Entities []string `json:"entities,omitempty"`
	// Score ranks findings of one kind; Confidence (0 to 1) is how often a finding of this kind
	// and score was right on the labelled scenarios.
	Score      float64    `json:"score"`
	Confidence float64    `json:"confidence"`
	Evidence   []Evidence `json:"evidence,omitempty"`
	// BaseRate says how common this was before the incident ("present at 0.2% of requests for
	// the last 7 days").
	BaseRate string `json:"base_rate,omitempty"`
	// Refutation says what would refute the finding.
	Refutation string `json:"refutation,omitempty"`
	// NotExamined lists the data the analysis did not look at or could not read.
	NotExamined []string `json:"not_examined,omitempty"`
	// Action is the intervention the finding suggests, if any ("roll back checkout to 1.4.2").
	Action string `json:"action,omitempty"`
	// Run names the analysis run that produced it.
	Run string `json:"run,omitempty"`
}

// Evidence is one thing a finding rests on, with the exact query to see it again.
type Evidence struct {
	Kind    string `json:"kind"` // series, logs, change, alert, trace
	Summary string `json:"summary"`
	Query   string `json:"query,omitempty"`
	Ref     string `json:"ref,omitempty"`
}

// EvidenceKinds are the kinds of evidence.
var EvidenceKinds = []string{"series", "logs", "change", "alert", "trace"}

func (Finding) EventType() Type { return TypeFinding }

func (p Finding) validate() error {
	if err := enum("kind", p.Kind, FindingKinds); err != nil {
		return err
	}
	if err := required("key", p.Key, maxTitle*2); err != nil {
		return err
	}
	if err := required("title", p.Title, maxTitle*2); err != nil {
		return err
	}
	if len(p.Entities) > 50 {
		return fieldErr("entities", "has %d entries, at most 50", len(p.Entities))
	}
	for i, e := range p.Entities {
		if err := required(fmt.Sprintf("entities[%d]", i), e, maxTitle); err != nil {
			return err
		}
	}
	if math.IsNaN(p.Score) || math.IsInf(p.Score, 0) {
		return fieldErr("score", "must be a finite number")
	}
	if !(p.Confidence >= 0 && p.Confidence <= 1) {
		return fieldErr("confidence", "must be between 0 and 1")
	}
	if len(p.Evidence) > 50 {
		return fieldErr("evidence", "has %d entries, at most 50", len(p.Evidence))
	}
	for i, e := range p.Evidence {
		f := fmt.Sprintf("evidence[%d]", i)
		if !oneOf(e.Kind, EvidenceKinds) {
			return fieldErr(f+".kind", "%q is not one of %s", e.Kind, list(EvidenceKinds))
		}
		if err := required(f+".summary", e.Summary, maxText); err != nil {
			return err
		}
		if err := text(f+".query", e.Query, maxText); err != nil {
			return err
		}
		if err := text(f+".ref", e.Ref, maxTitle*2); err != nil {
			return err
		}
	}
	if len(p.NotExamined) > 50 {
		return fieldErr("not_examined", "has %d entries, at most 50", len(p.NotExamined))
	}
	for i, n := range p.NotExamined {
		if err := required(fmt.Sprintf("not_examined[%d]", i), n, maxText); err != nil {
			return err
		}
	}
	for field, v := range map[string]string{"base_rate": p.BaseRate, "refutation": p.Refutation, "action": p.Action} {
		if err := text(field, v, maxText); err != nil {
			return err
		}
	}
	return text("run", p.Run, maxTitle)
}
