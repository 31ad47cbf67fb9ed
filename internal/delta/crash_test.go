package delta_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/delta"
	"github.com/certstream/certstream/internal/delta/deltatest"
)

// crashEnv names the table a re-executed test binary writes to until killed.
const crashEnv = "DELTA_CRASH_TABLE"

// crashBatch is the rows per batch; batch seq holds cert_index seq*crashBatch...
const crashBatch = 300

// TestCrashChild is the writer process of TestSIGKILLLeavesAValidTable: it
// appends batches forever, printing each committed sequence number.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("only runs re-executed by TestSIGKILLLeavesAValidTable")
	}
	w := openTable(t, dir, "crash", func(o *delta.Options) { o.CheckpointInterval = 4; snappy(o) })
	for seq := w.LastTxn() + 1; ; seq++ {
		updates := deltatest.Updates(t, crashBatch, uint64(seq*crashBatch), day0+seq)
		res := commit(t, w, seq, updates)
		fmt.Printf("committed %d\n", seq)
		if res.CheckpointErr != nil {
			t.Fatal(res.CheckpointErr)
		}
	}
}

func TestSIGKILLLeavesAValidTable(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	committed := map[int64]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 4; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let the child commit a few batches, then kill it at a random
		// moment: inside a data file, a commit or a checkpoint.
		lines := bufio.NewScanner(out)
		for n := 0; n < 2 && lines.Scan(); n++ {
			noteCommitted(t, committed, lines.Text())
		}
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for lines.Scan() {
			noteCommitted(t, committed, lines.Text())
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: child ended with %v, want killed", round, err)
		}
		checkCrashTable(t, dir, committed)
	}
	// The next writer appends after whatever the last one left.
	w := openTable(t, dir, "crash", snappy)
	next := w.LastTxn() + 1
	commit(t, w, next, deltatest.Updates(t, crashBatch, uint64(next*crashBatch), day0))
	committed[next] = true
	checkCrashTable(t, dir, committed)
}

func noteCommitted(t *testing.T, committed map[int64]bool, line string) {
	if s, ok := strings.CutPrefix(line, "committed "); ok {
		seq, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("child said %q", line)
		}
		committed[seq] = true
	}
}

// checkCrashTable checks a table after a kill: every version parses (Read
// fails otherwise), no batch is in it twice, and every batch the writer
// reported as committed is there in full.
func checkCrashTable(t *testing.T, dir string, committed map[int64]bool) {
	t.Helper()
	tbl := readTable(t, dir)
	rows := map[int64]int{}
	for _, r := range tbl.Rows {
		rows[r.CertIndex/crashBatch]++
	}
	for _, x := range tbl.Txns {
		if rows[x.Version] != crashBatch {
			t.Fatalf("batch %d has %d rows, want %d", x.Version, rows[x.Version], crashBatch)
		}
	}
	if len(rows) != len(tbl.Txns) || len(tbl.Rows) != len(tbl.Txns)*crashBatch {
		t.Fatalf("%d rows in %d batches for %d txns: rows committed without a batch, or twice", len(tbl.Rows), len(rows), len(tbl.Txns))
	}
	for seq := range committed {
		if rows[seq] != crashBatch {
			t.Fatalf("batch %d was reported committed but has %d rows", seq, rows[seq])
		}
	}
	t.Logf("%d versions, %d rows, checkpoints %v, %d uncommitted data files", tbl.Versions, len(tbl.Rows), tbl.Checkpoints,
		countParquet(t, dir)-len(tbl.Adds))
}
