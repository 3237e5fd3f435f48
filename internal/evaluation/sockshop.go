package evaluation

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sextant-sre/sextant/internal/anomaly"
	"github.com/sextant-sre/sextant/internal/diagnosis"
)

// Sock Shop 1 (RCAEval): CPU and memory faults injected into one of five services, 38 metrics at
// one second (CPU and memory of 13 services, load and latency percentiles of three). Each case
// has a normal and an anomalous recording made hours to days apart; as the data set's README
// says, they are joined on one time grid and the first anomalous row is the fault time.

// RCACase is one fault injection.
type RCACase struct {
	Name, Service, Fault string
	Columns              []string
	Rows                 [][]float64 // normal rows, then anomalous rows
	FaultAt              int         // the first anomalous row
}

// ReadSockShop reads every case under dir (<service>-<fault>/<n>/{normal,anomalous}.csv).
func ReadSockShop(dir string) ([]RCACase, error) {
	faults, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []RCACase
	for _, f := range faults {
		service, fault, ok := strings.Cut(f.Name(), "-")
		if !f.IsDir() || !ok {
			continue
		}
		reps, err := os.ReadDir(filepath.Join(dir, f.Name()))
		if err != nil {
			return nil, err
		}
		for _, r := range reps {
			c, err := readRCACase(filepath.Join(dir, f.Name(), r.Name()))
			if err != nil {
				return nil, fmt.Errorf("%s/%s: %w", f.Name(), r.Name(), err)
			}
			c.Name, c.Service, c.Fault = f.Name()+"/"+r.Name(), service, fault
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no cases under %s (want <service>-<fault>/<n>/normal.csv and anomalous.csv)", dir)
	}
	return out, nil
}

func readRCACase(dir string) (RCACase, error) {
	var c RCACase
	for i, name := range []string{"normal.csv", "anomalous.csv"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			return c, err
		}
		cols, rows, err := parseMetricsCSV(f)
		f.Close()
		if err != nil {
			return c, fmt.Errorf("%s: %w", name, err)
		}
		if i == 0 {
			c.Columns = cols
		} else if !slices.Equal(cols, c.Columns) {
			return c, errors.New("normal.csv and anomalous.csv have different columns")
		}
		if i == 1 {
			c.FaultAt = len(c.Rows)
		}
		c.Rows = append(c.Rows, rows...)
	}
	return c, nil
}

// parseMetricsCSV reads a header of column names (the first, time, left out) and rows of
// numbers; an empty cell is NaN.
func parseMetricsCSV(r io.Reader) ([]string, [][]float64, error) {
	rd := csv.NewReader(r)
	header, err := rd.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	if len(header) < 2 || header[0] != "time" {
		return nil, nil, fmt.Errorf("header %q: want time and at least one metric", header)
	}
	var rows [][]float64
	for line := 2; ; line++ {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		row := make([]float64, len(rec)-1)
		for i, cell := range rec[1:] {
			if cell == "" {
				row[i] = math.NaN()
				continue
			}
			if row[i], err = strconv.ParseFloat(cell, 64); err != nil {
				return nil, nil, fmt.Errorf("line %d, %s: %w", line, header[i+1], err)
			}
		}
		rows = append(rows, row)
	}
	return header[1:], rows, nil
}

// column returns one column of the case.
func (c RCACase) column(i int) []float64 {
	out := make([]float64, len(c.Rows))
	for r, row := range c.Rows {
		out[r] = row[i]
	}
	return out
}

// DetectOnset is Sextant's own fault time for a case: the change point of the column whose level
// changed most (anomaly.FindOnset), without the truth.
func (c RCACase) DetectOnset() int {
	best, at := 0.0, len(c.Rows)/2
	for i := range c.Columns {
		o := anomaly.FindOnset(c.column(i), 4)
		if o.Found && o.Shift > best {
			best, at = o.Shift, o.At
		}
	}
	return at
}

// Rank ranks the services by the shift of their own resource signals (CPU and memory) at onset.
func (c RCACase) Rank(onset int) []diagnosis.RankedEntity {
	signals := map[string]map[string][]float64{}
	for i, col := range c.Columns {
		svc, sig, ok := cutLast(col, "_")
		if !ok || (sig != "cpu" && sig != "mem") {
			continue
		}
		if signals[svc] == nil {
			signals[svc] = map[string][]float64{}
		}
		signals[svc][sig] = c.column(i)
	}
	var entities []diagnosis.EntitySignals
	for svc, s := range signals {
		entities = append(entities, diagnosis.EntitySignals{Entity: svc, Signals: s})
	}
	slices.SortFunc(entities, func(a, b diagnosis.EntitySignals) int { return strings.Compare(a.Entity, b.Entity) })
	return diagnosis.RankByShift(entities, onset)
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+len(sep):], true
}

// RCAScores are AC@1, AC@3 and Avg@5 (the mean of AC@1 to AC@5) over cases of one fault type.
type RCAScores struct {
	Fault string  `json:"fault"`
	Cases int     `json:"cases"`
	AC1   float64 `json:"ac1"`
	AC3   float64 `json:"ac3"`
	Avg5  float64 `json:"avg5"`
}

