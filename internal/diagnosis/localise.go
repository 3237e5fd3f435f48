package diagnosis

import (
	"cmp"
	"slices"
)

// Move is how an entity's own signal moved at the onset.
type Move struct {
	// Shift is how far it moved the harmful way, in robust units (or as a Poisson z for counts).
	Shift float64
	// Delta is how much it moved, in the signal's own units (seconds of latency, the share of
	// requests that failed): what a caller's move can be compared with.
	Delta float64
}

// Candidate is an entity that may be the root cause of a symptom, with the evidence that ranks it.
type Candidate struct {
	Entity string
	Move
	// Explained names the moved dependencies that could account for its own move: a
	// candidate with none is where the propagation chain ends.
	Explained []string
	// Path is the chain of calls from the symptom's entity down to this one.
	Path []string
	// Opaque says its own dependencies are not seen.
	Opaque bool
}

// explainShare is the least part of a caller's move, in the signal's own units, a dependency's
// own move must reach to account for it: a dependency that slowed by 5 ms does not explain a
// caller that slowed by a second. A caller may call a dependency several times a request, or
// retry it, hence well under 1.
const explainShare = 0.3

// Localise ranks the root-cause candidates of a symptom seen at target: the entities the target
// depends on in g (directly or through others), and the target itself, whose own signal moved
// by at least minShift. Moves propagate from callee to caller, so a moved entity none of whose
// dependencies moved enough to account for it is where the chain ends: those come first, by
// shift; then the moved entities that a moved dependency explains, by shift. An empty answer
// means nothing the target depends on moved enough to be told from its everyday noise.
//
// Opaque entities are views of something whose own dependencies are not seen (the caller's
// record of a call to an uninstrumented endpoint): their move may come from anything behind
// them, so they come after the chain ends that are components, and before the explained.
func Localise(target string, moves map[string]Move, g Graph, opaque map[string]bool, minShift float64) []Candidate {
	moved := func(e string) bool { return moves[e].Shift >= minShift }
	paths := map[string][]string{target: {target}}
	queue := []string{target}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range g[n] {
			if _, seen := paths[c]; !seen {
				paths[c] = append(slices.Clone(paths[n]), c)
				queue = append(queue, c)
			}
		}
	}
	var out []Candidate
	for e, path := range paths {
		if !moved(e) {
			continue
		}
		c := Candidate{Entity: e, Move: moves[e], Path: path, Opaque: opaque[e]}
		for d := range paths {
			if d != e && moved(d) && moves[d].Delta >= explainShare*c.Delta && g.Reaches(e, d) {
				c.Explained = append(c.Explained, d)
			}
		}
		slices.Sort(c.Explained)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(tier(a), tier(b)), cmp.Compare(b.Shift, a.Shift), cmp.Compare(a.Entity, b.Entity))
	})
	return out
}

// tier orders candidates: the chain's ends that are components (0), those that are opaque (1),
// then the candidates a moved dependency may explain (2).
func tier(c Candidate) int {
	switch {
	case len(c.Explained) > 0:
		return 2
	case c.Opaque:
		return 1
	}
	return 0
}
