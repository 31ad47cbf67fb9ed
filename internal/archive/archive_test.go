package archive_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/archive"
	"github.com/certstream/certstream/internal/delta"
	"github.com/certstream/certstream/internal/delta/deltatest"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
)

// seen0 is 2025-05-20T12:00:00Z.
const seen0 = int64(1747742400000)

// faultFS is the table's directory, except that every write fails while
// broken is set, as on a full disk, and every commit file waits while
// hold is set.
type faultFS struct {
	delta.OSFS
	mu      sync.Mutex
	broken  bool
	hold    chan struct{} // closed to release the held writes
	holding chan struct{} // gets a value when a write starts waiting
}

var errNoSpace = errors.New("no space left on device")

func (f *faultFS) setBroken(v bool) { f.mu.Lock(); f.broken = v; f.mu.Unlock() }

// check fails while broken, and waits while held.
func (f *faultFS) check() error {
	f.mu.Lock()
	broken, hold, holding := f.broken, f.hold, f.holding
	f.mu.Unlock()
	if hold != nil {
		holding <- struct{}{}
		<-hold
	}
	if broken {
		return errNoSpace
	}
	return nil
}

func (f *faultFS) MkdirAll(name string) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.OSFS.MkdirAll(name)
}

func (f *faultFS) Create(name string) (delta.File, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	return f.OSFS.Create(name)
}

func (f *faultFS) PutIfAbsent(name string, data []byte) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.OSFS.PutIfAbsent(name, data)
}

func (f *faultFS) Replace(name string, data []byte) error {
	if err := f.check(); err != nil {
		return err
	}
	return f.OSFS.Replace(name, data)
}

// fixture is an Archive on a table in a temporary directory, fed through a
// real ring, with a test clock.
type fixture struct {
	t     *testing.T
	a     *archive.Archive
	ring  *mailbox.Ring[*wire.Update]
	clock *fixtures.Clock
	fs    *faultFS
	dir   string
	ended chan struct{} // a commit started by pump has ended
}

// newFixture returns a fixture with batches of 100, a one-minute interval
// and a backoff from 1 s to 8 s; mod may change the config.
func newFixture(t *testing.T, dir string, mod func(*archive.Config)) *fixture {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "table")
	}
	f := &fixture{t: t, ring: mailbox.New[*wire.Update](10000), clock: fixtures.NewClock(time.UnixMilli(seen0)),
		fs: &faultFS{OSFS: delta.OSFS{Root: dir}}, dir: dir, ended: make(chan struct{}, 1)}
	cfg := archive.Config{TablePath: dir, FS: f.fs, BatchSize: 100, FlushInterval: time.Minute, Compression: "snappy",
		SinkID: "test-sink", Now: f.clock.Now, RetryMin: time.Second, RetryMax: 8 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	f.a = archive.New(cfg, f.ring)
	return f
}

func (f *fixture) push(updates []*wire.Update) {
	for _, u := range updates {
		f.ring.Push(u)
	}
}

// pump calls Pump until no commit is running, waiting for each to end.
func (f *fixture) pump() {
	f.t.Helper()
	for {
		f.a.Pump(func() { f.ended <- struct{}{} })
		if !f.a.Flushing() {
			return
		}
		select {
		case <-f.ended:
		case <-time.After(10 * time.Second):
			f.t.Fatal("a commit did not end in 10 s")
		}
	}
}

// table reads the table back with an independent reader.
func (f *fixture) table() *deltatest.Table {
	f.t.Helper()
	tbl, err := deltatest.Read(f.dir)
	if err != nil {
		f.t.Fatalf("reading the table back: %v", err)
	}
	return tbl
}

// indices returns the sorted cert_index of every row of tbl.
func indices(tbl *deltatest.Table) []int64 {
	out := make([]int64, 0, len(tbl.Rows))
	for _, r := range tbl.Rows {
		out = append(out, r.CertIndex)
	}
	slices.Sort(out)
	return out
}

// span returns first, first+1, ..., last.
func span(first, last int64) []int64 {
	var out []int64
	for i := first; i <= last; i++ {
		out = append(out, i)
	}
	return out
}

// checkRing checks the ring's accounting once the Archive is idle.
func checkRing(t *testing.T, ring *mailbox.Ring[*wire.Update], delivered, dropped uint64) {
	t.Helper()
	st := ring.Stats()
	if st.Delivered != delivered || st.Dropped != dropped ||
		st.Pushed != st.Delivered+st.Dropped+uint64(st.Queued+st.InFlight) {
		t.Fatalf("ring %+v, want delivered %d, dropped %d", st, delivered, dropped)
	}
}

