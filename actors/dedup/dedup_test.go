package dedup

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

func update(id byte, index uint64) *wire.Update {
	c := &wire.Cert{}
	c.SHA256[0] = id
	return &wire.Update{Entry: wire.Entry{Index: index, Leaf: c}}
}

func TestDedupForwardsFirstSightingInOrder(t *testing.T) {
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	got := make(chan messages.Published, 10)
	r := e.SpawnFunc(func(c *actor.Context) {
		if p, ok := c.Message().(messages.Published); ok {
			got <- p
		}
	}, "router")
	d := e.Spawn(New(Config{Capacity: 100, TTL: time.Hour, Router: r}), "dedup")
	var released atomic.Int32
	rel := func() { released.Add(1) }
	e.Send(d, messages.Batch{Updates: []*wire.Update{update(1, 0), update(2, 1), update(1, 2)}, Release: rel})
	e.Send(d, messages.Batch{Updates: []*wire.Update{update(2, 3)}, Release: rel}) // all duplicates
	e.Send(d, messages.Batch{Updates: []*wire.Update{update(3, 4)}, Release: rel})
	want := [][]uint64{{0, 1}, {4}}
	var routed []messages.Published
	for _, w := range want {
		select {
		case p := <-got:
			routed = append(routed, p)
			if len(p.Updates) != len(w) {
				t.Fatalf("got %d updates, want %v", len(p.Updates), w)
			}
			for i, u := range p.Updates {
				if u.Index != w[i] {
					t.Fatalf("got index %d, want %v", u.Index, w)
				}
			}
		case <-time.After(2 * time.Second):
			t.Fatal("timeout")
		}
	}
	select {
	case p := <-got:
		t.Fatalf("unexpected extra publish %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
	// Only the batch of duplicates is released by dedup; the others go on
	// with their Release, for the router to call once it has routed them.
	if released.Load() != 1 {
		t.Fatalf("released %d batches before routing, want 1", released.Load())
	}
	for _, p := range routed {
		p.Release()
	}
	if released.Load() != 3 {
		t.Fatalf("released %d batches, want 3", released.Load())
	}
}

// TestInspectAndPublishedCount checks Inspect's totals, and that a batch's
// Published counter learns how many of its updates passed.
func TestInspectAndPublishedCount(t *testing.T) {
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	r := e.SpawnFunc(func(*actor.Context) {}, "router")
	d := e.Spawn(New(Config{Capacity: 100, TTL: time.Hour, Router: r}), "dedup")
	var published atomic.Int64
	count := func(n int) { published.Add(int64(n)) }
	e.Send(d, messages.Batch{Updates: []*wire.Update{update(1, 0), update(2, 1), update(1, 2)}, Published: count})
	res, err := e.Request(d, messages.Inspect{}, 2*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	info := res.(messages.ActorInfo)
	if info.Kind != "dedup" || info.Details["certificates_in"] != uint64(3) || info.Details["passed"] != uint64(2) ||
		info.Details["size"] != 2 {
		t.Fatalf("inspect: %+v", info)
	}
	if got := published.Load(); got != 2 {
		t.Fatalf("published counted %d, want 2", got)
	}
}
