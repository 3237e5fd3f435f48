package incident

import (
	"strings"
	"testing"
	"time"
)

// TestFindingsSupersedeAndRank: a re-run supersedes a finding of the same key, a finding no longer
// found is retracted, and the card lists current findings by score.
func TestFindingsSupersedeAndRank(t *testing.T) {
	analyzer := func(p Finding) Finding { p.Kind, p.Run = FindingChange, "run-1"; return p }
	b := declared().
		add(analyzer(Finding{Key: "change:a", Title: "deploy a", Score: 0.4, Confidence: 0.5})). // evID(2)
		add(analyzer(Finding{Key: "change:b", Title: "deploy b", Score: 0.9, Confidence: 0.8})). // evID(3)
		addRefs(analyzer(Finding{Key: "change:a", Title: "deploy a, again", Score: 0.95, Confidence: 0.9}), Refs{Supersedes: evID(2)}).
		addRefs(EntryRetracted{Reason: "no longer found"}, Refs{Supersedes: evID(3)})
	s := b.state(t)
	c := s.Card(t0.Add(time.Hour))
	if len(c.Findings) != 1 || c.Findings[0].Payload.(Finding).Title != "deploy a, again" {
		t.Fatalf("findings on the card: %+v", c.Findings)
	}
	// A finding superseded by a note is refused: a correction keeps the type.
	bad := b.next(Note{Text: "x"}, Refs{Supersedes: evID(4)})
	if err := s.Apply(bad); err == nil || !strings.Contains(err.Error(), "same type") {
		t.Fatalf("a note superseding a finding: %v", err)
	}
}

func TestFindingValidation(t *testing.T) {
	ok := Finding{Kind: FindingImpact, Key: "impact:checkout", Title: "checkout failing", Score: 3, Confidence: 0.7,
		Evidence: []Evidence{{Kind: "series", Summary: "error ratio 12% since 14:02", Query: `sum(rate(x[1m]))`}}}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(f *Finding){
		"kind":                func(f *Finding) { f.Kind = "verdict" },
		"key":                 func(f *Finding) { f.Key = "" },
		"title":               func(f *Finding) { f.Title = "" },
		"confidence":          func(f *Finding) { f.Confidence = 1.5 },
		"evidence[0].kind":    func(f *Finding) { f.Evidence[0].Kind = "hunch" },
		"evidence[0].summary": func(f *Finding) { f.Evidence[0].Summary = "" },
	}
	for field, spoil := range cases {
		f := ok
		f.Evidence = append([]Evidence(nil), ok.Evidence...)
		spoil(&f)
		if err := f.validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
}
