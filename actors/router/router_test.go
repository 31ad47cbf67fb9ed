package router

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/internal/wsframe"
	"github.com/certstream/certstream/messages"
)

// updates builds one update per synthetic snapshot certificate.
func updates(t *testing.T) []*wire.Update {
	data, err := os.ReadFile(fixtures.Path(t, "parser-snapshots", "synthetic.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snaps []struct {
		DER string `json:"der_b64"`
	}
	json.Unmarshal(data, &snaps)
	src := &wire.Source{Name: "L", URL: "https://l/"}
	var out []*wire.Update
	for i, s := range snaps {
		der, _ := base64.StdEncoding.DecodeString(s.DER)
		c, err := certfields.Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &wire.Update{Entry: wire.Entry{Index: uint64(i), Leaf: c}, Source: src, CertLink: "x", Seen: 1})
	}
	return out
}

// startRouter spawns a router with cfg on a new engine.
func startRouter(cfg Config) (*actor.Engine, *actor.PID) {
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	return e, e.Spawn(New(cfg), "router")
}

// sink is a consumer actor that counts wakes; the test drains its ring.
type sink struct {
	mu    sync.Mutex
	ring  *mailbox.Ring[[]byte]
	wakes int
	ticks int
}

func (s *sink) producer(r *mailbox.Ring[[]byte]) actor.Producer {
	s.ring = r
	return func() actor.Receiver { return s }
}

func (s *sink) Receive(c *actor.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch c.Message().(type) {
	case messages.Wake:
		s.wakes++
	case messages.Tick:
		s.ticks++
	}
}

func subscribe(t *testing.T, e *actor.Engine, r *actor.PID, st wire.Stream, tr wire.Transport, name string) (*sink, *actor.PID) {
	return subscribeWith(t, e, r, messages.Subscribe{Stream: st, Transport: tr, Name: name})
}

