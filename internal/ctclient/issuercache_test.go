package ctclient

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counted returns a fetch function answering der (or err) and counting its
// calls.
func counted(calls *atomic.Int32, der []byte, err error) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) {
		calls.Add(1)
		return der, err
	}
}

func TestIssuerCacheConcurrentFetchOnce(t *testing.T) {
	c := NewIssuerCache(10)
	fp := [32]byte{1}
	release := make(chan struct{})
	var calls atomic.Int32
	fetch := func(ctx context.Context) ([]byte, error) {
		calls.Add(1)
		<-release
		return []byte("issuer-der"), nil
	}
	const n = 32
	var started, done sync.WaitGroup
	results := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			results[i], errs[i] = c.Get(context.Background(), fp, fetch)
		}()
	}
	started.Wait()
	time.Sleep(20 * time.Millisecond) // let the callers reach Get and wait
	close(release)
	done.Wait()
	if got := calls.Load(); got != 1 {
		t.Errorf("%d fetches for %d concurrent callers, want 1", got, n)
	}
	for i := range n {
		if errs[i] != nil || string(results[i]) != "issuer-der" {
			t.Errorf("caller %d: %q, %v", i, results[i], errs[i])
		}
	}
	if _, err := c.Get(context.Background(), fp, counted(&calls, nil, errors.New("must not be called"))); err != nil || calls.Load() != 1 {
		t.Errorf("cached Get: %v, %d fetches", err, calls.Load())
	}
}

func TestIssuerCacheErrorsNotCached(t *testing.T) {
	c := NewIssuerCache(10)
	fp := [32]byte{2}
	var calls atomic.Int32
	boom := errors.New("log answered 503")
	if _, err := c.Get(context.Background(), fp, counted(&calls, nil, boom)); !errors.Is(err, boom) {
		t.Fatalf("first Get: %v", err)
	}
	if _, err := c.Get(context.Background(), fp, counted(&calls, nil, nil)); err == nil {
		t.Fatal("a fetch returning no certificate succeeded")
	}
	der, err := c.Get(context.Background(), fp, counted(&calls, []byte("ok"), nil))
	if err != nil || string(der) != "ok" {
		t.Fatalf("third Get: %q, %v", der, err)
	}
	if _, err := c.Get(context.Background(), fp, counted(&calls, nil, boom)); err != nil {
		t.Errorf("fourth Get refetched: %v", err)
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("%d fetches, want 3", got)
	}
}

func TestIssuerCacheEviction(t *testing.T) {
	c := NewIssuerCache(2)
	var calls atomic.Int32
	get := func(b byte) {
		t.Helper()
		der, err := c.Get(context.Background(), [32]byte{b}, counted(&calls, []byte{b}, nil))
		if err != nil || len(der) != 1 || der[0] != b {
			t.Fatalf("Get(%d): %v, %v", b, der, err)
		}
	}
	get(1)
	get(2)
	get(1) // 1 is now the most recently used
	get(3) // evicts 2
	if got := calls.Load(); got != 3 {
		t.Fatalf("%d fetches before eviction check, want 3", got)
	}
	get(1)
	if got := calls.Load(); got != 3 {
		t.Errorf("1 was evicted: %d fetches", got)
	}
	get(2)
	if got := calls.Load(); got != 4 {
		t.Errorf("2 was not evicted: %d fetches, want 4", got)
	}
	if got := c.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2", got)
	}
}

func TestIssuerCacheWaiterContext(t *testing.T) {
	c := NewIssuerCache(4)
	fp := [32]byte{3}
	release := make(chan struct{})
	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), fp, func(context.Context) ([]byte, error) {
			<-release
			return []byte("x"), nil
		})
		leaderDone <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for c.inflightLen() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := c.Get(ctx, fp, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter whose context expired: %v", err)
	}
	close(release)
	if err := <-leaderDone; err != nil {
		t.Errorf("leader: %v", err)
	}
}

func TestIssuerCacheLeaderCancelled(t *testing.T) {
	c := NewIssuerCache(4)
	fp := [32]byte{4}
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.Get(leaderCtx, fp, func(ctx context.Context) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		leaderDone <- err
	}()
	for c.inflightLen() == 0 {
		time.Sleep(time.Millisecond)
	}
	waiter := make(chan []byte, 1)
	go func() {
		der, err := c.Get(context.Background(), fp, func(context.Context) ([]byte, error) {
			return []byte("fetched by the waiter"), nil
		})
		if err != nil {
			t.Error(err)
		}
		waiter <- der
	}()
	time.Sleep(20 * time.Millisecond) // let the waiter wait on the leader
	cancelLeader()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v", err)
	}
	if der := <-waiter; string(der) != "fetched by the waiter" {
		t.Errorf("waiter got %q", der)
	}
}

// inflightLen returns the number of fetches in progress.
func (c *IssuerCache) inflightLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight)
}
