package delta

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/uuid"
)

// writeDataFile writes one part as a new Parquet file under its partition
// directory, synced to disk, and returns its add action.
func (w *Writer) writeDataFile(p Part) (add *addAction, err error) {
	if p.Record == nil || p.Record.NumRows() == 0 {
		return nil, fmt.Errorf("empty part %v", p.Values)
	}
	if !p.Record.Schema().Equal(w.dataSchema) {
		return nil, fmt.Errorf("part %v: record schema %s is not the table's data schema %s", p.Values, p.Record.Schema(), w.dataSchema)
	}
	dir, values, err := w.partitionDir(p.Values)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		if err := w.fs.MkdirAll(dir); err != nil {
			return nil, err
		}
	}
	name := "part-00000-" + uuid.NewString() + ".c000"
	if w.codec != compress.Codecs.Uncompressed {
		name += "." + strings.ToLower(w.codec.String())
	}
	name += ".parquet"
	if dir != "" {
		name = dir + "/" + name
	}
	f, err := w.fs.Create(name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = w.fs.Remove(name)
		}
	}()
	size, err := w.encodeParquet(f, p.Record)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", name, err)
	}
	stats, err := fileStats(p.Record)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &addAction{Path: name, PartitionValues: values, Size: size,
		ModificationTime: w.opts.Now().UnixMilli(), DataChange: true, Stats: stats}, nil
}

// partitionDir returns the Hive-style directory of a part ("col=value/..")
// and its partitionValues. Values are limited to characters that need no
// escaping in a path or a URI.
func (w *Writer) partitionDir(values []string) (string, stringMap, error) {
	cols := w.opts.PartitionColumns
	if len(values) != len(cols) {
		return "", nil, fmt.Errorf("%d partition values for partition columns %q", len(values), cols)
	}
	m := make(stringMap, len(cols))
	segs := make([]string, len(cols))
	for i, c := range cols {
		v := values[i]
		if v == "" || strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" || v[0] == '.' {
			return "", nil, fmt.Errorf("partition value %q of %q: only letters, digits, '-', '_' and '.' are supported", v, c)
		}
		m[c] = v
		segs[i] = c + "=" + v
	}
	return strings.Join(segs, "/"), m, nil
}

// countingWriter counts the bytes written through it. It has no Close, so
// the Parquet writer cannot close the file before it is synced.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// encodeParquet writes rec as a Parquet file to out and returns its size.
// The Parquet library may panic on a failing writer; that becomes an error.
func (w *Writer) encodeParquet(out io.Writer, rec arrow.RecordBatch) (size int64, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("parquet writer: %v", v)
		}
	}()
	props := []parquet.WriterProperty{
		parquet.WithCompression(w.codec),
		parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(w.opts.RowGroupRows),
		parquet.WithCreatedBy(w.opts.EngineInfo),
	}
	for _, c := range w.opts.PlainColumns {
		props = append(props, parquet.WithDictionaryFor(c, false))
	}
	cw := &countingWriter{w: out}
	fw, err := pqarrow.NewFileWriter(rec.Schema(), cw, parquet.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
	if err != nil {
		return 0, err
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return 0, err
	}
	if err := fw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

// fileStats returns the add action's stats: numRecords, and minValues,
// maxValues and nullCount of the integer and timestamp columns. Timestamp
// bounds are written in milliseconds, the minimum rounded down and the
// maximum up, so they stay true bounds for data skipping.
func fileStats(rec arrow.RecordBatch) (string, error) {
	type stats struct {
		NumRecords int64          `json:"numRecords"`
		MinValues  map[string]any `json:"minValues"`
		MaxValues  map[string]any `json:"maxValues"`
		NullCount  map[string]any `json:"nullCount"`
	}
	s := stats{NumRecords: rec.NumRows(), MinValues: map[string]any{}, MaxValues: map[string]any{}, NullCount: map[string]any{}}
	for i, f := range rec.Schema().Fields() {
		col := rec.Column(i)
		var lo, hi int64
		var ok bool
		switch a := col.(type) {
		case *array.Int64:
			lo, hi, ok = minMax(a.Len(), a.IsNull, a.Value)
		case *array.Int32:
			lo, hi, ok = minMax(a.Len(), a.IsNull, func(i int) int64 { return int64(a.Value(i)) })
		case *array.Timestamp:
			lo, hi, ok = minMax(a.Len(), a.IsNull, func(i int) int64 { return int64(a.Value(i)) })
		default:
			continue
		}
		s.NullCount[f.Name] = col.NullN()
		if !ok {
			continue
		}
		if ts, isTS := f.Type.(*arrow.TimestampType); isTS {
			s.MinValues[f.Name], s.MaxValues[f.Name] = timestampBounds(ts, lo, hi)
		} else {
			s.MinValues[f.Name], s.MaxValues[f.Name] = lo, hi
		}
	}
	b, err := json.Marshal(s)
	return string(b), err
}

// minMax returns the smallest and largest non-null value; ok is false when
// every value is null.
func minMax(n int, isNull func(int) bool, value func(int) int64) (lo, hi int64, ok bool) {
	for i := 0; i < n; i++ {
		if isNull(i) {
			continue
		}
		v := value(i)
		if !ok || v < lo {
			lo = v
		}
		if !ok || v > hi {
			hi = v
		}
		ok = true
	}
	return lo, hi, ok
}

// statsTimeFormat is how Delta writes timestamps in stats.
const statsTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// timestampBounds formats raw timestamp bounds as Delta stats values.
func timestampBounds(t *arrow.TimestampType, lo, hi int64) (string, string) {
	toTime, _ := t.GetToTimeFunc()
	min := toTime(arrow.Timestamp(lo)).UTC().Truncate(time.Millisecond)
	maxExact := toTime(arrow.Timestamp(hi)).UTC()
	max := maxExact.Truncate(time.Millisecond)
	if max.Before(maxExact) {
		max = max.Add(time.Millisecond)
	}
	return min.Format(statsTimeFormat), max.Format(statsTimeFormat)
}
