package evaluation

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sextant-sre/sextant/internal/anomaly"
	"github.com/sextant-sre/sextant/internal/breakdown"
	"github.com/sextant-sre/sextant/internal/diagnosis"
)

// PetShop (amazon-science/petshop-root-cause-analysis): issues injected into a cloud application
// of 41 components, each seen as an SLO symptom at the front end (PetSite's latency or
// availability). Every traffic scenario has a call graph, a recording without issues (absent
// here for the two temporal scenarios), and train and test issues of five 5-minute rows each,
// with the symptom's node, metric and time and the root-cause node.

// PetshopColumn names one column of a metrics file: a node's metric, as one statistic.
type PetshopColumn struct{ Node, Metric, Statistic string }

// PetshopMetrics is one metrics file: rows at Times (Unix seconds), one series per column, NaN
// where a cell is empty.
type PetshopMetrics struct {
	Times   []float64
	Columns []PetshopColumn
	Values  [][]float64 // Values[column][row]
}

// column is the series of a node's metric and statistic, or nil.
func (m *PetshopMetrics) column(node, metric, stat string) []float64 {
	if m == nil {
		return nil
	}
	i := slices.Index(m.Columns, PetshopColumn{node, metric, stat})
	if i < 0 {
		return nil
	}
	return m.Values[i]
}

// PetshopIssue is one injected issue and its truth.
type PetshopIssue struct {
	Scenario, Part, Name string // "low_traffic", "test", "issue_3"
	Metrics              PetshopMetrics
	Target               PetshopColumn // the symptom: PetSite, latency or availability, Average
	At                   float64       // when the symptom was raised, Unix seconds
	RootCause            string
}

// PetshopScenario is one traffic scenario: its call graph, its issue-free recording (nil when
// the data set lacks it) and its issues.
type PetshopScenario struct {
	Name   string
	Graph  diagnosis.Graph // caller → callees
	Nodes  []string
	Normal *PetshopMetrics
	Issues []PetshopIssue
}

// petshopScenarios are the scenario folders, in the order the data set's paper reports them.
var petshopScenarios = []string{"low_traffic", "high_traffic", "temporal_traffic1", "temporal_traffic2"}

// IsPetshop reports whether dir looks like the PetShop data set.
func IsPetshop(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, petshopScenarios[0], "graph.csv"))
	return err == nil
}

// ReadPetshop reads every scenario under dir.
func ReadPetshop(dir string) ([]PetshopScenario, error) {
	var out []PetshopScenario
	for _, name := range petshopScenarios {
		s, err := readPetshopScenario(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("petshop: %s: %w", name, err)
		}
		s.Name = name
		out = append(out, s)
	}
	return out, nil
}

func readPetshopScenario(dir string) (PetshopScenario, error) {
	var s PetshopScenario
	f, err := os.Open(filepath.Join(dir, "graph.csv"))
	if err != nil {
		return s, err
	}
	s.Graph, s.Nodes, err = parsePetshopGraph(f)
	f.Close()
	if err != nil {
		return s, fmt.Errorf("graph.csv: %w", err)
	}
	if m, err := readPetshopMetrics(filepath.Join(dir, "noissue", "metrics.csv")); err == nil {
		s.Normal = &m
	} else if !errors.Is(err, os.ErrNotExist) {
		return s, fmt.Errorf("noissue/metrics.csv: %w", err)
	}
	for _, part := range []string{"train", "test"} {
		entries, err := os.ReadDir(filepath.Join(dir, part))
		if err != nil {
			return s, err
		}
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "issue_") {
				continue
			}
			is, err := readPetshopIssue(filepath.Join(dir, part, e.Name()))
			if err != nil {
				return s, fmt.Errorf("%s/%s: %w", part, e.Name(), err)
			}
			is.Scenario, is.Part, is.Name = filepath.Base(dir), part, e.Name()
			s.Issues = append(s.Issues, is)
		}
	}
	if len(s.Issues) == 0 {
		return s, errors.New("no issues under train/ or test/")
	}
	return s, nil
}

