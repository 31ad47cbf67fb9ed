package recentset

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"testing"
)

func key(i int) Key {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	sum := sha256.Sum256(b[:])
	var k Key
	copy(k[:], sum[:])
	return k
}

func TestAddDetectsDuplicates(t *testing.T) {
	s := New(10, 0)
	if !s.Add(key(1), 0) || !s.Add(key(2), 0) {
		t.Fatal("new keys must be added")
	}
	if s.Add(key(1), 0) {
		t.Fatal("duplicate reported as new")
	}
	if s.Len() != 2 {
		t.Fatalf("len %d", s.Len())
	}
}

func TestCapacityEvictsOldestFirst(t *testing.T) {
	s := New(3, 0)
	for i := 0; i < 5; i++ {
		s.Add(key(i), int64(i))
	}
	if s.Contains(key(0)) || s.Contains(key(1)) {
		t.Fatal("oldest keys must be evicted")
	}
	for i := 2; i < 5; i++ {
		if !s.Contains(key(i)) {
			t.Fatalf("key %d evicted too early", i)
		}
	}
	if !s.Add(key(0), 10) {
		t.Fatal("an evicted key is new again")
	}
}

func TestTTLExpires(t *testing.T) {
	s := New(100, 1000)
	s.Add(key(1), 0)
	s.Add(key(2), 500)
	if s.Add(key(1), 999) {
		t.Fatal("key 1 still live at 999 ms")
	}
	if !s.Add(key(1), 1000) {
		t.Fatal("key 1 must have expired at 1000 ms")
	}
	if s.Len() != 2 { // key 2 (500) and the new key 1
		t.Fatalf("len %d", s.Len())
	}
}

func TestNewClampsCapacity(t *testing.T) {
	s := New(0, 0)
	s.Add(key(1), 0)
	s.Add(key(2), 0)
	if s.Len() != 1 || s.Contains(key(1)) || !s.Contains(key(2)) {
		t.Fatalf("capacity 0 must hold the newest key only: len %d", s.Len())
	}
	checkIndex(t, s)
}

func TestBytesIsTheCommittedFootprint(t *testing.T) {
	const capacity = 100_000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s := New(capacity, 0)
	runtime.ReadMemStats(&after)
	allocated := int(after.TotalAlloc - before.TotalAlloc)
	if diff := allocated - s.Bytes(); diff < -64<<10 || diff > 64<<10 {
		t.Fatalf("New allocated %d bytes, Bytes() says %d", allocated, s.Bytes())
	}
	// key and time (24 B) plus an index entry (4 B) at most half full.
	if perKey := float64(s.Bytes()) / capacity; perKey < 24+2*4 || perKey > 24+4*4+1 {
		t.Fatalf("%.1f bytes per key", perKey)
	}
	checkIndex(t, s) // every index entry empty, every slot unused
	want := s.Bytes()
	for i := range 3 * capacity {
		s.Add(key(i), int64(i))
	}
	if s.Bytes() != want {
		t.Fatalf("footprint changed from %d to %d bytes", want, s.Bytes())
	}
}

// model is the reference the Set is checked against: a map and a FIFO slice.
type model struct {
	capacity int
	ttl      int64
	fifo     []Key
	at       []int64
	members  map[Key]bool
}

func (m *model) add(k Key, now int64) bool {
	for m.ttl > 0 && len(m.fifo) > 0 && now-m.at[0] >= m.ttl {
		m.dropOldest()
	}
	if m.members[k] {
		return false
	}
	if len(m.fifo) == m.capacity {
		m.dropOldest()
	}
	m.fifo, m.at = append(m.fifo, k), append(m.at, now)
	m.members[k] = true
	return true
}

func (m *model) dropOldest() {
	delete(m.members, m.fifo[0])
	m.fifo, m.at = m.fifo[1:], m.at[1:]
}

// universe returns n distinct keys to draw from; every other one shares its
// first 8 bytes with one of three others (the part the index hashes), so
// their probes collide and deletions must shift them back correctly.
func universe(n int) []Key {
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = key(i)
		if i%2 == 1 {
			copy(keys[i][:8], keys[i%8][:8])
		}
	}
	return keys
}

func TestMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 300 {
		capacity := 1 + rng.IntN(40)
		ttl := []int64{0, 50, 400}[round%3]
		keys := universe(capacity + 1 + rng.IntN(3*capacity))
		s, m := New(capacity, ttl), &model{capacity: capacity, ttl: ttl, members: map[Key]bool{}}
		now := int64(rng.IntN(1000)) - 500
		for op := range 2000 {
			now += int64(rng.IntN(10)) - 1 // now and then the clock steps back
			k := keys[rng.IntN(len(keys))]
			if got, want := s.Add(k, now), m.add(k, now); got != want {
				t.Fatalf("round %d (capacity %d, ttl %d) op %d: Add = %v, want %v", round, capacity, ttl, op, got, want)
			}
			if s.Len() != len(m.fifo) {
				t.Fatalf("round %d op %d: Len = %d, want %d", round, op, s.Len(), len(m.fifo))
			}
			if op%50 == 0 {
				for _, k := range keys {
					if s.Contains(k) != m.members[k] {
						t.Fatalf("round %d op %d: Contains(%x) = %v", round, op, k, !m.members[k])
					}
				}
				checkIndex(t, s)
			}
		}
	}
}

// TestSharedPrefixes fills a set with keys that all hash alike, then turns
// it over: one long cluster, slower but still exact.
func TestSharedPrefixes(t *testing.T) {
	const capacity = 64
	s := New(capacity, 0)
	keys := make([]Key, 3*capacity)
	for i := range keys {
		keys[i] = key(i)
		copy(keys[i][:8], "samehash")
	}
	for i, k := range keys {
		if !s.Add(k, int64(i)) {
			t.Fatalf("key %d not added", i)
		}
		if i >= capacity && s.Contains(keys[i-capacity]) {
			t.Fatalf("key %d not evicted", i-capacity)
		}
		for j := max(0, i-capacity+1); j <= i; j++ {
			if s.Add(keys[j], int64(i)) {
				t.Fatalf("after adding %d: key %d lost", i, j)
			}
		}
	}
	checkIndex(t, s)
}

// checkIndex verifies s's internal invariants: each member is in the index
// once, reachable from its home without crossing an empty position; no other
// index entry is set; and every ring slot outside the members is unused.
func checkIndex(t *testing.T, s *Set) {
	t.Helper()
	seen := map[int32]bool{}
	for i, p := range s.index {
		if p == empty {
			continue
		}
		if p < 0 || int(p) >= len(s.ring) || (int(p)-s.head+len(s.ring))%len(s.ring) >= s.n || seen[p] {
			t.Fatalf("index[%d] = %d: not a member's ring position (head %d, len %d)", i, p, s.head, s.n)
		}
		seen[p] = true
		for j := s.home(s.ring[p].key); j != i; j = s.next(j) {
			if s.index[j] == empty {
				t.Fatalf("index[%d] is unreachable: empty position %d after its home", i, j)
			}
		}
	}
	if len(seen) != s.n {
		t.Fatalf("index holds %d members, Len %d", len(seen), s.n)
	}
	for p, sl := range s.ring {
		if !seen[int32(p)] && sl != (slot{at: unused}) {
			t.Fatalf("ring[%d] = %+v is not a member but not marked unused", p, sl)
		}
	}
}
