package evaluation

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/anomaly"
)

// NABPublished are the scoreboard's figures (standard, low FP, low FN).
var NABPublished = []struct {
	Detector string
	Scores   [3]float64
}{
	{"ARTime", [3]float64{74.9, 65.1, 80.4}}, {"Numenta HTM", [3]float64{70.5, 62.6, 75.2}}, {"CAD OSE", [3]float64{69.9, 67.0, 73.2}},
	{"KNN CAD", [3]float64{58.0, 43.4, 64.8}}, {"Random Cut Forest", [3]float64{51.7, 38.4, 59.7}}, {"Twitter ADVec", [3]float64{47.1, 33.6, 53.5}},
	{"Windowed Gaussian", [3]float64{39.6, 20.9, 47.4}}, {"Bayesian Changepoint", [3]float64{17.7, 3.2, 32.2}},
}

// NABFile is one data file: its values and its windows as row indexes.
type NABFile struct {
	Name    string
	Values  []float64
	Windows []NABWindow
	// Step is the file's usual interval between samples (the median), 0 with under two.
	Step time.Duration
}

// ReadNAB reads the corpus: every file named in labels/combined_windows.json, from data/.
func ReadNAB(dir string) ([]NABFile, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "labels", "combined_windows.json"))
	if err != nil {
		return nil, fmt.Errorf("nab: %w", err)
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("nab: labels/combined_windows.json: %w", err)
	}
	names := make([]string, 0, len(labels))
	for name := range labels {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []NABFile
	for _, name := range names {
		f, err := readNABFile(filepath.Join(dir, "data", filepath.FromSlash(name)), labels[name])
		if err != nil {
			return nil, fmt.Errorf("nab: %s: %w", name, err)
		}
		f.Name = name
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("nab: the labels name no files")
	}
	return out, nil
}

const nabTime = "2006-01-02 15:04:05"

func readNABFile(path string, windows [][2]string) (NABFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return NABFile{}, err
	}
	defer fh.Close()
	return parseNABFile(fh, windows)
}

// parseNABFile reads a data file (timestamp,value with a header) and places its windows.
func parseNABFile(in io.Reader, windows [][2]string) (NABFile, error) {
	r := csv.NewReader(in)
	if _, err := r.Read(); err != nil {
		return NABFile{}, err
	}
	var f NABFile
	index := map[string]int{}
	var steps []time.Duration
	var last time.Time
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return NABFile{}, err
		}
		if len(rec) < 2 {
			return NABFile{}, fmt.Errorf("line %d: want timestamp,value", len(f.Values)+2)
		}
		at, err := time.Parse(nabTime, rec[0])
		if err != nil {
			return NABFile{}, fmt.Errorf("line %d: %w", len(f.Values)+2, err)
		}
		if len(f.Values) > 0 {
			steps = append(steps, at.Sub(last))
		}
		last = at
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			return NABFile{}, fmt.Errorf("line %d: %w", len(f.Values)+2, err)
		}
		index[rec[0]] = len(f.Values)
		f.Values = append(f.Values, v)
	}
	if len(steps) > 0 {
		slices.Sort(steps)
		f.Step = steps[len(steps)/2]
	}
	for _, w := range windows {
		l, ok1 := index[strings.TrimSuffix(w[0], ".000000")]
		r, ok2 := index[strings.TrimSuffix(w[1], ".000000")]
		if !ok1 || !ok2 || r < l {
			return NABFile{}, fmt.Errorf("window %v does not match the file's timestamps", w)
		}
		f.Windows = append(f.Windows, NABWindow{l, r})
	}
	return f, nil
}

