package logparse

import (
	"hash/maphash"
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
	joined    []byte // scratch for sequenceHash
	// seen remembers which template each masked token sequence went to: the same sequence goes
	// there again without a scan of its leaf (templates only generalise, so it still fits).
	seen map[uint64]*Template
	// wrapped holds the wildcards wrapped in brackets or punctuation met so far.
	wrapped map[uint64]string
	// quantities is scratch for the tokens that may begin a quantity of several tokens.
	quantities []int
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
	h := p.sequenceHash(tokens)
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
		sim, constants := similarity(t.Tokens, tokens, max(bestSim, p.cfg.Similarity))
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
	p.seen[h] = best
	best.Count++
	if at.After(best.Last) {
		best.Last = at
	}
	return best, tokens
}

// sequenceSeed keys the hashes of token sequences; they never leave the process.
var sequenceSeed = maphash.MakeSeed()

// sequenceHash hashes a token sequence: its tokens joined by a space, which no token holds,
// and hashed in one call rather than one a token. A collision is caught by fits.
func (p *Parser) sequenceHash(tokens []string) uint64 {
	b := p.joined[:0]
	for _, t := range tokens {
		b = append(b, t...)
		b = append(b, ' ')
	}
	p.joined = b
	return maphash.Bytes(sequenceSeed, b)
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
// template matches anything but counts as half), and how many constant tokens matched. It gives
// up, returning -1, as soon as the share can no longer reach floor.
func similarity(tmpl, tokens []string, floor float64) (float64, int) {
	if len(tmpl) == 0 {
		return 1, 0
	}
	n := float64(len(tmpl))
	score, constants := 0.0, 0
	for i, t := range tmpl {
		switch {
		case t == Wildcard:
			score += 0.5
		case t == tokens[i]:
			score++
			constants++
		default:
			if (score+float64(len(tmpl)-i-1))/n < floor {
				return -1, 0
			}
		}
	}
	return score / n, constants
}

// Byte classes for the tokenizer: a table is faster than comparisons for every byte.
const (
	classSpace     = 1 << iota // separates tokens
	classSuspect               // a digit or a slash: the token may hold a variable
	classDelim                 // separates the parts of a token
	classOpen                  // opens a bracket or a quote, kept outside a variable
	classClose                 // closes one, or trailing punctuation, kept outside a variable
	classDigit                 // a decimal digit
	classWordy                 // none of the above, nor '=': a letter, an underscore, a star…
	classEquals                // '=', of key=value
	classHexLetter             // a to f, either case
)

var byteClass = func() (t [256]uint16) {
	for _, c := range " \t\n\r\v\f" {
		t[c] |= classSpace
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= classSuspect | classDigit
	}
	t['/'] |= classSuspect
	for c := range 256 {
		if tokenDelimiter(byte(c)) {
			t[c] |= classDelim
		}
	}
	for _, c := range "([{\"'" {
		t[c] |= classOpen
	}
	for _, c := range ")]}\"',;:" {
		t[c] |= classClose
	}
	for c := range 256 {
		if t[c] == 0 && c != '/' && c != '=' {
			t[c] = classWordy
		}
	}
	t['='] |= classEquals
	for _, c := range "abcdefABCDEF" {
		t[c] |= classHexLetter
	}
	return t
}()

// tokens splits a line on spaces and masks the tokens that are variables. A token without a
// digit or a slash is a word and is kept as it is, without a second look.
func (p *Parser) tokens(line string) []string {
	out := p.scratch[:0]
	i, n := 0, len(line)
	for {
		for i < n && byteClass[line[i]]&classSpace != 0 {
			i++
		}
		if i == n {
			break
		}
		start := i
		var classes uint16
		for i < n {
			cl := byteClass[line[i]]
			if cl&classSpace != 0 {
				break
			}
			classes |= cl
			i++
		}
		tok := line[start:i]
		switch {
		case classes&classSuspect == 0:
		case classes&(classDigit|classWordy|classEquals) == classDigit && unwrapped(tok):
			// Only digits between delimiters ("2015-10-18", "18:01:47,978"), no key=value, not
			// wrapped in brackets: the wildcard whole, as maskToken would find, without its
			// second look.
			tok = Wildcard
		default:
			raw := tok
			tok = p.maskToken(tok, classes&classEquals != 0)
			if classes&classDigit != 0 && quantityStart(raw, tok) {
				p.quantities = append(p.quantities, len(out))
			}
		}
		out = append(out, tok)
	}
	if len(p.quantities) > 0 {
		out = joinQuantities(out, p.quantities)
		p.quantities = p.quantities[:0]
	}
	p.scratch = out
	return out
}

// quantityStart reports whether a masked token may begin a quantity written in more than one
// token: a bound ("<1" of "<1 sec") or a bracketed restatement ("(1.16" of "(1.16 KB)").
func quantityStart(raw, masked string) bool {
	switch raw[0] {
	case '<', '>', '~':
		return masked == Wildcard
	case '(':
		return masked == "("+Wildcard
	}
	return false
}

// joinQuantities makes one variable of a quantity that takes several tokens, so that a line
// keeps its shape whichever way the value was written: a bound with its unit ("lifetime <1
// sec" like "lifetime 00:01"), and a value restated in brackets after a value ("1190 bytes
// (1.16 KB) sent" like "0 bytes sent"). at lists the tokens quantityStart marked, in order.
func joinQuantities(tokens []string, at []int) []string {
	for k := len(at) - 1; k >= 0; k-- {
		i := at[k]
		if i+1 >= len(tokens) {
			continue
		}
		next := tokens[i+1]
		if tokens[i] == Wildcard {
			if isUnit(next) {
				tokens = append(tokens[:i+1], tokens[i+2:]...)
			}
			continue
		}
		if i > 0 && strings.HasSuffix(next, ")") && isUnit(next[:len(next)-1]) &&
			(tokens[i-1] == Wildcard || isUnit(tokens[i-1])) {
			tokens = append(tokens[:i], tokens[i+2:]...)
		}
	}
	return tokens
}

// units are the units of time and size a quantity is written with.
var units = map[string]bool{"b": true, "byte": true, "bytes": true, "kb": true, "mb": true, "gb": true, "tb": true,
	"kib": true, "mib": true, "gib": true, "ns": true, "us": true, "ms": true, "s": true, "sec": true, "secs": true,
	"second": true, "seconds": true, "min": true, "mins": true, "minute": true, "minutes": true, "h": true,
	"hour": true, "hours": true}

func isUnit(tok string) bool {
	if len(tok) > len("minutes") {
		return false
	}
	var buf [8]byte
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return units[string(buf[:len(tok)])]
}

func (p *Parser) maskToken(tok string, keyValue bool) string {
	// Brackets, quotes and trailing punctuation stay outside the variable: "[<*>]", "<*>,".
	lead, trail := 0, len(tok)
	for lead < trail && byteClass[tok[lead]]&classOpen != 0 {
		lead++
	}
	for trail > lead && byteClass[tok[trail-1]]&classClose != 0 {
		trail--
	}
	if lead > 0 || trail < len(tok) {
		inner := maskCore(tok[lead:trail], keyValue)
		if inner == tok[lead:trail] {
			return tok
		}
		if inner == Wildcard {
			return p.wrappedWildcard(tok[:lead], tok[trail:])
		}
		return tok[:lead] + inner + tok[trail:]
	}
	return maskCore(tok, keyValue)
}

func maskCore(tok string, keyValue bool) string {
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
	if !keyValue {
		return Wildcard
	}
	b := make([]byte, 0, len(tok)+8)
	start = 0
	for i := 0; i <= len(tok); i++ {
		if i == len(tok) || byteClass[tok[i]]&classDelim != 0 || tok[i] == '/' {
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

// unwrapped reports whether a token is not wrapped in brackets or punctuation.
func unwrapped(tok string) bool {
	return byteClass[tok[0]]&classOpen == 0 && byteClass[tok[len(tok)-1]]&classClose == 0
}

// wrappedWildcard is the wildcard between a prefix and a suffix of brackets and punctuation
// ("[<*>]", "<*>,"), built once per parser for each short pair instead of once per token.
func (p *Parser) wrappedWildcard(prefix, suffix string) string {
	if len(prefix)+len(suffix) > 7 {
		return prefix + Wildcard + suffix
	}
	key := uint64(len(prefix))
	for i := 0; i < len(prefix); i++ {
		key = key<<8 | uint64(prefix[i])
	}
	for i := 0; i < len(suffix); i++ {
		key = key<<8 | uint64(suffix[i])
	}
	w, ok := p.wrapped[key]
	if !ok {
		if p.wrapped == nil {
			p.wrapped = map[uint64]string{}
		}
		w = prefix + Wildcard + suffix
		p.wrapped[key] = w
	}
	return w
}

// variableSub reports whether a piece of a token between delimiters is a variable: digits; hex
// of at least four characters with a digit in it; or mostly digits ("blk_3886504906").
func variableSub(s string) bool {
	digits, hex := 0, 0
	for i := 0; i < len(s); i++ {
		cl := byteClass[s[i]]
		if cl&classDigit != 0 {
			digits++
		}
		if cl&(classDigit|classHexLetter) != 0 {
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
