package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	File string // config file path, "env NAME" for an environment variable, or "" for a default
	Line int    // 1-based line in File, 0 when unknown
	Col  int    // 1-based column, set for TOML syntax errors only
	Key  string // dotted key such as "ct_log.custom_logs[0].kind"; may be empty
	Msg  string
}

// String formats the problem as "<file>:<line>[:<col>]: <key>: <msg>",
// leaving out the parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Col > 0 {
				fmt.Fprintf(&b, ":%d", p.Col)
			}
		}
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is the error returned by [Load]: every problem found, ordered by
// file position, then environment variables, then the rest.
type Problems struct {
	List []Problem

	seen map[[2]string]bool // key and file of every problem with a key in List
}

// Error lists every problem, one per line.
func (ps *Problems) Error() string {
	lines := make([]string, len(ps.List))
	for i, p := range ps.List {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// add records a problem unless one is already recorded for the same key and
// source, so a value that failed to decode is not reported again by validation.
func (ps *Problems) add(p Problem) {
	if p.Key != "" {
		id := [2]string{p.Key, p.File}
		if ps.seen[id] {
			return
		}
		if ps.seen == nil {
			ps.seen = map[[2]string]bool{}
		}
		ps.seen[id] = true
	}
	ps.List = append(ps.List, p)
}

// sort orders problems: file positions first (by file, line), then entries
// without a line (environment), then those without a source.
func (ps *Problems) sort() {
	rank := func(p Problem) int {
		switch {
		case p.Line > 0:
			return 0
		case p.File != "":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(ps.List, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// errOrNil returns ps as an error when it holds anything, nil otherwise.
func (ps *Problems) errOrNil() error {
	if len(ps.List) == 0 {
		return nil
	}
	ps.sort()
	return ps
}
