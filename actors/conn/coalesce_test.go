package conn

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/wire"
)

// timers replaces the coalescing timer: the test fires each one itself.
type timers struct {
	mu    sync.Mutex
	armed []*manualTimer
}

type manualTimer struct {
	d    time.Duration
	f    func()
	done atomic.Bool // stopped or fired
}

func (t *manualTimer) Stop() bool { return !t.done.Swap(true) }

// fire runs the timer's function unless it was stopped.
func (t *manualTimer) fire() {
	if !t.done.Swap(true) {
		t.f()
	}
}

func (ts *timers) after(d time.Duration, f func()) stopper {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := &manualTimer{d: d, f: f}
	ts.armed = append(ts.armed, t)
	return t
}

func (ts *timers) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.armed)
}

// wait waits until n timers were armed and returns the nth.
func (ts *timers) wait(t *testing.T, n int) *manualTimer {
	t.Helper()
	return await.Value(t, 5*time.Second, fmt.Sprint(n, " timers armed"), func() (*manualTimer, bool) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if len(ts.armed) < n {
			return nil, false
		}
		return ts.armed[n-1], true
	})
}

// coalescing is a connection with a manual clock and manual timers that
// counts its writes.
type coalescing struct {
	*harness
	clock  *clock
	timers *timers
	writes atomic.Int64
}

const window = 100 * time.Millisecond

func newCoalescing(t *testing.T, batch, capacity int) *coalescing {
	c := &coalescing{clock: newClock(), timers: &timers{}}
	p := quiet
	p.CoalesceWindow, p.BatchLimit = window, batch
	cfg := Config{Transport: wire.WebSocket, Policy: p, afterFunc: c.timers.after}
	cfg.OnWrite = func(w, _, _ int) { c.writes.Add(int64(w)) }
	rcfg := router.Config{Now: c.clock.Now, MailboxCapacity: capacity}
	c.harness = newHarness(t, cfg, rcfg, nil)
	return c
}

// waitWrites waits until the actor has made n writes (and recorded their
// time: OnWrite comes after).
func (c *coalescing) waitWrites(n int64) {
	c.t.Helper()
	await.Value(c.t, 5*time.Second, fmt.Sprint(n, " writes"), func() (int64, bool) {
		w := c.writes.Load()
		return w, w == n
	})
}

// advance moves the clock on by d.
func (c *coalescing) advance(d time.Duration) { c.clock.set(c.clock.Now().Add(d).UnixMilli()) }

// held publishes ups to a connection that must hold them: it waits until
// they are queued, and checks that the accounting holds meanwhile.
func (c *coalescing) held(queued int, ups ...*wire.Update) [][]byte {
	c.t.Helper()
	sent := c.publish(ups...)
	s := c.waitStats(fmt.Sprint(queued, " queued"), func(s sub) bool { return s.Queued == queued })
	checkAccounting(c.t, s)
	return sent
}

// TestCoalescingWritesAnIdleClientAtOnceAndGathersTheRest: the first frame
// to an idle client goes out at once; frames arriving within the window
// after that write wait, in order, for a timer armed for no longer than
// what is left of the window, then go out in one write; the size bound
// writes without waiting; a client idle for a window again gets its next
// frame at once.
func TestCoalescingWritesAnIdleClientAtOnceAndGathersTheRest(t *testing.T) {
	c := newCoalescing(t, 4, 64)
	ups := updates(20)

	c.expectStream(c.publish(ups[0]), "the first frame, at once")
	if n := c.timers.count(); n != 0 {
		t.Fatalf("%d timers armed for an idle client", n)
	}
	c.waitWrites(1)

	c.advance(30 * time.Millisecond)
	sent := c.held(2, ups[1], ups[2])
	tm := c.timers.wait(t, 1)
	if tm.d != window-30*time.Millisecond {
		t.Errorf("timer armed for %v, 30 ms after the last write: want %v (the rest of the window)", tm.d, window-30*time.Millisecond)
	}
	c.advance(40 * time.Millisecond)
	sent = append(sent, c.held(3, ups[3])...)
	if n := c.timers.count(); n != 1 {
		t.Errorf("%d timers for one window", n)
	}
	if w := c.writes.Load(); w != 1 {
		t.Fatalf("%d writes before the window ended, want 1", w)
	}

	c.advance(30 * time.Millisecond)
	tm.fire()
	c.expectStream(sent, "the held frames, in order")
	s := c.waitStats("4 delivered", func(s sub) bool { return s.Delivered == 4 })
	checkAccounting(t, s)
	if w := c.writes.Load(); w != 2 {
		t.Errorf("%d writes, want 2: the three held frames in one", w)
	}

	// The size bound (BatchLimit 4) writes without waiting for the window.
	sent = c.publish(ups[4:8]...)
	c.expectStream(sent, "four frames reaching the size bound")
	c.waitWrites(3)
	if k := c.timers.count(); k > 1 && !c.timers.wait(t, k).done.Load() {
		t.Error("the window's timer still runs after the size bound wrote the frames")
	}

	// Idle for a window: the next frame goes at once.
	c.advance(window)
	c.expectStream(c.publish(ups[8]), "a frame after a window of silence, at once")
	s = c.waitStats("9 delivered", func(s sub) bool { return s.Delivered == 9 && s.Queued == 0 })
	checkAccounting(t, s)
}

