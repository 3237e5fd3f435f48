package evaluation

import (
	"math"
	"strings"
	"testing"
)

func sockShopDir(t testing.TB) string { return datasetDir(t, "the Sock Shop cases", "sockshop1") }

// TestSockShopDoesNotRegress runs the ranking over the 50 cases when they are present and fails
// if a score drops below the figure recorded in docs/evaluation.md.
func TestSockShopDoesNotRegress(t *testing.T) {
	cases, err := ReadSockShop(sockShopDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 50 {
		t.Fatalf("%d cases, want 50", len(cases))
	}
	detected, _, chance, onsetErr := ScoreSockShop(cases)
	for i, d := range detected {
		if d.AC1 < 1 || d.Avg5 < 1 {
			t.Errorf("%s with the detected onset: AC@1 %.3f, Avg@5 %.3f; recorded 1.000", d.Fault, d.AC1, d.Avg5)
		}
		if chance[i].Avg5 >= d.Avg5 {
			t.Errorf("%s: no better than chance", d.Fault)
		}
	}
	if onsetErr > 0 {
		t.Errorf("detected onsets a median of %.0f s from the truth; recorded 0", onsetErr)
	}
}

func TestParseMetricsCSV(t *testing.T) {
	cols, rows, err := parseMetricsCSV(strings.NewReader("time,a_cpu,b_mem\n1,2.5,\n2,3,4\n"))
	if err != nil || len(cols) != 2 || len(rows) != 2 || rows[0][0] != 2.5 || !math.IsNaN(rows[0][1]) || rows[1][1] != 4 {
		t.Fatalf("%v %v %v", cols, rows, err)
	}
	for _, bad := range []string{"", "a,b\n1,2\n", "time\n1\n", "time,a\n1,x\n", "time,a\n1,2,3\n"} {
		if _, _, err := parseMetricsCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestRankFindsTheHog ranks a small hand-made case: service b's CPU jumps at row 20.
func TestRankFindsTheHog(t *testing.T) {
	c := RCACase{Columns: []string{"a_cpu", "b_cpu", "b_mem", "front_lat_90"}}
	for i := range 40 {
		b := 10.0 + float64(i%3)
		if i >= 20 {
			b = 95
		}
		c.Rows = append(c.Rows, []float64{20 + float64(i%2), b, 300, 50 + float64(i)})
	}
	c.FaultAt = 20
	if at := c.DetectOnset(); at < 19 || at > 21 {
		t.Errorf("onset at row %d, want 20", at)
	}
	if r := c.Rank(20); len(r) != 2 || r[0].Entity != "b" || r[0].Signal != "cpu" {
		t.Errorf("ranked %+v", r)
	}
}

// FuzzParseMetricsCSV feeds arbitrary files to the metrics reader: an error or a result, never a
// panic, and every row as wide as the header.
func FuzzParseMetricsCSV(f *testing.F) {
	f.Add("time,a_cpu,b_mem\n1,2.5,\n2,3,4\n")
	f.Add("time,x\n1,NaN\n2,1e308\n")
	f.Fuzz(func(t *testing.T, raw string) {
		cols, rows, err := parseMetricsCSV(strings.NewReader(raw))
		if err != nil {
			return
		}
		for _, r := range rows {
			if len(r) != len(cols) {
				t.Fatalf("a row of %d values under %d columns", len(r), len(cols))
			}
		}
	})
}
