package access

import (
	"net/netip"
	"sync"
	"time"
)

// maxBuckets bounds the per-IP rate limit state.
const maxBuckets = 100_000

// buckets is one token bucket per client IP. Memory is bounded: when full,
// buckets that have refilled completely (equivalent to a new one) are
// forgotten, and if none has, an arbitrary one.
type buckets struct {
	mu    sync.Mutex
	m     map[netip.Addr]*bucket
	limit int
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newBuckets(limit int) *buckets {
	return &buckets{m: map[netip.Addr]*bucket{}, limit: max(limit, 1)}
}

// allow takes a token from ip's bucket (rate tokens a second, at most
// burst) and reports whether there was one; if not, wait is how long until
// there will be.
func (b *buckets) allow(ip netip.Addr, rate float64, burst int, now time.Time) (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	capacity := float64(max(burst, 1))
	k, found := b.m[ip]
	if !found {
		if len(b.m) >= b.limit {
			b.evict(rate, capacity, now)
		}
		k = &bucket{tokens: capacity, last: now}
		b.m[ip] = k
	}
	if elapsed := now.Sub(k.last); elapsed > 0 {
		k.tokens = min(capacity, k.tokens+elapsed.Seconds()*rate)
		k.last = now
	}
	if k.tokens >= 1 {
		k.tokens--
		return true, 0
	}
	return false, time.Duration((1 - k.tokens) / rate * float64(time.Second))
}

// evict makes room for one bucket. Called with mu held.
func (b *buckets) evict(rate, capacity float64, now time.Time) {
	for ip, k := range b.m {
		if k.tokens+now.Sub(k.last).Seconds()*rate >= capacity {
			delete(b.m, ip)
		}
	}
	if len(b.m) < b.limit {
		return
	}
	for ip := range b.m {
		delete(b.m, ip)
		return
	}
}
