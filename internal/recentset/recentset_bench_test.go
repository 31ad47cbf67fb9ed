package recentset

import (
	"math/rand/v2"
	"testing"
)

// benchCapacity is the dedup actor's default capacity.
const benchCapacity = 500_000

// mixedKeys returns n keys to add in a loop to a set of benchCapacity: about
// half are first sightings (a key last added a whole pass earlier, more than
// benchCapacity new keys ago, so evicted since), the others repeat one of the
// last benchCapacity/2 first sightings (so still a member).
func mixedKeys(n int) []Key {
	rng := rand.New(rand.NewPCG(1, 2))
	ops := make([]Key, n)
	fresh := 0
	for i := range ops {
		if fresh == 0 || rng.IntN(2) == 0 {
			ops[i] = key(fresh)
			fresh++
			continue
		}
		ops[i] = key(fresh - 1 - rng.IntN(min(fresh, benchCapacity/2)))
	}
	return ops
}

// BenchmarkAdd measures Add on a full set of the default capacity in steady
// state: each Add evicts the oldest key, or finds a duplicate. Time advances
// 1 ms per key (1,000 keys/s) and the TTL is an hour, so eviction is by
// capacity, as in production.
func BenchmarkAdd(b *testing.B) {
	ops := mixedKeys(1 << 21)
	s := New(benchCapacity, 3600_000)
	now := int64(0)
	for _, k := range ops { // one pass to reach steady state
		s.Add(k, now)
		now++
	}
	if s.Len() != benchCapacity {
		b.Fatalf("warm-up left %d keys, want %d", s.Len(), benchCapacity)
	}
	added := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if s.Add(ops[i&(len(ops)-1)], now) {
			added++
		}
		now++
	}
	b.ReportMetric(float64(added)/float64(b.N), "new/op")
}

// BenchmarkNew measures committing the footprint of a set of the default
// capacity.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New(benchCapacity, 3600_000)
	}
}
