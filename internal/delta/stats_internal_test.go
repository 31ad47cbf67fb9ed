package delta

import (
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestTimestampStatsAreTrueBounds(t *testing.T) {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{{Name: "t", Type: ts, Nullable: true}, {Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	tb, nb := b.Field(0).(*array.TimestampBuilder), b.Field(1).(*array.Int64Builder)
	// 2023-11-14T22:13:20.000250Z, null, 2023-11-14T22:13:20.999001Z
	tb.Append(1700000000000250)
	tb.AppendNull()
	tb.Append(1700000000999001)
	nb.AppendValues([]int64{-5, 7, 3}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	s, err := fileStats(rec)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(s), &got); err != nil {
		t.Fatal(err)
	}
	want := `{"maxValues":{"n":7,"t":"2023-11-14T22:13:21.000Z"},"minValues":{"n":-5,"t":"2023-11-14T22:13:20.000Z"},"nullCount":{"n":0,"t":1},"numRecords":3}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Fatalf("stats\n got %s\nwant %s", b, want)
	}
}
