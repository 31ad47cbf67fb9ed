package clusterpub

import (
	"context"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/clusterlink"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// A publish the stream does not acknowledge is published again, under the
// same message id, once the stream can take it: here the stream is deleted
// while certificates are published, so every first attempt fails, and
// then created again.
func TestFailedPublishRetried(t *testing.T) {
	s, err := clusterlink.StartServer(clusterlink.ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	counters := NewCounters(64)
	link, err := clusterlink.Dial(clusterlink.Config{URLs: []string{s.ClientURL()}, Stream: "TEST", Retention: time.Hour,
		RetentionBytes: 1 << 30, DuplicateWindow: time.Minute, MaxPending: 64, OnAck: counters.Ack, OnError: counters.Error})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(link.Close)
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	ring := mailbox.New[*wire.Update](1024)
	pid := e.Spawn(New(Config{Link: link, Ring: ring, Counters: counters, DuplicateWindow: time.Minute}), "clusterpub")
	t.Cleanup(func() { <-e.Poison(pid).Done() })
	await.True(t, 10*time.Second, "the publisher to create the stream", func() bool {
		res, err := e.Request(pid, messages.Inspect{}, time.Second).Result()
		return err == nil && res.(messages.ActorInfo).Details["stream_ready"] == true
	})

	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, "TEST"); err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		u := &wire.Update{Entry: wire.Entry{Index: uint64(i), Leaf: &wire.Cert{}}, Source: &wire.Source{Name: "log", URL: "https://log/"}}
		u.Leaf.SHA256[0] = byte(i)
		ring.Push(u)
	}
	e.Send(pid, messages.Wake{})
	await.True(t, 10*time.Second, "every first attempt to fail", func() bool { return counters.Errors.Load() >= n })
	if err := link.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	await.True(t, 10*time.Second, "the failed publishes to be stored", func() bool {
		_, last, err := link.FirstSeq(ctx)
		return err == nil && last == n
	})
	time.Sleep(1500 * time.Millisecond) // another retry round would store more now
	if _, last, _ := link.FirstSeq(ctx); last != n || counters.Acked.Load() < n {
		t.Errorf("stream holds %d messages, %d acknowledged; want %d", last, counters.Acked.Load(), n)
	}
}
