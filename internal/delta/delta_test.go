package delta_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/delta"
	"github.com/certstream/certstream/internal/delta/certtable"
	"github.com/certstream/certstream/internal/delta/deltatest"
	"github.com/certstream/certstream/internal/wire"
)

// day0 is 2025-05-20T23:59:59.000Z: batches starting there cross midnight.
const day0 = int64(1747785599000)

// snappy is for tests that commit many times: the zstd encoder is very slow
// under the race detector (the tests of the default codec use zstd).
func snappy(o *delta.Options) { o.Compression = "snappy" }

func openTable(t testing.TB, dir, app string, mod func(*delta.Options)) *delta.Writer {
	t.Helper()
	o := certtable.Table(delta.Options{Path: dir, AppID: app, CheckpointInterval: -1})
	if mod != nil {
		mod(&o)
	}
	w, err := delta.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// commit builds the parts of updates and commits them as batch seq.
func commit(t testing.TB, w *delta.Writer, seq int64, updates []*wire.Update) delta.Result {
	t.Helper()
	return commitMarks(t, w, seq, updates, nil)
}

// commitMarks is commit with marks.
func commitMarks(t testing.TB, w *delta.Writer, seq int64, updates []*wire.Update, marks map[string]int64) delta.Result {
	t.Helper()
	res, err := tryCommit(w, seq, updates, marks)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tryCommit(w *delta.Writer, seq int64, updates []*wire.Update, marks map[string]int64) (delta.Result, error) {
	parts, err := certtable.Parts(updates)
	if err != nil {
		return delta.Result{}, err
	}
	defer func() {
		for _, p := range parts {
			p.Record.Release()
		}
	}()
	return w.Commit(seq, parts, marks)
}

func readTable(t testing.TB, dir string) *deltatest.Table {
	t.Helper()
	tbl, err := deltatest.Read(dir)
	if err != nil {
		t.Fatalf("reading the table back: %v", err)
	}
	return tbl
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	w := openTable(t, dir, "node-a", nil)
	updates := deltatest.Updates(t, 3000, 1000, day0-1500)
	for seq := int64(0); seq < 3; seq++ {
		res := commit(t, w, seq, updates[seq*1000:(seq+1)*1000])
		if res.Version != seq || res.Skipped || res.Rows != 1000 {
			t.Fatalf("batch %d: %+v", seq, res)
		}
	}
	tbl := readTable(t, dir)
	if tbl.Versions != 3 || len(tbl.Rows) != len(updates) {
		t.Fatalf("%d versions and %d rows, want 3 and %d", tbl.Versions, len(tbl.Rows), len(updates))
	}
	// Seen spans 2025-05-20T23:59:57.500Z + 3 s: the second batch crosses midnight.
	if tbl.Partitions["2025-05-20"] != 2500 || tbl.Partitions["2025-05-21"] != 500 {
		t.Fatalf("partitions %v", tbl.Partitions)
	}
	byIndex := map[int64]deltatest.Row{}
	for _, r := range tbl.Rows {
		if _, dup := byIndex[r.CertIndex]; dup {
			t.Fatalf("cert_index %d twice", r.CertIndex)
		}
		byIndex[r.CertIndex] = r
	}
	full := fullMessage(t, updates[7])
	for _, u := range updates {
		r, ok := byIndex[int64(u.Index)]
		if !ok {
			t.Fatalf("cert_index %d missing", u.Index)
		}
		if r.Seen != u.Seen*1000 || r.SubmissionTimestamp != int64(u.Timestamp)*1000 ||
			r.SeenDate != time.UnixMilli(u.Seen).UTC().Format("2006-01-02") ||
			string(r.AsDER) != string(u.Leaf.DER) || r.NotBefore != u.Leaf.NotBefore || r.IsCA != u.Leaf.IsCA ||
			r.UpdateType != u.Type.UpdateType() || r.SourceURL != u.Source.URL || r.CertLink != u.CertLink ||
			len(r.AllDomains) != len(u.Leaf.AllDomains) || len(r.Chain) != len(u.Chain) {
			t.Fatalf("row %d differs from its update: seen %d date %s submitted %d domains %q chain %d",
				u.Index, r.Seen, r.SeenDate, r.SubmissionTimestamp, r.AllDomains, len(r.Chain))
		}
	}
	// Every string column matches the certstream full-stream JSON of the same update.
	r := byIndex[int64(updates[7].Index)]
	leaf := full.Data.LeafCert
	if r.SHA256 != leaf.SHA256 || r.SHA1 != leaf.SHA1 || r.Fingerprint != leaf.Fingerprint ||
		r.SerialNumber != leaf.SerialNumber || r.SignatureAlgorithm != leaf.SignatureAlgorithm ||
		r.SubjectAggregated != leaf.Subject.Aggregated || r.IssuerAggregated != leaf.Issuer.Aggregated ||
		strings.Join(r.AllDomains, ",") != strings.Join(leaf.AllDomains, ",") {
		r.AsDER, r.Chain = nil, nil
		leaf.AsDER = ""
		t.Fatalf("row strings differ from the stream:\nrow  %+v\nleaf %+v", r, leaf)
	}
	if der, _ := base64.StdEncoding.DecodeString(leaf.AsDER); string(der) != string(r.AsDER) {
		t.Fatal("as_der is not the raw DER")
	}
	if len(full.Data.Chain) != 2 || r.Chain[0] != string(full.Data.Chain[0]) || r.Chain[1] != string(full.Data.Chain[1]) {
		t.Fatalf("chain column %q\nstream chain %s", r.Chain, full.Data.Chain)
	}
}

// streamMessage is the part of a full-stream message the tests compare.
type streamMessage struct {
	Data struct {
		LeafCert struct {
			Subject, Issuer struct {
				Aggregated string `json:"aggregated"`
			}
			SerialNumber       string   `json:"serial_number"`
			Fingerprint        string   `json:"fingerprint"`
			SHA1               string   `json:"sha1"`
			SHA256             string   `json:"sha256"`
			SignatureAlgorithm string   `json:"signature_algorithm"`
			AllDomains         []string `json:"all_domains"`
			AsDER              string   `json:"as_der"`
		} `json:"leaf_cert"`
		Chain []json.RawMessage `json:"chain"`
	} `json:"data"`
}

func fullMessage(t *testing.T, u *wire.Update) streamMessage {
	t.Helper()
	var m streamMessage
	if err := json.Unmarshal(wire.AppendFull(nil, u), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLogActions(t *testing.T) {
	dir := t.TempDir()
	w := openTable(t, dir, "node-a", nil)
	updates := deltatest.Updates(t, 100, 5, day0+950) // 50 rows on each side of midnight
	commit(t, w, 0, updates[:60])
	commit(t, w, 1, updates[60:])
	tbl := readTable(t, dir)

	if tbl.Protocol["minReaderVersion"] != 1.0 || tbl.Protocol["minWriterVersion"] != 2.0 {
		t.Fatalf("protocol %v", tbl.Protocol)
	}
	m := tbl.Metadata
	if m["id"] == "" || fmt.Sprint(m["partitionColumns"]) != "[seen_date]" ||
		fmt.Sprint(m["configuration"]) != "map[delta.appendOnly:true]" ||
		fmt.Sprint(m["format"]) != "map[options:map[] provider:parquet]" {
		t.Fatalf("metaData %v", m)
	}
	var schema struct {
		Fields []struct {
			Name     string
			Type     any
			Nullable bool
		}
	}
	if err := json.Unmarshal([]byte(m["schemaString"].(string)), &schema); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, f := range schema.Fields {
		if f.Nullable {
			t.Errorf("column %s is nullable", f.Name)
		}
		cols = append(cols, fmt.Sprintf("%s:%v", f.Name, f.Type))
	}
	want := "cert_index:long update_type:string seen:timestamp seen_date:string source_name:string source_url:string " +
		"cert_link:string serial_number:string fingerprint:string sha256:string sha1:string not_before:long " +
		"not_after:long is_ca:boolean signature_algorithm:string subject_aggregated:string issuer_aggregated:string " +
		"all_domains:map[containsNull:false elementType:string type:array] as_der:binary " +
		"chain:map[containsNull:false elementType:string type:array] submission_timestamp:timestamp"
	if got := strings.Join(cols, " "); got != want {
		t.Fatalf("schema\n got %s\nwant %s", got, want)
	}
	if len(tbl.Txns) != 2 || tbl.Txns[0] != (deltatest.Txn{AppID: "node-a", Version: 0, In: 0}) ||
		tbl.Txns[1] != (deltatest.Txn{AppID: "node-a", Version: 1, In: 1}) {
		t.Fatalf("txns %+v", tbl.Txns)
	}
	if op := tbl.CommitInfos[1]; op["operation"] != "WRITE" || op["isBlindAppend"] != true {
		t.Fatalf("commitInfo %v", op)
	}

	// Version 0 holds two days: one file each, with stats of its own rows.
	if len(tbl.Adds) != 3 {
		t.Fatalf("%d files, want 3", len(tbl.Adds))
	}
	first := tbl.Adds[0]
	if !strings.HasPrefix(first.Path, "seen_date=2025-05-20/part-") || !strings.HasSuffix(first.Path, ".zstd.parquet") ||
		first.PartitionValues["seen_date"] != "2025-05-20" || !first.DataChange {
		t.Fatalf("add %+v", first)
	}
	st, _ := os.Stat(filepath.Join(dir, first.Path))
	if st.Size() != first.Size {
		t.Fatalf("add size %d, file %d", first.Size, st.Size())
	}
	var stats deltatest.Stats
	if err := json.Unmarshal([]byte(first.Stats), &stats); err != nil {
		t.Fatal(err)
	}
	// Rows 0..49 were seen on 2025-05-20 (seen = day0+950+i ms).
	lo, hi := updates[0], updates[49]
	if stats.NumRecords != 50 ||
		stats.MinValues["cert_index"] != float64(lo.Index) || stats.MaxValues["cert_index"] != float64(hi.Index) ||
		stats.MinValues["seen"] != "2025-05-20T23:59:59.950Z" || stats.MaxValues["seen"] != "2025-05-20T23:59:59.999Z" ||
		stats.MinValues["submission_timestamp"] == nil || stats.MaxValues["not_after"] == nil ||
		stats.NullCount["cert_index"] != 0.0 || stats.NullCount["seen"] != 0.0 {
		t.Fatalf("stats %s", first.Stats)
	}
	if _, ok := stats.MinValues["sha256"]; ok {
		t.Fatal("string columns get no stats")
	}
}

func TestParquetTypes(t *testing.T) {
	dir := t.TempDir()
	w := openTable(t, dir, "a", nil)
	commit(t, w, 0, deltatest.Updates(t, 10, 0, day0-100))
	tbl := readTable(t, dir)
	schema := tbl.FileSchemas[tbl.Adds[0].Path]
	for _, want := range []string{
		"required int64 cert_index (INT(64,true))",
		"required binary update_type (STRING)",
		"required int64 seen (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))",
		"required boolean is_ca",
		"required binary as_der;",
		"required group all_domains (LIST) {\n\t\trepeated group list {\n\t\t\trequired binary element (STRING);",
		"required int64 submission_timestamp (TIMESTAMP(isAdjustedToUTC=true,unit=MICROS))",
	} {
		if !strings.Contains(schema, want) {
			t.Errorf("data file schema lacks %q:\n%s", want, schema)
		}
	}
	if strings.Contains(schema, "seen_date") {
		t.Error("the partition column is stored in the data file")
	}
}

func TestCompressionOption(t *testing.T) {
	for _, c := range []struct{ name, suffix string }{{"snappy", ".snappy.parquet"}, {"gzip", ".gzip.parquet"}, {"none", ".c000.parquet"}} {
		dir := t.TempDir()
		w := openTable(t, dir, "a", func(o *delta.Options) { o.Compression = c.name })
		commit(t, w, 0, deltatest.Updates(t, 10, 0, day0-100))
		tbl := readTable(t, dir)
		if len(tbl.Rows) != 10 || !strings.HasSuffix(tbl.Adds[0].Path, c.suffix) {
			t.Errorf("%s: %d rows in %s", c.name, len(tbl.Rows), tbl.Adds[0].Path)
		}
	}
	if _, err := delta.Open(certtable.Table(delta.Options{Path: t.TempDir(), AppID: "a", Compression: "lz4"})); err == nil ||
		!strings.Contains(err.Error(), `compression "lz4"`) {
		t.Fatalf("lz4: %v", err)
	}
}

func TestReopenAppendsAndSkipsCommittedBatches(t *testing.T) {
	dir := t.TempDir()
	updates := deltatest.Updates(t, 300, 0, day0-1000)
	w := openTable(t, dir, "node-a", snappy)
	commit(t, w, 0, updates[:100])
	commit(t, w, 1, updates[100:200])

	w2 := openTable(t, dir, "node-a", snappy)
	if w2.Version() != 1 || w2.LastTxn() != 1 || w2.Files() != 2 {
		t.Fatalf("reopened: version %d, last txn %d, %d files", w2.Version(), w2.LastTxn(), w2.Files())
	}
	// A batch retried after an uncertain failure is not committed again.
	if res := commit(t, w2, 1, updates[100:200]); !res.Skipped {
		t.Fatalf("retried batch 1: %+v", res)
	}
	if res := commit(t, w2, 2, updates[200:]); res.Version != 2 || res.Skipped {
		t.Fatalf("batch 2: %+v", res)
	}
	if w3 := openTable(t, dir, "node-b", nil); w3.LastTxn() != -1 || w3.Version() != 2 {
		t.Fatalf("another app id: last txn %d, version %d", w3.LastTxn(), w3.Version())
	}
	tbl := readTable(t, dir)
	if len(tbl.Rows) != 300 || tbl.Versions != 3 {
		t.Fatalf("%d rows in %d versions", len(tbl.Rows), tbl.Versions)
	}
}

func TestCheckpoints(t *testing.T) {
	dir := t.TempDir()
	updates := deltatest.Updates(t, 70, 0, day0-35)
	w := openTable(t, dir, "a", func(o *delta.Options) { o.CheckpointInterval = 3; snappy(o) })
	for seq := int64(0); seq < 7; seq++ {
		if res := commit(t, w, seq, updates[seq*10:(seq+1)*10]); res.CheckpointErr != nil {
			t.Fatal(res.CheckpointErr)
		}
	}
	tbl := readTable(t, dir) // checks each checkpoint against the replayed log
	if fmt.Sprint(tbl.Checkpoints) != "[3 6]" || len(tbl.Rows) != 70 {
		t.Fatalf("checkpoints %v, %d rows", tbl.Checkpoints, len(tbl.Rows))
	}
	if tbl.LastCheckpoint["version"] != 6.0 || tbl.LastCheckpoint["numOfAddFiles"] != float64(len(tbl.Adds)) {
		t.Fatalf("_last_checkpoint %v", tbl.LastCheckpoint)
	}

	// A writer opening the table starts from the checkpoint: the commits
	// before it are no longer needed.
	for v := 0; v <= 6; v++ {
		if err := os.Remove(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", v))); err != nil {
			t.Fatal(err)
		}
	}
	w2 := openTable(t, dir, "a", snappy)
	if w2.Version() != 6 || w2.LastTxn() != 6 || w2.Files() != len(tbl.Adds) {
		t.Fatalf("from checkpoint: version %d, txn %d, %d files", w2.Version(), w2.LastTxn(), w2.Files())
	}
	if res := commit(t, w2, 6, updates[:10]); !res.Skipped {
		t.Fatal("a batch recorded in the checkpoint's txn was committed again")
	}
	if res := commit(t, w2, 7, updates[:10]); res.Version != 7 {
		t.Fatalf("commit after checkpoint: %+v", res)
	}
	if err := w2.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	w3 := openTable(t, dir, "a", nil)
	if w3.Version() != 7 || w3.Files() != w2.Files() {
		t.Fatalf("from the second checkpoint: version %d, %d files, want 7, %d", w3.Version(), w3.Files(), w2.Files())
	}
}

func TestMarksOnlyMoveForwardAndSurviveCheckpoints(t *testing.T) {
	dir := t.TempDir()
	updates := deltatest.Updates(t, 30, 0, day0-15)
	w := openTable(t, dir, "a", func(o *delta.Options) { o.CheckpointInterval = 2; snappy(o) })
	commitMarks(t, w, 0, updates[:10], map[string]int64{"https://x/": 10, "https://y/": 5})
	commitMarks(t, w, 1, updates[10:20], map[string]int64{"https://x/": 20, "https://y/": 3})
	commitMarks(t, w, 2, updates[20:], map[string]int64{"https://z/": 1}) // checkpoint at 2
	want := map[string]int64{"https://x/": 20, "https://y/": 5, "https://z/": 1}
	if got := w.Marks(); !maps.Equal(got, want) {
		t.Fatalf("marks %v, want %v", got, want)
	}
	tbl := readTable(t, dir)
	found := map[string]int64{}
	for _, x := range tbl.Txns {
		found[x.AppID] = max(found[x.AppID], x.Version)
	}
	if found["a#https://x/"] != 20 || found["a#https://y/"] != 5 || found["a"] != 2 {
		t.Fatalf("txn actions as an independent reader sees them: %v", found)
	}
	// Reopened from the checkpoint alone, the marks are still there; another
	// app id has none.
	for v := 0; v <= 2; v++ {
		if err := os.Remove(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", v))); err != nil {
			t.Fatal(err)
		}
	}
	if got := openTable(t, dir, "a", snappy).Marks(); !maps.Equal(got, want) {
		t.Fatalf("marks from the checkpoint %v, want %v", got, want)
	}
	if got := openTable(t, dir, "b", snappy).Marks(); len(got) != 0 {
		t.Fatalf("another app id sees marks %v", got)
	}
}

func TestOpenRejectsOtherTables(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, "_delta_log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(lines ...string) {
		if err := os.WriteFile(filepath.Join(logDir, "00000000000000000000.json"), []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proto := `{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}`
	meta := func(schema, parts string) string {
		b, _ := json.Marshal(map[string]any{"metaData": map[string]any{"id": "x", "format": map[string]any{"provider": "parquet"},
			"schemaString": schema, "partitionColumns": json.RawMessage(parts), "configuration": map[string]string{}}})
		return string(b)
	}
	ours, err := delta.SchemaString(certtable.Schema)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(ours, `"name":"cert_index","type":"long"`, `"name":"cert_index","type":"string"`, 1)
	other = strings.Replace(other, `{"name":"sha1"`, `{"name":"sha_1"`, 1)
	for _, c := range []struct {
		lines []string
		want  string
	}{
		{[]string{proto, meta(other, `["seen_date"]`)}, `column "cert_index" has type "string", want "long"; column "sha1" is missing; column "sha_1" is not written by this node`},
		{[]string{proto, meta(ours, `[]`)}, `partitioned by []`},
		{[]string{`{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors"]}}`, meta(ours, `["seen_date"]`)}, "writer version 7"},
		{[]string{proto, `{"add":{"path":`}, "00000000000000000000.json: line 2"},
		{[]string{proto}, "no metaData"},
	} {
		write(c.lines...)
		_, err := delta.Open(certtable.Table(delta.Options{Path: dir, AppID: "a"}))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error with %q, got %v", c.want, err)
		}
	}
	// A missing version in the middle of the log is an error too.
	write(proto, meta(ours, `["seen_date"]`))
	if err := os.WriteFile(filepath.Join(logDir, "00000000000000000002.json"), []byte(`{"commitInfo":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := delta.Open(certtable.Table(delta.Options{Path: dir, AppID: "a"})); err == nil || !strings.Contains(err.Error(), "00000000000000000001.json is missing") {
		t.Fatalf("gap: %v", err)
	}
}

func TestRacingWritersTakeDistinctVersions(t *testing.T) {
	dir := t.TempDir()
	updates := deltatest.Updates(t, 200, 0, day0-1000)
	a := openTable(t, dir, "a", snappy)
	b := openTable(t, dir, "b", snappy) // both see an empty table: both try version 0
	ra := commit(t, a, 0, updates[:10])
	rb := commit(t, b, 0, updates[10:20])
	if ra.Version != 0 || ra.Conflicts != 0 || rb.Version != 1 || rb.Conflicts != 1 {
		t.Fatalf("a: %+v, b: %+v", ra, rb)
	}
	// Now both race for real, from two goroutines.
	const batches = 9
	var wg sync.WaitGroup
	var conflicts [2]int
	errs := make(chan error, 2)
	for i, w := range []*delta.Writer{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := int64(1); seq <= batches; seq++ {
				start := 20 + (int(seq)-1)*20 + i*10
				res, err := tryCommit(w, seq, updates[start:start+10], nil)
				if err != nil {
					errs <- err
					return
				}
				conflicts[i] += res.Conflicts
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	tbl := readTable(t, dir) // contiguous versions, one commitInfo each, txns increasing per app
	if tbl.Versions != 2+2*batches || len(tbl.Rows) != 200 {
		t.Fatalf("%d versions, %d rows", tbl.Versions, len(tbl.Rows))
	}
	perApp := map[string]int{}
	for _, x := range tbl.Txns {
		perApp[x.AppID]++
	}
	if perApp["a"] != batches+1 || perApp["b"] != batches+1 {
		t.Fatalf("txns per writer %v", perApp)
	}
	t.Logf("conflicts while racing: a %d, b %d", conflicts[0], conflicts[1])
}

func TestSameAppRetryAfterConflictIsSkipped(t *testing.T) {
	// Two writers with the same app id model one writer whose first attempt
	// committed although it saw an error: the second attempt loses the
	// version, reads the log, finds its txn and does not commit again.
	dir := t.TempDir()
	updates := deltatest.Updates(t, 20, 0, day0-1000)
	first := openTable(t, dir, "a", nil)
	retry := openTable(t, dir, "a", nil)
	commit(t, first, 0, updates[:10])
	res := commit(t, retry, 0, updates[:10])
	if !res.Skipped || res.Conflicts != 1 {
		t.Fatalf("retry: %+v", res)
	}
	tbl := readTable(t, dir)
	if len(tbl.Rows) != 10 || tbl.Versions != 1 {
		t.Fatalf("%d rows in %d versions", len(tbl.Rows), tbl.Versions)
	}
	if n := countParquet(t, dir); n != 1 {
		t.Fatalf("%d data files on disk: the skipped attempt left its file", n)
	}
}

func countParquet(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".parquet") && !strings.Contains(path, "_delta_log") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// faultyFS fails every write while Full is set, as a full disk does.
type faultyFS struct {
	delta.OSFS
	mu   sync.Mutex
	full bool
}

var errNoSpace = errors.New("no space left on device")

func (f *faultyFS) setFull(v bool) { f.mu.Lock(); f.full = v; f.mu.Unlock() }
func (f *faultyFS) isFull() bool   { f.mu.Lock(); defer f.mu.Unlock(); return f.full }

func (f *faultyFS) Create(name string) (delta.File, error) {
	if f.isFull() {
		return nil, errNoSpace
	}
	return f.OSFS.Create(name)
}

func (f *faultyFS) PutIfAbsent(name string, data []byte) error {
	if f.isFull() {
		return errNoSpace
	}
	return f.OSFS.PutIfAbsent(name, data)
}

func TestFullDiskFailsAndRecovers(t *testing.T) {
	dir := t.TempDir()
	fsys := &faultyFS{OSFS: delta.OSFS{Root: dir}}
	w := openTable(t, dir, "a", func(o *delta.Options) { o.FS = fsys })
	updates := deltatest.Updates(t, 30, 0, day0-1000)
	commit(t, w, 0, updates[:10])
	fsys.setFull(true)
	if _, err := tryCommit(w, 1, updates[10:20], nil); err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("full disk: %v", err)
	}
	fsys.setFull(false)
	commit(t, w, 1, updates[10:20])
	commit(t, w, 2, updates[20:])
	if tbl := readTable(t, dir); len(tbl.Rows) != 30 || tbl.Versions != 3 {
		t.Fatalf("%d rows in %d versions", len(tbl.Rows), tbl.Versions)
	}
}

func TestUnwritableLogDirectory(t *testing.T) {
	// Tests run as root, so chmod cannot make a directory read-only: the
	// log directory is replaced by a file instead, which fails every commit.
	dir := t.TempDir()
	w := openTable(t, dir, "a", nil)
	updates := deltatest.Updates(t, 20, 0, day0-1000)
	commit(t, w, 0, updates[:10])
	logDir := filepath.Join(dir, "_delta_log")
	if err := os.Rename(logDir, logDir+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := tryCommit(w, 1, updates[10:], nil); err == nil || !strings.Contains(err.Error(), "committing version 1") {
		t.Fatalf("unwritable log: %v", err)
	}
	if _, err := delta.Open(certtable.Table(delta.Options{Path: dir, AppID: "b"})); err == nil {
		t.Fatal("opened a table whose log is a file")
	}
	os.Remove(logDir)
	if err := os.Rename(logDir+".moved", logDir); err != nil {
		t.Fatal(err)
	}
	commit(t, w, 1, updates[10:])
	if tbl := readTable(t, dir); len(tbl.Rows) != 20 {
		t.Fatalf("%d rows", len(tbl.Rows))
	}
	if n := countParquet(t, dir); n != 2 {
		t.Fatalf("%d data files: the failed attempt's file was not removed", n)
	}
}

func TestBadPartsAreErrors(t *testing.T) {
	w := openTable(t, t.TempDir(), "a", nil)
	if _, err := w.Commit(0, nil, nil); err == nil {
		t.Error("empty commit accepted")
	}
	parts, err := certtable.Parts(deltatest.Updates(t, 2, 0, day0))
	if err != nil {
		t.Fatal(err)
	}
	defer parts[0].Record.Release()
	bad := parts[0]
	bad.Values = []string{"../x"}
	if _, err := w.Commit(0, []delta.Part{bad}, nil); err == nil || !strings.Contains(err.Error(), `partition value "../x"`) {
		t.Errorf("bad partition value: %v", err)
	}
	bad.Values = []string{"a", "b"}
	if _, err := w.Commit(0, []delta.Part{bad}, nil); err == nil || !strings.Contains(err.Error(), "2 partition values") {
		t.Errorf("two partition values: %v", err)
	}
}
