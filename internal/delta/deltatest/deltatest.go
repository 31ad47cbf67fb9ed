// Package deltatest is test support for the Delta archive: an independent
// reader that replays a table's _delta_log with its own code and reads the
// data files with github.com/parquet-go/parquet-go (not the Arrow library
// the writer uses), and certificate updates built from the shared real CT
// test data. Only tests import it.
package deltatest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/certstream/certstream/internal/ctdecode"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/wire"
)

// Row is one archived certificate as parquet-go reads it; SeenDate comes
// from the file's partition value.
type Row struct {
	CertIndex           int64    `parquet:"cert_index"`
	UpdateType          string   `parquet:"update_type"`
	Seen                int64    `parquet:"seen"`
	SourceName          string   `parquet:"source_name"`
	SourceURL           string   `parquet:"source_url"`
	CertLink            string   `parquet:"cert_link"`
	SerialNumber        string   `parquet:"serial_number"`
	Fingerprint         string   `parquet:"fingerprint"`
	SHA256              string   `parquet:"sha256"`
	SHA1                string   `parquet:"sha1"`
	NotBefore           int64    `parquet:"not_before"`
	NotAfter            int64    `parquet:"not_after"`
	IsCA                bool     `parquet:"is_ca"`
	SignatureAlgorithm  string   `parquet:"signature_algorithm"`
	SubjectAggregated   string   `parquet:"subject_aggregated"`
	IssuerAggregated    string   `parquet:"issuer_aggregated"`
	AllDomains          []string `parquet:"all_domains,list"`
	AsDER               []byte   `parquet:"as_der"`
	Chain               []string `parquet:"chain,list"`
	SubmissionTimestamp int64    `parquet:"submission_timestamp"`
	SeenDate            string   `parquet:"-"`
}

// Add is a live data file of the table.
type Add struct {
	Path            string            `json:"path"`
	PartitionValues map[string]string `json:"partitionValues"`
	Size            int64             `json:"size"`
	DataChange      bool              `json:"dataChange"`
	Stats           string            `json:"stats"`
	Version         int64             `json:"-"` // the version that added it
}

// Stats is an add's parsed stats.
type Stats struct {
	NumRecords int64          `json:"numRecords"`
	MinValues  map[string]any `json:"minValues"`
	MaxValues  map[string]any `json:"maxValues"`
	NullCount  map[string]any `json:"nullCount"`
}

// Txn is a txn action and the version that carried it.
type Txn struct {
	AppID   string `json:"appId"`
	Version int64  `json:"version"`
	In      int64  `json:"-"`
}

// Table is a table read back independently.
type Table struct {
	Versions       int64             // number of commit files, 0..Versions-1
	Protocol       map[string]any    // the protocol action
	Metadata       map[string]any    // the metaData action
	Adds           []Add             // live files, in commit order
	Txns           []Txn             // every txn action, in version order
	Rows           []Row             // every row of every live file
	Checkpoints    []int64           // versions with a single-file checkpoint
	CommitInfos    []map[string]any  // one per version
	FileSchemas    map[string]string // data file path → parquet-go schema text
	RowsByFile     map[string]int64
	Partitions     map[string]int // seen_date → rows
	LastCheckpoint map[string]any // _last_checkpoint, if any
}

var commitName = regexp.MustCompile(`^(\d{20})\.json$`)
var checkpointName = regexp.MustCompile(`^(\d{20})\.checkpoint\.parquet$`)