func TestCommitsOnSizeAndInterval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rows     int
		wait     time.Duration // clock advance before the last Pump
		commits  uint64
		buffered int
	}{
		{"below a batch", 99, 0, 0, 99},
		{"one batch", 100, 0, 1, 0},
		{"two batches and a rest", 250, 0, 2, 50},
		{"five batches: two at a time from the ring", 500, 0, 5, 0},
		{"rest before the interval", 50, time.Minute - time.Millisecond, 0, 50},
		{"rest at the interval", 50, time.Minute, 1, 0},
		{"batches, then the rest at the interval", 250, time.Minute, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			f.push(deltatest.Updates(t, tc.rows, 0, seen0))
			f.pump()
			f.clock.Advance(tc.wait)
			f.pump()
			st := f.a.Stats()
			written := tc.rows - tc.buffered
			if st.Commits != tc.commits || f.a.Buffered() != tc.buffered || st.RowsWritten != uint64(written) {
				t.Fatalf("%d commits of %d rows, %d buffered; want %d commits, %d buffered",
					st.Commits, st.RowsWritten, f.a.Buffered(), tc.commits, tc.buffered)
			}
			checkRing(t, f.ring, uint64(written), 0)
			if tc.commits == 0 {
				return
			}
			tbl := f.table()
			if !slices.Equal(indices(tbl), span(0, int64(written)-1)) || tbl.Versions != int64(tc.commits) ||
				st.TableVersion != int64(tc.commits)-1 || !st.LastFlush.Equal(f.clock.Now()) {
				t.Fatalf("table has rows %v in %d versions; stats %+v", indices(tbl), tbl.Versions, st)
			}
		})
	}
}

// TestRetryBacksOff fails the table's writes: the batch is kept and retried
// only once the backoff, doubling up to RetryMax, has passed; once the disk
// works again it commits under the sequence it failed with.
func TestRetryBacksOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		open  bool  // the table was opened (one commit made) before the failure
		first int64 // the first row in the table
		seqs  string
	}{
		{"table cannot be opened", false, 100, "[0]"},
		{"commit fails", true, 0, "[0 1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			updates := deltatest.Updates(t, 200, 0, seen0)
			if tc.open {
				f.push(updates[:100])
				f.pump()
			}
			f.fs.setBroken(true)
			f.push(updates[100:])
			f.pump()
			retries := []struct {
				wait   time.Duration // after the previous step
				errors uint64
			}{
				{0, 1}, // the first attempt fails: retry in 1 s
				{999 * time.Millisecond, 1},
				{time.Millisecond, 2}, // retry in 2 s
				{1999 * time.Millisecond, 2},
				{time.Millisecond, 3}, // 4 s
				{4 * time.Second, 4},  // 8 s, the maximum
				{8 * time.Second, 5},  // 8 s
				{8 * time.Second, 6},
			}
			for i, r := range retries {
				f.clock.Advance(r.wait)
				f.pump()
				st := f.a.Stats()
				if st.WriteErrors != r.errors || !strings.Contains(st.LastError, "no space") {
					t.Fatalf("step %d: %d write errors (%q), want %d", i, st.WriteErrors, st.LastError, r.errors)
				}
			}
			if at, failing := f.a.NextRetry(); !failing || !at.Equal(f.clock.Now().Add(8*time.Second)) {
				t.Fatalf("next retry %v (failing %v), want 8 s from now", at, failing)
			}
			if f.a.Buffered() != 100 {
				t.Fatalf("%d rows buffered while failing, want 100", f.a.Buffered())
			}

			f.fs.setBroken(false)
			f.clock.Advance(8 * time.Second)
			f.pump()
			if _, failing := f.a.NextRetry(); failing || f.a.Buffered() != 0 || f.a.Stats().RowsWritten != uint64(200-tc.first) {
				t.Fatalf("after recovery: failing %v, %d buffered, stats %+v", failing, f.a.Buffered(), f.a.Stats())
			}
			tbl := f.table()
			var seqs []int64
			for _, x := range tbl.Txns {
				if x.AppID == "test-sink" {
					seqs = append(seqs, x.Version)
				}
			}
			if !slices.Equal(indices(tbl), span(tc.first, 199)) || fmt.Sprint(seqs) != tc.seqs {
				t.Fatalf("rows %v, batch sequences %v", indices(tbl), seqs)
			}
			checkRing(t, f.ring, uint64(200-tc.first), 0)
		})
	}
}

// TestDropsTheOldestHalfWhileFailing checks that a failing table keeps at
// most two batches, dropping (and counting) the oldest half when it gets
// there, and that a healthy one never drops.
func TestDropsTheOldestHalfWhileFailing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		broken   bool
		pushed   int   // rows 0..pushed-1, after a first failed batch of 150
		dropped  int   // rows dropped from the buffer
		buffered int   // rows buffered after the drop
		kept     int64 // the oldest row committed once the table works
	}{
		{"healthy", false, 450, 0, 50, 0},
		{"failing, below two batches", true, 190, 0, 190, 0},
		{"failing, at two batches", true, 200, 100, 100, 100},
		{"failing, over two batches", true, 450, 100, 200, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "", nil)
			f.fs.setBroken(tc.broken)
			updates := deltatest.Updates(t, tc.pushed, 0, seen0)
			f.push(updates[:150])
			f.pump()
			f.push(updates[150:])
			f.pump()
			if st := f.a.Stats(); st.Dropped != uint64(tc.dropped) || f.a.Buffered() != tc.buffered {
				t.Fatalf("dropped %d, buffered %d; want %d and %d", st.Dropped, f.a.Buffered(), tc.dropped, tc.buffered)
			}
			f.fs.setBroken(false)
			if err := f.a.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := indices(f.table()); !slices.Equal(got, span(tc.kept, int64(tc.pushed)-1)) {
				t.Fatalf("the table holds rows %d..%d (%d), want %d..%d", got[0], got[len(got)-1], len(got), tc.kept, tc.pushed-1)
			}
			checkRing(t, f.ring, uint64(tc.pushed-tc.dropped), uint64(tc.dropped))
		})
	}
}

