// Package delta is an append-only Delta Lake table writer: Arrow record
// batches become Parquet data files (github.com/apache/arrow-go/v18 pqarrow),
// each batch is committed as the next _delta_log/<version>.json created with
// put-if-absent, and a single-file Parquet checkpoint is written every N
// commits. A txn action per commit (appId, batch sequence) makes a retried
// batch commit at most once, and racing writers each win distinct versions;
// more txn actions ("marks") record how far the writer's input is archived,
// so that input replayed after a crash can be recognized.
//
// It implements the part of the Delta protocol an appender needs (reader
// version 1, writer version 2, delta.appendOnly): it refuses tables that
// need more, and tables whose schema differs from the one it writes.
package delta

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// Protocol versions this writer implements and sets on new tables.
const (
	ReaderVersion = 1
	WriterVersion = 2
)

// Options configures a Writer.
type Options struct {
	// Path is the table root on the local disk; it names the table in
	// errors and is the root of the default FS.
	Path string
	// FS is the table's storage (default OSFS{Root: Path}).
	FS FS
	// AppID identifies this writer in txn actions: batches are deduplicated
	// per AppID, so two concurrent writers must use different ones.
	AppID string
	// Schema is the table schema, partition columns included, in column
	// order. Every column type must have a Delta mapping (see SchemaString).
	Schema *arrow.Schema
	// PartitionColumns are string columns of Schema whose values name the
	// data file directories instead of being stored in the files.
	PartitionColumns []string
	// Compression is the Parquet codec: "zstd" (the default), "snappy",
	// "gzip" or "none".
	Compression string
	// RowGroupRows caps the rows of one Parquet row group (default 16384).
	RowGroupRows int64
	// PlainColumns are columns written without dictionary encoding: those
	// whose values are nearly all distinct (hashes, raw certificates).
	PlainColumns []string
	// CheckpointInterval writes a checkpoint after every version that is a
	// multiple of it (default 10; negative: never).
	CheckpointInterval int
	// EngineInfo is written in commitInfo (default "certstream-delta").
	EngineInfo string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Writer appends to one Delta table. It is not safe for concurrent use; two
// Writers (in one process or several) may append to the same table at once.
type Writer struct {
	opts       Options
	fs         FS
	codec      compress.Compression
	schemaStr  string
	dataSchema *arrow.Schema

	version  int64 // latest version known; -1: the table does not exist yet
	protocol *protocolAction
	meta     *metadataAction
	txns     map[string]txnAction
	adds     map[string]*addAction // live data files by path
}

// maxConflicts bounds the versions one Commit tries before giving up.
const maxConflicts = 1000

// Open opens the table at opts.Path, creating its directory if needed, and
// reads its log. A table that does not exist yet is created by the first
// Commit. Opening fails on an unreadable log, a protocol this writer does
// not implement, or a schema or partitioning different from opts.
func Open(opts Options) (*Writer, error) {
	if opts.Schema == nil {
		return nil, errors.New("delta: Options.Schema is required")
	}
	if opts.AppID == "" {
		return nil, errors.New("delta: Options.AppID is required")
	}
	for _, p := range opts.PartitionColumns {
		i := opts.Schema.FieldIndices(p)
		if len(i) != 1 || opts.Schema.Field(i[0]).Type.ID() != arrow.STRING {
			return nil, fmt.Errorf("delta: partition column %q must be one string column of the schema", p)
		}
	}
	if opts.FS == nil {
		opts.FS = OSFS{Root: opts.Path}
	}
	codec, err := parseCompression(opts.Compression)
	if err != nil {
		return nil, err
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = 16384
	}
	if opts.CheckpointInterval == 0 {
		opts.CheckpointInterval = 10
	}
	if opts.EngineInfo == "" {
		opts.EngineInfo = "certstream-delta"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	schemaStr, err := SchemaString(opts.Schema)
	if err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	w := &Writer{opts: opts, fs: opts.FS, codec: codec, schemaStr: schemaStr,
		dataSchema: dataSchema(opts.Schema, opts.PartitionColumns), version: -1}
	if err := w.fs.MkdirAll(logDir); err != nil {
		return nil, fmt.Errorf("delta: table %s: %w", opts.Path, err)
	}
	if err := w.load(); err != nil {
		return nil, fmt.Errorf("delta: table %s: %w", opts.Path, err)
	}
	return w, nil
}

// parseCompression maps a codec name to the Parquet codec.
func parseCompression(name string) (compress.Compression, error) {
	switch name {
	case "", "zstd":
		return compress.Codecs.Zstd, nil
	case "snappy":
		return compress.Codecs.Snappy, nil
	case "gzip":
		return compress.Codecs.Gzip, nil
	case "none":
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("delta: compression %q: must be zstd, snappy, gzip or none", name)
}

// Version returns the latest table version the writer knows of (-1 before
// the table's first commit).
func (w *Writer) Version() int64 { return w.version }

// LastTxn returns the last batch sequence committed under the writer's
// AppID, or -1 if none.
func (w *Writer) LastTxn() int64 {
	if t, ok := w.txns[w.opts.AppID]; ok {
		return t.Version
	}
	return -1
}

// markSep separates AppID from a mark's key in the mark's txn appId.
const markSep = "#"

// markApp is the txn appId of mark key.
func (w *Writer) markApp(key string) string { return w.opts.AppID + markSep + key }

// Marks returns the latest committed value of every mark (see Commit)
// under the writer's AppID, by key: what this writer and earlier ones with
// the same AppID archived.
func (w *Writer) Marks() map[string]int64 {
	prefix := w.markApp("")
	out := make(map[string]int64)
	for app, t := range w.txns {
		if key, ok := strings.CutPrefix(app, prefix); ok {
			out[key] = t.Version
		}
	}
	return out
}

// Files returns the number of live data files in the table.
func (w *Writer) Files() int { return len(w.adds) }

// reset forgets the table state before a full reload.
func (w *Writer) reset() {
	w.version, w.protocol, w.meta = -1, nil, nil
	w.txns = make(map[string]txnAction)
	w.adds = make(map[string]*addAction)
}

// load reads the table state: the newest readable checkpoint, then every
// later commit; without a checkpoint, every commit from version 0.
func (w *Writer) load() error {
	w.reset()
	l, err := listLog(w.fs)
	if err != nil {
		return fmt.Errorf("listing %s: %w", logDir, err)
	}
	if len(l.commits) == 0 && len(l.checkpoints) == 0 {
		return nil
	}
	last := int64(-1)
	if len(l.commits) > 0 {
		last = l.commits[len(l.commits)-1]
	}
	from := int64(0)
	var cpErr error
	for i := len(l.checkpoints) - 1; i >= 0; i-- {
		cp := l.checkpoints[i]
		if cpErr = w.readCheckpoint(cp); cpErr == nil {
			w.version, from = cp, cp+1
			break
		}
		w.reset()
	}
	if w.version < 0 && cpErr != nil && !slices.Contains(l.commits, 0) {
		return fmt.Errorf("no readable checkpoint (%v) and no %s", cpErr, commitName(0))
	}
	for v := from; v <= last; v++ {
		if !slices.Contains(l.commits, v) {
			return fmt.Errorf("%s is missing (the log has versions up to %d)", commitName(v), last)
		}
		if err := w.readCommit(v); err != nil {
			return err
		}
	}
	return w.check()
}

// refresh applies the commits made since the writer's version, by anyone.
func (w *Writer) refresh() error {
	for {
		err := w.readCommit(w.version + 1)
		if errors.Is(err, errNoCommit) {
			return w.check()
		}
		if err != nil {
			return err
		}
	}
}

var errNoCommit = errors.New("no such commit")

// readCommit reads and applies version v, which must be w.version+1.
func (w *Writer) readCommit(v int64) error {
	data, err := w.fs.ReadFile(commitName(v))
	if err != nil {
		if isNotExist(err) {
			return errNoCommit
		}
		return fmt.Errorf("reading %s: %w", commitName(v), err)
	}
	actions, err := parseCommit(data)
	if err != nil {
		return fmt.Errorf("%s: %w", commitName(v), err)
	}
	w.apply(actions)
	w.version = v
	return nil
}

// apply updates the table state with one version's actions.
func (w *Writer) apply(actions []action) {
	for _, a := range actions {
		switch {
		case a.Protocol != nil:
			w.protocol = a.Protocol
		case a.MetaData != nil:
			w.meta = a.MetaData
		case a.Txn != nil:
			w.txns[a.Txn.AppID] = *a.Txn
		case a.Add != nil:
			w.adds[a.Add.Path] = a.Add
		case a.Remove != nil:
			delete(w.adds, a.Remove.Path)
		}
	}
}

// check verifies that an existing table is one this writer may append to.
func (w *Writer) check() error {
	if w.version < 0 {
		return nil
	}
	p := w.protocol
	if p == nil {
		return errors.New("the log has no protocol action")
	}
	if p.MinReaderVersion > ReaderVersion || p.MinWriterVersion > WriterVersion {
		return fmt.Errorf("the table needs Delta reader version %d and writer version %d (features %v %v); this writer implements reader %d, writer %d",
			p.MinReaderVersion, p.MinWriterVersion, p.ReaderFeatures, p.WriterFeatures, ReaderVersion, WriterVersion)
	}
	m := w.meta
	if m == nil {
		return errors.New("the log has no metaData action")
	}
	if m.Format.Provider != "parquet" {
		return fmt.Errorf("the table's data format is %q, not parquet", m.Format.Provider)
	}
	if !slices.Equal(m.PartitionColumns, w.opts.PartitionColumns) {
		return fmt.Errorf("the table is partitioned by %q, this node writes partitions %q", m.PartitionColumns, w.opts.PartitionColumns)
	}
	if err := compareSchemas(m.SchemaString, w.schemaStr); err != nil {
		return fmt.Errorf("the table's %w; use another table_path or move the table away (it is never rewritten)", err)
	}
	return nil
}
