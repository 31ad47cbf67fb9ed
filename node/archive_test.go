package node

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/delta/deltatest"
)

// TestArchiveHoldsExactlyThePublishedCertificates runs a node with the
// Delta sink on, fed by the fake logs, and reads the table back with an
// independent reader: one row per published certificate, no more, no less,
// in the right partitions.
func TestArchiveHoldsExactlyThePublishedCertificates(t *testing.T) {
	f := newFakeLogs(t)
	dir := t.TempDir()
	cfg := f.config(t, dir)
	cfg.DeltaSink.Enabled = true
	cfg.DeltaSink.TablePath = filepath.Join(dir, "table")
	cfg.DeltaSink.BatchSize = 1000
	cfg.DeltaSink.FlushIntervalSecs = 1
	cfg.DeltaSink.CheckpointInterval = 2
	cfg.DeltaSink.Compression = "snappy" // zstd is very slow under -race
	f.holdNavigli(t)
	n := startNode(t, cfg, Options{})
	full := dialWS(t, n.Addr(), "/full-stream")
	grow(t, f, 900, 3)
	want := f.expect(t)
	await.True(t, 60*time.Second, "every entry", func() bool { return full.count() >= want.total })
	shutdown(t, n) // flushes the sink

	table, err := deltatest.Read(cfg.DeltaSink.TablePath)
	if err != nil {
		t.Fatalf("the table does not read back: %v", err)
	}
	type key struct {
		url   string
		index int64
	}
	published := map[key]string{} // → sha256
	for _, m := range full.snapshot() {
		var msg struct {
			Data struct {
				CertIndex int64 `json:"cert_index"`
				Seen      float64
				LeafCert  struct {
					SHA256 string `json:"sha256"`
				} `json:"leaf_cert"`
				Source struct {
					URL string `json:"url"`
				} `json:"source"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(m), &msg); err != nil {
			t.Fatal(err)
		}
		published[key{msg.Data.Source.URL, msg.Data.CertIndex}] = msg.Data.LeafCert.SHA256
	}
	if len(table.Rows) != len(published) {
		t.Fatalf("table has %d rows, %d certificates were published", len(table.Rows), len(published))
	}
	for _, r := range table.Rows {
		k := key{r.SourceURL, r.CertIndex}
		sha, ok := published[k]
		if !ok {
			t.Fatalf("row %s #%d was never published", r.SourceURL, r.CertIndex)
		}
		if sha != r.SHA256 {
			t.Fatalf("row %s #%d: sha256 %s, published %s", r.SourceURL, r.CertIndex, r.SHA256, sha)
		}
		delete(published, k) // a second row for k fails above
		if day := time.UnixMicro(r.Seen).UTC().Format("2006-01-02"); r.SeenDate != day {
			t.Fatalf("row in partition %s has seen %s", r.SeenDate, day)
		}
		if len(r.AsDER) == 0 || r.UpdateType == "" {
			t.Fatalf("row %s #%d lacks as_der or update_type", r.SourceURL, r.CertIndex)
		}
	}
	if len(table.Checkpoints) == 0 {
		t.Errorf("no checkpoint after %d commits (interval 2)", table.Versions)
	}
}
