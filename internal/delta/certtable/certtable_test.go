package certtable

import (
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/certstream/certstream/internal/wire"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		u    *wire.Update
		want string
	}{
		{nil, "nil update"},
		{&wire.Update{Entry: wire.Entry{Index: math.MaxInt64 + 1}}, "does not fit a long"},
		{&wire.Update{Entry: wire.Entry{Index: 3}, Seen: -1}, "entry 3: seen -1 ms is out of range"},
		{&wire.Update{Entry: wire.Entry{Index: 4, Timestamp: math.MaxUint64}}, "entry 4: submission timestamp"},
	} {
		if err := Check(c.u); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
		if _, err := Parts([]*wire.Update{c.u}); err == nil {
			t.Errorf("Parts accepted %+v", c.u)
		}
	}
	if err := Check(&wire.Update{Entry: wire.Entry{Index: math.MaxInt64}, Seen: 1}); err != nil {
		t.Error(err)
	}
}

func TestPartsByDay(t *testing.T) {
	// 2024-02-29T23:59:59.999Z and the next millisecond, out of order; an
	// update without leaf, source or chain is stored with empty values.
	late, early := int64(1709251200000), int64(1709251199999)
	updates := []*wire.Update{
		{Entry: wire.Entry{Index: 1}, Seen: late},
		{Entry: wire.Entry{Index: 2, Type: wire.PrecertEntry}, Seen: early},
		{Entry: wire.Entry{Index: 3, Chain: []*wire.Cert{nil}}, Seen: late},
	}
	parts, err := Parts(updates)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, p := range parts {
			p.Record.Release()
		}
	}()
	if len(parts) != 2 || parts[0].Values[0] != "2024-02-29" || parts[1].Values[0] != "2024-03-01" {
		t.Fatalf("parts %v %v", parts[0].Values, parts[1].Values)
	}
	if n := parts[1].Record.NumRows(); n != 2 {
		t.Fatalf("%d rows on 2024-03-01", n)
	}
	rec := parts[1].Record
	idx := rec.Column(0).(*array.Int64)
	if idx.Value(0) != 1 || idx.Value(1) != 3 {
		t.Fatalf("order within a day: %v", idx)
	}
	if got := parts[0].Record.Column(1).(*array.String).Value(0); got != "PrecertLogEntry" {
		t.Fatalf("update_type %q", got)
	}
	sha := rec.Column(8).(*array.String).Value(0) // sha256 of an empty leaf: zero bytes
	if sha != strings.Repeat("00:", 31)+"00" {
		t.Fatalf("sha256 %q", sha)
	}
	chain := rec.Column(18).(*array.List)
	if start, end := chain.ValueOffsets(1); end-start != 1 {
		t.Fatalf("chain of row 3 has %d elements", end-start)
	}
	if got := chain.ListValues().(*array.String).Value(0); !strings.HasPrefix(got, `{"subject":{"aggregated":""}`) || !strings.HasSuffix(got, `"extensions":{}}`) {
		t.Fatalf("nil chain cert JSON %s", got)
	}
	for i, f := range dataSchema.Fields() {
		if f.Nullable || rec.Column(i).NullN() != 0 {
			t.Errorf("column %s is nullable or has nulls", f.Name)
		}
	}
}

func TestSeenDate(t *testing.T) {
	if d := SeenDate(0); d != "1970-01-01" {
		t.Error(d)
	}
	if d := SeenDate(1700000000000); d != "2023-11-14" {
		t.Error(d)
	}
}
