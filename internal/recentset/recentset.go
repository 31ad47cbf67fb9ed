// Package recentset is a bounded set of recently seen keys with a time to
// live, in a fixed footprint committed when it is made.
//
// Members sit in a ring in insertion order, which is also the eviction order,
// so both eviction of the oldest (when full) and expiry (when stale) are O(1)
// per key: there are no full clears and no sweeps. An open-addressing hash
// index (linear probing over a flat array at most half full) maps each key to
// its ring position; a removed key's entry is deleted by backward shift, not
// left as a tombstone, so lookups do not degrade as keys come and go.
package recentset

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unsafe"
)

// Key identifies a member: the first 16 bytes of a SHA-256, which keeps the
// set small while making accidental collisions practically impossible.
type Key [16]byte

type slot struct {
	key Key
	at  int64 // insertion time, Unix milliseconds; unused if not a member
}

const (
	unused      = math.MinInt64 // slot.at of a ring slot holding no member
	empty       = int32(-1)     // an index entry holding no ring position
	maxCapacity = 1 << 30       // ring positions must fit an int32
)

// Set is a FIFO set with capacity and TTL. It is not safe for concurrent use:
// it belongs to one actor.
type Set struct {
	index   []int32 // ring positions by probe position, or empty; len is a power of two ≥ 2×len(ring)
	shift   uint    // 64 − log2(len(index)): a key's home is its hash's top bits
	ring    []slot  // insertion order; ring[head] is the oldest
	head, n int
	ttl     int64 // milliseconds; <= 0 means no expiry
}

// New returns a set holding at most capacity keys (clamped to [1, 2^30]),
// each for at most ttlMillis (<= 0: until evicted by capacity).
//
// New commits the whole footprint at once (see Bytes): it fills the index
// with the empty marker and marks every ring slot unused, which writes every
// page of both. Memory is then flat from the first minute, instead of
// creeping up for as long as the window takes to fill (a slow climb that
// looks like a leak), and a capacity too large for the machine fails at
// start, not hours later.
func New(capacity int, ttlMillis int64) *Set {
	capacity = min(max(capacity, 1), maxCapacity)
	size := 1 << bits.Len(uint(2*capacity-1)) // the least power of two ≥ 2×capacity
	s := &Set{
		index: make([]int32, size),
		shift: uint(64 - bits.Len(uint(size-1))),
		ring:  make([]slot, capacity),
		ttl:   ttlMillis,
	}
	for i := range s.index {
		s.index[i] = empty
	}
	for i := range s.ring {
		s.ring[i].at = unused
	}
	return s
}

// Add inserts k at time now (Unix ms) and reports whether it was new. Keys
// older than the TTL and, when full, the oldest key are forgotten first.
func (s *Set) Add(k Key, now int64) (added bool) {
	s.expire(now)
	i, found := s.probe(k)
	if found {
		return false
	}
	if s.n == len(s.ring) {
		s.evictOldest()
		i = s.free(s.home(k)) // the deletion may have opened a gap before i
	}
	pos := s.wrap(s.head + s.n)
	s.ring[pos] = slot{key: k, at: now}
	s.index[i] = int32(pos)
	s.n++
	return true
}

// Contains reports whether k is a member (ignoring expiry not yet applied).
func (s *Set) Contains(k Key) bool {
	_, found := s.probe(k)
	return found
}

// Len returns the number of members.
func (s *Set) Len() int { return s.n }

// Bytes returns the set's footprint in bytes: all of it is committed by New
// and stays the same whatever the set holds.
func (s *Set) Bytes() int {
	return len(s.index)*int(unsafe.Sizeof(empty)) + len(s.ring)*int(unsafe.Sizeof(slot{})) + int(unsafe.Sizeof(*s))
}

// home returns the index position where the probe for k starts: the top bits
// of its first 8 bytes multiplied by 2^64/φ (Fibonacci hashing), so keys
// whose prefixes differ only in a few bits still spread over the index.
func (s *Set) home(k Key) int {
	return int(binary.LittleEndian.Uint64(k[:8]) * 0x9e3779b97f4a7c15 >> s.shift)
}

// next returns the index position after i, wrapping around.
func (s *Set) next(i int) int { return (i + 1) & (len(s.index) - 1) }

// wrap returns ring position i (< 2×len(ring)) wrapped into the ring.
func (s *Set) wrap(i int) int {
	if i >= len(s.ring) {
		i -= len(s.ring)
	}
	return i
}

// probe returns the index position holding k, or, if k is not a member, the
// empty one where its probe ended. The index is at most half full, so there
// is always an empty position to end on.
func (s *Set) probe(k Key) (i int, found bool) {
	for i = s.home(k); s.index[i] != empty; i = s.next(i) {
		if s.ring[s.index[i]].key == k {
			return i, true
		}
	}
	return i, false
}

// free returns the first empty index position from i on.
func (s *Set) free(i int) int {
	for s.index[i] != empty {
		i = s.next(i)
	}
	return i
}

// expire forgets the keys inserted more than the TTL before now.
func (s *Set) expire(now int64) {
	if s.ttl <= 0 {
		return
	}
	for s.n > 0 && now-s.ring[s.head].at >= s.ttl {
		s.evictOldest()
	}
}

// evictOldest forgets the oldest member.
func (s *Set) evictOldest() {
	i := s.home(s.ring[s.head].key)
	for s.index[i] != int32(s.head) {
		i = s.next(i)
	}
	s.remove(i)
	s.ring[s.head] = slot{at: unused}
	s.head = s.wrap(s.head + 1)
	s.n--
}

// remove empties index position i by backward shift: each later entry of
// the same cluster whose home is not cyclically in (i, j], where j is its
// position, moves back into the gap, which then moves to j. Every member
// thus stays reachable from its home without crossing an empty position,
// and no tombstone is left behind.
func (s *Set) remove(i int) {
	mask := len(s.index) - 1
	for j := s.next(i); s.index[j] != empty; j = s.next(j) {
		if h := s.home(s.ring[s.index[j]].key); (j-h)&mask >= (j-i)&mask {
			s.index[i] = s.index[j]
			i = j
		}
	}
	s.index[i] = empty
}
