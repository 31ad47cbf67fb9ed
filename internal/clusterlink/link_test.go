package clusterlink

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// startServer runs an embedded single server on a loopback port.
func startServer(t *testing.T) *Server {
	t.Helper()
	s, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func dial(t *testing.T, s *Server, cfg Config) *Link {
	t.Helper()
	cfg.URLs = []string{s.ClientURL()}
	if cfg.Stream == "" {
		cfg.Stream = "TEST"
	}
	if cfg.Retention == 0 {
		cfg.Retention, cfg.DuplicateWindow = time.Hour, time.Minute
	}
	cfg.RetentionBytes, cfg.MaxPending = 1<<30, 64
	l, err := Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	return l
}

// publish sends each id's message and waits for all acks.
func publish(t *testing.T, l *Link, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := l.Publish([]byte("data-"+id), id); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-l.Drained():
	case <-time.After(10 * time.Second):
		t.Fatal("publishes not acknowledged")
	}
}

func read(t *testing.T, r *Reader, n int) []Message {
	t.Helper()
	out := make([]Message, 0, n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			m, err := r.Next()
			if err != nil {
				t.Error(err)
				return
			}
			out = append(out, m)
		}
	}()
	// A reader's first pull can be lost while a new consumer's interest
	// crosses the routes of a cluster; the client asks again after two
	// missed heartbeats (5 s each), hence more than 10 s.
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		r.Stop()
		<-done
		t.Fatalf("read %d of %d messages", len(out), n)
	}
	return out
}

// The same id published twice is stored once; a reader from a sequence
// gets the messages in order with their stream sequences.
func TestPublishDedupRead(t *testing.T) {
	var acks, dups atomic.Int64
	l := dial(t, startServer(t), Config{OnAck: func(dup bool) {
		acks.Add(1)
		if dup {
			dups.Add(1)
		}
	}})
	publish(t, l, "a", "b", "a", "c")
	if acks.Load() != 4 || dups.Load() != 1 {
		t.Errorf("acks %d, duplicates %d; want 4, 1", acks.Load(), dups.Load())
	}
	r, err := l.Read(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	got := read(t, r, 2)
	if got[0].Seq != 2 || string(got[0].Data) != "data-b" || got[1].Seq != 3 || string(got[1].Data) != "data-c" || got[1].Pending != 0 {
		t.Errorf("read %+v", got)
	}
}

// A reader from a sequence no longer retained starts at the oldest one
// kept, so the caller sees the gap in the sequence numbers.
func TestReadAfterRetention(t *testing.T) {
	l := dial(t, startServer(t), Config{Retention: time.Second, DuplicateWindow: 500 * time.Millisecond})
	publish(t, l, "1", "2", "3")
	deadline := time.Now().Add(10 * time.Second)
	for {
		first, last, err := l.FirstSeq(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if first > last {
			break // all three expired
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages not expired: first %d last %d", first, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	publish(t, l, "4", "5")
	r, err := l.Read(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if got := read(t, r, 1); got[0].Seq != 4 {
		t.Errorf("first message read has sequence %d, want 4", got[0].Seq)
	}
}

// Publish never waits: past MaxPending it refuses.
func TestPublishBounded(t *testing.T) {
	s := startServer(t)
	l := dial(t, s, Config{})
	l.cfg.MaxPending = 1
	full := false
	for i := range 1000 {
		if err := l.Publish([]byte("x"), fmt.Sprint(i)); err == ErrFull {
			full = true
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if !full {
		t.Error("1000 publishes without an ack never found the link full")
	}
}

// Port 0 picks a free port (nats-server's own 0 means its default, 4222):
// two servers on 127.0.0.1:0 both start.
func TestServerPortZero(t *testing.T) {
	a, b := startServer(t), startServer(t)
	if a.ClientURL() == b.ClientURL() {
		t.Errorf("both servers on %s", a.ClientURL())
	}
}

// A stream deleted and created again numbers its messages from 1 anew: its
// State tells the new incarnation from the old by Created, which an update
// of the stream's limits keeps.
func TestStreamRecreated(t *testing.T) {
	l := dial(t, startServer(t), Config{})
	ctx := context.Background()
	publish(t, l, "a", "b", "c")
	old, err := l.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if old.Created.IsZero() || old.First != 1 || old.Last != 3 {
		t.Fatalf("state %+v; want a creation time, first 1, last 3", old)
	}
	if err := l.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := l.State(ctx); err != nil || !st.Created.Equal(old.Created) {
		t.Fatalf("after an update: state %+v, %v; want created %v", st, err, old.Created)
	}
	if err := l.js.DeleteStream(ctx, l.cfg.Stream); err != nil {
		t.Fatal(err)
	}
	if err := l.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	publish(t, l, "d", "e")
	st, err := l.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Created.Equal(old.Created) || st.First != 1 || st.Last != 2 {
		t.Errorf("recreated: state %+v; want another creation time than %v, first 1, last 2", st, old.Created)
	}
}
