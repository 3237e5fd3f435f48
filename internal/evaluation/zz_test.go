package evaluation

import (
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/sextant-sre/sextant/internal/breakdown"
)

func TestZZCalibRS(t *testing.T) {
	cases, _ := ReadRS(rsDir(t))
	type p struct {
		score float64
		ok    bool
		first bool
	}
	var ps []p
	for _, c := range cases {
		for i, cause := range breakdown.Explain(c.Dims, c.Leaves, breakdown.DefaultConfig) {
			ps = append(ps, p{cause.Score, slices.Contains(c.Truth, cause.String()), i == 0})
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].score < ps[j].score })
	n := len(ps)
	for q := 0; q < 4; q++ {
		lo, hi := q*n/4, (q+1)*n/4
		ok := 0
		for _, x := range ps[lo:hi] {
			if x.ok {
				ok++
			}
		}
		fmt.Printf("quartile %d scores %.1f-%.1f: %d/%d\n", q, ps[lo].score, ps[hi-1].score, ok, hi-lo)
	}
	f, fo, o, oo := 0, 0, 0, 0
	for _, x := range ps {
		if x.first {
			f++
			if x.ok {
				fo++
			}
		} else {
			o++
			if x.ok {
				oo++
			}
		}
	}
	fmt.Println("first", fo, f, "others", oo, o)
}
