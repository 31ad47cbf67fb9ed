package cursorfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	got, err := Load(path)
	if err != nil || len(got) != 0 {
		t.Fatalf("missing file: %v %v", got, err)
	}
	want := map[string]uint64{"https://a.example/": 12345, "https://b.example/log/": 0}
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	got, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["https://a.example/"] != 12345 {
		t.Fatalf("got %v", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestCorruptFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	os.WriteFile(path, []byte(`{"version":1,"logs":{"x":`), 0o644)
	if _, err := Load(path); err == nil {
		t.Fatal("truncated file must be an error")
	}
	os.WriteFile(path, []byte(`{"version":9,"logs":{}}`), 0o644)
	if _, err := Load(path); err == nil {
		t.Fatal("unknown version must be an error")
	}
}

func TestSaveIntoMissingDirFails(t *testing.T) {
	if err := Save(filepath.Join(t.TempDir(), "no", "such", "state.json"), map[string]uint64{}); err == nil {
		t.Fatal("expected an error")
	}
}

// A state file is read through a size limit: a link to /dev/zero or a huge
// file is an error, not an endless read.
func TestOversizedFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.json")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, maxSize+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	for _, path := range []string{zero, big} {
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), "larger than") || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v", path, err)
		}
	}
}