// TestCoalescingNeverReorders publishes bursts with the clock and the timers
// moving in between; whatever the writes, the client reads every frame in
// publication order.
func TestCoalescingNeverReorders(t *testing.T) {
	c := newCoalescing(t, 8, 1024)
	ups := updates(200)
	var sent [][]byte
	fired := 0
	for i := 0; i < len(ups); {
		n := min(1+i%11, len(ups)-i)
		sent = append(sent, c.publish(ups[i:i+n]...)...)
		i += n
		c.advance(time.Duration(i%7) * 20 * time.Millisecond)
		if k := c.timers.count(); k > fired {
			c.timers.wait(t, k).fire()
			fired = k
		}
	}
	c.advance(window)
	for {
		// Fire what is armed until every frame is out.
		if k := c.timers.count(); k > fired {
			c.timers.wait(t, k).fire()
			fired = k
		}
		if s := c.stats(); s.Delivered == uint64(len(ups)) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c.expectStream(sent, "every frame, in publication order")
	s := c.stats()
	if s.Pushed != uint64(len(ups)) || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
	checkAccounting(t, s)
}

// TestCoalescingKeepsAccountingWhenTheRingOverflows holds frames in a ring
// smaller than the size bound: the ring filling up writes them, the ones
// evicted meanwhile count as dropped, and pushed = delivered + dropped +
// queued + in flight throughout.
func TestCoalescingKeepsAccountingWhenTheRingOverflows(t *testing.T) {
	c := newCoalescing(t, 64, 4)
	ups := updates(30)
	c.expectStream(c.publish(ups[0]), "the first frame, at once")
	c.waitWrites(1)
	c.held(2, ups[1], ups[2])
	c.publish(ups[3:30]...)
	s := c.waitStats("all pushed and settled", func(s sub) bool {
		return s.Pushed == 30 && s.Queued == 0 && s.InFlight == 0 ||
			s.Pushed == 30 && c.timers.count() > 0 && !c.timers.wait(t, c.timers.count()).done.Load()
	})
	checkAccounting(t, s)
	for k := c.timers.count(); k > 0 && s.Queued > 0; k = c.timers.count() {
		c.timers.wait(t, k).fire()
		s = c.waitStats("settled", func(s sub) bool { return s.InFlight == 0 })
		checkAccounting(t, s)
	}
	s = c.waitStats("nothing queued", func(s sub) bool { return s.Queued == 0 && s.InFlight == 0 })
	checkAccounting(t, s)
	if s.Dropped == 0 || s.Delivered+s.Dropped != 30 {
		t.Errorf("stats %+v: want drops from the ring of 4, and every frame delivered or dropped", s)
	}
}

// TestCoalescingCountsTheWindowFromTheWriteStart: a write that takes longer
// than the window (a slow client) does not hold what arrived meanwhile for
// another window: those frames have waited since the write began, and go
// out as soon as it returns.
func TestCoalescingCountsTheWindowFromTheWriteStart(t *testing.T) {
	c := newCoalescing(t, 64, 1024)
	ups := updates(3)
	slow := func() { c.advance(150 * time.Millisecond) }
	c.srv.during.Store(&slow)
	c.expectStream(c.publish(ups[0]), "the first frame, at once")
	c.waitWrites(1)
	c.srv.during.Store(nil)
	sent := c.publish(ups[1], ups[2])
	c.waitStats("written or held", func(s sub) bool { return s.Delivered == 3 || c.timers.count() > 0 })
	if n := c.timers.count(); n != 0 {
		t.Fatalf("%d timers armed: frames held for another window after a write that took longer than one", n)
	}
	c.expectStream(sent, "frames after a write longer than the window, at once")
}
