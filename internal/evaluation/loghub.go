// Package evaluation measures Sextant's analysis on public data sets with published results:
// it reads the data sets, runs the analysis, and scores it the way the data sets' own
// evaluators do.
package evaluation

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sextant-sre/sextant/internal/logparse"
)

// LoghubSystems are the 16 systems of Loghub 2k, in the order the papers list them.
var LoghubSystems = []string{"HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "HPC", "Thunderbird", "Windows", "Linux", "Android",
	"HealthApp", "Apache", "Proxifier", "OpenSSH", "OpenStack", "Mac"}

// DrainPublishedGA is Drain's grouping accuracy on the original Loghub 2k truth (Zhu et al.,
// ICSE-SEIP 2019).
var DrainPublishedGA = map[string]float64{"HDFS": .9975, "Hadoop": .9475, "Spark": .92, "Zookeeper": .9665, "BGL": .9625, "HPC": .887,
	"Thunderbird": .955, "Windows": .997, "Linux": .69, "Android": .911, "HealthApp": .78, "Apache": 1.0, "Proxifier": .5265,
	"OpenSSH": .7875, "OpenStack": .7325, "Mac": .7865}

// LoghubScores are the four Loghub-2.0 metrics against one ground truth.
type LoghubScores struct {
	GA  float64 `json:"ga"`
	PA  float64 `json:"pa"`
	FGA float64 `json:"fga"`
	FTA float64 `json:"fta"`
	// Templates is how many templates Sextant found; TruthTemplates how many the truth has.
	Templates      int `json:"templates"`
	TruthTemplates int `json:"truth_templates"`
}

// LoghubSystem is one system's result.
type LoghubSystem struct {
	System    string        `json:"system"`
	Lines     int           `json:"lines"`
	Original  LoghubScores  `json:"original"`
	Corrected *LoghubScores `json:"corrected,omitempty"`
	Seconds   float64       `json:"seconds"`
}

// loghubTruth is a structured ground-truth file: each line's content, event id and template.
type loghubTruth struct {
	content, ids, templates []string
}

func readTruth(path string) (loghubTruth, error) {
	f, err := os.Open(path)
	if err != nil {
		return loghubTruth{}, err
	}
	defer f.Close()
	return parseTruth(f, path)
}

// parseTruth reads a structured ground-truth CSV; path names it in errors.
func parseTruth(in io.Reader, path string) (loghubTruth, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return loghubTruth{}, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	ci, ok1 := col["Content"]
	ei, ok2 := col["EventId"]
	ti, ok3 := col["EventTemplate"]
	if !ok1 || !ok2 || !ok3 {
		return loghubTruth{}, fmt.Errorf("%s: want the columns Content, EventId and EventTemplate", path)
	}
	var t loghubTruth
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return loghubTruth{}, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) <= max(ci, ei, ti) {
			return loghubTruth{}, fmt.Errorf("%s: line %d has %d columns", path, len(t.content)+2, len(rec))
		}
		t.content = append(t.content, rec[ci])
		t.ids = append(t.ids, rec[ei])
		t.templates = append(t.templates, rec[ti])
	}
	return t, nil
}