func readPetshopMetrics(path string) (PetshopMetrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return PetshopMetrics{}, err
	}
	defer f.Close()
	return parsePetshopMetrics(f)
}

func readPetshopIssue(dir string) (PetshopIssue, error) {
	var is PetshopIssue
	raw, err := os.ReadFile(filepath.Join(dir, "target.json"))
	if err != nil {
		return is, err
	}
	if is.Target, is.At, is.RootCause, err = parsePetshopTarget(raw); err != nil {
		return is, fmt.Errorf("target.json: %w", err)
	}
	if is.Metrics, err = readPetshopMetrics(filepath.Join(dir, "metrics.csv")); err != nil {
		return is, fmt.Errorf("metrics.csv: %w", err)
	}
	return is, nil
}

// parsePetshopTarget reads a target.json: the symptom's node, metric, statistic and time, and the
// root-cause node.
func parsePetshopTarget(raw []byte) (PetshopColumn, float64, string, error) {
	var t struct {
		Target struct {
			Node, Metric, Agg string
			Timestamp         float64
		}
		RootCause struct{ Node string } `json:"root_cause"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return PetshopColumn{}, 0, "", err
	}
	switch {
	case t.Target.Node == "" || t.Target.Metric == "" || t.Target.Agg == "":
		return PetshopColumn{}, 0, "", errors.New("target: node, metric and agg are required")
	case t.Target.Timestamp <= 0:
		return PetshopColumn{}, 0, "", errors.New("target: timestamp is required")
	case t.RootCause.Node == "":
		return PetshopColumn{}, 0, "", errors.New("root_cause: node is required")
	}
	return PetshopColumn{t.Target.Node, t.Target.Metric, t.Target.Agg}, t.Target.Timestamp, t.RootCause.Node, nil
}

// parsePetshopGraph reads the adjacency matrix: a header of node names, then one row per caller
// whose cells are non-zero for its callees.
func parsePetshopGraph(r io.Reader) (diagnosis.Graph, []string, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	if len(rows) < 2 || len(rows[0]) < 2 {
		return nil, nil, errors.New("want a header of node names and one row per node")
	}
	nodes := rows[0][1:]
	g := diagnosis.Graph{}
	for i, row := range rows[1:] {
		if len(row) != len(nodes)+1 {
			return nil, nil, fmt.Errorf("row %d has %d cells, want %d", i+2, len(row), len(nodes)+1)
		}
		for j, cell := range row[1:] {
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("row %d (%s), column %s: %w", i+2, row[0], nodes[j], err)
			}
			if v != 0 {
				g[row[0]] = append(g[row[0]], nodes[j])
			}
		}
	}
	return g, nodes, nil
}

// parsePetshopMetrics reads a metrics file: three header rows (microservice, metric, statistic),
// a row naming the time column (unix_timestamp), then one row per time.
func parsePetshopMetrics(r io.Reader) (PetshopMetrics, error) {
	rd := csv.NewReader(r)
	rd.FieldsPerRecord = -1
	var m PetshopMetrics
	var header [4][]string
	want := [4]string{"microservice", "metric", "statistic", "unix_timestamp"}
	for i := range header {
		rec, err := rd.Read()
		if err != nil {
			return m, fmt.Errorf("header row %d: %w", i+1, err)
		}
		if rec[0] != want[i] || (i > 0 && len(rec) != len(header[0])) {
			return m, fmt.Errorf("header row %d: want %q first and %d cells, got %q and %d", i+1, want[i], len(header[0]), rec[0], len(rec))
		}
		header[i] = rec
	}
	n := len(header[0]) - 1
	if n == 0 {
		return m, errors.New("no columns")
	}
	m.Columns = make([]PetshopColumn, n)
	for j := range n {
		m.Columns[j] = PetshopColumn{header[0][j+1], header[1][j+1], header[2][j+1]}
	}
	m.Values = make([][]float64, n)
	for line := 5; ; line++ {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, err
		}
		if len(rec) != n+1 {
			return m, fmt.Errorf("line %d: %d cells, want %d", line, len(rec), n+1)
		}
		t, err := strconv.ParseFloat(rec[0], 64)
		if err != nil {
			return m, fmt.Errorf("line %d, time: %w", line, err)
		}
		if k := len(m.Times); k > 0 && t <= m.Times[k-1] {
			return m, fmt.Errorf("line %d: time %v does not follow %v", line, t, m.Times[k-1])
		}
		m.Times = append(m.Times, t)
		for j, cell := range rec[1:] {
			v := math.NaN()
			if cell != "" {
				if v, err = strconv.ParseFloat(cell, 64); err != nil {
					return m, fmt.Errorf("line %d, %s %s %s: %w", line, m.Columns[j].Node, m.Columns[j].Metric, m.Columns[j].Statistic, err)
				}
			}
			m.Values[j] = append(m.Values[j], v)
		}
	}
	return m, nil
}

// petshopMinShift is how far, in robust units, a node's latency must move the harmful way to
// count as moved; petshopMinCountShift is the same for its failures, as a Poisson z (counts
// have no everyday wobble beyond Poisson's to allow for).
const (
	petshopMinShift      = 5.0
	petshopMinCountShift = 4.0
)

// PetshopConfig states the configuration in the report.
const PetshopConfig = "each node's move in the symptom's metric at the row where the symptom was worst (latency: robust units above the baseline's median or the issue's own rows before, at least 5; availability: failed requests as a Poisson z against the baselines' upper-quartile failure ratio, at least 4), against the issue-free recording and the rows before the symptom of every issue of the scenario; diagnosis.Localise along the call graph, a dependency explaining a caller's move when its own reaches 0.3 of it; remote nodes opaque"

// opaque are the nodes of type remote: a caller's record of its calls to an endpoint that is not
// instrumented, whose own dependencies the graph cannot show. A node's name ends in its type.
func (s PetshopScenario) opaque() map[string]bool {
	out := map[string]bool{}
	for _, n := range s.Nodes {
		if strings.HasSuffix(n, "_remote") {
			out[n] = true
		}
	}
	return out
}

// Localise ranks the root-cause candidates of one issue with Sextant's diagnosis: every node's
// move in the symptom's metric at the row where the symptom was worst, then diagnosis.Localise
// along the call graph.
func (s PetshopScenario) Localise(is PetshopIssue) []diagnosis.Candidate {
	move := s.levelMoves
	if is.Target.Metric == "availability" {
		move = s.errorMoves
	}
	// The row where the symptom was worst, among those from its time on.
	target := move(is, is.Target.Node)
	worst := -1
	for i, m := range target {
		if worst < 0 || m.Shift > target[worst].Shift {
			worst = i
		}
	}
	moves := map[string]diagnosis.Move{}
	if worst < 0 {
		return nil
	}
	for _, node := range s.Nodes {
		if m := move(is, node); worst < len(m) {
			moves[node] = m[worst]
		}
	}
	minShift := float64(petshopMinShift)
	if is.Target.Metric == "availability" {
		minShift = petshopMinCountShift
	}
	return diagnosis.Localise(is.Target.Node, moves, s.Graph, s.opaque(), minShift)
}

// rows splits an issue's values of one column at the symptom's time. A row is stamped with the
// start of its interval, so the row whose interval holds the symptom's time is already after.
func (is PetshopIssue) rows(node, metric, stat string) (before, after []float64) {
	col := is.Metrics.column(node, metric, stat)
	times := is.Metrics.Times
	if col == nil {
		after = make([]float64, is.afterRows())
		for i := range after {
			after[i] = math.NaN()
		}
		return nil, after
	}
	first := len(times) - is.afterRows()
	return col[:first], col[first:]
}

// afterRows is how many rows, at the end, are from the symptom's time on.
func (is PetshopIssue) afterRows() int {
	times := is.Metrics.Times
	step := 0.0
	if len(times) > 1 {
		step = (times[len(times)-1] - times[0]) / float64(len(times)-1)
	}
	for i, t := range times {
		if t+step > is.At {
			return len(times) - i
		}
	}
	return 0
}

// baselines are a node's values in normal operation: the scenario's issue-free recording (the
// data set lacks it for the temporal scenarios), and the rows before the symptom of every issue
// of the scenario, recorded in the same days as the issues.
func (s PetshopScenario) baselines(node, metric, stat string) [][]float64 {
	var out [][]float64
	if b := s.Normal.column(node, metric, stat); len(finiteValues(b)) >= 10 {
		out = append(out, b)
	}
	var pre []float64
	for _, other := range s.Issues {
		before, _ := other.rows(node, metric, stat)
		pre = append(pre, before...)
	}
	if len(finiteValues(pre)) >= 5 {
		out = append(out, pre)
	}
	return out
}

// levelMoves is how far a node's latency rose in each row from the symptom's time on, against
// each baseline: above the baseline's median or the issue's own rows before, whichever is
// higher (a level that was there before the symptom does not count), in units of the baseline's
// spread. The move is the smallest against any baseline: it must stand out from all of them.
func (s PetshopScenario) levelMoves(is PetshopIssue, node string) []diagnosis.Move {
	m, st := is.Target.Metric, is.Target.Statistic
	before, after := is.rows(node, m, st)
	out := make([]diagnosis.Move, len(after))
	bases := s.baselines(node, m, st)
	if len(bases) == 0 {
		return out
	}
	own := math.Inf(-1)
	if b := finiteValues(before); len(b) > 0 {
		own = anomaly.RobustBaseline(b).Median
	}
	type level struct{ at, spread float64 }
	levels := make([]level, len(bases))
	for i, base := range bases {
		b := anomaly.RobustBaseline(finiteValues(base)) // a copy: it sorts in place
		levels[i] = level{max(b.Median, own), max(1.4826*b.MAD, 0.05*math.Abs(b.Median), 1e-9)}
	}
	for i, v := range after {
		if math.IsNaN(v) {
			continue
		}
		mv := diagnosis.Move{Shift: math.Inf(1), Delta: math.Inf(1)}
		for _, l := range levels {
			mv.Shift = min(mv.Shift, (v-l.at)/l.spread)
			mv.Delta = min(mv.Delta, v-l.at)
		}
		out[i] = mv
	}
	return out
}

// errorMoves is how far a node's share of failed requests rose in each row from the symptom's
// time on, as counts: the row's failures against those its requests would have met at the
// highest failure ratio of the baselines (the upper quartile of their rows) and the issue's own
// rows before, as a Poisson z (the root of the deviance, 0 for fewer failures than expected).
func (s PetshopScenario) errorMoves(is PetshopIssue, node string) []diagnosis.Move {
	failed := func(avail, req []float64) (errors, requests float64) {
		for i := range min(len(avail), len(req)) {
			if math.IsNaN(avail[i]) || math.IsNaN(req[i]) {
				continue
			}
			errors += (1 - avail[i]/100) * req[i]
			requests += req[i]
		}
		return errors, requests
	}
	m, st := is.Target.Metric, is.Target.Statistic
	availBefore, availAfter := is.rows(node, m, st)
	reqBefore, reqAfter := is.rows(node, "requests", "Sum")
	out := make([]diagnosis.Move, len(availAfter))
	avails, reqs := s.baselines(node, m, st), s.baselines(node, "requests", "Sum")
	if len(avails) == 0 || len(avails) != len(reqs) {
		return out
	}
	ratio := 0.0
	for i := range avails {
		// The upper quartile of the rows' ratios: a base rate that varies counts, a few rows
		// of an earlier issue in the baseline do not. A baseline without a single failure
		// still allows for half of one.
		var rows []float64
		for j := range min(len(avails[i]), len(reqs[i])) {
			if e, n := failed(avails[i][j:j+1], reqs[i][j:j+1]); n > 0 {
				rows = append(rows, e/n)
			}
		}
		if _, bn := failed(avails[i], reqs[i]); bn > 0 {
			ratio = max(ratio, quantile(rows, 0.75), 0.5/bn)
		}
	}
	if ob, obn := failed(availBefore, reqBefore); obn > 0 {
		ratio = max(ratio, ob/obn)
	}
	for i := range availAfter {
		o, n := failed(availAfter[i:i+1], reqAfter[i:i+1])
		if e := ratio * n; n > 0 && o > e {
			out[i] = diagnosis.Move{Shift: math.Sqrt(breakdown.Deviance(o, e)), Delta: o/n - ratio}
		}
	}
	return out
}

func finiteValues(v []float64) []float64 {
	var out []float64
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out
}

// quantile is the q-quantile of v (nearest rank), 0 for none.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// PetshopScore is top-1 and top-3 over a group of issues, with a random order's.
type PetshopScore struct {
	Scenario string  `json:"scenario"` // low traffic, high traffic, temporal traffic
	Kind     string  `json:"kind"`     // the symptom's metric (latency, availability), or all
	Issues   int     `json:"issues"`   // train and test
	Top1     float64 `json:"top1"`
	Top3     float64 `json:"top3"`
	// Test* are over the test issues only.
	TestIssues int     `json:"test_issues"`
	TestTop1   float64 `json:"test_top1"`
	TestTop3   float64 `json:"test_top3"`
	// Empty counts the issues where nothing the target depends on moved enough.
	Empty int `json:"empty"`
	// Chance* are a random order of the nodes the target depends on, and the target.
	ChanceTop1 float64 `json:"chance_top1"`
	ChanceTop3 float64 `json:"chance_top3"`
	// Traversal is the data set's own baseline (top-1, top-3 over train and test).
	Traversal [2]float64 `json:"traversal"`
}

// petshopTraversal is the data set's anomaly-traversal baseline, over train and test issues, from
// its paper (arXiv 2311.04806), by scenario and symptom.
var petshopTraversal = map[string][2]float64{
	"low traffic/latency": {.571, .571}, "low traffic/availability": {.833, 1},
	"high traffic/latency": {.571, .786}, "high traffic/availability": {.667, 1},
	"temporal traffic/latency": {1, 1}, "temporal traffic/availability": {.75, 1},
}

// petshopGroups are the scenarios as reported, in order.
var petshopGroups = []string{"low traffic", "high traffic", "temporal traffic"}

// petshopGroup is the scenario a folder is reported under: the paper reports the two temporal
// scenarios together.
func petshopGroup(scenario string) string {
	return strings.ReplaceAll(strings.TrimRight(scenario, "0123456789"), "_", " ")
}

// ScorePetshop localises every issue and scores the ranks by scenario and symptom, over the train
// and test issues (as the data set's paper does: nothing here is trained) and over the test
// issues alone.
func ScorePetshop(scenarios []PetshopScenario) []PetshopScore {
	type key struct{ group, kind string }
	acc := map[key]*PetshopScore{}
	var order []key
	for _, s := range scenarios {
		for _, is := range s.Issues {
			ranked := s.Localise(is)
			rank := slices.IndexFunc(ranked, func(c diagnosis.Candidate) bool { return c.Entity == is.RootCause })
			hit1, hit3 := b2f(rank == 0), b2f(rank >= 0 && rank < 3)
			n := float64(s.reachable(is.Target.Node))
			// Each issue counts for its symptom and for its scenario as a whole.
			for _, k := range []key{{petshopGroup(s.Name), is.Target.Metric}, {petshopGroup(s.Name), "all"}} {
				sc := acc[k]
				if sc == nil {
					sc = &PetshopScore{Scenario: k.group, Kind: k.kind}
					acc[k] = sc
					order = append(order, k)
				}
				sc.Issues++
				sc.Top1 += hit1
				sc.Top3 += hit3
				if is.Part == "test" {
					sc.TestIssues++
					sc.TestTop1 += hit1
					sc.TestTop3 += hit3
				}
				if len(ranked) == 0 {
					sc.Empty++
				}
				sc.ChanceTop1 += min(1/n, 1)
				sc.ChanceTop3 += min(3/n, 1)
				// The baseline's figures are per symptom; for a whole scenario, their mean
				// weighted by issues.
				t := petshopTraversal[k.group+"/"+is.Target.Metric]
				sc.Traversal[0] += t[0]
				sc.Traversal[1] += t[1]
			}
		}
	}
	kinds := []string{"latency", "availability", "all"}
	slices.SortStableFunc(order, func(a, b key) int {
		return cmp.Or(cmp.Compare(slices.Index(petshopGroups, a.group), slices.Index(petshopGroups, b.group)),
			cmp.Compare(slices.Index(kinds, a.kind), slices.Index(kinds, b.kind)))
	})
	var out []PetshopScore
	for _, k := range order {
		sc := *acc[k]
		sc.Traversal[0] /= float64(sc.Issues)
		sc.Traversal[1] /= float64(sc.Issues)
		sc.Top1, sc.Top3 = sc.Top1/float64(sc.Issues), sc.Top3/float64(sc.Issues)
		sc.ChanceTop1, sc.ChanceTop3 = sc.ChanceTop1/float64(sc.Issues), sc.ChanceTop3/float64(sc.Issues)
		if sc.TestIssues > 0 {
			sc.TestTop1, sc.TestTop3 = sc.TestTop1/float64(sc.TestIssues), sc.TestTop3/float64(sc.TestIssues)
		}
		out = append(out, sc)
	}
	return out
}

// reachable counts the nodes target depends on, and itself.
func (s PetshopScenario) reachable(target string) int {
	n := 1
	for _, node := range s.Nodes {
		if node != target && s.Graph.Reaches(target, node) {
			n++
		}
	}
	return n
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PetshopReport is the result of `sextant eval rca` on PetShop.
type PetshopReport struct {
	Dataset string         `json:"dataset"`
	Command string         `json:"command"`
	Config  string         `json:"config"`
	Scores  []PetshopScore `json:"scores"`
}

// WriteTable writes the report as a Markdown table with the data set's baseline and chance.
func (r PetshopReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "Command: `%s`\n\nConfiguration (the same for every issue): %s\n\n", r.Command, r.Config)
	fmt.Fprintln(w, "| scenario | symptom | issues | **Sextant top-1** | **top-3** | test issues | test top-1 | test top-3 | traversal baseline (published) top-1 / top-3 | chance top-1 / top-3 | nothing moved |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range r.Scores {
		fmt.Fprintf(w, "| %s | %s | %d | **%.3f** | **%.3f** | %d | %.3f | %.3f | %.3f / %.3f | %.3f / %.3f | %d |\n",
			s.Scenario, s.Kind, s.Issues, s.Top1, s.Top3, s.TestIssues, s.TestTop1, s.TestTop3,
			s.Traversal[0], s.Traversal[1], s.ChanceTop1, s.ChanceTop3, s.Empty)
	}
}

// WriteDoc replaces the PetShop table in a Markdown file between its markers.
func (r PetshopReport) WriteDoc(path string) error {
	return replaceSection(path, "<!-- petshop table: begin -->", "<!-- petshop table: end -->", r.WriteTable)
}
