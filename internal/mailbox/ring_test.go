package mailbox

import (
	"sync"
	"testing"
)

func checkInvariant(t *testing.T, s Stats) {
	t.Helper()
	if s.Pushed != s.Delivered+s.Dropped+uint64(s.Queued)+uint64(s.InFlight) {
		t.Fatalf("accounting broken: %+v", s)
	}
}

func TestRingDropsOldest(t *testing.T) {
	r := New[int](3)
	wakes := 0
	for i := 1; i <= 5; i++ {
		if r.Push(i) {
			wakes++
		}
	}
	if wakes != 1 {
		t.Fatalf("wakes = %d, want 1", wakes)
	}
	got := r.Drain(nil, 10)
	if len(got) != 3 || got[0] != 3 || got[2] != 5 {
		t.Fatalf("drained %v, want [3 4 5]", got)
	}
	r.Done(len(got), 0)
	s := r.Stats()
	if s.Dropped != 2 || s.Delivered != 3 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
	checkInvariant(t, s)
}

func TestRingWakeRearmsOnlyWhenEmptyFound(t *testing.T) {
	r := New[int](10)
	if !r.Push(1) {
		t.Fatal("first push must wake")
	}
	if r.Push(2) {
		t.Fatal("second push must not wake")
	}
	_ = r.Drain(nil, 1) // one left: still woken
	if r.Push(3) {
		t.Fatal("push while consumer active must not wake")
	}
	_ = r.Drain(nil, 10)
	if r.Push(4) {
		t.Fatal("consumer has not yet found the ring empty; no new wake")
	}
	_ = r.Drain(nil, 10)
	if got := r.Drain(nil, 10); len(got) != 0 {
		t.Fatalf("expected empty, got %v", got)
	}
	if !r.Push(5) {
		t.Fatal("push after the consumer found it empty must wake")
	}
}

func TestRingLimitAndOrderAcrossGrowth(t *testing.T) {
	r := New[int](100)
	for i := 0; i < 50; i++ {
		r.Push(i)
	}
	var all []int
	for {
		got := r.Drain(nil, 7)
		if len(got) == 0 {
			break
		}
		if len(got) > 7 {
			t.Fatalf("drained %d > limit", len(got))
		}
		r.Done(len(got), 0)
		all = append(all, got...)
	}
	for i, v := range all {
		if v != i {
			t.Fatalf("order broken at %d: %v", i, all)
		}
	}
	if len(all) != 50 {
		t.Fatalf("got %d items", len(all))
	}
}

func TestRingCloseAndLost(t *testing.T) {
	r := New[int](4)
	r.Push(1)
	r.Push(2)
	got := r.Drain(nil, 1)
	r.Done(0, len(got)) // write failed
	if n := r.Close(); n != 1 {
		t.Fatalf("Close discarded %d, want 1", n)
	}
	if r.Push(3) {
		t.Fatal("closed ring must not wake")
	}
	s := r.Stats()
	if s.Dropped != 3 || s.Delivered != 0 {
		t.Fatalf("stats %+v", s)
	}
	checkInvariant(t, s)
}

// TestRingConcurrentAccounting runs a producer and a consumer that follows
// the wake protocol; every pushed item is delivered or dropped, and the
// consumer sees items in push order.
func TestRingConcurrentAccounting(t *testing.T) {
	r := New[int](64)
	wake := make(chan struct{}, 1)
	const total = 200000
	var wg sync.WaitGroup
	wg.Add(1)
	var seen int
	go func() {
		defer wg.Done()
		last := -1
		buf := make([]int, 0, 32)
		for range wake {
			for {
				buf = r.Drain(buf[:0], 32)
				if len(buf) == 0 {
					break
				}
				for _, v := range buf {
					if v <= last {
						t.Errorf("out of order: %d after %d", v, last)
						return
					}
					last = v
				}
				seen += len(buf)
				r.Done(len(buf), 0)
			}
		}
	}()
	for i := 0; i < total; i++ {
		if r.Push(i) {
			select {
			case wake <- struct{}{}:
			default:
				t.Fatal("a second wake while one is outstanding")
			}
		}
	}
	// Let the consumer finish: push nothing more, wait for empty.
	for r.Len() > 0 || r.Stats().InFlight > 0 {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	close(wake)
	wg.Wait()
	s := r.Stats()
	checkInvariant(t, s)
	if s.Pushed != total || uint64(seen) != s.Delivered {
		t.Fatalf("pushed %d, consumer saw %d, stats %+v", total, seen, s)
	}
}

func BenchmarkRingPushDrain(b *testing.B) {
	r := New[[]byte](1024)
	msg := make([]byte, 512)
	buf := make([][]byte, 0, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Push(msg)
		if i%64 == 63 {
			buf = r.Drain(buf[:0], 64)
			r.Done(len(buf), 0)
		}
	}
}

func TestRingDeferWakesAtTheSizeBound(t *testing.T) {
	r := New[int](8)
	if r.Defer(3) {
		t.Fatal("Defer on an empty ring accepted: nothing would wake the consumer for the next item")
	}
	if !r.Push(1) {
		t.Fatal("first push asked for no wake-up")
	}
	if !r.Defer(3) {
		t.Fatal("Defer(3) with 1 queued refused")
	}
	if r.Push(2) {
		t.Error("push to 2 of a bound of 3 asked for a wake-up")
	}
	if !r.Push(3) {
		t.Error("push reaching the bound of 3 asked for no wake-up")
	}
	if r.Push(4) {
		t.Error("a second wake-up while one is outstanding")
	}
	if r.Defer(3) {
		t.Error("Defer(3) with 4 queued accepted: the consumer must drain")
	}
	if got := r.Drain(nil, 10); len(got) != 4 || got[0] != 1 || got[3] != 4 {
		t.Fatalf("drained %v, want [1 2 3 4]", got)
	}
	r.Done(4, 0)
	if r.Drain(nil, 10) != nil || !r.Push(5) {
		t.Error("after the ring was found empty, the next push asked for no wake-up")
	}
	// A bound above the capacity wakes when the ring is full.
	if !r.Defer(100) {
		t.Fatal("Defer(100) with 1 queued refused")
	}
	for i := 6; i < 13; i++ {
		if wake := r.Push(i); wake != (i == 12) {
			t.Errorf("push %d (queue %d of 8): wake %v", i, r.Len(), wake)
		}
	}
	if st := r.Stats(); st.Pushed != st.Delivered+st.Dropped+uint64(st.Queued)+uint64(st.InFlight) {
		t.Errorf("accounting %+v", st)
	}
}
