package evaluation

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sextant-sre/sextant/internal/breakdown"
)

// The RiskLoc repository's RS data set: 135 real multi-dimensional anomalies of a video CDN's
// session failures. Each case is a CSV of per-minute leaves (min, value, cnt and the dimension
// columns); anomaly.yaml gives each case's anomaly minute and its root-cause elements. As the
// repository prepares it, a leaf's failures are cnt-value, its ratio failures/cnt, and its
// baseline the mean of the four minutes before the anomaly.

// RSCase is one anomaly of the RS data set, prepared for a breakdown.
type RSCase struct {
	Name   string
	Dims   []string
	Leaves []breakdown.Leaf
	Truth  []string // root-cause elements as "label=value&label=value", labels sorted
}

// rsLabel is one entry of anomaly.yaml.
type rsLabel struct {
	data      string
	timestamp int64
	cause     []string
}

// ReadRS reads the RS cases of dir.
func ReadRS(dir string) ([]RSCase, error) {
	f, err := os.Open(filepath.Join(dir, "anomaly.yaml"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	labels, err := parseRSLabels(f)
	if err != nil {
		return nil, fmt.Errorf("anomaly.yaml: %w", err)
	}
	var cases []RSCase
	for _, l := range labels {
		c, err := readRSCase(filepath.Join(dir, l.data+".csv"), l)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.data, err)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// parseRSLabels reads the entries of anomaly.yaml: "- data: NAME", "  timestamp: SECONDS",
// "  cause: {'label':value, …}" or a list of such maps.
func parseRSLabels(r io.Reader) ([]rsLabel, error) {
	var out []rsLabel
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(text, "- "), ":")
		if !ok {
			return nil, fmt.Errorf("line %d: want key: value, got %q", line, text)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if strings.HasPrefix(text, "- ") {
			out = append(out, rsLabel{})
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("line %d: %s before the first entry", line, key)
		}
		cur := &out[len(out)-1]
		switch key {
		case "data":
			cur.data = value
		case "timestamp":
			t, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: timestamp: %w", line, err)
			}
			cur.timestamp = t
		case "cause":
			c, err := parseRSCause(value)
			if err != nil {
				return nil, fmt.Errorf("line %d: cause: %w", line, err)
			}
			cur.cause = c
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for i, l := range out {
		if l.data == "" || l.timestamp == 0 || len(l.cause) == 0 || strings.ContainsAny(l.data, `/\`) {
			return nil, fmt.Errorf("entry %d (%q): wants a file name, a timestamp and a cause", i+1, l.data)
		}
	}
	return out, nil
}

// parseRSCause reads a Python literal of one map or a list of maps from label to value, and
// returns each map as "label=value&…" with its labels sorted, as the repository scores them.
func parseRSCause(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		if !strings.HasSuffix(s, "]") {
			return nil, errors.New("unclosed list")
		}
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	var out []string
	for s != "" {
		if s[0] != '{' {
			return nil, fmt.Errorf("want a map at %q", s)
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return nil, errors.New("unclosed map")
		}
		var pairs []string
		for _, kv := range strings.Split(s[1:end], ",") {
			k, v, ok := strings.Cut(kv, ":")
			if !ok {
				return nil, fmt.Errorf("want label:value, got %q", kv)
			}
			k, v = unquote(k), unquote(v)
			if k == "" || v == "" {
				return nil, fmt.Errorf("empty label or value in %q", kv)
			}
			pairs = append(pairs, k+"="+v)
		}
		slices.Sort(pairs)
		out = append(out, strings.Join(pairs, "&"))
		s = strings.TrimLeft(s[end+1:], " ,")
	}
	if len(out) == 0 {
		return nil, errors.New("no element")
	}
	return out, nil
}

func unquote(s string) string { return strings.Trim(strings.TrimSpace(s), `'"`) }

// readRSCase reads one case's CSV into leaves at the anomaly minute, each with the mean of the
// four minutes before as its baseline.
func readRSCase(path string, l rsLabel) (RSCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return RSCase{}, err
	}
	defer f.Close()
	return parseRSCase(f, l)
}

func parseRSCase(r io.Reader, l rsLabel) (RSCase, error) {
	rd := csv.NewReader(r)
	header, err := rd.Read()
	if err != nil {
		return RSCase{}, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	var dims []int
	for i, h := range header {
		switch h {
		case "min", "value", "cnt":
			col[h] = i
		default:
			dims = append(dims, i)
		}
	}
	if len(col) != 3 || len(dims) == 0 {
		return RSCase{}, fmt.Errorf("header %v: want min, value, cnt and at least one dimension", header)
	}
	c := RSCase{Name: l.data, Truth: l.cause}
	for _, d := range dims {
		c.Dims = append(c.Dims, header[d])
	}
	const history = 4
	type acc struct{ leaf breakdown.Leaf }
	byKey := map[string]*acc{}
	var order []string
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return RSCase{}, err
		}
		minute, err1 := strconv.ParseInt(rec[col["min"]], 10, 64)
		ok, err2 := strconv.ParseFloat(rec[col["value"]], 64)
		cnt, err3 := strconv.ParseFloat(rec[col["cnt"]], 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return RSCase{}, fmt.Errorf("line %d: %w", len(order)+2, err)
		}
		age := (l.timestamp - minute) / 60
		if (l.timestamp-minute)%60 != 0 || age < 0 || age > history {
			continue
		}
		values := make([]string, len(dims))
		for i, d := range dims {
			values[i] = rec[d]
		}
		key := strings.Join(values, "\x00")
		a := byKey[key]
		if a == nil {
			a = &acc{leaf: breakdown.Leaf{Values: values}}
			byKey[key] = a
			order = append(order, key)
		}
		failed := cnt - ok
		if age == 0 {
			a.leaf.Num += failed
			a.leaf.Den += cnt
		} else {
			a.leaf.BaseNum += failed
			a.leaf.BaseDen += cnt
		}
	}
	for _, k := range order {
		if a := byKey[k]; a.leaf.Den > 0 {
			c.Leaves = append(c.Leaves, a.leaf)
		}
	}
	if len(c.Leaves) == 0 {
		return RSCase{}, fmt.Errorf("no leaf at the anomaly minute %d", l.timestamp)
	}
	return c, nil
}

// BreakdownScores are pooled counts over root-cause elements, as the RiskLoc repository scores
// them: a true element found is a true positive, every other element returned a false positive,
// every true element missed a false negative.
type BreakdownScores struct {
	Cases     int     `json:"cases"`
	TP        int     `json:"tp,omitempty"` // counts: not given for chance, an expectation
	FP        int     `json:"fp,omitempty"`
	FN        int     `json:"fn,omitempty"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// ScoreRS runs the breakdown over the cases and pools the counts.
func ScoreRS(cases []RSCase, cfg breakdown.Config) BreakdownScores {
	var s BreakdownScores
	for _, c := range cases {
		var found []string
		for _, cause := range breakdown.Explain(c.Dims, c.Leaves, cfg) {
			found = append(found, cause.String())
		}
		tp := 0
		for _, t := range c.Truth {
			if slices.Contains(found, t) {
				tp++
			}
		}
		s.TP += tp
		s.FN += len(c.Truth) - tp
		s.FP += max(len(found)-tp, 0)
		s.Cases++
	}
	if s.TP+s.FP > 0 {
		s.Precision = float64(s.TP) / float64(s.TP+s.FP)
	}
	if s.TP+s.FN > 0 {
		s.Recall = float64(s.TP) / float64(s.TP+s.FN)
	}
	if s.Precision+s.Recall > 0 {
		s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	}
	return s
}

// ChanceRS is a detector that names one element drawn at random among every element of one to
// three labels present in the case: its expected pooled scores.
func ChanceRS(cases []RSCase) BreakdownScores {
	var tp, fp, fn float64
	for _, c := range cases {
		elements := map[string]bool{}
		for _, l := range c.Leaves {
			for _, set := range breakdown.Subsets(len(c.Dims), 3) {
				pairs := make([]string, len(set))
				for i, d := range set {
					pairs[i] = c.Dims[d] + "=" + l.Values[d]
				}
				slices.Sort(pairs)
				elements[strings.Join(pairs, "&")] = true
			}
		}
		hit := 0.0
		for _, t := range c.Truth {
			if elements[t] {
				hit += 1 / float64(len(elements))
			}
		}
		tp += hit
		fp += 1 - hit
		fn += float64(len(c.Truth)) - hit
	}
	s := BreakdownScores{Cases: len(cases), Precision: tp / (tp + fp), Recall: tp / (tp + fn)}
	s.F1 = 2 * s.Precision * s.Recall / (s.Precision + s.Recall)
	return s
}

// BreakdownPeer is a published method's pooled scores on the same cases.
type BreakdownPeer struct {
	Method                string
	Precision, Recall, F1 float64
}

// RSPeers are the RiskLoc repository's own implementations with their default parameters,
// measured on the same 135 cases on this kind of machine (../shared/datasets/README.md).
var RSPeers = []BreakdownPeer{
	{"RobustSpot", .278, .867, .421},
	{"Adtributor", .185, .524, .274},
	{"AutoRoot", .219, .322, .261},
	{"R-Adtributor", .111, .098, .104},
	{"HotSpot", .042, .042, .042},
	{"Squeeze", .035, .056, .043},
	{"RiskLoc", .022, .028, .025},
}

// BreakdownReport is the result of `sextant eval breakdown`.
type BreakdownReport struct {
	Dataset string          `json:"dataset"`
	Command string          `json:"command"`
	Config  string          `json:"config"`
	Sextant BreakdownScores `json:"sextant"`
	Chance  BreakdownScores `json:"chance"`
}

// WriteTable writes the report as a Markdown table with the peers and chance beside.
func (r BreakdownReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "Command: `%s`\n\nConfiguration (the same for every case): %s\n\n", r.Command, r.Config)
	fmt.Fprintf(w, "%d cases; pooled over root-cause elements: %d found, %d wrongly named, %d missed.\n\n", r.Sextant.Cases, r.Sextant.TP, r.Sextant.FP, r.Sextant.FN)
	fmt.Fprintln(w, "| method | precision | recall | F1 |")
	fmt.Fprintln(w, "|---|---|---|---|")
	fmt.Fprintf(w, "| **Sextant** | **%.3f** | **%.3f** | **%.3f** |\n", r.Sextant.Precision, r.Sextant.Recall, r.Sextant.F1)
	for _, p := range RSPeers {
		fmt.Fprintf(w, "| %s (measured, same cases) | %.3f | %.3f | %.3f |\n", p.Method, p.Precision, p.Recall, p.F1)
	}
	fmt.Fprintf(w, "| chance: one random element of 1 to 3 labels | %.3f | %.3f | %.3f |\n", r.Chance.Precision, r.Chance.Recall, r.Chance.F1)
}

// WriteDoc replaces the breakdown table in a Markdown file between its markers.
func (r BreakdownReport) WriteDoc(path string) error {
	return replaceSection(path, "<!-- breakdown table: begin -->", "<!-- breakdown table: end -->", r.WriteTable)
}