func TestBadRowsAreDropped(t *testing.T) {
	f := newFixture(t, "", nil)
	updates := deltatest.Updates(t, 10, 0, seen0)
	updates[3].Seen = -1
	updates[7] = nil
	f.push(updates)
	if err := f.a.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := f.a.Stats(); st.BadRows != 2 || st.Dropped != 2 || st.RowsWritten != 8 {
		t.Fatalf("stats %+v", st)
	}
	if got := indices(f.table()); fmt.Sprint(got) != "[0 1 2 4 5 6 8 9]" {
		t.Fatalf("rows %v", got)
	}
	checkRing(t, f.ring, 8, 2)
}

func TestFlush(t *testing.T) {
	f := newFixture(t, "", nil)
	f.push(deltatest.Updates(t, 250, 0, seen0))
	f.fs.setBroken(true)
	err := f.a.Flush()
	if err == nil || !strings.Contains(err.Error(), "250 rows not archived") {
		t.Fatalf("Flush on a failing table: %v", err)
	}
	if st := f.a.Stats(); st.WriteErrors != 1 || f.a.Buffered() != 250 {
		t.Fatalf("after a failed Flush: %+v, %d buffered", st, f.a.Buffered())
	}
	// Flush ignores the backoff.
	f.fs.setBroken(false)
	if err := f.a.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := f.a.Stats(); st.Commits != 3 || f.a.Buffered() != 0 {
		t.Fatalf("after Flush: %+v, %d buffered", st, f.a.Buffered())
	}
	if err := f.a.Flush(); err != nil || f.table().Versions != 3 {
		t.Fatalf("a second Flush: %v, %d versions", err, f.table().Versions)
	}
	checkRing(t, f.ring, 250, 0)
}

// TestFlushTimesOut holds a commit on the disk: Flush gives up after
// FlushTimeout, and the commit's result is applied when it ends.
func TestFlushTimesOut(t *testing.T) {
	f := newFixture(t, "", func(c *archive.Config) { c.FlushTimeout = 50 * time.Millisecond })
	f.fs.hold, f.fs.holding = make(chan struct{}), make(chan struct{}, 100)
	f.push(deltatest.Updates(t, 100, 0, seen0))
	f.a.Pump(func() { f.ended <- struct{}{} })
	<-f.fs.holding
	if err := f.a.Flush(); err == nil || !strings.Contains(err.Error(), "still running after 50ms; 100 rows not archived") {
		t.Fatalf("Flush during a held commit: %v", err)
	}
	f.fs.mu.Lock()
	close(f.fs.hold)
	f.fs.hold = nil
	f.fs.mu.Unlock()
	<-f.ended
	f.pump()
	if st := f.a.Stats(); st.RowsWritten != 100 || f.a.Flushing() {
		t.Fatalf("after the held commit: %+v", st)
	}
}

// TestReplayedRowsAreLeftOut runs a second Archive on a table, fed, as a
// node resuming from a cursor saved before a crash would be, rows of a log
// the table already holds: only the new ones are committed, and another
// log's rows at the same indices are kept.
func TestReplayedRowsAreLeftOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "table")
	first := newFixture(t, dir, nil)
	first.push(deltatest.Updates(t, 150, 0, seen0))
	if err := first.a.Flush(); err != nil {
		t.Fatal(err)
	}

	second := newFixture(t, dir, nil)
	other := deltatest.Updates(t, 50, 0, seen0)
	otherLog := &wire.Source{Name: "Other", URL: "https://other.example/"}
	for _, u := range other {
		u.Source = otherLog
	}
	replay := append(deltatest.Updates(t, 150, 100, seen0), other...) // 100..149 again, 150..249 new
	second.push(replay)
	if err := second.a.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := second.a.Stats(); st.RowsWritten != 150 || st.Archived != 50 {
		t.Fatalf("wrote %d, left out %d; want 150 and 50", st.RowsWritten, st.Archived)
	}
	checkRing(t, second.ring, 200, 0)
	count := map[string]int{}
	for _, r := range second.table().Rows {
		count[fmt.Sprintf("%s %d", r.SourceURL, r.CertIndex)]++
	}
	if len(count) != 300 {
		t.Fatalf("%d distinct rows, want 300", len(count))
	}
	for k, n := range count {
		if n != 1 {
			t.Fatalf("%s archived %d times", k, n)
		}
	}
}
