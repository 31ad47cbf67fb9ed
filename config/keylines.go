package config

import (
	"sort"
	"strconv"
	"strings"
)

// keyNode is one key defined in a TOML document: the 1-based line that
// defines it, its keys when it is a table and its elements when it is an
// array (inline elements, or the tables of a [[table_array]]).
type keyNode struct {
	line  int
	keys  map[string]*keyNode
	elems []*keyNode
}

// key returns the child named seg, or nil (n may be nil).
func (n *keyNode) key(seg string) *keyNode {
	if n == nil {
		return nil
	}
	return n.keys[seg]
}

// elem returns element i, or nil (n may be nil).
func (n *keyNode) elem(i int) *keyNode {
	if n == nil || i >= len(n.elems) {
		return nil
	}
	return n.elems[i]
}

// lineOr returns n's line, or def when n is nil.
func (n *keyNode) lineOr(def int) int {
	if n == nil {
		return def
	}
	return n.line
}

// child returns the child named seg, recording it at line when new: the
// first definition wins.
func (n *keyNode) child(seg string, line int) *keyNode {
	if c, ok := n.keys[seg]; ok {
		return c
	}
	if n.keys == nil {
		n.keys = map[string]*keyNode{}
	}
	c := &keyNode{line: line}
	n.keys[seg] = c
	return c
}

// add appends an element defined at line.
func (n *keyNode) add(line int) *keyNode {
	c := &keyNode{line: line}
	n.elems = append(n.elems, c)
	return c
}

// keyLines returns the tree of every key defined in a TOML document with
// the line that defines it. The toml library does not expose key
// positions, so this is a small scanner over a document the library has
// already parsed successfully; on anything it does not understand it stops
// recording, and callers fall back to a parent's line. It is linear in the
// document: a key is a node holding its segment once, never a path string
// rebuilt for each element below it.
func keyLines(doc string) *keyNode {
	s := &lineScanner{doc: doc, root: &keyNode{}}
	for i := 0; i < len(doc); i++ {
		if doc[i] == '\n' {
			s.newlines = append(s.newlines, i)
		}
	}
	s.document()
	return s.root
}

type lineScanner struct {
	doc      string
	i        int
	newlines []int // offsets of '\n'
	root     *keyNode
}

func (s *lineScanner) lineAt(off int) int {
	return sort.SearchInts(s.newlines, off) + 1
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
	table := s.root
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
		key := s.dotted(table, segs, start)
		s.skipBlank()
		if !s.value(key) {
			return
		}
		s.skipLine()
	}
}

// header resolves a [table] or [[array]] header to its node, recording it.
// Segments that name an existing table array refer to its last element.
func (s *lineScanner) header(segs []string, array bool, off int) *keyNode {
	line, n := s.lineAt(off), s.root
	for i, seg := range segs {
		n = n.child(seg, line)
		switch {
		case i == len(segs)-1 && array:
			n = n.add(line)
		case len(n.elems) > 0:
			n = n.elems[len(n.elems)-1]
		}
	}
	return n
}

// dotted records a (possibly dotted) key under table and returns its node.
func (s *lineScanner) dotted(table *keyNode, segs []string, off int) *keyNode {
	line, n := s.lineAt(off), table
	for _, seg := range segs {
		n = n.child(seg, line)
	}
	return n
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

// value skips one value, recording array elements and inline-table keys
// under n.
func (s *lineScanner) value(n *keyNode) bool {
	switch s.peek() {
	case '"', '\'':
		return s.skipString()
	case '[':
		s.i++
		for {
			s.skipSpace()
			if s.peek() == ']' {
				s.i++
				return true
			}
			if !s.value(n.add(s.lineAt(s.i))) {
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
			if !s.value(s.dotted(n, segs, start)) {
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
	end, ok := stringEnd(s.doc, s.i)
	s.i = end
	return ok
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
