package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestKeyLines(t *testing.T) {
	doc := `# comment with [brackets] and key = value
top = 1
[a]
"quoted.key" = 'lit'
b.c = """
not = a key
[not.a.table]
"""
arr = [ # comment
  1,
  [2, 3],
  { x = 1, y = { z = 2 } },
]
lit = '''
x = ''''
after = 2

[[t]]
n = 1
[t.sub]
m = 2
[[t]]
n = 3
[[t.inner]]
q = "a # not a comment"
r = 1979-05-27 07:32:00Z
`
	if _, err := toml.Decode(doc, new(map[string]any)); err != nil {
		t.Fatalf("test document is not valid TOML: %v", err)
	}
	want := map[string]int{
		"top": 2, "a": 3, "a.quoted.key": 4, "a.b": 5, "a.b.c": 5,
		"a.arr": 9, "a.arr[0]": 10, "a.arr[1]": 11, "a.arr[1][0]": 11, "a.arr[1][1]": 11,
		"a.arr[2]": 12, "a.arr[2].x": 12, "a.arr[2].y": 12, "a.arr[2].y.z": 12,
		"a.lit": 14, "a.after": 16,
		"t": 18, "t[0]": 18, "t[0].n": 19, "t[0].sub": 20, "t[0].sub.m": 21,
		"t[1]": 22, "t[1].n": 23, "t[1].inner": 24, "t[1].inner[0]": 24,
		"t[1].inner[0].q": 25, "t[1].inner[0].r": 26,
	}
	if got := flatten(keyLines(doc)); !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: line %d, want %d", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected %s at line %d", k, v)
			}
		}
	}
}

// keyLines must return (no panic, no endless loop) on any input, and every
// line it reports must exist.
func FuzzKeyLines(f *testing.F) {
	for _, doc := range []string{"", "[", "[[a", "a", "a =", "a = [1,", "a = {", `a = "x`, `a = """x`,
		"a = {b = [", "=1", "a.=1", "[a]\nb = [\n{c=1},\n]\n"} {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		lines := strings.Count(doc, "\n") + 1
		for k, n := range flatten(keyLines(doc)) {
			if n < 1 || n > lines {
				t.Errorf("%s at line %d of %d", k, n, lines)
			}
		}
	})
}

// flatten maps the path of every key under root to its line, spelled like
// the decoder's problems ("a.b[2].c").
func flatten(root *keyNode) map[string]int {
	out := map[string]int{}
	var walk func(path string, n *keyNode)
	walk = func(path string, n *keyNode) {
		if path != "" {
			out[path] = n.line
		}
		for k, c := range n.keys {
			walk(join(path, k), c)
		}
		for i, c := range n.elems {
			walk(index(path, i), c)
		}
	}
	walk("", root)
	return out
}

func TestParent(t *testing.T) {
	for in, want := range map[string]string{
		"a.b[2].c": "a.b[2]", "a.b[2]": "a.b", "a.b": "a", "a": "",
	} {
		if got := parent(in); got != want {
			t.Errorf("parent(%q) = %q, want %q", in, got, want)
		}
	}
}
