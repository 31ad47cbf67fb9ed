package delta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Classic single-file checkpoints: one Parquet file holding the table state
// at a version (protocol, metaData, every txn and every live add), one action
// per row, plus _delta_log/_last_checkpoint pointing at the newest one.
//
// Both directions go through Arrow's JSON conversion, so the action structs
// of log.go serve commits and checkpoints alike; the only difference is that
// Arrow spells a map as a list of {"key","value"} pairs.

// lastCheckpointName is the checkpoint hint file.
const lastCheckpointName = logDir + "/_last_checkpoint"

var (
	optString   = arrow.Field{Type: arrow.BinaryTypes.String, Nullable: true}
	optLong     = arrow.Field{Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	optInt      = arrow.Field{Type: arrow.PrimitiveTypes.Int32, Nullable: true}
	optBool     = arrow.Field{Type: arrow.FixedWidthTypes.Boolean, Nullable: true}
	optStrMap   = arrow.Field{Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true}
	optStrList  = arrow.Field{Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}
	checkpoints = arrow.NewSchema([]arrow.Field{
		optStruct("txn", named("appId", optString), named("version", optLong), named("lastUpdated", optLong)),
		optStruct("add", named("path", optString), named("partitionValues", optStrMap), named("size", optLong),
			named("modificationTime", optLong), named("dataChange", optBool), named("stats", optString),
			named("tags", optStrMap)),
		optStruct("remove", named("path", optString), named("deletionTimestamp", optLong), named("dataChange", optBool),
			named("extendedFileMetadata", optBool), named("partitionValues", optStrMap), named("size", optLong)),
		optStruct("metaData", named("id", optString), named("name", optString), named("description", optString),
			optStruct("format", named("provider", optString), named("options", optStrMap)),
			named("schemaString", optString), named("partitionColumns", optStrList),
			named("configuration", optStrMap), named("createdTime", optLong)),
		optStruct("protocol", named("minReaderVersion", optInt), named("minWriterVersion", optInt)),
	}, nil)
)

func named(name string, f arrow.Field) arrow.Field { f.Name = name; return f }

func optStruct(name string, fields ...arrow.Field) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.StructOf(fields...), Nullable: true}
}

// maybeCheckpoint writes a checkpoint when the current version is due one.
func (w *Writer) maybeCheckpoint() error {
	n := int64(w.opts.CheckpointInterval)
	if n <= 0 || w.version <= 0 || w.version%n != 0 {
		return nil
	}
	return w.Checkpoint()
}

// Checkpoint writes a checkpoint of the current version and points
// _last_checkpoint at it. The state is complete: the writer has read every
// version up to its own.
func (w *Writer) Checkpoint() error {
	if w.version < 0 {
		return fmt.Errorf("delta: table %s: nothing to checkpoint", w.opts.Path)
	}
	docs, rows, err := w.checkpointDocs()
	if err != nil {
		return fmt.Errorf("delta: checkpoint %d: %w", w.version, err)
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, checkpoints, bytes.NewReader(docs), array.WithMultipleDocs())
	if err != nil {
		return fmt.Errorf("delta: checkpoint %d: %w", w.version, err)
	}
	defer rec.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(w.codec), parquet.WithStats(true), parquet.WithCreatedBy(w.opts.EngineInfo))
	tbl := array.NewTableFromRecords(checkpoints, []arrow.RecordBatch{rec})
	defer tbl.Release()
	if err := pqarrow.WriteTable(tbl, &buf, max(rec.NumRows(), 1), props, pqarrow.DefaultWriterProps()); err != nil {
		return fmt.Errorf("delta: checkpoint %d: %w", w.version, err)
	}
	size := int64(buf.Len())
	if err := w.fs.Replace(checkpointName(w.version), buf.Bytes()); err != nil {
		return fmt.Errorf("delta: checkpoint %d: %w", w.version, err)
	}
	hint, _ := json.Marshal(map[string]int64{"version": w.version, "size": rows, "sizeInBytes": size, "numOfAddFiles": int64(len(w.adds))})
	if err := w.fs.Replace(lastCheckpointName, hint); err != nil {
		return fmt.Errorf("delta: checkpoint %d: writing %s: %w", w.version, lastCheckpointName, err)
	}
	return nil
}

