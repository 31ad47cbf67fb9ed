package delta

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/google/uuid"
)

// FS is the storage a table lives on. Names are slash-separated and relative
// to the table root. The writer needs only these operations; OSFS implements
// them on a local directory, and tests wrap it to inject failures.
type FS interface {
	// MkdirAll creates the directory name and any missing parents.
	MkdirAll(name string) error
	// Create creates (or truncates) name for writing.
	Create(name string) (File, error)
	// Open opens name for reading.
	Open(name string) (ReadFile, error)
	// ReadFile returns the whole content of name.
	ReadFile(name string) ([]byte, error)
	// ReadDir returns the names of the entries of directory name.
	ReadDir(name string) ([]string, error)
	// PutIfAbsent creates name holding data, atomically: it fails with an
	// error matching fs.ErrExist when name already exists, and never leaves
	// a partial file at name.
	PutIfAbsent(name string, data []byte) error
	// Replace atomically sets name to hold data, replacing any old content.
	Replace(name string, data []byte) error
	// Remove deletes name.
	Remove(name string) error
}

// File is a file being written.
type File interface {
	io.Writer
	Sync() error
	Close() error
}

// ReadFile is a file being read.
type ReadFile interface {
	io.ReaderAt
	io.Seeker
	io.Closer
}

// OSFS is the local directory Root as an FS.
type OSFS struct{ Root string }

func (o OSFS) path(name string) string { return filepath.Join(o.Root, filepath.FromSlash(name)) }

// MkdirAll implements FS.
func (o OSFS) MkdirAll(name string) error { return os.MkdirAll(o.path(name), 0o755) }

// Create implements FS.
func (o OSFS) Create(name string) (File, error) { return os.Create(o.path(name)) }

// Open implements FS.
func (o OSFS) Open(name string) (ReadFile, error) { return os.Open(o.path(name)) }

// ReadFile implements FS.
func (o OSFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(o.path(name)) }

// Remove implements FS.
func (o OSFS) Remove(name string) error { return os.Remove(o.path(name)) }

// ReadDir implements FS.
func (o OSFS) ReadDir(name string) ([]string, error) {
	entries, err := os.ReadDir(o.path(name))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// PutIfAbsent implements FS: the data goes to a synced temporary file in the
// same directory, which is then hard-linked to name. link(2) fails when name
// exists, so two writers can never both create it, and a crash leaves either
// no file or the complete one (plus a stray temporary file, which readers
// ignore). Once the link exists the call succeeds: syncing the directory is
// best effort, so a success is never reported as a failure.
func (o OSFS) PutIfAbsent(name string, data []byte) error {
	tmp, err := o.writeTemp(name, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, o.path(name)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", name, fs.ErrExist)
		}
		return err
	}
	_ = o.syncDir(path.Dir(name))
	return nil
}

// Replace implements FS with a synced temporary file renamed over name
// (directory sync best effort, as in PutIfAbsent).
func (o OSFS) Replace(name string, data []byte) error {
	tmp, err := o.writeTemp(name, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, o.path(name)); err != nil {
		os.Remove(tmp)
		return err
	}
	_ = o.syncDir(path.Dir(name))
	return nil
}

// writeTemp writes data to a new synced file beside name and returns its
// path. Its name starts with "_" and ends in ".tmp", so no Delta reader
// takes it for a log entry or a data file.
func (o OSFS) writeTemp(name string, data []byte) (string, error) {
	tmp := o.path(path.Join(path.Dir(name), "_"+path.Base(name)+"."+uuid.NewString()+".tmp"))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// syncDir makes a new directory entry durable.
func (o OSFS) syncDir(dir string) error {
	d, err := os.Open(o.path(dir))
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
