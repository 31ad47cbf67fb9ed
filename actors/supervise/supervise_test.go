package supervise

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

type boom struct{}

type crashy struct{ starts *atomic.Int32 }

func (a *crashy) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Started:
		a.starts.Add(1)
	case boom:
		panic("boom")
	}
}

func TestBudgetRestartsThenStops(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	var starts atomic.Int32
	var gaveUp atomic.Bool
	b := NewBudget("crashy", Policy{Max: 3, Window: time.Minute, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	b.OnGiveUp = func(any) { gaveUp.Store(true) }
	stopped := make(chan struct{})
	// Subscribe the watcher to the event stream.
	watcher := e.SpawnFunc(func(c *actor.Context) {
		if ev, ok := c.Message().(actor.ActorStoppedEvent); ok && ev.PID.GetID() == "crashy/1" {
			select {
			case <-stopped:
			default:
				close(stopped)
			}
		}
	}, "watch2")
	e.Subscribe(watcher)
	pid := e.Spawn(func() actor.Receiver { return &crashy{starts: &starts} }, "crashy",
		append(b.Opts(8), actor.WithID("1"))...)
	for i := 0; i < 4; i++ {
		e.Send(pid, boom{})
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("actor was not stopped after its budget was spent")
	}
	if got := b.Restarts(); got != 3 {
		t.Fatalf("restarts = %d, want 3", got)
	}
	if got := starts.Load(); got != 4 {
		t.Fatalf("starts = %d, want 4 (first start + 3 restarts)", got)
	}
	if !gaveUp.Load() || !b.GaveUp() {
		t.Fatal("budget did not report giving up")
	}
	if why, _ := b.LastFailure(); why != "boom" {
		t.Fatalf("last failure %q", why)
	}
}

func TestBudgetWindowForgetsOldRestarts(t *testing.T) {
	b := NewBudget("x", Policy{Max: 2, Window: time.Second, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
	t0 := time.Unix(1000, 0)
	if d, ok := b.record("a", t0); !ok || d != time.Millisecond {
		t.Fatalf("first: %v %v", d, ok)
	}
	if d, ok := b.record("b", t0.Add(10*time.Millisecond)); !ok || d != 2*time.Millisecond {
		t.Fatalf("second: %v %v", d, ok)
	}
	if _, ok := b.record("c", t0.Add(20*time.Millisecond)); ok {
		t.Fatal("third restart inside the window must be refused")
	}
	b.gaveUp = false
	if _, ok := b.record("d", t0.Add(2*time.Second)); !ok {
		t.Fatal("restart after the window must be allowed")
	}
}

type ping struct{}

// echo answers ping and panics on boom.
type echo struct{}

func (echo) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case ping:
		c.Respond("pong")
	case boom:
		panic("boom")
	}
}

// TestBackoffDoesNotBlockTheInbox panics an actor whose backoff is long: it
// still answers a request at once, and stops at once.
func TestBackoffDoesNotBlockTheInbox(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	b := NewBudget("echo", Policy{Max: 5, Window: time.Minute, MinBackoff: time.Minute, MaxBackoff: time.Minute})
	pid := e.Spawn(func() actor.Receiver { return echo{} }, "echo", b.Opts(8)...)
	if err := b.WaitBackoff(context.Background()); err != nil {
		t.Fatalf("wait before any restart: %v", err)
	}
	e.Send(pid, boom{})
	if _, err := e.Request(pid, ping{}, time.Second).Result(); err != nil {
		t.Fatalf("a request to an actor in backoff: %v", err)
	}
	if b.Restarts() != 1 {
		t.Fatalf("restarts = %d, want 1", b.Restarts())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.WaitBackoff(ctx); err != context.DeadlineExceeded {
		t.Fatalf("wait during the backoff: %v, want the context's deadline", err)
	}
	select {
	case <-e.Stop(pid).Done():
	case <-time.After(time.Second):
		t.Fatal("an actor in backoff did not stop within a second")
	}
}
