package sim

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	n := 1
	fmt.Sscan(os.Getenv("EXPLORE"), &n)
	onset := ReferenceOnset(n)
	sc, err := Build(n, onset, 1)
	if err != nil {
		t.Fatal(err)
	}
	start := onset.Add(-30 * time.Minute)
	if n == 6 {
		start = onset.Add(-80 * time.Hour)
	}
	s, err := New(DefaultWorld(), sc, 1, start)
	if err != nil {
		t.Fatal(err)
	}
	var ok, bad float64
	iv := os.Getenv("IV")
	for i := 0; s.Now().Before(onset.Add(60 * time.Minute)); i++ {
		f := s.Step()
		if iv != "" && f.Time.Equal(onset.Add(20*time.Minute)) {
			var k, tg string
			fmt.Sscanf(iv, "%s %s", &k, &tg)
			if err := s.Apply(Intervention{InterventionKind(k), tg}); err != nil {
				t.Fatal(err)
			}
		}
		for _, j := range f.Journeys {
			ok += j.StepOK
			bad += j.StepErrors
		}
		if f.Time.Minute()%5 == 0 && f.Time.Second() == 0 && (n != 6 || f.Time.After(onset.Add(-3*time.Hour))) {
			line := fmt.Sprintf("%s err=%.4f", f.Time.Format("Mon 15:04"), bad/(ok+bad))
			for _, name := range []string{"data-api", "scylla", "search", "mobile-bff", "checkout", "payments", "catalog"} {
				sf := f.Services[name]
				line += fmt.Sprintf(" | %s up=%d/%d e=%.3f own=%.3f lat=%.0f", name, sf.Up, sf.Instances, sf.ErrorRatio, sf.OwnError, sf.LatencyMS)
			}
			for _, in := range f.Instances {
				if in.Name == "data-api-0" || in.Name == "search-2" || in.Name == "catalog-0" {
					line += fmt.Sprintf(" | %s up=%v tw=%.0f thr=%.0f mem=%.0fMB gc=%.3f cpu=%.2f oom=%.0f", in.Name, in.Up, in.TimeWait, in.Threads, in.MemoryBytes/1e6, in.GCPauseRatio, in.CPUCores, in.OOMs)
				}
			}
			fmt.Println(line)
			ok, bad = 0, 0
		}
	}
}

func TestExploreOnset(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	start := time.Now()
	sc, err := Build(6, ReferenceOnset(6), 1)
	fmt.Println(sc.Onset, err, time.Since(start))
}

func TestExploreStream(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	onset := ReferenceOnset(1)
	sc, _ := Build(1, onset, 1)
	sc = sc.WithRoutineChanges(1, onset.Add(-7*24*time.Hour), onset.Add(2*time.Hour))
	s, _ := New(DefaultWorld(), sc, 1, onset.Add(-30*time.Minute))
	st := NewStream(s, Protobuf)
	sizes := map[string]int{}
	counts := map[string]int{}
	began := time.Now()
	for s.Now().Before(onset.Add(30 * time.Minute)) {
		_, ds, err := st.Next()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			sizes[d.Path] += len(d.Body)
			counts[d.Path]++
			if d.Path == "/api/intake/alertmanager" || strings.Contains(d.Path, "intake/") {
				var n AMNotification
				json.Unmarshal(d.Body, &n)
				fmt.Println(d.At.Format("15:04:05"), d.Path, n.Status, n.CommonLabels["alertname"], n.CommonAnnotations["summary"])
			}
		}
	}
	fmt.Println(sizes, counts, time.Since(began))
}

func TestExploreBase(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	onset := ReferenceOnset(1)
	sc, _ := Build(1, onset, 1)
	s, _ := New(DefaultWorld(), sc, 1, onset.Add(-30*time.Minute))
	f := s.Step()
	for _, name := range DefaultWorld().Journeys[2].PathFor("web") {
		sf := f.Services[name]
		fmt.Printf("%s own=%.5f eff=%.5f err=%.5f\n", name, sf.OwnError, sf.Effective, sf.ErrorRatio)
	}
}

func TestExploreLogMix(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	onset := ReferenceOnset(1)
	sc, _ := Build(1, onset, 1)
	s, _ := New(DefaultWorld(), sc, 1, onset.Add(-26*time.Hour))
	mix := map[string]int{}
	for s.Now().Before(onset.Add(-2 * time.Hour)) {
		f := s.Step()
		for _, l := range f.Logs {
			k := l.Body
			if len(k) > 30 {
				k = k[:30]
			}
			if i := strings.IndexAny(k, "0123456789"); i > 0 {
				k = k[:i]
			}
			mix[l.Service+" "+k]++
		}
	}
	type kv struct {
		k string
		n int
	}
	var all []kv
	for k, n := range mix {
		all = append(all, kv{k, n})
	}
	slices.SortFunc(all, func(a, b kv) int { return b.n - a.n })
	for _, e := range all[:min(25, len(all))] {
		fmt.Println(e.n, e.k)
	}
}
