package recentset

import (
	"crypto/sha256"
	"encoding/binary"
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

func BenchmarkAdd(b *testing.B) {
	s := New(500000, 3600_000)
	keys := make([]Key, 1<<20)
	for i := range keys {
		keys[i] = key(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Add(keys[i&(len(keys)-1)], int64(i/1000))
	}
}
