package config

import "strings"

// tooDeep finds the first statement of a TOML document nested more than
// limit levels deep, counting brackets, braces and dotted-key segments
// outside strings and comments. It returns the offset where that statement
// starts, or -1. It reads the raw text in one pass, so that a hostile
// document is refused before the toml library, whose time and memory grow
// with the square of the nesting, decodes it; a malformed document passes
// and the library reports its syntax error.
func tooDeep(doc string, limit int) int {
	depth, dots, stmt, lineStart := 0, 0, 0, true
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if depth == 0 && lineStart && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '#' {
			stmt, lineStart = i, false
		}
		switch {
		case c == '#':
			if j := strings.IndexByte(doc[i:], '\n'); j >= 0 {
				i += j - 1 // the newline is seen next
			} else {
				i = len(doc)
			}
		case c == '"' || c == '\'':
			end, _ := stringEnd(doc, i)
			i = end - 1 // a quoted key segment keeps the dotted run
		case c == '.':
			dots++
		case c == '[' || c == '{':
			depth, dots = depth+1, 0
		case c == ']' || c == '}':
			depth, dots = max(depth-1, 0), 0
		case c == '\n':
			dots, lineStart = 0, true
		case c == ' ' || c == '\t' || isBare(c):
		default:
			dots = 0
		}
		if depth+dots > limit {
			return stmt
		}
	}
	return -1
}

// stringEnd returns the offset just after the string starting at doc[i]
// (basic, literal or multi-line) and true, or len(doc) and false when the
// string is not terminated.
func stringEnd(doc string, i int) (int, bool) {
	q := doc[i]
	if delim := strings.Repeat(string(q), 3); strings.HasPrefix(doc[i:], delim) {
		for j := i + 3; j < len(doc); j++ {
			switch {
			case q == '"' && doc[j] == '\\':
				j++
			case strings.HasPrefix(doc[j:], delim):
				j += 3
				for n := 0; n < 2 && j < len(doc) && doc[j] == q; n++ { // up to two quotes may end the content
					j++
				}
				return j, true
			}
		}
		return len(doc), false
	}
	for j := i + 1; j < len(doc) && doc[j] != '\n'; j++ {
		switch doc[j] {
		case '\\':
			if q == '"' {
				j++
			}
		case q:
			return j + 1, true
		}
	}
	return len(doc), false
}
