package delta

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/uuid"
)

// Part is the rows of one partition in a commit.
type Part struct {
	// Values are the partition values, in Options.PartitionColumns order.
	Values []string
	// Record holds the rows, with the table's data schema (its columns less
	// the partition columns).
	Record arrow.RecordBatch
}

// Result describes a Commit.
type Result struct {
	// Version is the table version that holds the batch (for a skipped
	// batch: the latest version the writer knows).
	Version int64
	// Skipped is true when the batch was already committed under this
	// AppID and sequence (by an earlier attempt); nothing was written.
	Skipped bool
	// Files, Rows and Bytes count the data files written.
	Files int
	Rows  int64
	Bytes int64
	// Conflicts counts versions lost to other writers before this one won.
	Conflicts int
	// CheckpointErr is set when the commit succeeded but the checkpoint due
	// after it failed; the table is valid, readers are just slower.
	CheckpointErr error
}

// isNotExist reports whether err says a file does not exist.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// Commit appends the parts as one new table version carrying a txn action
// (AppID, seq). seq must grow with every batch of this AppID; a seq at or
// below the last one committed is skipped, so a batch retried after an
// uncertain failure is never committed twice.
//
// marks, when not empty, are committed in the same version as one more txn
// action per key (appId AppID#key): how far the writer's input has been
// archived, e.g. per source the next position after the batch's rows. A
// mark never moves back (a value below the committed one is ignored); read
// them back with Marks.
//
// Data files get new unique names at every call; a version taken by another
// writer is retried at the next one after reading the other's commits.
// Files left by a failed or interrupted Commit are never referenced by the
// log, and so are harmless.
func (w *Writer) Commit(seq int64, parts []Part, marks map[string]int64) (Result, error) {
	if seq <= w.LastTxn() {
		return Result{Version: w.version, Skipped: true}, nil
	}
	if len(parts) == 0 {
		return Result{}, errors.New("delta: commit: no rows")
	}
	var res Result
	adds := make([]*addAction, 0, len(parts))
	for _, p := range parts {
		add, err := w.writeDataFile(p)
		if err != nil {
			w.removeFiles(adds)
			return res, fmt.Errorf("delta: table %s: %w", w.opts.Path, err)
		}
		adds = append(adds, add)
		res.Files++
		res.Rows += p.Record.NumRows()
		res.Bytes += add.Size
	}
	for {
		actions := w.versionActions(seq, adds, marks, res)
		data, err := encodeCommit(actions)
		if err != nil {
			w.removeFiles(adds)
			return res, fmt.Errorf("delta: table %s: %w", w.opts.Path, err)
		}
		v := w.version + 1
		err = w.fs.PutIfAbsent(commitName(v), data)
		if err == nil {
			w.apply(actions)
			w.version, res.Version = v, v
			res.CheckpointErr = w.maybeCheckpoint()
			return res, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			w.removeFiles(adds)
			return res, fmt.Errorf("delta: table %s: committing version %d: %w", w.opts.Path, v, err)
		}
		res.Conflicts++
		if res.Conflicts >= maxConflicts {
			w.removeFiles(adds)
			return res, fmt.Errorf("delta: table %s: gave up after losing %d versions to other writers", w.opts.Path, res.Conflicts)
		}
		if err := w.refresh(); err != nil {
			w.removeFiles(adds)
			return res, fmt.Errorf("delta: table %s: reading other writers' commits: %w", w.opts.Path, err)
		}
		if seq <= w.LastTxn() {
			w.removeFiles(adds)
			return Result{Version: w.version, Skipped: true, Conflicts: res.Conflicts}, nil
		}
	}
}

// versionActions returns the actions of the next version: commitInfo,
// protocol and metaData when the table is new, the txn, the marks that move
// forward (in key order) and the adds.
func (w *Writer) versionActions(seq int64, adds []*addAction, marks map[string]int64, res Result) []action {
	now := w.opts.Now().UnixMilli()
	partitionBy, _ := json.Marshal(w.opts.PartitionColumns)
	actions := []action{{CommitInfo: &commitInfoAction{
		Timestamp:           now,
		Operation:           "WRITE",
		OperationParameters: map[string]string{"mode": "Append", "partitionBy": string(partitionBy)},
		OperationMetrics: map[string]string{"numFiles": strconv.Itoa(res.Files),
			"numOutputRows": strconv.FormatInt(res.Rows, 10), "numOutputBytes": strconv.FormatInt(res.Bytes, 10)},
		IsBlindAppend: true,
		EngineInfo:    w.opts.EngineInfo,
		TxnID:         uuid.NewString(),
	}}}
	if w.version < 0 {
		actions = append(actions,
			action{Protocol: &protocolAction{MinReaderVersion: ReaderVersion, MinWriterVersion: WriterVersion}},
			action{MetaData: &metadataAction{
				ID:               uuid.NewString(),
				Format:           formatSpec{Provider: "parquet", Options: stringMap{}},
				SchemaString:     w.schemaStr,
				PartitionColumns: append([]string{}, w.opts.PartitionColumns...),
				Configuration:    stringMap{"delta.appendOnly": "true"},
				CreatedTime:      now,
			}})
	}
	actions = append(actions, action{Txn: &txnAction{AppID: w.opts.AppID, Version: seq, LastUpdated: now}})
	for _, key := range slices.Sorted(maps.Keys(marks)) {
		app := w.markApp(key)
		if t, ok := w.txns[app]; !ok || marks[key] > t.Version {
			actions = append(actions, action{Txn: &txnAction{AppID: app, Version: marks[key], LastUpdated: now}})
		}
	}
	for _, a := range adds {
		actions = append(actions, action{Add: a})
	}
	return actions
}

// removeFiles deletes data files no commit refers to (best effort: a left
// over file is harmless).
func (w *Writer) removeFiles(adds []*addAction) {
	for _, a := range adds {
		_ = w.fs.Remove(a.Path)
	}
}
