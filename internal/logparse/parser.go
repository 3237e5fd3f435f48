package logparse

import (
	"strings"
	"time"
)

// Config tunes a Parser. One configuration serves every kind of log.
type Config struct {
	// Similarity is the least share of a template's constant tokens a line must match to join it.
	Similarity float64
}

// DefaultConfig is the configuration Sextant uses everywhere.
var DefaultConfig = Config{Similarity: 0.5}

// Template is one mined template with its counts.
type Template struct {
	ID     int
	Tokens []string // Wildcard marks a variable token
	Count  int
	First  time.Time
	Last   time.Time
	// values counts the words seen at each variable position, up to maxValues; nil for a
	// position that has held more, or anything but a word, or that was masked from the start.
	values []map[string]int
	// gen counts the changes to Tokens and values' keys, for caches of the template's text.
	gen int
}

// hasCategorical reports whether some variable position still names events (see Resolve).
func (t *Template) hasCategorical() bool {
	for i := range t.values {
		if t.categorical(i) {
			return true
		}
	}
	return false
}

// maxValues is how many distinct words a position may hold and still name distinct events
// ("VM Started", "VM Stopped") rather than a variable.
const maxValues = 6

// String is the template as text, in the Loghub conventions.
func (t *Template) String() string { return FormatTemplate(strings.Join(t.Tokens, " ")) }

// Resolve is the template a line of this cluster belongs to: a position that has only ever held
// a few words, each seen repeatedly, is an event name, not a variable, and takes the line's word.
func (t *Template) Resolve(tokens []string) string {
	out := t.Tokens
	copied := false
	for i, tok := range t.Tokens {
		if tok != Wildcard || i >= len(tokens) || !t.categorical(i) {
			continue
		}
		if !copied {
			out = append([]string(nil), t.Tokens...)
			copied = true
		}
		out[i] = tokens[i]
	}
	return FormatTemplate(strings.Join(out, " "))
}

func (t *Template) categorical(i int) bool {
	if i >= len(t.values) || t.values[i] == nil {
		return false
	}
	vs := t.values[i]
	return len(vs) >= 2
}

// generalise turns position i into a variable. The words it held so far (the constant, as
// many times as the template has lines) start its count of values, if the constant is a word.
func (t *Template) generalise(i int) {
	if t.values == nil {
		t.values = make([]map[string]int, len(t.Tokens))
	}
	if isWord(t.Tokens[i]) {
		t.values[i] = map[string]int{t.Tokens[i]: t.Count}
	}
	t.Tokens[i] = Wildcard
	t.gen++
}

// record counts the words a line has at the template's variable positions; a position that
// gets anything but a word, or too many words, stops counting (nil) and stays a variable.
func (t *Template) record(tokens []string) {
	if t.values == nil {
		return
	}
	for i, vs := range t.values {
		if vs == nil {
			continue
		}
		tok := tokens[i]
		if vs[tok] > 0 {
			vs[tok]++
			continue
		}
		t.gen++
		if len(vs) >= maxValues || !isWord(tok) {
			t.values[i] = nil
			continue
		}
		vs[tok] = 1
	}
}

// calendarWords are parts of dates: they vary with time, so they never name an event.
var calendarWords = map[string]bool{"jan": true, "feb": true, "mar": true, "apr": true, "may": true, "jun": true, "jul": true,
	"aug": true, "sep": true, "oct": true, "nov": true, "dec": true, "mon": true, "tue": true, "wed": true, "thu": true,
	"fri": true, "sat": true, "sun": true}

// isWord reports whether a token is a plain word (quotes and brackets aside): letters, digits,
// _ or -, at least two letters, not what the masking calls a variable, and neither a value the
// conventions call a variable (true, null, …) nor a part of a date.
func isWord(tok string) bool {
	tok = strings.Trim(tok, "([{\"')]},;:.")
	if constantVariable(tok) || (len(tok) == 3 && calendarWords[strings.ToLower(tok)]) || variableSub(tok) {
		return false
	}
	letters := 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
		case c >= '0' && c <= '9' || c == '_' || c == '-':
		default:
			return false
		}
	}
	return letters >= 2
}

