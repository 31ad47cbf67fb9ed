package archive

import (
	"fmt"
	"maps"
	"testing"

	"github.com/certstream/certstream/internal/wire"
)

// rowsOf returns one update per "url index" pair; an empty url means no
// source.
func rowsOf(pairs ...any) []*wire.Update {
	var out []*wire.Update
	for i := 0; i < len(pairs); i += 2 {
		u := &wire.Update{}
		u.Index = uint64(pairs[i+1].(int))
		if url := pairs[i].(string); url != "" {
			u.Source = &wire.Source{URL: url}
		}
		out = append(out, u)
	}
	return out
}

func describe(rows []*wire.Update) string {
	s := ""
	for _, u := range rows {
		url := ""
		if u.Source != nil {
			url = u.Source.URL
		}
		s += fmt.Sprintf("%s%d ", url, u.Index)
	}
	return s
}

func TestUnarchived(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rows  []*wire.Update
		marks map[string]int64
		want  string
		known int
	}{
		{"no marks", rowsOf("a", 1, "a", 2), nil, "a1 a2 ", 0},
		{"all new", rowsOf("a", 5, "a", 6), map[string]int64{"a": 5}, "a5 a6 ", 0},
		{"all known", rowsOf("a", 3, "a", 4), map[string]int64{"a": 5}, "", 2},
		{"known prefix", rowsOf("a", 3, "a", 4, "a", 5, "a", 6), map[string]int64{"a": 5}, "a5 a6 ", 2},
		{"known in the middle", rowsOf("b", 0, "a", 4, "b", 1), map[string]int64{"a": 5}, "b0 b1 ", 1},
		{"another log's mark", rowsOf("b", 3, "b", 4), map[string]int64{"a": 5}, "b3 b4 ", 0},
		{"no source", rowsOf("", 1, "a", 1), map[string]int64{"a": 5, "": 5}, "1 ", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := describe(tc.rows)
			got, known := unarchived(tc.rows, tc.marks)
			if describe(got) != tc.want || known != tc.known {
				t.Fatalf("unarchived = %q, %d left out; want %q, %d", describe(got), known, tc.want, tc.known)
			}
			if describe(tc.rows) != before {
				t.Fatalf("rows modified: %q, was %q", describe(tc.rows), before)
			}
		})
	}
}

func TestMarks(t *testing.T) {
	got := marks(rowsOf("a", 7, "b", 2, "a", 3, "", 99, "b", 9))
	if want := map[string]int64{"a": 8, "b": 10}; !maps.Equal(got, want) {
		t.Fatalf("marks = %v, want %v", got, want)
	}
}
