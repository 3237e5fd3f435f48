// Package logparse mines log templates: a streaming parser of the Drain family that masks the
// variable parts of a line (numbers, ids, addresses, paths, hex), clusters lines by their
// constant parts, and keeps per-template counts, so that a pattern that is new or whose rate
// jumps can be noticed. Pure code: no I/O.
package logparse

import "strings"

// Wildcard stands for a variable part of a line in a template.
const Wildcard = "<*>"

// The template conventions are those of the corrected Loghub ground truth (Khan et al., ICSE
// 2022, as used by Loghub-2.0): runs of spaces are one space; paths, booleans, null/root/admin,
// numbers and words glued to a variable are variables; variables joined by a dot or by nothing
// are one variable.

// pathDelimiter separates path-like strings; tokenDelimiter separates the other tokens.
func pathDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v', ',', '!', ';', ':', '=', '|', '"', '\'', '[', ']', '(', ')', '{', '}':
		return true
	}
	return false
}

func tokenDelimiter(c byte) bool {
	switch c {
	case '.', '-', '+', '@', '#', '$', '%', '&':
		return true
	}
	return pathDelimiter(c)
}

// splitKeep splits s into tokens and the single delimiter bytes between them, dropping
// nothing: joining the parts gives s back.
func splitKeep(s string, delim func(byte) bool, out []string) []string {
	start := 0
	for i := 0; i < len(s); i++ {
		if delim(s[i]) {
			if i > start {
				out = append(out, s[start:i])
			}
			out = append(out, s[i:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// isPath reports whether a token is a path: one or more "/segment" parts.
func isPath(t string) bool {
	if len(t) < 2 || t[0] != '/' {
		return false
	}
	seg := 0
	for i := 1; i < len(t); i++ {
		if t[i] == '/' {
			if seg == 0 {
				return false
			}
			seg = 0
			continue
		}
		seg++
	}
	return seg > 0
}

func allDigits(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return true
}

// gluedVariable reports whether a token holds a wildcard and no space or slash: a word glued to
// a variable ("blk_<*>", "<*>ms") is a variable.
func gluedVariable(t string) bool {
	return strings.Contains(t, Wildcard) && !strings.ContainsAny(t, " \t/")
}

// constantVariable reports whether a word is one the conventions count as a variable: a
// boolean, null, root or admin, in any case.
func constantVariable(s string) bool {
	if len(s) < 4 || len(s) > 5 || strings.IndexByte("tTfFnNrRaA", s[0]) < 0 {
		return false
	}
	for _, w := range [...]string{"true", "false", "null", "root", "admin"} {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

// FormatTemplate writes a template (or a line) in the conventions of the corrected Loghub
// ground truth, so that templates compare as the metrics expect.
func FormatTemplate(t string) string {
	t = strings.Join(strings.Fields(t), " ")
	var parts []string
	parts = splitKeep(t, pathDelimiter, parts)
	for i, p := range parts {
		if isPath(p) {
			parts[i] = Wildcard
		}
	}
	t = strings.Join(parts, "")
	parts = splitKeep(t, tokenDelimiter, parts[:0])
	for i, p := range parts {
		if len(p) == 1 && tokenDelimiter(p[0]) {
			continue
		}
		if constantVariable(p) || allDigits(p) || gluedVariable(p) {
			parts[i] = Wildcard
		}
	}
	t = strings.Join(parts, "")
	for {
		n := strings.ReplaceAll(t, Wildcard+"."+Wildcard, Wildcard)
		if n == t {
			break
		}
		t = n
	}
	for {
		n := strings.ReplaceAll(t, Wildcard+Wildcard, Wildcard)
		if n == t {
			break
		}
		t = n
	}
	return t
}
