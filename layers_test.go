// Package layers_test checks the repository's layer order: an import only
// ever points from a folder to one at its own layer or below.
package layers_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/certstream/certstream"

// layers lists the top folders from the top layer down; README's
// Architecture section states the same order.
var layers = [][]string{
	{"cmd", "bench"}, // the binaries and the load harness
	{"node"},         // the composition root
	{"web"},          // the HTTP edge
	{"actors"},       // one package per actor kind
	{"messages"},     // what actors send each other
	{"internal", "config"},
}

// layerOf returns the layer index of a package path relative to the module
// root (0 is the top), or -1 for a folder outside the stated order.
func layerOf(rel string) int {
	top, _, _ := strings.Cut(rel, "/")
	for i, folders := range layers {
		for _, f := range folders {
			if f == top {
				return i
			}
		}
	}
	return -1
}

// violations returns, sorted, each import from a package to one in a higher
// layer, and each package outside the stated folders. imports maps a package
// (relative to the module root) to the module packages it imports.
func violations(imports map[string][]string) []string {
	var out []string
	for pkg, deps := range imports {
		from := layerOf(pkg)
		if from < 0 {
			out = append(out, pkg+": folder not in the layer order")
			continue
		}
		for _, dep := range deps {
			if to := layerOf(dep); to < from {
				out = append(out, pkg+" imports "+dep+", a layer above it")
			}
		}
	}
	sort.Strings(out)
	return out
}

// moduleImports parses every Go file of the repository, tests included, and
// returns the module packages each folder imports.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	imports := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != "." && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if dir == "." {
			return nil // this test
		}
		if _, ok := imports[dir]; !ok {
			imports[dir] = nil
		}
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			if rel, ok := strings.CutPrefix(p, module+"/"); ok {
				imports[dir] = append(imports[dir], rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return imports
}

func TestImportsPointDown(t *testing.T) {
	if _, err := os.Stat("go.mod"); err != nil {
		t.Fatal("run from the module root:", err)
	}
	imports := moduleImports(t)
	if len(imports) < 20 {
		t.Fatalf("found only %d packages; the walk is broken", len(imports))
	}
	for _, v := range violations(imports) {
		t.Error(v)
	}
}

func TestViolationsAreFound(t *testing.T) {
	got := violations(map[string][]string{
		"internal/follow": {"internal/wire", "actors/fetcher"},
		"messages":        {"internal/mailbox"},
		"web/server":      {"actors/conn", "node"},
		"node":            {"web/api", "actors/router", "config"},
		"misc/tool":       nil,
	})
	want := []string{
		"internal/follow imports actors/fetcher, a layer above it",
		"misc/tool: folder not in the layer order",
		"web/server imports node, a layer above it",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
