package clusterpub

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/clusterlink"
	"github.com/certstream/certstream/internal/clusterlink/clustertest"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// A publish the stream does not acknowledge is published again, under the
// same message id, once the stream can take it: here the stream is deleted
// while certificates are published, so every first attempt fails, and
// then created again.
func TestFailedPublishRetried(t *testing.T) {
	s := startServer(t, t.TempDir())
	link, counters := dial(t, s, 64)
	e, pid := spawnPublisher(t, link, counters)
	await.True(t, 10*time.Second, "the publisher to create the stream", func() bool {
		res, err := e.Request(pid, messages.Inspect{}, time.Second).Result()
		return err == nil && res.(messages.ActorInfo).Details["stream_ready"] == true
	})

	clustertest.DeleteStream(t, s.ClientURL(), "TEST")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 10
	e.Send(pid, messages.Published{Updates: updates(0, n)})
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

// updates returns n distinct certificates numbered from first.
func updates(first, n int) []*wire.Update {
	var out []*wire.Update
	for i := first; i < first+n; i++ {
		u := &wire.Update{Entry: wire.Entry{Index: uint64(i), Leaf: &wire.Cert{}}, Source: &wire.Source{Name: "log", URL: "https://log/"}}
		u.Leaf.SHA256[0], u.Leaf.SHA256[1] = byte(i), byte(i>>8)
		out = append(out, u)
	}
	return out
}

// A run's Release (the fetcher's credit) is called only once the whole run
// is handed to the link: while the link is full the run is held and the
// fetcher waits, instead of certificates being dropped; once acks come
// back every certificate is published, in order.
func TestReleaseWaitsForTheLink(t *testing.T) {
	store := t.TempDir()
	s := startServer(t, store)
	const maxPending = 4
	link, counters := dial(t, s, maxPending)
	e, pid := spawnPublisher(t, link, counters)

	first := make(chan struct{})
	e.Send(pid, messages.Published{Updates: updates(100, 1), Release: func() { close(first) }})
	await.True(t, 10*time.Second, "a first certificate to be acknowledged", func() bool { return counters.Acked.Load() == 1 })
	<-first

	// The server stops answering: no ack comes back, so the link fills.
	s.Shutdown()
	released := make(chan int, 3)
	const run = 3
	for i := range 3 {
		e.Send(pid, messages.Published{Updates: updates(i*run, run), Release: func() { released <- i }})
	}
	await.True(t, 10*time.Second, "the publisher to hold the runs the link cannot take", func() bool {
		res, err := e.Request(pid, messages.Inspect{}, time.Second).Result()
		return err == nil && res.(messages.ActorInfo).MailboxDepth > 0
	})
	next := 0
	select {
	case i := <-released:
		next = 1
		if i != 0 || len(released) > 0 || counters.Published.Load()-1 < run {
			t.Fatalf("run %d released with %d certificates handed to a link taking %d", i, counters.Published.Load()-1, maxPending)
		}
	default:
	}
	if got := counters.Published.Load() - 1; got > maxPending {
		t.Fatalf("%d certificates handed to a link taking %d", got, maxPending)
	}
	if len(released) > 1 {
		t.Fatalf("%d runs released while the link is full", len(released))
	}

	// The server is back: the held runs go out and are released in order.
	u, err := url.Parse(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	startServerAt(t, u.Host, store)
	for want := next; want < 3; want++ {
		select {
		case i := <-released:
			if i != want {
				t.Fatalf("run %d released before run %d", i, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("run %d not released after the server came back", want)
		}
	}
	await.True(t, 20*time.Second, "every certificate to be stored", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, last, err := link.FirstSeq(ctx)
		return err == nil && last == 1+3*run
	})
}

// The publisher never waits on the network: while the stream cannot be
// created (the server is gone) it still answers at once, holding what it
// is given.
func TestAnswersWhileTheStreamCannotBeCreated(t *testing.T) {
	s := startServer(t, t.TempDir())
	link, counters := dial(t, s, 64)
	s.Shutdown()
	e, pid := spawnPublisher(t, link, counters)
	for i := range 5 {
		e.Send(pid, messages.Published{Updates: updates(i, 1)})
		res, err := e.Request(pid, messages.Inspect{}, 500*time.Millisecond).Result()
		if err != nil {
			t.Fatalf("inspect %d: %v", i, err)
		}
		if info := res.(messages.ActorInfo); info.MailboxDepth != i+1 || info.Details["stream_ready"] != false {
			t.Fatalf("inspect %d: holding %d, stream ready %v", i, info.MailboxDepth, info.Details["stream_ready"])
		}
	}
}

// startServer starts an embedded server on a loopback port, storing in store.
func startServer(t *testing.T, store string) *clusterlink.Server {
	return startServerAt(t, "127.0.0.1:0", store)
}

// startServerAt starts an embedded server listening on addr.
func startServerAt(t *testing.T, addr, store string) *clusterlink.Server {
	t.Helper()
	s, err := clusterlink.StartServer(clusterlink.ServerConfig{Listen: addr, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// dial connects to s's stream TEST with at most maxPending publishes
// awaiting an ack, counting their outcomes.
func dial(t *testing.T, s *clusterlink.Server, maxPending int) (*clusterlink.Link, *Counters) {
	t.Helper()
	counters := NewCounters(64)
	link, err := clusterlink.Dial(clusterlink.Config{URLs: []string{s.ClientURL()}, Stream: "TEST", Retention: time.Hour,
		RetentionBytes: 1 << 30, DuplicateWindow: time.Minute, MaxPending: maxPending, OnAck: counters.Ack, OnError: counters.Error})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(link.Close)
	return link, counters
}

// spawnPublisher starts a publisher on link in a fresh engine.
func spawnPublisher(t *testing.T, link *clusterlink.Link, counters *Counters) (*actor.Engine, *actor.PID) {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	pid := e.Spawn(New(Config{Link: link, Counters: counters, DuplicateWindow: time.Minute}), "clusterpub")
	t.Cleanup(func() { <-e.Poison(pid).Done() })
	return e, pid
}
