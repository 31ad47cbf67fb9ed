package certfields

import (
	"crypto/sha256"
	"sync"

	"github.com/certstream/certstream/internal/wire"
)

// Cache is a bounded, concurrency-safe cache of parsed certificates keyed by
// the SHA-256 of their DER. It is meant for issuer certificates, which repeat
// across millions of entries: a hit costs one SHA-256 and a map lookup and
// returns the same shared, immutable *wire.Cert. When full, the oldest
// insertion is evicted (FIFO, O(1)). Parse errors are not cached.
type Cache struct {
	mu    sync.Mutex
	certs map[[32]byte]*wire.Cert
	order [][32]byte // ring of keys in insertion order
	next  int        // ring slot of the next insertion, holding the oldest key when full
}

// NewCache returns an empty Cache holding at most capacity certificates
// (at least one).
func NewCache(capacity int) *Cache {
	capacity = max(capacity, 1)
	return &Cache{
		certs: make(map[[32]byte]*wire.Cert, capacity),
		order: make([][32]byte, capacity),
	}
}

// Parse returns the cached Cert for der, parsing and caching it on a miss.
// The returned Cert is shared: callers must not modify it.
func (c *Cache) Parse(der []byte) (*wire.Cert, error) {
	key := sha256.Sum256(der)
	c.mu.Lock()
	cert, ok := c.certs[key]
	c.mu.Unlock()
	if ok {
		return cert, nil
	}

	cert, err := parse(der, key)
	if err != nil {
		return nil, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if existing, ok := c.certs[key]; ok { // parsed concurrently by another caller
		return existing, nil
	}
	if len(c.certs) == len(c.order) {
		delete(c.certs, c.order[c.next])
	}
	c.certs[key] = cert
	c.order[c.next] = key
	c.next = (c.next + 1) % len(c.order)
	return cert, nil
}
