package router

import (
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// TestLiveTotalsAndOnPublish: the live accounting counts connections by
// stream and transport, queue depths, drops of live and departed clients,
// and certificates in; OnPublish sees every run of updates.
func TestLiveTotalsAndOnPublish(t *testing.T) {
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	live := NewClients()
	var seen [][]*wire.Update
	r := e.Spawn(New(Config{MailboxCapacity: 3, Clients: live, TickInterval: time.Hour,
		OnPublish: func(u []*wire.Update) { seen = append(seen, u) }}), "router")
	lite, _ := subscribe(t, e, r, wire.StreamLite, wire.WebSocket, "a")
	_, fullPID := subscribe(t, e, r, wire.StreamFull, wire.SSE, "b")
	ups := updates(t)[:5]
	e.Send(r, messages.Published{Updates: ups})
	if _, err := e.Request(r, messages.Inspect{}, time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	tot := live.Totals()
	if tot.Connections[wire.StreamLite][wire.WebSocket] != 1 || tot.Connections[wire.StreamFull][wire.SSE] != 1 ||
		tot.ConnectionCount() != 2 {
		t.Fatalf("connections %+v", tot.Connections)
	}
	// 5 pushed into rings of 3: 2 dropped each, 3 queued each.
	if tot.Certificates != 5 || tot.Pushed != 10 || tot.Dropped != 4 || tot.QueuedSum != 6 || tot.QueuedMax != 3 {
		t.Fatalf("totals %+v", tot)
	}
	lite.ring.Drain(nil, 2)
	lite.ring.Done(2, 0)
	e.Send(r, messages.Unsubscribe{PID: fullPID})
	if _, err := e.Request(r, messages.Inspect{}, time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	tot = live.Totals()
	// The departed client's queue counts as dropped; its counts stay.
	if tot.ConnectionCount() != 1 || tot.Pushed != 10 || tot.Delivered != 2 || tot.Dropped != 7 ||
		tot.QueuedSum != 1 || tot.QueuedMax != 1 {
		t.Fatalf("after one left: %+v", tot)
	}
	if len(seen) != 1 || len(seen[0]) != 5 {
		t.Fatalf("OnPublish saw %d runs", len(seen))
	}
}
