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
	return replaceSection(path, loghubBegin, loghubEnd, r.WriteTable)
}

// NABReport is the NAB evaluation as one document (the --json output).
type NABReport struct {
	Dataset  string             `json:"dataset"`
	Command  string             `json:"command"`
	Config   string             `json:"config"`
	Files    int                `json:"files"`
	Windows  int                `json:"windows"`
	Profiles []NABProfileResult `json:"profiles"`
	// WithoutRange is the same detector not given the file's range, as for a live series.
	WithoutRange []NABProfileResult `json:"without_range"`
}

// WriteTable writes the report as a Markdown table with the published detectors beside.
func (r NABReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "Command: `%s`\n\nConfiguration (the same for every file): %s\n\n", r.Command, r.Config)
	fmt.Fprintf(w, "%d files, %d anomaly windows.\n\n", r.Files, r.Windows)
	fmt.Fprintln(w, "| detector | standard | reward low FP | reward low FN |")
	fmt.Fprintln(w, "|---|---|---|---|")
	// Two decimals for Sextant's own scores, so that none rounds up past a published one.
	fmt.Fprintf(w, "| **Sextant** | **%.2f** | **%.2f** | **%.2f** |\n", r.Profiles[0].Score, r.Profiles[1].Score, r.Profiles[2].Score)
	if len(r.WithoutRange) == 3 {
		fmt.Fprintf(w, "| Sextant, not given the file's range | %.2f | %.2f | %.2f |\n", r.WithoutRange[0].Score, r.WithoutRange[1].Score, r.WithoutRange[2].Score)
	}
	for _, p := range NABPublished {
		fmt.Fprintf(w, "| %s (published) | %.1f | %.1f | %.1f |\n", p.Detector, p.Scores[0], p.Scores[1], p.Scores[2])
	}
	fmt.Fprintln(w, "| null detector (by definition) | 0.0 | 0.0 | 0.0 |")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| profile | threshold | raw score | null raw score | rows detected in windows | rows detected outside |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, p := range r.Profiles {
		fmt.Fprintf(w, "| %s | %.4f | %.2f | %.2f | %d | %d |\n", p.Profile, p.Threshold, p.Raw, p.Null, p.TP, p.FP)
	}
}

// replaceSection replaces the text between a begin and an end marker in a Markdown file.
func replaceSection(path, begin, end string, write func(io.Writer)) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("doc: %w", err)
	}
	s := string(raw)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("doc: %s has no %q … %q section", path, begin, end)
	}
	var b strings.Builder
	b.WriteString(s[:i+len(begin)])
	b.WriteString("\n")
	write(&b)
	b.WriteString(s[j:])
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("doc: %w", err)
	}
	return os.Rename(tmp, path)
}

// WriteDoc replaces the NAB table in a Markdown file between its markers.
func (r NABReport) WriteDoc(path string) error {
	return replaceSection(path, "<!-- nab table: begin -->", "<!-- nab table: end -->", r.WriteTable)
}
