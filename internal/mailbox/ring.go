// Package mailbox provides the bounded, drop-oldest, accounted queue that
// fronts every consumer which can fall behind (connection actors, the Delta
// sink).
//
// The parent actor owns the Ring and pushes into it; the consumer actor
// drains it. Only the push that finds no wake-up outstanding asks the caller
// to send a wake message through the consumer's hollywood inbox, so that inbox
// holds at most one wake however fast the producer is. Because the parent owns
// the Ring, a restarted consumer resumes with its queue intact.
//
// Accounting is exact: Pushed = Delivered + Dropped + Queued + InFlight, where
// InFlight counts items drained but not yet reported by the consumer with
// Done (zero whenever the consumer is idle).
package mailbox

import "sync"

// minAlloc is the smallest backing array a Ring allocates; it grows by
// doubling up to its capacity, so idle consumers stay small.
const minAlloc = 8

// Ring is a fixed-capacity FIFO that drops its oldest item when full.
// It is safe for one producer and one consumer (and any number of readers of
// Stats) at the same time.
type Ring[T any] struct {
	mu       sync.Mutex
	buf      []T
	head     int // index of the oldest item in buf
	n        int // items queued
	capacity int
	woken    bool // a wake-up is outstanding: the consumer has not found the ring empty since
	// wakeAt is the queue length at which a Push asks for a wake-up while
	// none is outstanding: 0 (any) unless the consumer deferred (Defer).
	wakeAt int
	closed bool
	stats  Stats
}

// Stats is a consistent snapshot of a Ring's counters.
type Stats struct {
	Pushed    uint64 // items offered by the producer
	Delivered uint64 // items the consumer reported as handed on
	Dropped   uint64 // items lost: evicted when full, or reported lost by the consumer
	Queued    int    // items waiting in the ring
	InFlight  int    // items drained but not yet reported with Done
	Capacity  int
}

// New returns an empty ring holding at most capacity items (at least 1).
func New[T any](capacity int) *Ring[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &Ring[T]{capacity: capacity, stats: Stats{Capacity: capacity}}
}

// Push appends v, evicting the oldest item when the ring is full (counted as
// dropped). It returns wake = true when the consumer must be sent a wake-up:
// the first push since the consumer last found the ring empty. A closed ring
// counts v as dropped and never asks for a wake.
func (r *Ring[T]) Push(v T) (wake bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Pushed++
	if r.closed {
		r.stats.Dropped++
		return false
	}
	if r.n == r.capacity {
		var zero T
		r.buf[r.head] = zero
		r.head = (r.head + 1) % len(r.buf)
		r.n--
		r.stats.Dropped++
	} else if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
	if !r.woken && r.n >= r.wakeAt {
		r.woken, r.wakeAt = true, 0
		return true
	}
	return false
}

// grow doubles the backing array (up to capacity), keeping order.
func (r *Ring[T]) grow() {
	size := max(minAlloc, 2*len(r.buf))
	size = min(size, r.capacity)
	buf := make([]T, size)
	for i := 0; i < r.n; i++ {
		buf[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	r.buf, r.head = buf, 0
}

// Drain moves up to limit of the oldest items into dst and returns it. The
// items count as in flight until the consumer reports them with Done. When
// the ring is empty Drain returns dst unchanged and re-arms the wake-up: the
// next Push will ask for a new one.
func (r *Ring[T]) Drain(dst []T, limit int) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		r.woken, r.wakeAt = false, 0
		return dst
	}
	var zero T
	k := min(limit, r.n)
	for i := 0; i < k; i++ {
		dst = append(dst, r.buf[r.head])
		r.buf[r.head] = zero
		r.head = (r.head + 1) % len(r.buf)
	}
	r.n -= k
	r.stats.InFlight += k
	return dst
}

// Defer is what a consumer calls instead of Drain when it would rather let
// items gather before draining them. It returns false, changing nothing,
// when n items (or the ring's capacity) are already queued, or none is:
// drain now (an empty ring then re-arms its wake-up). Otherwise the
// wake-up counts as handled, and the Push that brings the queue to n items
// asks for the next one; the consumer must come back by itself (a timer)
// if that never happens.
func (r *Ring[T]) Defer(n int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	n = max(min(n, r.capacity), 1)
	if r.n >= n || r.n == 0 {
		return false
	}
	r.woken, r.wakeAt = false, n
	return true
}

// Trim releases the backing array when the ring is empty, so a consumer that
// once absorbed a burst does not keep its memory while idle. Consumers call
// it from a periodic tick, not on every drain.
func (r *Ring[T]) Trim() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		r.buf, r.head = nil, 0
	}
}

// Done reports the outcome of drained items: delivered were handed on, lost
// were not (a failed write) and count as dropped.
func (r *Ring[T]) Done(delivered, lost int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.InFlight -= delivered + lost
	r.stats.Delivered += uint64(delivered)
	r.stats.Dropped += uint64(lost)
}

// Close discards the queued items (counted as dropped) and makes every later
// Push count as dropped. It returns the number discarded.
func (r *Ring[T]) Close() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.n
	r.stats.Dropped += uint64(k)
	r.buf, r.head, r.n, r.closed = nil, 0, 0, true
	return k
}

// Closed reports whether Close has been called.
func (r *Ring[T]) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Stats returns a consistent snapshot of the counters.
func (r *Ring[T]) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Queued = r.n
	return s
}

// Len returns the number of queued items.
func (r *Ring[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