// Read replays every commit of the table at dir from version 0, checking the
// invariants of a valid table on the way, and reads every live file. It
// returns an error naming what is wrong; checkpoints are checked against the
// replayed state.
func Read(dir string) (*Table, error) {
	entries, err := os.ReadDir(filepath.Join(dir, "_delta_log"))
	if err != nil {
		return nil, err
	}
	var versions []int64
	t := &Table{FileSchemas: map[string]string{}, RowsByFile: map[string]int64{}, Partitions: map[string]int{}}
	for _, e := range entries {
		if m := commitName.FindStringSubmatch(e.Name()); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			versions = append(versions, v)
		} else if m := checkpointName.FindStringSubmatch(e.Name()); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			t.Checkpoints = append(t.Checkpoints, v)
		}
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != int64(i) {
			return nil, fmt.Errorf("versions are not contiguous from 0: %v", versions)
		}
	}
	t.Versions = int64(len(versions))
	live := map[string]int{} // path → index in t.Adds
	seenTxn := map[string]int64{}
	stateAt := map[int64][]string{} // checkpoint version → live paths
	for _, v := range versions {
		data, err := os.ReadFile(filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.json", v)))
		if err != nil {
			return nil, err
		}
		infos := 0
		for n, line := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var a struct {
				CommitInfo map[string]any  `json:"commitInfo"`
				Protocol   map[string]any  `json:"protocol"`
				MetaData   map[string]any  `json:"metaData"`
				Txn        *Txn            `json:"txn"`
				Add        *Add            `json:"add"`
				Remove     *map[string]any `json:"remove"`
			}
			if err := json.Unmarshal(line, &a); err != nil {
				return nil, fmt.Errorf("version %d line %d: %v", v, n+1, err)
			}
			switch {
			case a.CommitInfo != nil:
				infos++
				t.CommitInfos = append(t.CommitInfos, a.CommitInfo)
			case a.Protocol != nil:
				if v != 0 {
					return nil, fmt.Errorf("version %d changes the protocol", v)
				}
				t.Protocol = a.Protocol
			case a.MetaData != nil:
				if v != 0 {
					return nil, fmt.Errorf("version %d changes the metadata", v)
				}
				t.Metadata = a.MetaData
			case a.Txn != nil:
				if last, ok := seenTxn[a.Txn.AppID]; ok && a.Txn.Version <= last {
					return nil, fmt.Errorf("version %d: txn %s/%d does not follow %d: a batch committed twice", v, a.Txn.AppID, a.Txn.Version, last)
				}
				seenTxn[a.Txn.AppID] = a.Txn.Version
				a.Txn.In = v
				t.Txns = append(t.Txns, *a.Txn)
			case a.Add != nil:
				if _, dup := live[a.Add.Path]; dup {
					return nil, fmt.Errorf("version %d adds %s twice", v, a.Add.Path)
				}
				a.Add.Version = v
				live[a.Add.Path] = len(t.Adds)
				t.Adds = append(t.Adds, *a.Add)
			case a.Remove != nil:
				return nil, fmt.Errorf("version %d removes a file from an append-only table", v)
			}
		}
		if infos != 1 {
			return nil, fmt.Errorf("version %d has %d commitInfo actions", v, infos)
		}
		if slices.Contains(t.Checkpoints, v) {
			paths := make([]string, 0, len(live))
			for p := range live {
				paths = append(paths, p)
			}
			slices.Sort(paths)
			stateAt[v] = paths
		}
	}
	if t.Protocol == nil || t.Metadata == nil {
		return nil, fmt.Errorf("version 0 lacks protocol or metaData")
	}
	for _, cp := range t.Checkpoints {
		if err := checkCheckpoint(dir, cp, stateAt[cp]); err != nil {
			return nil, err
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "_delta_log", "_last_checkpoint")); err == nil {
		if err := json.Unmarshal(b, &t.LastCheckpoint); err != nil {
			return nil, fmt.Errorf("_last_checkpoint: %v", err)
		}
	}
	for _, a := range t.Adds {
		rows, schema, err := readFile(filepath.Join(dir, filepath.FromSlash(a.Path)))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", a.Path, err)
		}
		var st Stats
		if err := json.Unmarshal([]byte(a.Stats), &st); err != nil {
			return nil, fmt.Errorf("%s stats: %v", a.Path, err)
		}
		if st.NumRecords != int64(len(rows)) {
			return nil, fmt.Errorf("%s: stats say %d records, the file has %d", a.Path, st.NumRecords, len(rows))
		}
		day := a.PartitionValues["seen_date"]
		for i := range rows {
			rows[i].SeenDate = day
		}
		t.FileSchemas[a.Path] = schema
		t.RowsByFile[a.Path] = int64(len(rows))
		t.Partitions[day] += len(rows)
		t.Rows = append(t.Rows, rows...)
	}
	return t, nil
}

// readFile reads a data file with parquet-go.
func readFile(path string) ([]Row, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, "", err
	}
	rows, err := parquet.Read[Row](f, st.Size())
	if err != nil {
		return nil, "", err
	}
	return rows, pf.Schema().String(), nil
}

