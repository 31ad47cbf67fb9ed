// Package certindex keeps the node's most recent certificates for the REST API:
// a bounded index by SHA-256 and SHA-1 of the leaf, and the latest one
// published. It is safe for concurrent use: the router adds, HTTP handlers
// read. Adding does no serialization; readers encode what they return.
package certindex

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/certstream/certstream/internal/wire"
)

// Index holds the last Capacity published certificates.
type Index struct {
	mu     sync.Mutex
	ring   []*wire.Update // insertion order; ring[head] is the oldest
	head   int
	n      int
	by256  map[[32]byte]*wire.Update
	by1    map[[20]byte]*wire.Update
	latest *wire.Update
}

// New returns an empty index remembering at most capacity certificates (at
// least 1).
func New(capacity int) *Index {
	capacity = max(capacity, 1)
	return &Index{
		ring:  make([]*wire.Update, capacity),
		by256: make(map[[32]byte]*wire.Update, capacity),
		by1:   make(map[[20]byte]*wire.Update, capacity),
	}
}

// Add records updates in order, forgetting the oldest ones beyond capacity.
// Updates without a leaf are skipped.
func (x *Index) Add(updates []*wire.Update) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, u := range updates {
		if u == nil || u.Leaf == nil {
			continue
		}
		if x.n == len(x.ring) {
			x.forget(x.ring[x.head])
			x.ring[x.head] = nil
			x.head = (x.head + 1) % len(x.ring)
			x.n--
		}
		x.ring[(x.head+x.n)%len(x.ring)] = u
		x.n++
		x.by256[u.Leaf.SHA256] = u
		x.by1[u.Leaf.SHA1] = u
		x.latest = u
	}
}

// forget drops old's hash entries unless a newer update took them over.
func (x *Index) forget(old *wire.Update) {
	if x.by256[old.Leaf.SHA256] == old {
		delete(x.by256, old.Leaf.SHA256)
	}
	if x.by1[old.Leaf.SHA1] == old {
		delete(x.by1, old.Leaf.SHA1)
	}
}

// Len returns how many certificates are remembered.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.n
}

// Latest returns the most recently added certificate, or nil before the first.
func (x *Index) Latest() *wire.Update {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.latest
}

// Lookup finds a remembered certificate by the SHA-256 or SHA-1 (the
// certstream "fingerprint") of its leaf, given as hex in any case, with or
// without colons between the bytes. It returns nil, nil when the hash is
// well-formed but unknown, and an error saying what is wrong otherwise.
func (x *Index) Lookup(hash string) (*wire.Update, error) {
	raw, err := ParseHash(hash)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(raw) == 32 {
		return x.by256[[32]byte(raw)], nil
	}
	return x.by1[[20]byte(raw)], nil
}

// ParseHash decodes a SHA-256 (64 hex digits) or SHA-1 (40 hex digits) in any
// case, optionally with a colon between every two digits.
func ParseHash(s string) ([]byte, error) {
	clean := strings.ReplaceAll(s, ":", "")
	if len(clean) != 64 && len(clean) != 40 {
		return nil, fmt.Errorf("hash has %d hex digits; want 64 (SHA-256) or 40 (SHA-1 fingerprint)", len(clean))
	}
	if strings.Contains(s, ":") && !colonPairs(s) {
		return nil, fmt.Errorf("hash has colons out of place; write them between every two hex digits or not at all")
	}
	raw, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("hash is not hexadecimal: %v", err)
	}
	return raw, nil
}

// colonPairs reports whether s is hex pairs joined by single colons.
func colonPairs(s string) bool {
	for i := range len(s) {
		if (s[i] == ':') != (i%3 == 2) {
			return false
		}
	}
	return (len(s)+1)%3 == 0
}
