package evaluation

import (
	"slices"
	"strings"
	"testing"

	"github.com/sextant-sre/sextant/internal/breakdown"
)

func rsDir(t testing.TB) string {
	return datasetDir(t, "the RiskLoc RS cases", "riskloc", "data", "RS")
}

// TestRSDoesNotRegress runs the breakdown over the RS cases when they are present and fails if
// F1 drops below the figure recorded in docs/evaluation.md.
func TestRSDoesNotRegress(t *testing.T) {
	cases, err := ReadRS(rsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 135 {
		t.Fatalf("%d cases, want 135", len(cases))
	}
	s := ScoreRS(cases, breakdown.DefaultConfig)
	if s.F1 < 0.6735 || s.Precision < 0.691 || s.Recall < 0.657 {
		t.Errorf("RS: precision %.3f, recall %.3f, F1 %.3f; recorded 0.691, 0.657, 0.674", s.Precision, s.Recall, s.F1)
	}
	if c := ChanceRS(cases); c.F1 <= 0 || c.F1 > 0.05 {
		t.Errorf("chance F1 %.3f: expected a small positive figure", c.F1)
	}
}

func TestParseRSCause(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		bad  bool
	}{
		{in: "{'bitrate':2000,'p2p':1}", want: []string{"bitrate=2000&p2p=1"}},
		{in: "{'p2p':1, 'cdn':7, 'bitrate':2000}", want: []string{"bitrate=2000&cdn=7&p2p=1"}},
		{in: "[{'bitrate':500}, {'bitrate':2500}]", want: []string{"bitrate=500", "bitrate=2500"}},
		{in: "{'isp':'联通', 'cdn':5}", want: []string{"cdn=5&isp=联通"}},
		{in: "{'bitrate'}", bad: true},
		{in: "{'bitrate':2000", bad: true},
		{in: "[{'bitrate':500}", bad: true},
		{in: "{}", bad: true},
		{in: "", bad: true},
	}
	for _, c := range cases {
		got, err := parseRSCause(c.in)
		if (err != nil) != c.bad || (!c.bad && !slices.Equal(got, c.want)) {
			t.Errorf("%q: %v %v, want %v (bad %v)", c.in, got, err, c.want, c.bad)
		}
	}
}

// TestParseRSCase builds leaves at the anomaly minute with the four minutes before as baseline,
// and ignores older minutes.
func TestParseRSCase(t *testing.T) {
	csv := "min,value,cnt,cdn,p2p\n" +
		"1000,90,100,5,0\n" + // anomaly minute: 10 failed of 100
		"940,99,100,5,0\n880,99,100,5,0\n" + // baseline: 2 failed of 200
		"700,0,100,5,0\n" + // five minutes before: not baseline
		"1000,50,50,7,1\n" // no history
	c, err := parseRSCase(strings.NewReader(csv), rsLabel{data: "x", timestamp: 1000, cause: []string{"cdn=5"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []breakdown.Leaf{
		{Values: []string{"5", "0"}, Num: 10, Den: 100, BaseNum: 2, BaseDen: 200},
		{Values: []string{"7", "1"}, Num: 0, Den: 50},
	}
	if !slices.Equal(c.Dims, []string{"cdn", "p2p"}) || len(c.Leaves) != 2 {
		t.Fatalf("%+v", c)
	}
	for i := range want {
		if !slices.Equal(c.Leaves[i].Values, want[i].Values) || c.Leaves[i].Num != want[i].Num || c.Leaves[i].Den != want[i].Den ||
			c.Leaves[i].BaseNum != want[i].BaseNum || c.Leaves[i].BaseDen != want[i].BaseDen {
			t.Errorf("leaf %d: %+v, want %+v", i, c.Leaves[i], want[i])
		}
	}
	for _, bad := range []string{"", "min,value\n", "min,value,cnt,cdn\nx,1,2,3\n", "min,value,cnt,cdn\n500,1,2,3\n"} {
		if _, err := parseRSCase(strings.NewReader(bad), rsLabel{timestamp: 1000}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzParseRSLabels feeds arbitrary label files and case files to the readers: an error or a
// result, never a panic.
func FuzzParseRSLabels(f *testing.F) {
	f.Add("- data: case1\n  timestamp: 1000\n  cause: {'bitrate':2000,'p2p':1}\n", "min,value,cnt,cdn\n1000,1,2,5\n")
	f.Add("- data: a b\n  timestamp: 5\n  cause: [{'x':'y'}, {'z':1}]\n", "min,cdn,value,cnt\n")
	f.Fuzz(func(t *testing.T, labels, csv string) {
		ls, err := parseRSLabels(strings.NewReader(labels))
		if err != nil {
			return
		}
		for _, l := range ls {
			if len(l.cause) == 0 || l.data == "" {
				t.Fatalf("accepted an entry without a cause or a name: %+v", l)
			}
			c, err := parseRSCase(strings.NewReader(csv), l)
			if err == nil {
				breakdown.Explain(c.Dims, c.Leaves, breakdown.DefaultConfig)
			}
		}
	})
}