// Loghub parses each system's 2k lines with one parser configuration and scores the result
// against the original truth (grouped by event id, as Loghub's first evaluator does) and the
// corrected truth (grouped by template text, as Loghub-2.0's does). A system whose folder is
// missing is an error: a partial table would read as a complete one.
func Loghub(dir string) ([]LoghubSystem, error) {
	var out []LoghubSystem
	for _, sys := range LoghubSystems {
		base := filepath.Join(dir, sys, sys+"_2k.log")
		orig, err := readTruth(base + "_structured.csv")
		if err != nil {
			return nil, fmt.Errorf("loghub %s: %w", sys, err)
		}
		began := time.Now()
		pred := ParseLines(orig.content)
		res := LoghubSystem{System: sys, Lines: len(orig.content), Seconds: time.Since(began).Seconds()}
		res.Original = score(orig.ids, orig.templates, pred)
		if corr, err := readTruth(base + "_structured_corrected.csv"); err == nil {
			if len(corr.content) != len(orig.content) {
				return nil, fmt.Errorf("loghub %s: the corrected truth has %d lines, the original %d", sys, len(corr.content), len(orig.content))
			}
			s := score(corr.templates, corr.templates, pred)
			res.Corrected = &s
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("loghub %s: %w", sys, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// ParseLines runs one parser over the lines and returns each line's template text.
func ParseLines(lines []string) []string {
	p := logparse.New(logparse.DefaultConfig)
	assigned := make([]*logparse.Template, len(lines))
	tokens := make([][]string, len(lines))
	for i, l := range lines {
		t, toks := p.AddTokens(l, time.Time{})
		assigned[i], tokens[i] = t, append([]string(nil), toks...)
	}
	// Templates generalise as lines arrive: a line's template is its cluster's final one.
	out := make([]string, len(lines))
	for i, t := range assigned {
		out[i] = t.Resolve(tokens[i])
	}
	return out
}

func score(truthGroups, truthTemplates, pred []string) LoghubScores {
	ga, fga, nPred, nTruth := GroupingAccuracy(truthGroups, pred)
	fta := TemplateAccuracy(truthTemplates, pred)
	return LoghubScores{GA: ga, PA: ParsingAccuracy(truthTemplates, pred), FGA: fga, FTA: fta, Templates: nPred, TruthTemplates: nTruth}
}

// GroupingAccuracy is the share of lines whose predicted group holds exactly the lines of their
// true group (GA), and the F1 over groups of being exactly right (FGA). Groups are given by
// labels: truth[i] and pred[i] label line i.
func GroupingAccuracy(truth, pred []string) (ga, fga float64, predGroups, truthGroups int) {
	predSize := map[string]int{}
	for _, p := range pred {
		predSize[p]++
	}
	type group struct {
		n     int
		preds map[string]bool
		pred  string
	}
	groups := map[string]*group{}
	for i, t := range truth {
		g := groups[t]
		if g == nil {
			g = &group{preds: map[string]bool{}}
			groups[t] = g
		}
		g.n++
		g.preds[pred[i]] = true
		g.pred = pred[i]
	}
	lines, exact := 0, 0
	for _, g := range groups {
		if len(g.preds) == 1 && predSize[g.pred] == g.n {
			lines += g.n
			exact++
		}
	}
	if len(truth) == 0 {
		return 0, 0, 0, 0
	}
	p, r := float64(exact)/float64(len(predSize)), float64(exact)/float64(len(groups))
	if p+r > 0 {
		fga = 2 * p * r / (p + r)
	}
	return float64(lines) / float64(len(truth)), fga, len(predSize), len(groups)
}

// ParsingAccuracy is the share of lines whose predicted template is exactly their true one.
func ParsingAccuracy(truth, pred []string) float64 {
	if len(truth) == 0 {
		return 0
	}
	ok := 0
	for i := range truth {
		if truth[i] == pred[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(truth))
}

// TemplateAccuracy is the F1 over templates (FTA): a predicted template is right when every line
// it was given has that very template in the truth.
func TemplateAccuracy(truth, pred []string) float64 {
	byPred := map[string]map[string]bool{}
	truths := map[string]bool{}
	for i, p := range pred {
		if byPred[p] == nil {
			byPred[p] = map[string]bool{}
		}
		byPred[p][truth[i]] = true
		truths[truth[i]] = true
	}
	right := 0
	for p, ts := range byPred {
		if len(ts) == 1 && ts[p] {
			right++
		}
	}
	if len(byPred) == 0 || len(truths) == 0 {
		return 0
	}
	pt, rt := float64(right)/float64(len(byPred)), float64(right)/float64(len(truths))
	if pt+rt == 0 {
		return 0
	}
	return 2 * pt * rt / (pt + rt)
}
