package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/cursorfile"
	"github.com/certstream/certstream/internal/delta/deltatest"
	"github.com/certstream/certstream/internal/fakelog"
)

// TestArchiveSurvivesSIGKILL kills the node with SIGKILL while it archives,
// restarts it, and checks the table: every committed version parses, no
// batch is committed twice, nothing committed before the kill is lost, and
// the second run archives the rest — each entry exactly once, though the
// node resumes from its last saved cursor, behind what was archived: the
// sink leaves out what the table's per-log marks say it holds.
func TestArchiveSurvivesSIGKILL(t *testing.T) {
	srv, err := fakelog.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	log, err := srv.AddLog(fakelog.LogConfig{Name: "k", Kind: fakelog.RFC6962, PrecertFraction: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	table := filepath.Join(dir, "table")
	cfgFile := filepath.Join(dir, "certstream.toml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`
[server]
host = "127.0.0.1"
port = %d

[ct_log]
follow_log_list = false
state_file = %q
start_overlap = 1000000
poll_interval_ms = 100
batch_size = 50

[[ct_log.custom_logs]]
name = "k"
url = %q
kind = "rfc6962"

[delta_sink]
enabled = true
table_path = %q
batch_size = 100
flush_interval_secs = 1
compression = "snappy"
checkpoint_interval = 5
`, freePort(t), filepath.Join(dir, "state.json"), log.URL(), table)), 0o644)

	var firstLog lockedBuffer
	start := func() *exec.Cmd {
		cmd := exec.Command(binary, "--config", cfgFile)
		if firstLog.String() == "" {
			cmd.Stderr = &firstLog
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	committed := func() *deltatest.Table {
		tb, err := deltatest.Read(table)
		if err != nil {
			return nil
		}
		return tb
	}

	// First run: entries keep arriving while the sink commits; kill it mid-way.
	first := start()
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				log.Append(10)
			}
		}
	}()
	await.True(t, 60*time.Second, "300 rows committed by the first run", func() bool {
		tb := committed()
		return tb != nil && len(tb.Rows) >= 300
	})
	if !strings.Contains(firstLog.String(), "archiving every certificate to a Delta Lake table") ||
		!strings.Contains(firstLog.String(), table) {
		t.Errorf("no start line naming the archive:\n%s", firstLog.String())
	}
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	close(stop)
	before := committed()
	if before == nil {
		t.Fatal("the table does not read back after SIGKILL")
	}
	saved, err := cursorfile.Load(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if int(saved[log.URL()]) >= len(before.Rows) {
		t.Logf("the cursor saved before the kill (%d) is not behind the table (%d rows): nothing is replayed",
			saved[log.URL()], len(before.Rows))
	}

	// Second run: resumes, archives the rest, stops gracefully.
	second := start()
	total := int(log.Size())
	await.Value(t, 60*time.Second, fmt.Sprintf("all %d rows archived by the second run", total), func() (int, bool) {
		n := 0
		if tb := committed(); tb != nil {
			n = len(tb.Rows)
		}
		return n, n >= total
	})
	second.Process.Signal(syscall.SIGTERM)
	second.Wait()

	after, err := deltatest.Read(table)
	if err != nil {
		t.Fatalf("table invalid after restart: %v", err)
	}
	seen := map[int64]bool{}
	for _, r := range after.Rows {
		if seen[r.CertIndex] {
			t.Fatalf("index %d archived twice (cursor saved before the kill: %d)", r.CertIndex, saved[log.URL()])
		}
		seen[r.CertIndex] = true
	}
	txns := map[int64]bool{}
	for _, x := range after.Txns {
		if strings.Contains(x.AppID, "#") {
			continue // a log's mark, not a batch
		}
		if txns[x.Version] {
			t.Fatalf("batch %d committed twice", x.Version)
		}
		txns[x.Version] = true
	}
	for _, r := range before.Rows {
		if !seen[r.CertIndex] {
			t.Fatalf("index %d committed before the kill is gone", r.CertIndex)
		}
	}
	for i := 0; i < total; i++ {
		if !seen[int64(i)] {
			t.Fatalf("index %d never archived (%d rows of %d)", i, len(after.Rows), total)
		}
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