// The checkpoint row shapes: the log actions with maps as key/value lists.
type (
	keyValue struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	checkpointAdd struct {
		Path             string     `json:"path"`
		PartitionValues  []keyValue `json:"partitionValues"`
		Size             int64      `json:"size"`
		ModificationTime int64      `json:"modificationTime"`
		DataChange       bool       `json:"dataChange"`
		Stats            string     `json:"stats,omitempty"`
	}
	checkpointFormat struct {
		Provider string     `json:"provider"`
		Options  []keyValue `json:"options"`
	}
	checkpointMeta struct {
		ID               string           `json:"id"`
		Format           checkpointFormat `json:"format"`
		SchemaString     string           `json:"schemaString"`
		PartitionColumns []string         `json:"partitionColumns"`
		Configuration    []keyValue       `json:"configuration"`
		CreatedTime      int64            `json:"createdTime,omitempty"`
	}
	checkpointRow struct {
		Txn      *txnAction      `json:"txn,omitempty"`
		Add      *checkpointAdd  `json:"add,omitempty"`
		MetaData *checkpointMeta `json:"metaData,omitempty"`
		Protocol *protocolAction `json:"protocol,omitempty"`
	}
)

// pairs returns m as key/value pairs sorted by key.
func pairs(m stringMap) []keyValue {
	kv := make([]keyValue, 0, len(m))
	for k, v := range m {
		kv = append(kv, keyValue{k, v})
	}
	slices.SortFunc(kv, func(a, b keyValue) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return kv
}

// checkpointDocs returns the checkpoint rows as concatenated JSON documents,
// and their number. Adds are sorted by path, so a checkpoint's content
// depends only on the table state.
func (w *Writer) checkpointDocs() ([]byte, int64, error) {
	if w.protocol == nil || w.meta == nil {
		return nil, 0, fmt.Errorf("table state has no protocol or metaData")
	}
	m := w.meta
	rows := []checkpointRow{
		{Protocol: &protocolAction{MinReaderVersion: w.protocol.MinReaderVersion, MinWriterVersion: w.protocol.MinWriterVersion}},
		{MetaData: &checkpointMeta{ID: m.ID, Format: checkpointFormat{Provider: m.Format.Provider, Options: pairs(m.Format.Options)},
			SchemaString: m.SchemaString, PartitionColumns: m.PartitionColumns, Configuration: pairs(m.Configuration), CreatedTime: m.CreatedTime}},
	}
	apps := make([]string, 0, len(w.txns))
	for app := range w.txns {
		apps = append(apps, app)
	}
	slices.Sort(apps)
	for _, app := range apps {
		t := w.txns[app]
		rows = append(rows, checkpointRow{Txn: &t})
	}
	paths := make([]string, 0, len(w.adds))
	for p := range w.adds {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		a := w.adds[p]
		rows = append(rows, checkpointRow{Add: &checkpointAdd{Path: a.Path, PartitionValues: pairs(a.PartitionValues),
			Size: a.Size, ModificationTime: a.ModificationTime, DataChange: false, Stats: a.Stats}})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return nil, 0, err
		}
	}
	return buf.Bytes(), int64(len(rows)), nil
}

// readCheckpoint loads the table state from the checkpoint of version v.
func (w *Writer) readCheckpoint(v int64) error {
	f, err := w.fs.Open(checkpointName(v))
	if err != nil {
		return err
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(memory.DefaultAllocator),
		pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("%s: %w", checkpointName(v), err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 4096)
	defer tr.Release()
	row := 0
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			a, err := checkpointAction(rec, i)
			if err != nil {
				return fmt.Errorf("%s: row %d: %w", checkpointName(v), row, err)
			}
			w.apply([]action{a})
			row++
		}
	}
	if err := tr.Err(); err != nil {
		return fmt.Errorf("%s: %w", checkpointName(v), err)
	}
	return nil
}

// checkpointAction decodes row i of a checkpoint record: the one non-null
// action column, via its JSON form.
func checkpointAction(rec arrow.RecordBatch, i int) (action, error) {
	var a action
	for j, col := range rec.Columns() {
		name := rec.Schema().Field(j).Name
		switch name {
		case "txn", "add", "remove", "metaData", "protocol":
		default:
			continue
		}
		if col.IsNull(i) {
			continue
		}
		b, err := json.Marshal(map[string]any{name: col.GetOneForMarshal(i)})
		if err != nil {
			return a, err
		}
		if err := json.Unmarshal(b, &a); err != nil {
			return a, fmt.Errorf("%s: %w", name, err)
		}
	}
	return a, nil
}