func subscribeWith(t *testing.T, e *actor.Engine, r *actor.PID, sub messages.Subscribe) (*sink, *actor.PID) {
	s := &sink{}
	sub.Producer = s.producer
	res, err := e.Request(r, sub, time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	return s, res.(*actor.PID)
}

func TestRouterSerializesOncePerStreamAndFansOut(t *testing.T) {
	e, r := startRouter(Config{MailboxCapacity: 100, TickInterval: 50 * time.Millisecond})
	lite1, _ := subscribe(t, e, r, wire.StreamLite, wire.WebSocket, "a")
	lite2, _ := subscribe(t, e, r, wire.StreamLite, wire.WebSocket, "b")
	full, _ := subscribe(t, e, r, wire.StreamFull, wire.SSE, "c")
	ups := updates(t)
	e.Send(r, messages.Published{Updates: ups})
	info, err := e.Request(r, messages.Inspect{}, time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	ri := info.(messages.ActorInfo)
	if len(ri.Children) != 3 {
		t.Fatalf("children %d", len(ri.Children))
	}
	a := lite1.ring.Drain(nil, 1000)
	b := lite2.ring.Drain(nil, 1000)
	f := full.ring.Drain(nil, 1000)
	if len(a) != len(ups) || len(b) != len(ups) || len(f) != len(ups) {
		t.Fatalf("got %d/%d/%d frames, want %d each", len(a), len(b), len(f), len(ups))
	}
	for i, u := range ups {
		want := wsframe.AppendText(nil, wire.AppendLite(nil, u))
		if !bytes.Equal(a[i], want) {
			t.Fatalf("lite frame %d differs", i)
		}
		if &a[i][0] != &b[i][0] {
			t.Fatalf("subscribers of one stream must share the same bytes")
		}
		wantSSE := fmt.Sprintf("id: %d\ndata: %s\n\n", u.Seq, wire.AppendFull(nil, u))
		if string(f[i]) != wantSSE {
			t.Fatalf("full SSE event %d differs", i)
		}
	}
	if ri.Details["serialized"].(map[string]uint64)["domains"] != 0 {
		t.Fatal("a stream without subscribers must not be serialized")
	}
	time.Sleep(200 * time.Millisecond)
	lite1.mu.Lock()
	defer lite1.mu.Unlock()
	if lite1.wakes != 1 {
		t.Errorf("one burst must cost one wake, got %d", lite1.wakes)
	}
	if lite1.ticks == 0 {
		t.Error("subscribers must receive ticks")
	}
}

func (s *sink) tickCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ticks
}

func TestRouterTicksOnlyDueSubscribers(t *testing.T) {
	e, r := startRouter(Config{MailboxCapacity: 4, TickInterval: 10 * time.Millisecond})
	var after atomic.Int64
	after.Store(time.Now().Add(time.Hour).UnixMilli())
	waiting, _ := subscribeWith(t, e, r, messages.Subscribe{Stream: wire.StreamLite, Transport: wire.WebSocket,
		Name: "waiting", TickAfter: &after})
	always, _ := subscribe(t, e, r, wire.StreamLite, wire.WebSocket, "always")
	await.True(t, 5*time.Second, "five ticks of a subscriber without TickAfter", func() bool { return always.tickCount() >= 5 })
	if n := waiting.tickCount(); n != 0 {
		t.Fatalf("a subscriber whose TickAfter is an hour away got %d ticks", n)
	}
	after.Store(time.Now().UnixMilli())
	await.True(t, 5*time.Second, "a tick for the subscriber whose TickAfter has come", func() bool { return waiting.tickCount() > 0 })
}

func TestRouterReleasesThePublishedBatchOnceRouted(t *testing.T) {
	e, r := startRouter(Config{MailboxCapacity: 100})
	lite, _ := subscribe(t, e, r, wire.StreamLite, wire.WebSocket, "a")
	ups := updates(t)
	queued := make(chan int, 1)
	e.Send(r, messages.Published{Updates: ups, Release: func() { queued <- lite.ring.Stats().Queued }})
	select {
	case n := <-queued:
		if n != len(ups) {
			t.Fatalf("released with %d of %d updates in the subscriber's ring", n, len(ups))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the batch was never released: its fetcher would lose the credit")
	}
}

func TestRouterUnsubscribeClosesRing(t *testing.T) {
	e, r := startRouter(Config{MailboxCapacity: 4})
	s, pid := subscribe(t, e, r, wire.StreamDomains, wire.WebSocket, "x")
	ups := updates(t)
	e.Send(r, messages.Published{Updates: ups}) // 11 into a ring of 4: 7 dropped
	e.Send(r, messages.Unsubscribe{PID: pid})
	info, _ := e.Request(r, messages.Inspect{}, time.Second).Result()
	if n := len(info.(messages.ActorInfo).Children); n != 0 {
		t.Fatalf("%d children after unsubscribe", n)
	}
	st := s.ring.Stats()
	if st.Pushed != uint64(len(ups)) || st.Dropped != uint64(len(ups)) || st.Queued != 0 {
		t.Fatalf("closed ring stats %+v", st)
	}
}

// TestInspectReportsConnStats: each connection child's details hold its
// messages.ConnStats, and the router's own details those of the
// subscribers that left.
func TestInspectReportsConnStats(t *testing.T) {
	e, r := startRouter(Config{MailboxCapacity: 100})
	_, stays := subscribe(t, e, r, wire.StreamLite, wire.WebSocket, "stays")
	_, leaves := subscribe(t, e, r, wire.StreamDomains, wire.SSE, "leaves")
	ups := updates(t)
	e.Send(r, messages.Published{Updates: ups})
	e.Send(r, messages.Unsubscribe{PID: leaves})
	res, err := e.Request(r, messages.Inspect{}, time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	info := res.(messages.ActorInfo)
	if len(info.Children) != 1 {
		t.Fatalf("%d children, want 1", len(info.Children))
	}
	cs, ok := info.Children[0].Details["conn"].(messages.ConnStats)
	if !ok || cs.ID != stays.ID || cs.Stream != "lite" || cs.Transport != "ws" || cs.Pushed != uint64(len(ups)) ||
		cs.Queued != len(ups) {
		t.Fatalf("child details %#v", info.Children[0].Details)
	}
	closed, ok := info.Details["closed"].([]messages.ConnStats)
	if !ok || len(closed) != 1 || closed[0].ID != leaves.ID || closed[0].Stream != "domains" || closed[0].Transport != "sse" ||
		closed[0].Pushed != uint64(len(ups)) || closed[0].Dropped != uint64(len(ups)) {
		t.Fatalf("closed %#v", info.Details["closed"])
	}
}
