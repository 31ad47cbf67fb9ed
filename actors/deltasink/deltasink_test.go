package deltasink_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/deltasink"
	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/internal/archive"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/delta/deltatest"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// seen0 is 2025-05-20T12:00:00Z.
const seen0 = int64(1747742400000)

// harness is a sink actor on its own engine, fed through a real ring.
type harness struct {
	t      testing.TB
	engine *actor.Engine
	ring   *mailbox.Ring[*wire.Update]
	pid    *actor.PID
	clock  *fixtures.Clock
	dir    string
}

func newHarness(t testing.TB, capacity int, mod func(*archive.Config), opts ...actor.OptFunc) *harness {
	t.Helper()
	engine, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, engine: engine, ring: mailbox.New[*wire.Update](capacity),
		clock: fixtures.NewClock(time.UnixMilli(seen0)), dir: filepath.Join(t.TempDir(), "table")}
	cfg := archive.Config{TablePath: h.dir, BatchSize: 100, FlushInterval: time.Minute, Compression: "snappy",
		SinkID: "test-sink", Now: h.clock.Now, RetryMin: time.Second, RetryMax: 8 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	h.pid = engine.Spawn(deltasink.New(cfg)(h.ring), "deltasink", opts...)
	return h
}

// push offers updates as the router does: a wake only when the ring asks.
func (h *harness) push(updates []*wire.Update) {
	for _, u := range updates {
		if h.ring.Push(u) {
			h.engine.Send(h.pid, messages.Wake{})
		}
	}
}

func (h *harness) tick() { h.engine.Send(h.pid, messages.Tick{Now: h.clock.Now().UnixMilli()}) }

func (h *harness) inspect() messages.ActorInfo {
	h.t.Helper()
	resp, err := h.engine.Request(h.pid, messages.Inspect{}, 5*time.Second).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.(messages.ActorInfo)
}

func (h *harness) stats() archive.Stats {
	h.t.Helper()
	return h.inspect().Details["stats"].(archive.Stats)
}

// waitFor polls the sink's stats until cond holds (10 s at most).
func (h *harness) waitFor(what string, cond func(archive.Stats) bool) archive.Stats {
	h.t.Helper()
	return await.Value(h.t, 10*time.Second, what, func() (archive.Stats, bool) {
		st := h.stats()
		return st, cond(st)
	})
}

func (h *harness) stop() {
	<-h.engine.Poison(h.pid).Done()
}

// checkTable reads the table back independently and checks it holds
// exactly the given updates, once each.
func checkTable(t *testing.T, dir string, want []*wire.Update) *deltatest.Table {
	t.Helper()
	tbl, err := deltatest.Read(dir)
	if err != nil {
		t.Fatalf("reading the table back: %v", err)
	}
	got := map[int64]deltatest.Row{}
	for _, r := range tbl.Rows {
		if _, dup := got[r.CertIndex]; dup {
			t.Fatalf("cert_index %d archived twice", r.CertIndex)
		}
		got[r.CertIndex] = r
	}
	if len(got) != len(want) {
		t.Fatalf("table has %d rows, want %d", len(got), len(want))
	}
	for _, u := range want {
		r, ok := got[int64(u.Index)]
		if !ok {
			t.Fatalf("cert_index %d missing", u.Index)
		}
		if r.SHA256 != colonHex(u.Leaf.SHA256[:]) || r.Seen != u.Seen*1000 {
			t.Fatalf("cert_index %d: sha256 %s seen %d", u.Index, r.SHA256, r.Seen)
		}
	}
	return tbl
}

func colonHex(b []byte) string {
	s := ""
	for i, c := range b {
		if i > 0 {
			s += ":"
		}
		s += fmt.Sprintf("%02X", c)
	}
	return s
}

// checkAccounting checks the ring's exact accounting once the sink is idle.
func checkAccounting(t *testing.T, ring *mailbox.Ring[*wire.Update], delivered, dropped uint64) {
	t.Helper()
	st := ring.Stats()
	if st.Delivered != delivered || st.Dropped != dropped || st.Pushed != st.Delivered+st.Dropped+uint64(st.Queued+st.InFlight) {
		t.Fatalf("ring %+v, want delivered %d, dropped %d", st, delivered, dropped)
	}
}

