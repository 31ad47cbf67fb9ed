// Package recentset is a bounded set of recently seen keys with a time to
// live. Insertion order is the eviction order, so both eviction of the oldest
// (when full) and expiry (when stale) are O(1) per key: there are no full
// clears and no sweeps.
package recentset

// Key identifies a member: the first 16 bytes of a SHA-256, which keeps the
// set small while making accidental collisions practically impossible.
type Key [16]byte

type slot struct {
	key Key
	at  int64 // insertion time, Unix milliseconds
}

// Set is a FIFO set with capacity and TTL. It is not safe for concurrent use:
// it belongs to one actor.
type Set struct {
	members map[Key]struct{}
	ring    []slot // insertion order; ring[head] is the oldest
	head, n int
	ttl     int64 // milliseconds; <= 0 means no expiry
}

// New returns a set holding at most capacity keys, each for at most ttlMillis
// (<= 0: until evicted by capacity).
func New(capacity int, ttlMillis int64) *Set {
	capacity = max(capacity, 1)
	return &Set{
		members: make(map[Key]struct{}, capacity),
		ring:    make([]slot, capacity),
		ttl:     ttlMillis,
	}
}

// Add inserts k at time now (Unix ms) and reports whether it was new. Keys
// older than the TTL and, when full, the oldest key are forgotten first.
func (s *Set) Add(k Key, now int64) (added bool) {
	s.expire(now)
	if _, ok := s.members[k]; ok {
		return false
	}
	if s.n == len(s.ring) {
		s.evictOldest()
	}
	s.ring[(s.head+s.n)%len(s.ring)] = slot{key: k, at: now}
	s.n++
	s.members[k] = struct{}{}
	return true
}

// Contains reports whether k is a member (ignoring expiry not yet applied).
func (s *Set) Contains(k Key) bool {
	_, ok := s.members[k]
	return ok
}

// Len returns the number of members.
func (s *Set) Len() int { return s.n }

// expire forgets the keys inserted more than the TTL before now.
func (s *Set) expire(now int64) {
	if s.ttl <= 0 {
		return
	}
	for s.n > 0 && now-s.ring[s.head].at >= s.ttl {
		s.evictOldest()
	}
}

func (s *Set) evictOldest() {
	delete(s.members, s.ring[s.head].key)
	s.ring[s.head] = slot{}
	s.head = (s.head + 1) % len(s.ring)
	s.n--
}