// NABProfileResult is one profile's result over the corpus.
type NABProfileResult struct {
	Profile   string  `json:"profile"`
	Score     float64 `json:"score"` // normalised: 0 null detector, 100 perfect
	Threshold float64 `json:"threshold"`
	Raw       float64 `json:"raw"`
	Null      float64 `json:"null"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	Windows   int     `json:"windows"`
	// Files is each file's part of the result, at the same threshold.
	Files []NABFileResult `json:"files"`
}

// NABFileResult is one file's part of a profile's result over the corpus, at the corpus's
// threshold: where the detector finds the windows, and where it raises false alarms.
type NABFileResult struct {
	Name     string  `json:"name"`
	Windows  int     `json:"windows"`  // windows past the probationary period
	Detected int     `json:"detected"` // of those, the windows with a row at the threshold or above
	TP       int     `json:"tp"`       // rows at the threshold or above, inside a window
	FP       int     `json:"fp"`       // and outside every window
	Raw      float64 `json:"raw"`      // the file's raw score: the corpus's is their sum
}

// ScoreNAB runs the detector over every file, as a stream, and scores it for each profile.
func ScoreNAB(files []NABFile, detect func(f NABFile) []float64) []NABProfileResult {
	scores := make([][]float64, len(files))
	windows := 0
	for i, f := range files {
		scores[i] = detect(f)
		windows += len(f.Windows)
	}
	var out []NABProfileResult
	for _, prof := range NABProfiles {
		var rows, nullRows []nabRow
		fileRows := make([][]nabRow, len(files)) // each file's, within rows
		first := 0
		for i, f := range files {
			from := len(rows)
			rows = sweepRows(scores[i], f.Windows, prof, first, rows)
			fileRows[i] = rows[from:len(rows):len(rows)]
			null := make([]float64, len(f.Values))
			for k := range null {
				null[k] = 0.5 // NAB's null detector: the same score everywhere
			}
			nullRows = sweepRows(null, f.Windows, prof, first, nullRows)
			first += len(f.Windows)
		}
		best := bestThreshold(scoresByThreshold(rows, prof))
		null := bestThreshold(scoresByThreshold(nullRows, prof)).Score
		r := NABProfileResult{Profile: prof.Name, Score: normalisedNAB(best.Score, null, windows, prof), Threshold: best.Threshold,
			Raw: best.Score, Null: null, TP: best.TP, FP: best.FP, Windows: windows}
		for i, f := range files {
			r.Files = append(r.Files, nabFileResult(f.Name, fileRows[i], prof, best.Threshold))
		}
		out = append(out, r)
	}
	return out
}

// nabFileResult is one file's part of a profile's result at the given threshold, from the
// file's scored rows.
func nabFileResult(name string, rows []nabRow, prof NABProfile, threshold float64) NABFileResult {
	at := scoreAtThreshold(scoresByThreshold(rows, prof), threshold)
	windows, detected := map[int]bool{}, map[int]bool{}
	for _, r := range rows {
		if r.window >= 0 {
			windows[r.window] = true
			if r.anomaly >= threshold {
				detected[r.window] = true
			}
		}
	}
	return NABFileResult{Name: name, Windows: len(windows), Detected: len(detected), TP: at.TP, FP: at.FP, Raw: at.Score}
}

// SextantNAB is Sextant's detector over a whole file, one sample at a time. It knows the
// file's sampling interval, as Sextant knows a series' scrape interval, and so how many samples
// make a day; and the file's range, which NAB gives every detector (its detectors' base class
// reads the file's minimum and maximum before the first value), as Sextant knows a series'
// range from its history.
func SextantNAB(f NABFile) []float64 { return sextantNAB(f, true, true) }

// SextantNABWithoutRange is SextantNAB not given the file's range: its shape memory levels the
// series by the range of its learning time, widened, as for a live series without history.
func SextantNABWithoutRange(f NABFile) []float64 { return sextantNAB(f, false, true) }

// sextantNAB scores f with its range or without, and with the shape memory or without: without
// it the detector is several times faster and scores NAB lower (docs/benchmarks.md).
func sextantNAB(f NABFile, ranged, shapes bool) []float64 {
	cfg := anomaly.DefaultConfig.WithLearn(probationRows(len(f.Values)))
	if !shapes {
		cfg.Learn = 0 // the quiet time after an alarm stays as the coarse time scale set it
	}
	cfg.Period = samplesPerDay(f.Step)
	if ranged {
		cfg.Lo, cfg.Hi = valueRange(f.Values)
	}
	d := anomaly.NewDetector(cfg)
	out := make([]float64, len(f.Values))
	for i, v := range f.Values {
		out[i] = d.Add(v)
	}
	return out
}

// valueRange is the least and the greatest of values that are numbers.
func valueRange(values []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range values {
		if v-v == 0 { // not NaN or ±Inf
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return lo, hi
}

// samplesPerDay is how many samples of the given interval make a day, 0 when they do not make
// one exactly (the days would drift against the samples).
func samplesPerDay(step time.Duration) int {
	const day = 24 * time.Hour
	if step <= 0 || day%step != 0 {
		return 0
	}
	return int(day / step)
}
