// Package testdata locates the shared CT test data (../shared/testdata beside
// the repository) for tests.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of the shared test data directory, found by
// walking up from the working directory to the module root (the directory
// holding go.mod) and then to ../shared/testdata. It fails the test when the
// directory is missing.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testdata: no go.mod above the working directory")
		}
		dir = parent
	}
	td := filepath.Join(filepath.Dir(dir), "shared", "testdata")
	if _, err := os.Stat(td); err != nil {
		t.Fatalf("testdata: %v (the shared test data must sit beside the repository)", err)
	}
	return td
}

// Path returns the absolute path of a file under the shared test data directory.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}
