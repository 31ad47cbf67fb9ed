// Package certtable defines the certstream archive table — its columns, its
// seen_date partitioning — and turns published certificates into its rows,
// as Arrow records ready for package delta.
package certtable

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/certstream/certstream/internal/delta"
	"github.com/certstream/certstream/internal/wire"
)

// PartitionColumn is the table's partition column: the UTC day of "seen",
// "YYYY-MM-DD".
const PartitionColumn = "seen_date"

// The columns, in table order. Every column is non-nullable.
var (
	timestampUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	stringList   = arrow.ListOfNonNullable(arrow.BinaryTypes.String)

	// Schema is the table schema, partition column included.
	Schema = arrow.NewSchema([]arrow.Field{
		col("cert_index", arrow.PrimitiveTypes.Int64),
		col("update_type", arrow.BinaryTypes.String),
		col("seen", timestampUTC),
		col(PartitionColumn, arrow.BinaryTypes.String),
		col("source_name", arrow.BinaryTypes.String),
		col("source_url", arrow.BinaryTypes.String),
		col("cert_link", arrow.BinaryTypes.String),
		col("serial_number", arrow.BinaryTypes.String),
		col("fingerprint", arrow.BinaryTypes.String),
		col("sha256", arrow.BinaryTypes.String),
		col("sha1", arrow.BinaryTypes.String),
		col("not_before", arrow.PrimitiveTypes.Int64),
		col("not_after", arrow.PrimitiveTypes.Int64),
		col("is_ca", arrow.FixedWidthTypes.Boolean),
		col("signature_algorithm", arrow.BinaryTypes.String),
		col("subject_aggregated", arrow.BinaryTypes.String),
		col("issuer_aggregated", arrow.BinaryTypes.String),
		col("all_domains", stringList),
		col("as_der", arrow.BinaryTypes.Binary),
		col("chain", stringList),
		col("submission_timestamp", timestampUTC),
	}, nil)

	// dataSchema is Schema without the partition column: the data files'.
	dataSchema = func() *arrow.Schema {
		fields := Schema.Fields()
		i := Schema.FieldIndices(PartitionColumn)[0]
		return arrow.NewSchema(append(fields[:i:i], fields[i+1:]...), nil)
	}()
)

func col(name string, t arrow.DataType) arrow.Field { return arrow.Field{Name: name, Type: t} }

// Table fills in the table definition (schema, partitioning, the columns
// not worth a dictionary) of writer options o.
func Table(o delta.Options) delta.Options {
	o.Schema = Schema
	o.PartitionColumns = []string{PartitionColumn}
	o.PlainColumns = []string{"serial_number", "fingerprint", "sha256", "sha1", "as_der"}
	return o
}

// Check reports whether u can be stored: a row needs an update, an index
// and timestamps that fit the table's signed 64-bit microsecond columns.
func Check(u *wire.Update) error {
	switch {
	case u == nil:
		return fmt.Errorf("nil update")
	case u.Index > math.MaxInt64:
		return fmt.Errorf("cert_index %d does not fit a long", u.Index)
	case u.Seen < 0 || u.Seen > math.MaxInt64/1000:
		return fmt.Errorf("entry %d: seen %d ms is out of range", u.Index, u.Seen)
	case u.Timestamp > math.MaxInt64/1000:
		return fmt.Errorf("entry %d: submission timestamp %d ms is out of range", u.Index, u.Timestamp)
	}
	return nil
}

// SeenDate returns the partition value of a row seen at unixMillis.
func SeenDate(unixMillis int64) string {
	return time.UnixMilli(unixMillis).UTC().Format(time.DateOnly)
}

// Parts builds one record per seen_date from updates, oldest day first,
// keeping the updates' order within a day. The caller releases each
// Part.Record. Every update must pass Check.
func Parts(updates []*wire.Update) ([]delta.Part, error) {
	var (
		days     []string
		builders = map[string]*rowBuilder{}
	)
	defer func() {
		for _, b := range builders {
			b.rb.Release()
		}
	}()
	for _, u := range updates {
		if err := Check(u); err != nil {
			return nil, err
		}
		day := SeenDate(u.Seen)
		b := builders[day]
		if b == nil {
			b = newRowBuilder()
			builders[day] = b
			days = append(days, day)
		}
		b.append(u)
	}
	slices.Sort(days)
	parts := make([]delta.Part, len(days))
	for i, day := range days {
		parts[i] = delta.Part{Values: []string{day}, Record: builders[day].rb.NewRecordBatch()}
	}
	return parts, nil
}

// rowBuilder appends updates to a record of the data schema.
type rowBuilder struct {
	rb      *array.RecordBuilder
	scratch []byte
}

func newRowBuilder() *rowBuilder {
	return &rowBuilder{rb: array.NewRecordBuilder(memory.DefaultAllocator, dataSchema)}
}

// emptyLeaf and emptySource stand in for nil pointers, as in the encoder.
var (
	emptyLeaf   wire.Cert
	emptySource wire.Source
)

// append adds u as one row; the field order is dataSchema's.
func (b *rowBuilder) append(u *wire.Update) {
	leaf, src := u.Leaf, u.Source
	if leaf == nil {
		leaf = &emptyLeaf
	}
	if src == nil {
		src = &emptySource
	}
	i := 0
	next := func() array.Builder { i++; return b.rb.Field(i - 1) }
	str := func(s string) { next().(*array.StringBuilder).Append(s) }
	hex := func(h []byte) {
		b.scratch = wire.AppendFingerprint(b.scratch[:0], h)
		next().(*array.StringBuilder).BinaryBuilder.Append(b.scratch)
	}
	long := func(v int64) { next().(*array.Int64Builder).Append(v) }
	micros := func(ms int64) { next().(*array.TimestampBuilder).Append(arrow.Timestamp(ms * 1000)) }

	long(int64(u.Index))
	str(u.Type.UpdateType())
	micros(u.Seen)
	str(src.Name)
	str(src.URL)
	str(u.CertLink)
	str(leaf.SerialNumber)
	hex(leaf.SHA1[:]) // fingerprint
	hex(leaf.SHA256[:])
	hex(leaf.SHA1[:])
	long(leaf.NotBefore)
	long(leaf.NotAfter)
	next().(*array.BooleanBuilder).Append(leaf.IsCA)
	str(leaf.SignatureAlgorithm)
	str(leaf.Subject.Aggregated)
	str(leaf.Issuer.Aggregated)
	domains := next().(*array.ListBuilder)
	domains.Append(true)
	for _, d := range leaf.AllDomains {
		domains.ValueBuilder().(*array.StringBuilder).Append(d)
	}
	next().(*array.BinaryBuilder).Append(leaf.DER)
	chain := next().(*array.ListBuilder)
	chain.Append(true)
	for _, c := range u.Chain {
		b.scratch = wire.AppendChainCert(b.scratch[:0], c)
		chain.ValueBuilder().(*array.StringBuilder).BinaryBuilder.Append(b.scratch)
	}
	micros(int64(u.Timestamp))
}
