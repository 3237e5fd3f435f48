package diagnosis

import (
	"slices"
	"testing"
)

func TestLocalise(t *testing.T) {
	// front calls api and cache; api calls db and a remote endpoint it cannot see into.
	g := Graph{"front": {"api", "cache"}, "api": {"db", "remote"}}
	for _, c := range []struct {
		name   string
		moves  map[string]Move
		opaque map[string]bool
		want   []string
	}{
		{"the deepest moved entity first, then those it explains",
			map[string]Move{"front": {20, 1.0}, "api": {30, 0.9}, "db": {40, 0.8}}, nil,
			[]string{"db", "api", "front"}},
		{"a dependency that moved far less does not explain its caller",
			map[string]Move{"front": {20, 1.0}, "api": {30, 0.9}, "db": {6, 0.01}}, nil,
			[]string{"api", "db", "front"}},
		{"below the least shift nothing counts; an entity the target does not reach is no candidate",
			map[string]Move{"front": {20, 1.0}, "api": {3, 0.9}, "elsewhere": {50, 2}}, nil,
			[]string{"front"}},
		{"an opaque view comes after the components whose chain ends, before the explained",
			map[string]Move{"front": {20, 1.0}, "api": {10, 0.9}, "remote": {90, 0.1}, "cache": {8, 0.5}}, map[string]bool{"remote": true},
			[]string{"api", "cache", "remote", "front"}},
		{"nothing moved: no candidates", map[string]Move{"front": {1, 0.1}}, nil, nil},
	} {
		var got []string
		for _, cand := range Localise("front", c.moves, g, c.opaque, 5) {
			got = append(got, cand.Entity)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// The path from the symptom down is kept as evidence.
	got := Localise("front", map[string]Move{"db": {40, 0.8}}, g, nil, 5)
	if len(got) != 1 || !slices.Equal(got[0].Path, []string{"front", "api", "db"}) {
		t.Fatalf("%+v", got)
	}
}