func TestBatchesIntervalAndShutdown(t *testing.T) {
	h := newHarness(t, 4096, nil)
	updates := deltatest.Updates(t, 1050, 0, seen0)
	h.push(updates)
	// 10 full batches commit on size; 50 rows wait for the interval.
	st := h.waitFor("10 commits", func(s archive.Stats) bool { return s.Commits == 10 })
	if st.RowsWritten != 1000 || h.inspect().Details["buffered"] != 50 {
		t.Fatalf("after the full batches: %+v, buffered %v", st, h.inspect().Details["buffered"])
	}
	h.tick()
	if st := h.stats(); st.Commits != 10 {
		t.Fatalf("flushed before the interval: %+v", st)
	}
	h.clock.Advance(time.Minute)
	h.tick()
	h.waitFor("the interval flush", func(s archive.Stats) bool { return s.RowsWritten == 1050 })

	// Rows received after that are archived by the final flush on stop.
	more := deltatest.Updates(t, 30, 5000, seen0+5000)
	h.push(more)
	h.stop()
	tbl := checkTable(t, h.dir, append(updates, more...))
	if tbl.Versions != 12 {
		t.Fatalf("%d versions, want 12", tbl.Versions)
	}
	// Each version carries its batch sequence and the log's mark: the
	// next index after the rows archived so far.
	var seqs, marks []int64
	for _, x := range tbl.Txns {
		switch x.AppID {
		case "test-sink":
			seqs = append(seqs, x.Version)
		case "test-sink#" + updates[0].Source.URL:
			marks = append(marks, x.Version)
		default:
			t.Fatalf("txn %+v", x)
		}
	}
	if fmt.Sprint(seqs) != "[0 1 2 3 4 5 6 7 8 9 10 11]" ||
		fmt.Sprint(marks) != "[100 200 300 400 500 600 700 800 900 1000 1050 5030]" {
		t.Fatalf("batch sequences %v, marks %v", seqs, marks)
	}
	checkAccounting(t, h.ring, 1080, 0)
}

func (h *harness) flush() error {
	h.t.Helper()
	resp, err := h.engine.Request(h.pid, deltasink.Flush{}, 10*time.Second).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	if resp == nil {
		return nil
	}
	return resp.(error)
}

func TestInspectAndFlush(t *testing.T) {
	h := newHarness(t, 64, nil)
	updates := deltatest.Updates(t, 10, 0, seen0)
	h.push(updates)
	info := h.inspect()
	if info.Kind != "deltasink" || info.Status != "running" || info.MailboxCapacity != 64 ||
		info.Details["table_path"] != h.dir || info.Details["sink_id"] != "test-sink" || info.Details["buffered"] != 10 {
		t.Fatalf("inspect %+v", info)
	}
	if err := h.flush(); err != nil {
		t.Fatal(err)
	}
	if st := h.stats(); st.RowsWritten != 10 || st.Commits != 1 || st.TableVersion != 0 || !st.LastFlush.Equal(h.clock.Now()) {
		t.Fatalf("after Flush: %+v", st)
	}
	checkTable(t, h.dir, updates)
	h.stop()
}