// Parser assigns lines to templates as they arrive (Drain: a tree by token count and first
// token, then the most similar template in that leaf). It is not safe for concurrent use.
type Parser struct {
	cfg       Config
	leaves    map[leafKey][]*Template
	templates []*Template
	scratch   []string
	// seen remembers which template each masked token sequence went to: the same sequence goes
	// there again without a scan of its leaf (templates only generalise, so it still fits).
	seen map[uint64]*Template
}

// maxSeen bounds the memory of masked sequences; it starts over when full.
const maxSeen = 100_000

type leafKey struct {
	n     int
	first string
}

// New returns an empty parser.
func New(cfg Config) *Parser {
	if cfg.Similarity <= 0 {
		cfg = DefaultConfig
	}
	return &Parser{cfg: cfg, leaves: map[leafKey][]*Template{}, seen: map[uint64]*Template{}}
}

// Templates lists the templates in the order they were first seen.
func (p *Parser) Templates() []*Template { return p.templates }

// Add assigns a line to a template, creating or generalising one, and returns it.
func (p *Parser) Add(line string, at time.Time) *Template {
	t, _ := p.AddTokens(line, at)
	return t
}

// AddTokens is Add that also returns the line's masked tokens (valid until the next call), for
// Template.Resolve.
func (p *Parser) AddTokens(line string, at time.Time) (*Template, []string) {
	tokens := p.tokens(line)
	key := leafKey{n: len(tokens)}
	if len(tokens) > 0 && tokens[0] != Wildcard {
		key.first = tokens[0]
	}
	h := sequenceHash(tokens)
	if t := p.seen[h]; t != nil && fits(t.Tokens, tokens) {
		t.Count++
		t.record(tokens)
		if at.After(t.Last) {
			t.Last = at
		}
		return t, tokens
	}
	leaf := p.leaves[key]
	var best *Template
	bestSim, bestConst := -1.0, -1
	for _, t := range leaf {
		sim, constants := similarity(t.Tokens, tokens)
		if sim > bestSim || (sim == bestSim && constants > bestConst) {
			best, bestSim, bestConst = t, sim, constants
		}
	}
	if len(p.seen) >= maxSeen {
		clear(p.seen)
	}
	if best == nil || bestSim < p.cfg.Similarity {
		best = &Template{ID: len(p.templates) + 1, Tokens: append([]string(nil), tokens...), First: at}
		p.templates = append(p.templates, best)
		p.leaves[key] = append(leaf, best)
	} else {
		best.record(tokens)
		for i, tok := range tokens {
			if best.Tokens[i] != tok && best.Tokens[i] != Wildcard {
				best.generalise(i)
				if vs := best.values[i]; vs != nil && isWord(tok) {
					vs[tok]++
				} else if vs != nil {
					best.values[i] = nil
				}
			}
		}
	}
	best.Count++
	if at.After(best.Last) {
		best.Last = at
	}
	return best, tokens
}

// sequenceHash is FNV-1a over a token sequence, tokens separated by a zero byte.
func sequenceHash(tokens []string) uint64 {
	h := uint64(14695981039346656037)
	for _, t := range tokens {
		for i := 0; i < len(t); i++ {
			h ^= uint64(t[i])
			h *= 1099511628211
		}
		h ^= 0
		h *= 1099511628211
	}
	return h
}

// fits reports whether a line's tokens match a template everywhere (a wildcard matches all).
func fits(tmpl, tokens []string) bool {
	if len(tmpl) != len(tokens) {
		return false
	}
	for i, t := range tmpl {
		if t != Wildcard && t != tokens[i] {
			return false
		}
	}
	return true
}

// similarity is the share of a template's tokens that a line's tokens equal (a wildcard in the
// template matches anything but counts as half), and how many constant tokens matched.
func similarity(tmpl, tokens []string) (float64, int) {
	if len(tmpl) == 0 {
		return 1, 0
	}
	score, constants := 0.0, 0
	for i, t := range tmpl {
		switch {
		case t == Wildcard:
			score += 0.5
		case t == tokens[i]:
			score++
			constants++
		}
	}
	return score / float64(len(tmpl)), constants
}