// ScoreSockShop ranks every case with the onset Sextant detects and with the true fault time, and
// scores both per fault type; chance is a random ranking of the same candidates. It also returns
// the detected onsets' median distance from the truth, in rows (seconds).
func ScoreSockShop(cases []RCACase) (detected, truth, chance []RCAScores, onsetError float64) {
	faults := map[string]bool{}
	for _, c := range cases {
		faults[c.Fault] = true
	}
	var errs []float64
	for _, fault := range slices.Sorted(maps.Keys(faults)) {
		var d, t, ch [5]float64
		n := 0
		for _, c := range cases {
			if c.Fault != fault {
				continue
			}
			n++
			onset := c.DetectOnset()
			errs = append(errs, float64(max(onset-c.FaultAt, c.FaultAt-onset)))
			rd, rt := c.Rank(onset), c.Rank(c.FaultAt)
			for k := range 5 {
				d[k] += hitAt(rd, c.Service, k+1)
				t[k] += hitAt(rt, c.Service, k+1)
				ch[k] += min(float64(k+1)/float64(len(rt)), 1)
			}
		}
		detected = append(detected, rcaScores(fault, n, d))
		truth = append(truth, rcaScores(fault, n, t))
		chance = append(chance, rcaScores(fault, n, ch))
	}
	slices.Sort(errs)
	if len(errs) > 0 {
		onsetError = errs[len(errs)/2]
	}
	return detected, truth, chance, onsetError
}

func hitAt(r []diagnosis.RankedEntity, service string, k int) float64 {
	for i := 0; i < k && i < len(r); i++ {
		if r[i].Entity == service {
			return 1
		}
	}
	return 0
}

func rcaScores(fault string, n int, hits [5]float64) RCAScores {
	s := RCAScores{Fault: fault, Cases: n}
	if n == 0 {
		return s
	}
	sum := 0.0
	for _, h := range hits {
		sum += h / float64(n)
	}
	s.AC1, s.AC3, s.Avg5 = hits[0]/float64(n), hits[2]/float64(n), sum/5
	return s
}

// RCAPeer is a published method's figures on the same cases.
type RCAPeer struct {
	Method   string
	CPU, Mem [3]float64 // AC@1, AC@3, Avg@5
}

// SockShopPeers were measured on this kind of machine with RCAEval's implementations, given the
// true fault time (../shared/datasets/README.md).
var SockShopPeers = []RCAPeer{
	{"BARO", [3]float64{.96, 1, .992}, [3]float64{.96, 1, .992}},
	{"NSigma", [3]float64{.94, 1, .988}, [3]float64{.94, 1, .988}},
}

// RCAReport is the result of `sextant eval rca` on Sock Shop.
type RCAReport struct {
	Dataset  string      `json:"dataset"`
	Command  string      `json:"command"`
	Config   string      `json:"config"`
	Detected []RCAScores `json:"detected_onset"`
	True     []RCAScores `json:"true_onset"`
	Chance   []RCAScores `json:"chance"`
	// OnsetError is the median distance of the detected onset from the true fault time, in
	// seconds.
	OnsetError float64 `json:"onset_error_seconds"`
}

// WriteTable writes the report as Markdown tables with the peers and chance beside.
func (r RCAReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "Command: `%s`\n\nConfiguration (the same for every case): %s\n\n", r.Command, r.Config)
	fmt.Fprintf(w, "Sextant's detected onset is a median of %.0f s from the true fault time.\n\n", r.OnsetError)
	fmt.Fprintln(w, "| method | fault | cases | AC@1 | AC@3 | Avg@5 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for i, d := range r.Detected {
		fmt.Fprintf(w, "| **Sextant, its own detected onset** | %s | %d | **%.3f** | **%.3f** | **%.3f** |\n", d.Fault, d.Cases, d.AC1, d.AC3, d.Avg5)
		t := r.True[i]
		fmt.Fprintf(w, "| Sextant, given the true fault time | %s | %d | %.3f | %.3f | %.3f |\n", t.Fault, t.Cases, t.AC1, t.AC3, t.Avg5)
		for _, p := range SockShopPeers {
			v := p.CPU
			if d.Fault == "mem" {
				v = p.Mem
			}
			fmt.Fprintf(w, "| %s (measured, given the true fault time) | %s | %d | %.3f | %.3f | %.3f |\n", p.Method, d.Fault, d.Cases, v[0], v[1], v[2])
		}
		c := r.Chance[i]
		fmt.Fprintf(w, "| chance: a random order of the %s | %s | %d | %.3f | %.3f | %.3f |\n", "13 services", c.Fault, c.Cases, c.AC1, c.AC3, c.Avg5)
	}
}

// WriteDoc replaces the RCA table in a Markdown file between its markers.
func (r RCAReport) WriteDoc(path string) error {
	return replaceSection(path, "<!-- rca table: begin -->", "<!-- rca table: end -->", r.WriteTable)
}
