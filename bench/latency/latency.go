// Package latency is a fixed-size histogram of latencies in milliseconds:
// exact below 256 ms, within 1/64 (about 1.6%) above, safe for concurrent
// use, and cheap to merge across many clients.
package latency

import (
	"math/bits"
	"sync/atomic"
)

const (
	exact   = 256    // values below are counted exactly
	subBits = 6      // 64 sub-buckets per power of two above
	octaves = 32 - 8 // powers of two from 2^8 to 2^31
	buckets = exact + octaves<<subBits
	ceiling = 1<<32 - 1 // larger values (50 days) are counted here
)

// Histogram counts latencies. The zero value is ready to use.
type Histogram struct {
	counts [buckets]atomic.Uint64
	n      atomic.Int64
	max    atomic.Int64
}

// bucket returns the bucket of ms (ms >= 0).
func bucket(ms int64) int {
	if ms < exact {
		return int(ms)
	}
	top := bits.Len64(uint64(ms)) - 1 // 8 or more
	sub := int(ms>>(top-subBits)) & (1<<subBits - 1)
	return exact + (top-8)<<subBits + sub
}

// upper returns the largest value that falls in bucket b.
func upper(b int) int64 {
	if b < exact {
		return int64(b)
	}
	top := (b-exact)>>subBits + 8
	sub := int64((b - exact) & (1<<subBits - 1))
	lo := int64(1)<<top + sub<<(top-subBits)
	return lo + int64(1)<<(top-subBits) - 1
}

// Record counts one latency; negative values (clock granularity) count as
// 0, values beyond 2^32 ms as 2^32-1.
func (h *Histogram) Record(ms int64) {
	ms = min(max(ms, 0), ceiling)
	h.counts[bucket(ms)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if ms <= m || h.max.CompareAndSwap(m, ms) {
			return
		}
	}
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	if m := o.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 { return h.n.Load() }

// Max is the largest recorded value (0 when empty).
func (h *Histogram) Max() int64 { return h.max.Load() }

// Quantile returns the value at quantile q (0..1): the upper bound of the
// bucket holding it, capped at Max. It returns 0 when empty.
func (h *Histogram) Quantile(q float64) int64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen int64
	for i := range h.counts {
		seen += int64(h.counts[i].Load())
		if seen >= rank {
			return min(upper(i), h.max.Load())
		}
	}
	return h.max.Load()
}
