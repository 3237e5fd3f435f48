package evaluation

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// LoghubReport is the loghub evaluation as one document (the --json output).
type LoghubReport struct {
	Dataset string         `json:"dataset"`
	Command string         `json:"command"`
	Config  string         `json:"config"`
	Systems []LoghubSystem `json:"systems"`
	// Mean is over the systems: original, and corrected over the systems that have a
	// corrected truth.
	Mean struct {
		Original  LoghubScores `json:"original"`
		Corrected LoghubScores `json:"corrected"`
	} `json:"mean"`
}

// NewLoghubReport averages the systems' scores.
func NewLoghubReport(command, config string, systems []LoghubSystem) LoghubReport {
	r := LoghubReport{Dataset: "loghub-2k", Command: command, Config: config, Systems: systems}
	nc := 0
	for _, s := range systems {
		add(&r.Mean.Original, s.Original)
		if s.Corrected != nil {
			add(&r.Mean.Corrected, *s.Corrected)
			nc++
		}
	}
	scale(&r.Mean.Original, len(systems))
	scale(&r.Mean.Corrected, nc)
	return r
}

func add(to *LoghubScores, s LoghubScores) {
	to.GA += s.GA
	to.PA += s.PA
	to.FGA += s.FGA
	to.FTA += s.FTA
	to.Templates += s.Templates
	to.TruthTemplates += s.TruthTemplates
}

func scale(s *LoghubScores, n int) {
	if n == 0 {
		return
	}
	f := float64(n)
	s.GA, s.PA, s.FGA, s.FTA = s.GA/f, s.PA/f, s.FGA/f, s.FTA/f
}

// WriteTable writes the report as a Markdown table with Drain's published figures beside.
func (r LoghubReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "Command: `%s`\n\nConfiguration (the same for every system): %s\n\n", r.Command, r.Config)
	fmt.Fprintln(w, "| system | lines | GA original | Drain GA (published) | GA corrected | PA | FGA | FTA | templates (truth) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, s := range r.Systems {
		c := LoghubScores{}
		cs := "–"
		if s.Corrected != nil {
			c = *s.Corrected
			cs = fmt.Sprintf("%.3f | %.3f | %.3f | %.3f | %d (%d)", c.GA, c.PA, c.FGA, c.FTA, c.Templates, c.TruthTemplates)
		} else {
			cs = "– | – | – | – | –"
		}
		fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %s |\n", s.System, s.Lines, s.Original.GA, DrainPublishedGA[s.System], cs)
	}
	m := r.Mean
	fmt.Fprintf(w, "| **mean** | | **%.3f** | %.3f | **%.3f** | %.3f | %.3f | %.3f | |\n\n", m.Original.GA, meanDrainGA(), m.Corrected.GA, m.Corrected.PA, m.Corrected.FGA, m.Corrected.FTA)
	fmt.Fprintln(w, "Published for Drain on the corrected truth (Loghub-2.0, ISSTA 2024, 2k): GA .85, PA .32, FGA .74, FTA .28.")
	fmt.Fprintln(w, "On the original truth (grouped by event id, as the 2019 evaluator does), PA and FTA compare templates written in the")
	fmt.Fprintln(w, "corrected conventions with the original ones, so only GA is shown there.")
}

func meanDrainGA() float64 {
	t := 0.0
	for _, v := range DrainPublishedGA {
		t += v
	}
	return t / float64(len(DrainPublishedGA))
}

// Between these markers in docs/evaluation.md, --doc replaces the table.
const (
	loghubBegin = "<!-- loghub table: begin -->"
	loghubEnd   = "<!-- loghub table: end -->"
)

// WriteDoc replaces the loghub table in a Markdown file between its markers.
func (r LoghubReport) WriteDoc(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("doc: %w", err)
	}
	s := string(raw)
	i, j := strings.Index(s, loghubBegin), strings.Index(s, loghubEnd)
	if i < 0 || j < i {
		return fmt.Errorf("doc: %s has no %q … %q section", path, loghubBegin, loghubEnd)
	}
	var b strings.Builder
	b.WriteString(s[:i+len(loghubBegin)])
	b.WriteString("\n")
	r.WriteTable(&b)
	b.WriteString(s[j:])
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("doc: %w", err)
	}
	return os.Rename(tmp, path)
}
