package layers_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// testSupport are the packages whose whole purpose is to serve tests (fake
// CT logs, test data, an independent Delta reader, the wait helper): their
// exported names are for tests by design.
var testSupport = []string{"internal/await", "internal/fakelog", "internal/fixtures", "internal/delta/deltatest", "internal/clusterlink/clustertest"}

// interfaceMethods are method names that other packages call through an
// interface, so no non-test file names them.
var interfaceMethods = map[string]bool{"Receive": true, "Unwrap": true, "UnmarshalJSON": true, "Printf": true}

// exportedOnlyForTests returns the exported names declared in non-test
// files that no non-test file of the repository uses. It matches names, not
// objects, so a name used elsewhere for something else hides a finding; it
// never reports a name that is in use.
func exportedOnlyForTests(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	type decl struct{ name, where string }
	var decls []decl
	declared := map[token.Pos]bool{}
	var files []*ast.File
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != "." && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files = append(files, f)
		dir := filepath.ToSlash(filepath.Dir(path))
		for _, s := range testSupport {
			if dir == s {
				return nil
			}
		}
		add := func(id *ast.Ident) {
			if id.IsExported() && !interfaceMethods[id.Name] {
				decls = append(decls, decl{id.Name, fset.Position(id.Pos()).String()})
				declared[id.Pos()] = true
			}
		}
		for _, dd := range f.Decls {
			switch d := dd.(type) {
			case *ast.FuncDecl:
				add(d.Name)
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch s := sp.(type) {
					case *ast.TypeSpec:
						add(s.Name)
						if st, ok := s.Type.(*ast.StructType); ok {
							for _, field := range st.Fields.List {
								for _, n := range field.Names {
									add(n)
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							add(n)
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && !declared[id.Pos()] {
				used[id.Name] = true
			}
			return true
		})
	}
	var out []string
	for _, d := range decls {
		if !used[d.name] {
			out = append(out, d.where+": "+d.name)
		}
	}
	sort.Strings(out)
	return out
}

// TestNoExportOnlyForTests: no production package exports a name that only
// tests use (test hooks belong in export_test.go files).
func TestNoExportOnlyForTests(t *testing.T) {
	for _, f := range exportedOnlyForTests(t) {
		t.Errorf("%s is exported but only tests use it (or nothing does)", f)
	}
}
