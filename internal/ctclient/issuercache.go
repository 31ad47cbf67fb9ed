package ctclient

import (
	"container/list"
	"context"
	"errors"
	"sync"
)

// IssuerCache holds issuer certificates by SHA-256, shared by all fetchers.
// It keeps at most its capacity of entries, evicting the least recently
// used, fetches each missing issuer once however many callers want it, and
// does not cache failures. It is safe for concurrent use.
type IssuerCache struct {
	mu       sync.Mutex
	capacity int
	lru      *list.List                 // of *issuerItem, most recently used first
	items    map[[32]byte]*list.Element // cached issuers
	inflight map[[32]byte]*issuerCall   // fetches in progress
}

// issuerItem is one cached issuer.
type issuerItem struct {
	fp  [32]byte
	der []byte
}

// issuerCall is one fetch in progress; done is closed once der or err is set.
type issuerCall struct {
	done chan struct{}
	der  []byte
	err  error
}

// NewIssuerCache returns an empty cache holding at most capacity issuers
// (at least one).
func NewIssuerCache(capacity int) *IssuerCache {
	return &IssuerCache{
		capacity: max(capacity, 1),
		lru:      list.New(),
		items:    make(map[[32]byte]*list.Element),
		inflight: make(map[[32]byte]*issuerCall),
	}
}

// Get returns the DER of issuer fp, calling fetch when it is not cached.
// Concurrent callers for the same fp share one fetch and its outcome; a
// caller whose context ends stops waiting, and when the fetching caller's
// own context ended, waiters with live contexts fetch again. The returned
// slice is shared: do not modify it.
func (c *IssuerCache) Get(ctx context.Context, fp [32]byte, fetch func(context.Context) ([]byte, error)) ([]byte, error) {
	for {
		c.mu.Lock()
		if el, ok := c.items[fp]; ok {
			c.lru.MoveToFront(el)
			der := el.Value.(*issuerItem).der
			c.mu.Unlock()
			return der, nil
		}
		call, waiting := c.inflight[fp]
		if !waiting {
			call = &issuerCall{done: make(chan struct{})}
			c.inflight[fp] = call
		}
		c.mu.Unlock()

		if !waiting {
			c.run(ctx, fp, call, fetch)
			return call.der, call.err
		}
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if call.err == nil || !isContextErr(call.err) || ctx.Err() != nil {
			return call.der, call.err
		}
		// The fetching caller gave up; try again on our own context.
	}
}

// run performs the fetch for call and publishes its outcome.
func (c *IssuerCache) run(ctx context.Context, fp [32]byte, call *issuerCall, fetch func(context.Context) ([]byte, error)) {
	defer func() {
		c.mu.Lock()
		delete(c.inflight, fp)
		if call.err == nil {
			c.add(fp, call.der)
		}
		c.mu.Unlock()
		close(call.done)
	}()
	call.err = errFetchPanicked // replaced unless fetch panics
	call.der, call.err = fetch(ctx)
	if call.err == nil && call.der == nil {
		call.err = errors.New("ctclient: issuer fetch returned no certificate")
	}
}

// add caches der under fp, evicting the least recently used beyond
// capacity. c.mu is held.
func (c *IssuerCache) add(fp [32]byte, der []byte) {
	c.items[fp] = c.lru.PushFront(&issuerItem{fp: fp, der: der})
	for c.lru.Len() > c.capacity {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.items, oldest.Value.(*issuerItem).fp)
	}
}

// Len returns the number of cached issuers.
func (c *IssuerCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// errFetchPanicked is the outcome waiters see when the fetch panicked.
var errFetchPanicked = errors.New("ctclient: issuer fetch panicked")

// isContextErr reports whether err comes from a cancelled or expired context.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
