package fetcher

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/supervise"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/fakelog"
	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// collector plays dedup: it records the indices of the batches it gets, in
// order, and releases each batch.
type collector struct {
	mu      sync.Mutex
	indices []uint64
}

func (c *collector) receive(ctx *actor.Context) {
	if b, ok := ctx.Message().(messages.Batch); ok {
		c.mu.Lock()
		for _, u := range b.Updates {
			c.indices = append(c.indices, u.Index)
		}
		c.mu.Unlock()
		b.Release()
	}
}

func (c *collector) snapshot() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]uint64(nil), c.indices...)
}

// fakeLog serves one RFC 6962 log of n entries on 127.0.0.1.
func fakeLog(t *testing.T, n int) follow.Log {
	t.Helper()
	srv, err := fakelog.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	l, err := srv.AddLog(fakelog.LogConfig{Name: "alpha", Kind: fakelog.RFC6962})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(n); err != nil {
		t.Fatal(err)
	}
	return follow.Log{Name: "fetcher test alpha", URL: l.URL(), Kind: follow.KindRFC6962, Operator: "op"}
}

var quick = follow.Config{BatchSize: 16, Concurrency: 3, PollInterval: 20 * time.Millisecond,
	RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}

func newEngine(t *testing.T) *actor.Engine {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	await.True(t, 15*time.Second, what, cond)
}

// TestPanicRestartsFromTheReportedCursor panics the follower in the middle
// of the log: the fetcher restarts once and the new follower resumes at the
// last reported cursor, so every entry reaches dedup exactly once, in order.
func TestPanicRestartsFromTheReportedCursor(t *testing.T) {
	const size = 300
	l := fakeLog(t, size)
	e := newEngine(t)
	got := &collector{}
	dedup := e.SpawnFunc(got.receive, "dedup")
	budget := supervise.NewBudget("fetcher", supervise.Policy{Max: 5, Window: time.Minute,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	h, producer := New(Config{Log: l, Follow: quick, Key: l.URL, StartKnown: true, Dedup: dedup, Budget: budget})
	var panicked atomic.Bool
	h.beforeDeliver = func(ups []*wire.Update) {
		for _, u := range ups {
			if u.Index == 123 && panicked.CompareAndSwap(false, true) {
				panic(fmt.Sprintf("injected fault at #%d", u.Index))
			}
		}
	}
	pid := e.Spawn(producer, "fetcher", budget.Opts(16)...)
	defer func() { <-e.Poison(pid).Done() }()

	waitFor(t, "every entry", func() bool { return len(got.snapshot()) >= size })
	time.Sleep(100 * time.Millisecond) // anything delivered twice would arrive now
	indices := got.snapshot()
	if len(indices) != size {
		t.Fatalf("dedup got %d entries, want %d", len(indices), size)
	}
	for i, idx := range indices {
		if idx != uint64(i) {
			t.Fatalf("entry %d is index %d: entries lost, repeated or out of order", i, idx)
		}
	}
	if !panicked.Load() {
		t.Fatal("the injected panic never fired")
	}
	if budget.Restarts() != 1 {
		t.Fatalf("restarts = %d, want 1", budget.Restarts())
	}
	if why, _ := budget.LastFailure(); !strings.Contains(why, "injected fault at #123") {
		t.Fatalf("last failure %q", why)
	}
	if st := h.Status(); st.Next != size || st.Health != follow.Healthy {
		t.Fatalf("status after the restart: %+v", st)
	}
}

// TestStartFailureRestartsAndShows follows a log whose follower cannot be
// built: the fetcher restarts through its budget until the budget is spent,
// and its status says why.
func TestStartFailureRestartsAndShows(t *testing.T) {
	e := newEngine(t)
	budget := supervise.NewBudget("fetcher", supervise.Policy{Max: 3, Window: time.Minute,
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	bad := follow.Log{Name: "bad", URL: "http://127.0.0.1:1/", Kind: "carrier-pigeon"}
	h, producer := New(Config{Log: bad, Key: bad.URL, Budget: budget})
	pid := e.Spawn(producer, "fetcher", budget.Opts(16)...)
	defer e.Poison(pid)
	waitFor(t, "the budget to be spent", budget.GaveUp)
	if budget.Restarts() != 3 {
		t.Fatalf("restarts = %d, want 3", budget.Restarts())
	}
	st := h.Status()
	if st.Health != follow.Unhealthy || !strings.Contains(st.LastError, "carrier-pigeon") || st.Errors != 4 {
		t.Fatalf("status %+v", st)
	}
}

// TestStopDuringBackoff stops a fetcher waiting out a long backoff: it stops
// at once, and asks the log nothing meanwhile.
func TestStopDuringBackoff(t *testing.T) {
	l := fakeLog(t, 50)
	e := newEngine(t)
	got := &collector{}
	dedup := e.SpawnFunc(got.receive, "dedup")
	budget := supervise.NewBudget("fetcher", supervise.Policy{Max: 5, Window: time.Minute,
		MinBackoff: time.Minute, MaxBackoff: time.Minute})
	h, producer := New(Config{Log: l, Follow: quick, Key: l.URL, StartKnown: true, Dedup: dedup, Budget: budget})
	var panicked atomic.Bool
	h.beforeDeliver = func(ups []*wire.Update) {
		if len(ups) > 0 && ups[0].Index >= 16 && panicked.CompareAndSwap(false, true) {
			panic("injected fault")
		}
	}
	pid := e.Spawn(producer, "fetcher", budget.Opts(16)...)
	waitFor(t, "the restart", func() bool { return budget.Restarts() == 1 })
	time.Sleep(100 * time.Millisecond)
	if n := len(got.snapshot()); n != 16 {
		t.Fatalf("dedup got %d entries during the backoff, want the 16 before the fault", n)
	}
	select {
	case <-e.Poison(pid).Done():
	case <-time.After(2 * time.Second):
		t.Fatal("a fetcher in backoff did not stop within 2 s")
	}
}