// checkpointRow is the part of a checkpoint row this reader checks.
type checkpointRow struct {
	Add *struct {
		Path string `parquet:"path"`
		Size int64  `parquet:"size"`
	} `parquet:"add,optional"`
	Protocol *struct {
		MinReaderVersion int32 `parquet:"minReaderVersion"`
		MinWriterVersion int32 `parquet:"minWriterVersion"`
	} `parquet:"protocol,optional"`
	MetaData *struct {
		SchemaString string `parquet:"schemaString"`
	} `parquet:"metaData,optional"`
}

// checkCheckpoint reads a checkpoint with parquet-go and compares its files
// with the replayed state at its version.
func checkCheckpoint(dir string, v int64, want []string) error {
	path := filepath.Join(dir, "_delta_log", fmt.Sprintf("%020d.checkpoint.parquet", v))
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rows, err := parquet.Read[checkpointRow](f, st.Size())
	if err != nil {
		return fmt.Errorf("checkpoint %d: %v", v, err)
	}
	var got []string
	protocols, metas := 0, 0
	for _, r := range rows {
		if r.Add != nil {
			got = append(got, r.Add.Path)
		}
		if r.Protocol != nil {
			protocols++
		}
		if r.MetaData != nil && r.MetaData.SchemaString != "" {
			metas++
		}
	}
	slices.Sort(got)
	if protocols != 1 || metas != 1 {
		return fmt.Errorf("checkpoint %d has %d protocol and %d metaData rows", v, protocols, metas)
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("checkpoint %d lists %d files, the log replayed to it has %d", v, len(got), len(want))
	}
	return nil
}

// Updates returns n certificate updates built from real CT data: the
// navigli static-ct precerts (cycled when n > 1024), each given the real
// two-certificate issuer chain of a 2013 RFC 6962 entry, so rows have
// realistic sizes. Update i has index first+i and was seen at seenMillis+i.
func Updates(t testing.TB, n int, first uint64, seenMillis int64) []*wire.Update {
	t.Helper()
	entries := realEntries(t)
	src := &wire.Source{Name: "Test Log", URL: "https://ct.example/log/"}
	out := make([]*wire.Update, n)
	for i := range out {
		e := *entries[i%len(entries)]
		e.Index = first + uint64(i)
		out[i] = &wire.Update{Entry: e, Source: src, Seen: seenMillis + int64(i),
			CertLink: fmt.Sprintf("https://ct.example/log/ct/v1/get-entries?start=%d&end=%d", e.Index, e.Index)}
	}
	return out
}

var (
	entriesMu     sync.Mutex
	cachedEntries []*wire.Entry
)

// realEntries decodes the navigli tiles and attaches a real chain.
func realEntries(t testing.TB) []*wire.Entry {
	entriesMu.Lock()
	defer entriesMu.Unlock()
	if cachedEntries != nil {
		return cachedEntries
	}
	var raw struct {
		Entries []struct {
			LeafInput string `json:"leaf_input"`
			ExtraData string `json:"extra_data"`
		} `json:"entries"`
	}
	b, err := os.ReadFile(fixtures.Path(t, "rfc6962", "ctgo_scanner_FourEntries.get-entries.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	leaf, _ := base64.StdEncoding.DecodeString(raw.Entries[0].LeafInput)
	extra, _ := base64.StdEncoding.DecodeString(raw.Entries[0].ExtraData)
	chained, err := ctdecode.DecodeRFC6962(0, leaf, extra, nil)
	if err != nil {
		t.Fatal(err)
	}
	var entries []*wire.Entry
	for tile := 0; tile < 4; tile++ {
		data, err := os.ReadFile(fixtures.Path(t, "static-ct", "navigli2025h2", "tile", "data", fmt.Sprintf("%03d", tile)))
		if err != nil {
			t.Fatal(err)
		}
		leaves, err := ctdecode.ParseDataTile(data, uint64(tile*ctdecode.TileWidth), ctdecode.TileWidth)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leaves {
			e, err := ctdecode.EntryFromTileLeaf(l, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.Chain = chained.Chain
			entries = append(entries, e)
		}
	}
	cachedEntries = entries
	return entries
}
