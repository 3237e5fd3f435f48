package logstore

import (
	"hash/fnv"
	"unicode"
	"unicode/utf8"
)

// DefaultTemplate gives a line's template id by hashing the line with its variable parts
// masked: every token holding a digit (numbers, ids, addresses, hex, durations) becomes one
// wildcard. It is cheap and deterministic; the log analysis replaces it with a mined template.
func DefaultTemplate(body string) uint32 {
	h := fnv.New32a()
	var buf [utf8.UTFMax]byte
	inToken, hasDigit := false, false
	tokenStart := 0
	flush := func(end int) {
		if !inToken {
			return
		}
		if hasDigit {
			h.Write([]byte{0})
		} else {
			h.Write([]byte(body[tokenStart:end]))
		}
		inToken, hasDigit = false, false
	}
	for i, r := range body {
		if unicode.IsSpace(r) || r == '=' || r == ':' || r == ',' || r == '"' || r == '(' || r == ')' || r == '[' || r == ']' {
			flush(i)
			n := utf8.EncodeRune(buf[:], r)
			h.Write(buf[:n])
			continue
		}
		if !inToken {
			inToken, tokenStart = true, i
		}
		if unicode.IsDigit(r) {
			hasDigit = true
		}
	}
	flush(len(body))
	id := h.Sum32()
	if id == 0 {
		id = 1 // 0 means "no template given"
	}
	return id
}