func TestFailingTableRetriesDropsAndRecovers(t *testing.T) {
	// The table path's _delta_log is a file: the table cannot be opened
	// (tests run as root, so a read-only directory is not an option).
	h := newHarness(t, 1000, nil)
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(h.dir, "_delta_log")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	updates := deltatest.Updates(t, 450, 0, seen0)
	h.push(updates[:150])
	st := h.waitFor("the first failure", func(s archive.Stats) bool { return s.WriteErrors == 1 })
	if info := h.inspect(); info.Status != "failing" || st.LastError == "" {
		t.Fatalf("status %s, last error %q", info.Status, st.LastError)
	}
	// Messages do not trigger retries before the backoff has passed.
	for i := 0; i < 5; i++ {
		h.tick()
		h.engine.Send(h.pid, messages.Wake{})
	}
	if st := h.stats(); st.WriteErrors != 1 {
		t.Fatalf("retried before the backoff: %d errors", st.WriteErrors)
	}
	h.clock.Advance(time.Second)
	h.tick()
	h.waitFor("the second failure", func(s archive.Stats) bool { return s.WriteErrors == 2 })
	h.clock.Advance(time.Second) // the backoff is now 2 s
	h.tick()
	if st := h.stats(); st.WriteErrors != 2 {
		t.Fatalf("backoff did not grow: %d errors", st.WriteErrors)
	}

	// The node keeps streaming: the ring takes everything; the buffer passes
	// 2×batch_size while failing, so the oldest half is dropped and counted.
	h.push(updates[150:])
	h.tick()
	st = h.waitFor("a drop", func(s archive.Stats) bool { return s.Dropped > 0 })
	if b := h.inspect().Details["buffered"].(int); b > 200 {
		t.Fatalf("buffer holds %d rows while failing, limit 200", b)
	}

	if err := h.flush(); err == nil || !strings.Contains(err.Error(), "rows not archived") {
		t.Fatalf("Flush on a failing table: %v", err)
	}

	// The directory becomes usable again: writes resume at the next retry.
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	h.tick()
	h.waitFor("recovery", func(s archive.Stats) bool { return s.Commits > 0 })
	for h.ring.Len() > 0 {
		h.tick()
		time.Sleep(5 * time.Millisecond)
	}
	h.stop()
	final := h.ring.Stats()
	tbl, err := deltatest.Read(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(tbl.Rows)) != final.Delivered || final.Dropped == 0 || final.Delivered+final.Dropped != 450 {
		t.Fatalf("%d rows archived; ring %+v", len(tbl.Rows), final)
	}
	// What was dropped is the oldest: the newest row made it.
	idx := make([]int64, 0, len(tbl.Rows))
	for _, r := range tbl.Rows {
		idx = append(idx, r.CertIndex)
	}
	if !slices.Contains(idx, 449) {
		t.Fatal("the newest row was dropped")
	}
	checkAccounting(t, h.ring, final.Delivered, 450-final.Delivered)
}

// panicOn makes the actor panic on a test message, as a bug would.
type panicOn struct{}

func TestRestartKeepsTheBuffer(t *testing.T) {
	panicky := func(next actor.ReceiveFunc) actor.ReceiveFunc {
		return func(c *actor.Context) {
			if _, ok := c.Message().(panicOn); ok {
				panic("test panic")
			}
			next(c)
		}
	}
	h := newHarness(t, 4096, func(c *archive.Config) { c.BatchSize = 1000 },
		actor.WithMiddleware(panicky), actor.WithMaxRestarts(5), actor.WithRestartDelay(0))
	updates := deltatest.Updates(t, 500, 0, seen0)
	h.push(updates[:300])
	h.engine.Send(h.pid, panicOn{})
	h.push(updates[300:])
	h.waitFor("all rows buffered or written", func(s archive.Stats) bool {
		return s.RowsWritten+uint64(h.inspect().Details["buffered"].(int)) == 500
	})
	h.stop()
	checkTable(t, h.dir, updates)
	checkAccounting(t, h.ring, 500, 0)
}

func TestRouterFeedsTheSink(t *testing.T) {
	engine, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "table")
	sink := deltasink.New(archive.Config{TablePath: dir, BatchSize: 64, FlushInterval: time.Hour, Compression: "snappy"})
	pid := engine.Spawn(router.New(router.Config{Sink: sink, SinkCapacity: 10000}), "router")
	updates := deltatest.Updates(t, 1000, 0, seen0)
	for i := 0; i < len(updates); i += 100 {
		engine.Send(pid, messages.Published{Updates: updates[i : i+100]})
	}
	resp, err := engine.Request(pid, messages.Inspect{}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	if info := resp.(messages.ActorInfo); len(info.Children) != 1 || info.Children[0].Kind != "deltasink" {
		t.Fatalf("router children %+v", info.Children)
	}
	<-engine.Poison(pid).Done() // stops the sink first, which flushes
	tbl := checkTable(t, dir, updates)
	if len(tbl.Txns) == 0 || tbl.Txns[0].AppID != archive.DefaultSinkID(dir) {
		t.Fatalf("txns %+v", tbl.Txns)
	}
}

