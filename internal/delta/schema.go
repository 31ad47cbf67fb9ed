package delta

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// deltaField is one column of a Delta schemaString. Type is a primitive
// type name ("long", "string", ...) or a nested type object.
type deltaField struct {
	Name     string          `json:"name"`
	Type     json.RawMessage `json:"type"`
	Nullable bool            `json:"nullable"`
	Metadata map[string]any  `json:"metadata"`
}

// deltaStruct is a Delta schemaString: a struct of columns.
type deltaStruct struct {
	Type   string       `json:"type"`
	Fields []deltaField `json:"fields"`
}

// deltaArray is Delta's array type.
type deltaArray struct {
	Type         string          `json:"type"`
	ElementType  json.RawMessage `json:"elementType"`
	ContainsNull bool            `json:"containsNull"`
}

// SchemaString returns the Delta schemaString of an Arrow schema. Supported
// column types: int32, int64, float64, bool, string, binary, timestamp (with
// a time zone: Delta "timestamp" is UTC-adjusted) and lists of these.
func SchemaString(s *arrow.Schema) (string, error) {
	st := deltaStruct{Type: "struct", Fields: make([]deltaField, 0, s.NumFields())}
	for _, f := range s.Fields() {
		t, err := deltaType(f.Type)
		if err != nil {
			return "", fmt.Errorf("column %q: %w", f.Name, err)
		}
		st.Fields = append(st.Fields, deltaField{Name: f.Name, Type: t, Nullable: f.Nullable, Metadata: map[string]any{}})
	}
	b, err := json.Marshal(st)
	return string(b), err
}

// deltaType returns the Delta JSON type of an Arrow type.
func deltaType(t arrow.DataType) (json.RawMessage, error) {
	name := ""
	switch t.ID() {
	case arrow.INT32:
		name = "integer"
	case arrow.INT64:
		name = "long"
	case arrow.FLOAT64:
		name = "double"
	case arrow.BOOL:
		name = "boolean"
	case arrow.STRING:
		name = "string"
	case arrow.BINARY:
		name = "binary"
	case arrow.TIMESTAMP:
		if t.(*arrow.TimestampType).TimeZone == "" {
			return nil, fmt.Errorf("timestamp without a time zone is Delta timestamp_ntz, which needs a table feature")
		}
		name = "timestamp"
	case arrow.LIST:
		elem := t.(*arrow.ListType).ElemField()
		et, err := deltaType(elem.Type)
		if err != nil {
			return nil, err
		}
		return json.Marshal(deltaArray{Type: "array", ElementType: et, ContainsNull: elem.Nullable})
	default:
		return nil, fmt.Errorf("type %s has no Delta mapping here", t)
	}
	return json.Marshal(name)
}

// compareSchemas checks that a table's schemaString (have) holds exactly the
// columns of want, with the same types and nullability; column order is
// free. The error lists every difference.
func compareSchemas(have, want string) error {
	var h, w deltaStruct
	if err := json.Unmarshal([]byte(have), &h); err != nil {
		return fmt.Errorf("table schemaString is not valid JSON: %w", err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return err
	}
	hf := make(map[string]deltaField, len(h.Fields))
	for _, f := range h.Fields {
		hf[f.Name] = f
	}
	var diffs []string
	for _, f := range w.Fields {
		g, ok := hf[f.Name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("column %q is missing", f.Name))
			continue
		}
		delete(hf, f.Name)
		if ht, wt := canonicalJSON(g.Type), canonicalJSON(f.Type); ht != wt {
			diffs = append(diffs, fmt.Sprintf("column %q has type %s, want %s", f.Name, ht, wt))
		}
		if g.Nullable != f.Nullable {
			diffs = append(diffs, fmt.Sprintf("column %q has nullable=%t, want %t", f.Name, g.Nullable, f.Nullable))
		}
	}
	extra := make([]string, 0, len(hf))
	for name := range hf {
		extra = append(extra, name)
	}
	slices.Sort(extra)
	for _, name := range extra {
		diffs = append(diffs, fmt.Sprintf("column %q is not written by this node", name))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("schema does not match: %s", strings.Join(diffs, "; "))
	}
	return nil
}

// canonicalJSON re-encodes a JSON value with sorted object keys, so types
// compare equal whatever their key order; invalid JSON is returned as is.
func canonicalJSON(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// dataSchema returns s without the partition columns: the schema of the
// Parquet data files (Delta stores partition values only in the log).
func dataSchema(s *arrow.Schema, partitionColumns []string) *arrow.Schema {
	fields := make([]arrow.Field, 0, s.NumFields())
	for _, f := range s.Fields() {
		if !slices.Contains(partitionColumns, f.Name) {
			fields = append(fields, f)
		}
	}
	return arrow.NewSchema(fields, nil)
}