// Byte classes for the tokenizer: a table is faster than comparisons for every byte.
const (
	classSpace   = 1 << iota // separates tokens
	classSuspect             // a digit or a slash: the token may hold a variable
	classDelim               // separates the parts of a token
)

var byteClass = func() (t [256]uint8) {
	for _, c := range " \t\n\r\v\f" {
		t[c] |= classSpace
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= classSuspect
	}
	t['/'] |= classSuspect
	for c := range 256 {
		if tokenDelimiter(byte(c)) {
			t[c] |= classDelim
		}
	}
	return t
}()

// tokens splits a line on spaces and masks the tokens that are variables. A token without a
// digit or a slash is a word and is kept as it is, without a second look.
func (p *Parser) tokens(line string) []string {
	out := p.scratch[:0]
	start, suspect := -1, false
	for i := 0; i < len(line); i++ {
		cl := byteClass[line[i]]
		if cl&classSpace != 0 {
			if start >= 0 {
				tok := line[start:i]
				if suspect {
					tok = maskToken(tok)
				}
				out = append(out, tok)
				start = -1
			}
			continue
		}
		if start < 0 {
			start, suspect = i, false
		}
		suspect = suspect || cl&classSuspect != 0
	}
	if start >= 0 {
		tok := line[start:]
		if suspect {
			tok = maskToken(tok)
		}
		out = append(out, tok)
	}
	p.scratch = out
	return out
}

// maskToken replaces a token that holds a variable (a number, an address, a path, a hex
// string, an id) by the wildcard; key=value keeps its key.
func maskToken(tok string) string {
	// Brackets, quotes and trailing punctuation stay outside the variable: "[<*>]", "<*>,".
	lead, trail := 0, len(tok)
	for lead < trail && strings.IndexByte("([{\"'", tok[lead]) >= 0 {
		lead++
	}
	for trail > lead && strings.IndexByte(")]}\"',;:", tok[trail-1]) >= 0 {
		trail--
	}
	if lead > 0 || trail < len(tok) {
		inner := maskCore(tok[lead:trail])
		if inner == tok[lead:trail] {
			return tok
		}
		return tok[:lead] + inner + tok[trail:]
	}
	return maskCore(tok)
}

func maskCore(tok string) string {
	if isPath(tok) {
		return Wildcard
	}
	// First look for a variable part without building anything: most tokens have none, and
	// most that have one become the wildcard whole.
	anyVariable, start := false, 0
	for i := 0; i <= len(tok); i++ {
		if i == len(tok) || byteClass[tok[i]]&classDelim != 0 || tok[i] == '/' {
			if i > start && variableSub(tok[start:i]) {
				anyVariable = true
				break
			}
			start = i + 1
		}
	}
	if !anyVariable {
		return tok
	}
	// A word glued to a variable is a variable ("blk_<*>", "host.example:<*>"), unless it is
	// key=value, whose key is worth keeping.
	if strings.IndexByte(tok, '=') < 0 {
		return Wildcard
	}
	b := make([]byte, 0, len(tok)+8)
	start = 0
	for i := 0; i <= len(tok); i++ {
		if i == len(tok) || tokenDelimiter(tok[i]) || tok[i] == '/' {
			if sub := tok[start:i]; i > start && variableSub(sub) {
				if !(len(b) >= len(Wildcard) && string(b[len(b)-len(Wildcard):]) == Wildcard) {
					b = append(b, Wildcard...)
				}
			} else {
				b = append(b, sub...)
			}
			if i < len(tok) {
				b = append(b, tok[i])
			}
			start = i + 1
		}
	}
	return string(b)
}

// variableSub reports whether a piece of a token between delimiters is a variable: digits; hex
// of at least four characters with a digit in it; or mostly digits ("blk_3886504906").
func variableSub(s string) bool {
	digits, hex := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			hex++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			hex++
		}
	}
	if digits == 0 {
		return constantVariable(s)
	}
	if digits == len(s) || 2*digits >= len(s) {
		return true
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return true
	}
	return hex == len(s) && len(s) >= 4
}
