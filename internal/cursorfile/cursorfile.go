// Package cursorfile reads and atomically writes the node's saved cursors:
// for each CT log (keyed by its URL) the next index to fetch.
package cursorfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// version is the file format version.
const version = 1

// maxSize bounds the file read: 16 MiB holds the cursors of some 100,000
// logs, while a path pointing at a device or a wrong file is refused.
const maxSize = 16 << 20

type file struct {
	Version int               `json:"version"`
	Logs    map[string]uint64 `json:"logs"`
}

// Load reads the cursors saved at path. A missing file is not an error: it
// yields an empty map (a first start). A file larger than 16 MiB is one.
func Load(path string) (map[string]uint64, error) {
	data, err := read(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]uint64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cursor file: %w", err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("cursor file %s: larger than %d MiB: not a cursor file", path, maxSize>>20)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("cursor file %s: %w", path, err)
	}
	if f.Version != version {
		return nil, fmt.Errorf("cursor file %s: unsupported version %d", path, f.Version)
	}
	if f.Logs == nil {
		f.Logs = map[string]uint64{}
	}
	return f.Logs, nil
}

// read reads path up to one byte more than maxSize.
func read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxSize+1))
}

// Save writes cursors to path atomically: a temporary file in the same
// directory is written and fsynced, renamed over path, and the directory is
// fsynced, so a crash leaves either the old or the new file, never a torn one.
func Save(path string, cursors map[string]uint64) error {
	data, err := json.MarshalIndent(file{Version: version, Logs: cursors}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cursor file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("cursor file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cursor file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cursor file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cursor file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
