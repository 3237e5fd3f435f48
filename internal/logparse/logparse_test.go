package logparse

import (
	"testing"
	"time"
)

func TestFormatTemplateFollowsTheCorrectedConventions(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a   b\t c", "a b c"},                                                       // one space
		{"open /var/log/x.log now", "open <*> now"},                                  // a path
		{"flag true then False", "flag <*> then <*>"},                                // booleans
		{"user root and null", "user <*> and <*>"},                                   // user strings
		{"took 42 ms", "took <*> ms"},                                                // digits
		{"block blk_<*> done", "block <*> done"},                                     // a word glued to a variable
		{"ip <*>.<*>.<*>.<*> port", "ip <*> port"},                                   // dot-separated variables
		{"id <*><*> x", "id <*> x"},                                                  // consecutive variables
		{"size: <*> KB, time=<*>", "size: <*> KB, time=<*>"},                         // delimiters stay
		{"jk2_init() Found child <*> in slot", "jk2_init() Found child <*> in slot"}, // a word with a digit stays
	} {
		if got := FormatTemplate(c.in); got != c.want {
			t.Errorf("FormatTemplate(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// parse runs lines through one parser and returns each line's template.
func parse(lines ...string) []string {
	p := New(DefaultConfig)
	type seen struct {
		t      *Template
		tokens []string
	}
	var all []seen
	for _, l := range lines {
		t, toks := p.AddTokens(l, time.Unix(0, 0))
		all = append(all, seen{t, append([]string(nil), toks...)})
	}
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = s.t.Resolve(s.tokens)
	}
	return out
}

func TestParserOnTrickyLines(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"one event, many ids, stays one template",
			[]string{"Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6", "Received block blk_7503483334202473044 of size 233217 from /10.250.19.102"},
			[]string{"Received block <*> of size <*> from <*>", "Received block <*> of size <*> from <*>"}},
		{"events that differ in one word stay apart",
			[]string{"[instance: 0b0c] VM Started (Lifecycle Event)", "[instance: 1f2e] VM Stopped (Lifecycle Event)",
				"[instance: 3a4b] VM Started (Lifecycle Event)", "[instance: 5c6d] VM Stopped (Lifecycle Event)"},
			[]string{"[instance: <*>] VM Started (Lifecycle Event)", "[instance: <*>] VM Stopped (Lifecycle Event)",
				"[instance: <*>] VM Started (Lifecycle Event)", "[instance: <*>] VM Stopped (Lifecycle Event)"}},
		{"a date's month is not an event name",
			[]string{"connection from 10.0.0.1 at Sun Jun 5 10:00:01 2005", "connection from 10.0.0.2 at Mon Jul 6 11:00:02 2005"},
			[]string{"connection from <*> at <*> <*> <*> <*> <*>", "connection from <*> at <*> <*> <*> <*> <*>"}},
		{"key=value keeps its key",
			[]string{"session opened uid=0 tty=pts/1", "session opened uid=500 tty=pts/2"},
			[]string{"session opened uid=<*> tty=pts/<*>", "session opened uid=<*> tty=pts/<*>"}}, // a slash keeps its word
		{"hex ids and addresses are variables",
			[]string{"free 0x7f3a9c00 at 192.168.1.20:8080 ok", "free 0x1b2c3d4e at 10.1.1.1:22 ok"},
			[]string{"free <*> at <*> ok", "free <*> at <*> ok"}},
		{"a quantity written in several tokens is one variable",
			[]string{"conn close, 0 bytes sent, lifetime 00:01", "conn close, 1190 bytes (1.16 KB) sent, lifetime <1 sec",
				"conn close, 18846 bytes (18.4 KB) sent, lifetime 02:10:01"},
			[]string{"conn close, <*> bytes sent, lifetime <*>", "conn close, <*> bytes sent, lifetime <*>",
				"conn close, <*> bytes sent, lifetime <*>"}},
		{"a bracketed word or a bound without a unit stays",
			[]string{"retry (3 attempts) left <5 tries", "retry (4 attempts) left <2 tries"},
			[]string{"retry (<*> attempts) left <*> tries", "retry (<*> attempts) left <*> tries"}},
	}
	for _, c := range cases {
		got := parse(c.lines...)
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: line %d: %q, want %q", c.name, i, got[i], c.want[i])
			}
		}
	}
	p := New(DefaultConfig)
	a := p.Add("job 1 done", time.Unix(10, 0))
	b := p.Add("job 2 done", time.Unix(20, 0))
	if a != b || a.Count != 2 || !a.First.Equal(time.Unix(10, 0)) || !a.Last.Equal(time.Unix(20, 0)) || len(p.Templates()) != 1 {
		t.Fatalf("counts: %+v, %d templates", a, len(p.Templates()))
	}
}

// FuzzParser: log lines come from outside. Any line gets a template, with as many tokens as the
// line has, and formatting a template twice changes nothing more.
func FuzzParser(f *testing.F) {
	f.Add("Received block blk_-1608999687919862906 of size 91178 from /10.250.10.6", "VM Started")
	f.Add("[instance: 0b0c] \"GET /v2/x HTTP/1.1\" status: 200", "a=b c=true /x/y ,")
	f.Fuzz(func(t *testing.T, a, b string) {
		p := New(DefaultConfig)
		for _, line := range []string{a, b, a} {
			tmpl, toks := p.AddTokens(line, time.Time{})
			if len(tmpl.Tokens) != len(toks) {
				t.Fatalf("%q: template of %d tokens for a line of %d", line, len(tmpl.Tokens), len(toks))
			}
			s := tmpl.Resolve(toks)
			if FormatTemplate(s) != FormatTemplate(FormatTemplate(s)) {
				t.Fatalf("formatting %q is not stable", s)
			}
		}
	})
}

// A masked token sequence seen before goes straight to the template it went to, and a line that
// masks to the same sequence gets the same template.
func TestParserRemembersMaskedSequences(t *testing.T) {
	p := New(DefaultConfig)
	first := p.Add("2015-10-18 18:01:47,978 INFO [main] started job 17 on host-3", time.Time{})
	if len(p.seen) != 1 {
		t.Fatalf("%d sequences remembered after one line, want 1", len(p.seen))
	}
	again := p.Add("2016-01-02 07:00:00,001 INFO [main] started job 2040 on host-9", time.Time{})
	if again != first || first.Count != 2 || len(p.seen) != 1 {
		t.Fatalf("the same masked sequence: template %d then %d (count %d), %d remembered", first.ID, again.ID, first.Count, len(p.seen))
	}
}