func TestRestartedNodeContinuesTheSequence(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "table")
	for run := 0; run < 2; run++ {
		h := newHarness(t, 1000, func(c *archive.Config) { c.TablePath = dir })
		h.dir = dir
		h.push(deltatest.Updates(t, 150, uint64(run*1000), seen0))
		h.stop()
	}
	tbl, err := deltatest.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, x := range tbl.Txns {
		if x.AppID == "test-sink" { // not the per-log marks
			seqs = append(seqs, x.Version)
		}
	}
	if fmt.Sprint(seqs) != "[0 1 2 3]" || len(tbl.Rows) != 300 {
		t.Fatalf("txn versions %v, %d rows", seqs, len(tbl.Rows))
	}
}

// TestReplayedRowsAreLeftOut restarts a sink on its table and feeds it, as
// a node resuming from a cursor saved before a crash would, rows of a log
// the table already holds: only the new ones are archived. Another log's
// rows at the same indices are new and kept.
func TestReplayedRowsAreLeftOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "table")
	run := func(updates []*wire.Update) archive.Stats {
		h := newHarness(t, 1000, func(c *archive.Config) { c.TablePath = dir })
		h.dir = dir
		h.push(updates)
		st := h.stats()
		for st.RowsWritten+st.Archived < uint64(len(updates)) {
			if err := h.flush(); err != nil {
				t.Fatal(err)
			}
			st = h.stats()
		}
		h.stop()
		checkAccounting(t, h.ring, uint64(len(updates)), 0)
		return st
	}
	first := deltatest.Updates(t, 150, 0, seen0)
	if st := run(first); st.RowsWritten != 150 || st.Archived != 0 {
		t.Fatalf("first run: %+v", st)
	}
	other := deltatest.Updates(t, 50, 0, seen0)
	otherLog := &wire.Source{Name: "Other", URL: "https://other.example/"}
	for _, u := range other {
		u.Source = otherLog
	}
	replay := append(deltatest.Updates(t, 150, 100, seen0), other...) // 100..149 again, 150..249 new
	if st := run(replay); st.RowsWritten != 150 || st.Archived != 50 {
		t.Fatalf("second run: wrote %d, left out %d; want 150 and 50", st.RowsWritten, st.Archived)
	}
	tbl, err := deltatest.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range tbl.Rows {
		count[fmt.Sprintf("%s %d", r.SourceURL, r.CertIndex)]++
	}
	for _, u := range append(first, replay...) {
		if k := fmt.Sprintf("%s %d", u.Source.URL, u.Index); count[k] != 1 {
			t.Fatalf("%s archived %d times", k, count[k])
		}
	}
	if len(tbl.Rows) != 300 {
		t.Fatalf("%d rows, want 300", len(tbl.Rows))
	}
}

func TestMetrics(t *testing.T) {
	counter := func(name string) uint64 { return metrics.GetOrCreateCounter(name).Get() }
	written, flushes, errs := counter("certstream_delta_records_written"), counter("certstream_delta_flushes"), counter("certstream_delta_write_errors")
	drops := counter("certstream_delta_records_dropped")
	h := newHarness(t, 64, nil)
	// Pushed with no wake-up, 250 updates overflow a ring of 64.
	for _, u := range deltatest.Updates(t, 250, 0, seen0) {
		h.ring.Push(u)
	}
	h.engine.Send(h.pid, messages.Wake{})
	h.stop()
	dropped := h.ring.Stats().Dropped
	if dropped != 250-64 || counter("certstream_delta_records_written")-written != 250-dropped ||
		counter("certstream_delta_flushes")-flushes < 1 || counter("certstream_delta_write_errors") != errs ||
		counter("certstream_delta_records_dropped")-drops != dropped {
		t.Fatalf("written +%d, flushes +%d, errors +%d; ring dropped %d", counter("certstream_delta_records_written")-written,
			counter("certstream_delta_flushes")-flushes, counter("certstream_delta_write_errors")-errs, dropped)
	}
	var out bytes.Buffer
	metrics.WritePrometheus(&out, false)
	for _, name := range []string{"certstream_delta_records_written ", "certstream_delta_flushes ", "certstream_delta_write_errors ",
		"certstream_delta_buffer_size ", "certstream_delta_flush_duration_seconds_bucket{le=", "certstream_delta_records_dropped ",
		"certstream_delta_commit_conflicts "} {
		if !bytes.Contains(out.Bytes(), []byte(name)) {
			t.Errorf("metrics lack %q", name)
		}
	}
}
