package config

import (
	"sort"
	"strconv"
	"strings"
)

// keyLines maps every key path defined in a TOML document to the 1-based line
// that defines it. Paths use the same spelling as the decoder's problems:
// "section.key", "array[2]" for elements and "table_array[0].key" for
// [[table_array]] entries and arrays of inline tables. The toml library does
// not expose key positions, so this is a small scanner over a document the
// library has already parsed successfully; on anything it does not
// understand it stops recording, and callers fall back to a parent's line.
func keyLines(doc string) map[string]int {
	s := &lineScanner{doc: doc, out: map[string]int{}, aot: map[string]int{}}
	for i := 0; i < len(doc); i++ {
		if doc[i] == '\n' {
			s.newlines = append(s.newlines, i)
		}
	}
	s.document()
	return s.out
}

type lineScanner struct {
	doc      string
	i        int
	newlines []int          // offsets of '\n'
	out      map[string]int // path → line
	aot      map[string]int // [[array]] path → elements seen
}

func (s *lineScanner) lineAt(off int) int {
	return sort.SearchInts(s.newlines, off) + 1
}

func (s *lineScanner) record(path string, off int) {
	if _, ok := s.out[path]; !ok {
		s.out[path] = s.lineAt(off)
	}
}

func (s *lineScanner) peek() byte {
	if s.i < len(s.doc) {
		return s.doc[s.i]
	}
	return 0
}

func (s *lineScanner) hasPrefix(p string) bool { return strings.HasPrefix(s.doc[s.i:], p) }

func (s *lineScanner) skipBlank() {
	for s.i < len(s.doc) && (s.doc[s.i] == ' ' || s.doc[s.i] == '\t') {
		s.i++
	}
}

// skipSpace skips whitespace, newlines and comments.
func (s *lineScanner) skipSpace() {
	for s.i < len(s.doc) {
		switch s.doc[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '#':
			s.skipLine()
		default:
			return
		}
	}
}

func (s *lineScanner) skipLine() {
	if j := strings.IndexByte(s.doc[s.i:], '\n'); j >= 0 {
		s.i += j + 1
	} else {
		s.i = len(s.doc)
	}
}

func (s *lineScanner) document() {
	table := ""
	for {
		s.skipSpace()
		if s.i >= len(s.doc) {
			return
		}
		start := s.i
		if s.peek() == '[' {
			array := s.hasPrefix("[[")
			s.i++
			if array {
				s.i++
			}
			segs, ok := s.key()
			if !ok {
				return
			}
			table = s.header(segs, array, start)
			s.skipLine()
			continue
		}
		segs, ok := s.key()
		if !ok || s.peek() != '=' {
			return
		}
		s.i++
		path := s.dotted(table, segs, start)
		s.skipBlank()
		if !s.value(path) {
			return
		}
		s.skipLine()
	}
}

// header resolves a [table] or [[array]] header to a path, recording it.
// Segments that name an existing table array refer to its last element.
func (s *lineScanner) header(segs []string, array bool, off int) string {
	path := ""
	for n, seg := range segs {
		path = join(path, seg)
		s.record(path, off)
		last := n == len(segs)-1
		if last && array {
			k := s.aot[path]
			s.aot[path] = k + 1
			path = index(path, k)
			s.record(path, off)
		} else if k := s.aot[path]; k > 0 {
			path = index(path, k-1)
		}
	}
	return path
}

// dotted records a (possibly dotted) key under table and returns its path.
func (s *lineScanner) dotted(table string, segs []string, off int) string {
	path := table
	for _, seg := range segs {
		path = join(path, seg)
		s.record(path, off)
	}
	return path
}

// key reads a bare, quoted or dotted key, leaving the scanner after trailing blanks.
func (s *lineScanner) key() ([]string, bool) {
	var segs []string
	for {
		s.skipBlank()
		var seg string
		switch c := s.peek(); {
		case c == '"' || c == '\'':
			start := s.i
			if !s.skipString() {
				return nil, false
			}
			raw := s.doc[start:s.i]
			seg = raw[1 : len(raw)-1]
			if c == '"' {
				if u, err := strconv.Unquote(raw); err == nil {
					seg = u
				}
			}
		case isBare(c):
			start := s.i
			for s.i < len(s.doc) && isBare(s.doc[s.i]) {
				s.i++
			}
			seg = s.doc[start:s.i]
		default:
			return nil, false
		}
		segs = append(segs, seg)
		s.skipBlank()
		if s.peek() != '.' {
			return segs, true
		}
		s.i++
	}
}

func isBare(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// value skips one value, recording array elements and inline-table keys.
func (s *lineScanner) value(path string) bool {
	switch s.peek() {
	case '"', '\'':
		return s.skipString()
	case '[':
		s.i++
		for n := 0; ; n++ {
			s.skipSpace()
			if s.peek() == ']' {
				s.i++
				return true
			}
			elem := index(path, n)
			s.record(elem, s.i)
			if !s.value(elem) {
				return false
			}
			s.skipSpace()
			switch s.peek() {
			case ',':
				s.i++
			case ']':
			default:
				return false
			}
		}
	case '{':
		s.i++
		for {
			s.skipSpace()
			switch s.peek() {
			case '}':
				s.i++
				return true
			case ',':
				s.i++
				continue
			}
			start := s.i
			segs, ok := s.key()
			if !ok || s.peek() != '=' {
				return false
			}
			s.i++
			s.skipBlank()
			if !s.value(s.dotted(path, segs, start)) {
				return false
			}
		}
	default: // number, bool, date: up to a delimiter
		start := s.i
		for s.i < len(s.doc) && !strings.ContainsRune(",]}#\r\n", rune(s.doc[s.i])) {
			s.i++
		}
		return s.i > start
	}
}

// skipString skips a basic, literal or multi-line string starting at s.i.
func (s *lineScanner) skipString() bool {
	q := s.doc[s.i]
	if s.hasPrefix(strings.Repeat(string(q), 3)) {
		delim := strings.Repeat(string(q), 3)
		s.i += 3
		for s.i < len(s.doc) {
			if q == '"' && s.doc[s.i] == '\\' {
				s.i += 2
				continue
			}
			if s.hasPrefix(delim) {
				s.i += 3
				for n := 0; n < 2 && s.peek() == q; n++ { // up to two quotes may end the content
					s.i++
				}
				return true
			}
			s.i++
		}
		return false
	}
	s.i++
	for s.i < len(s.doc) && s.doc[s.i] != '\n' {
		switch s.doc[s.i] {
		case '\\':
			if q == '"' {
				s.i++
			}
		case q:
			s.i++
			return true
		}
		s.i++
	}
	return false
}

// join appends a key segment to a path.
func join(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + "." + seg
}

// index appends an element index to a path.
func index(path string, n int) string { return path + "[" + strconv.Itoa(n) + "]" }

// parent returns the path one level up ("a.b[2]" → "a.b" → "a" → "").
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if j := strings.LastIndexByte(path, '['); j >= 0 {
			return path[:j]
		}
	}
	if j := strings.LastIndexByte(path, '.'); j >= 0 {
		return path[:j]
	}
	return ""
}
