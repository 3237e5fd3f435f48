package evaluation

import (
	"math"
	"strings"
	"testing"
	"time"
)

func nabDir(t testing.TB) string { return datasetDir(t, "the NAB corpus", "nab") }

// TestNABDoesNotRegress runs the detector over the corpus when it is present and fails if a
// profile's score drops below the figure recorded in docs/evaluation.md: given the file's range
// as NAB gives it, and not given it, as for a live series.
func TestNABDoesNotRegress(t *testing.T) {
	files, err := ReadNAB(nabDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 58 {
		t.Fatalf("%d files, want 58", len(files))
	}
	for _, c := range []struct {
		name   string
		detect func(NABFile) []float64
		floor  map[string]float64
	}{
		{"given the range", SextantNAB, map[string]float64{"standard": 76.8, "reward_low_FP_rate": 68.1, "reward_low_FN_rate": 81.9}},
		{"without the range", SextantNABWithoutRange, map[string]float64{"standard": 72.0, "reward_low_FP_rate": 61.8, "reward_low_FN_rate": 78.5}},
	} {
		for _, r := range ScoreNAB(files, c.detect) {
			if r.Score < c.floor[r.Profile] || r.Windows != 116 {
				t.Errorf("%s, %s: %.2f over %d windows, recorded %.1f", c.name, r.Profile, r.Score, r.Windows, c.floor[r.Profile])
			}
			// The files' parts add up to the corpus's result.
			var raw float64
			var tp, fp int
			for _, f := range r.Files {
				raw, tp, fp = raw+f.Raw, tp+f.TP, fp+f.FP
			}
			if math.Abs(raw-r.Raw) > 1e-6 || tp != r.TP || fp != r.FP || len(r.Files) != len(files) {
				t.Errorf("%s, %s: the files add up to raw %v, %d and %d rows; the corpus %v, %d and %d", c.name, r.Profile, raw, tp, fp, r.Raw, r.TP, r.FP)
			}
		}
	}
}

// TestNABHalvesDoNotRegress scores each half of the corpus alone (the files at even and at odd
// places of the list, each with its own threshold), so that a change which helps one half and
// costs the other shows: docs/evaluation.md records both.
func TestNABHalvesDoNotRegress(t *testing.T) {
	files, err := ReadNAB(nabDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var halves [2][]NABFile
	for i, f := range files {
		halves[i%2] = append(halves[i%2], f)
	}
	for k, floor := range [2]float64{77.9, 76.9} { // even places, odd places
		standard := ScoreNAB(halves[k], SextantNAB)[0]
		t.Logf("%s places: standard %.2f over %d windows", [2]string{"even", "odd"}[k], standard.Score, standard.Windows)
		if standard.Score < floor {
			t.Errorf("the files at %s places: %.2f, recorded %.1f", [2]string{"even", "odd"}[k], standard.Score, floor)
		}
	}
}

func TestParseNABFileNamesWhatIsWrong(t *testing.T) {
	good := "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,2\n2014-04-01 00:10:00,3\n"
	f, err := parseNABFile(strings.NewReader(good), [][2]string{{"2014-04-01 00:05:00.000000", "2014-04-01 00:10:00.000000"}})
	if err != nil || len(f.Values) != 3 || f.Windows[0] != (NABWindow{1, 2}) || f.Step != 5*time.Minute {
		t.Fatalf("%+v %v", f, err)
	}
	for _, c := range []struct{ body, window, want string }{
		{"timestamp,value\n2014-04-01 00:00:00,x\n", "", "line 2"},
		{"timestamp,value\nyesterday,1\n", "", "line 2"},
		{good, "2015-01-01 00:00:00.000000", "does not match"},
	} {
		var ws [][2]string
		if c.window != "" {
			ws = [][2]string{{c.window, c.window}}
		}
		if _, err := parseNABFile(strings.NewReader(c.body), ws); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.body, err, c.want)
		}
	}
}

func TestSamplesPerDay(t *testing.T) {
	for _, c := range []struct {
		step time.Duration
		want int
	}{{5 * time.Minute, 288}, {time.Hour, 24}, {30 * time.Minute, 48}, {7 * time.Minute, 0}, {0, 0}, {-time.Minute, 0}, {25 * time.Hour, 0}} {
		if got := samplesPerDay(c.step); got != c.want {
			t.Errorf("%v: %d samples a day, want %d", c.step, got, c.want)
		}
	}
}

// FuzzParseNABFile: data files come from outside; they are read or refused, and every window
// read lies inside the file.
func FuzzParseNABFile(f *testing.F) {
	f.Add("timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,2\n", "2014-04-01 00:05:00.000000")
	f.Fuzz(func(t *testing.T, body, window string) {
		file, err := parseNABFile(strings.NewReader(body), [][2]string{{window, window}})
		if err != nil {
			return
		}
		for _, w := range file.Windows {
			if w.Left < 0 || w.Right >= len(file.Values) || w.Left > w.Right {
				t.Fatalf("window %+v outside %d rows", w, len(file.Values))
			}
		}
	})
}

// BenchmarkDetectorNAB scores every value of the NAB corpus with Sextant's streaming detector
// on one goroutine: points per second per core. "evaluated" is the detector as NAB scores it,
// with each file's day in samples; "no-period" is without it, as for a series whose sampling
// interval is unknown; "no-shapes" is without the shape memory, whose search takes most of the
// time.
func BenchmarkDetectorNAB(b *testing.B) {
	files, err := ReadNAB(nabDir(b))
	if err != nil {
		b.Fatal(err)
	}
	points := 0
	for _, f := range files {
		points += len(f.Values)
	}
	for _, c := range []struct {
		name           string
		period, shapes bool
	}{{"evaluated", true, true}, {"no-period", false, true}, {"no-shapes", true, false}} {
		b.Run(c.name, func(b *testing.B) {
			began := time.Now()
			for range b.N {
				for _, f := range files {
					if !c.period {
						f.Step = 0
					}
					sextantNAB(f, true, c.shapes)
				}
			}
			b.ReportMetric(float64(points*b.N)/time.Since(began).Seconds(), "points/s")
		})
	}
}
