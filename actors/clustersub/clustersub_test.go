package clustersub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/clustersub"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/clusterlink"
	"github.com/certstream/certstream/internal/clusterlink/clustertest"
	"github.com/certstream/certstream/internal/clusterwire"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// stream is an embedded server with the stream "TEST" and a link to it.
type stream struct {
	srv  *clusterlink.Server
	link *clusterlink.Link
	sent int // certificates published so far, for distinct message ids
}

func newStream(t *testing.T) *stream {
	t.Helper()
	srv, err := clusterlink.StartServer(clusterlink.ServerConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	link, err := clusterlink.Dial(clusterlink.Config{URLs: []string{srv.ClientURL()}, Stream: "TEST", Retention: time.Hour,
		RetentionBytes: 1 << 30, DuplicateWindow: time.Minute, MaxPending: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(link.Close)
	s := &stream{srv: srv, link: link}
	s.create(t)
	return s
}

// create creates the stream (again).
func (s *stream) create(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.link.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
}

// recreate deletes the stream and creates it again, as an operator would.
func (s *stream) recreate(t *testing.T) {
	t.Helper()
	s.delete(t)
	s.create(t)
}

// delete deletes the stream.
func (s *stream) delete(t *testing.T) {
	t.Helper()
	clustertest.DeleteStream(t, s.srv.ClientURL(), "TEST")
}

// publish stores n new certificates and waits for their acks.
func (s *stream) publish(t *testing.T, n int) {
	t.Helper()
	for range n {
		s.sent++
		u := &wire.Update{Entry: wire.Entry{Index: uint64(s.sent), Leaf: &wire.Cert{}}, Source: &wire.Source{Name: "log", URL: "https://log/"}}
		if err := s.link.Publish(clusterwire.Encode(u), fmt.Sprint(s.sent)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-s.link.Drained():
	case <-time.After(10 * time.Second):
		t.Fatal("publishes not acknowledged")
	}
}

// router stands in for the router actor: it records the sequence numbers
// of the runs it is sent, and releases them; a sequence reset is recorded
// as 0 (a number the stream never uses).
type router struct {
	mu     sync.Mutex
	seqs   []uint64
	resets []messages.SequenceReset
}

func (r *router) Receive(c *actor.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch msg := c.Message().(type) {
	case messages.Published:
		for _, u := range msg.Updates {
			r.seqs = append(r.seqs, u.Seq)
		}
		msg.Release()
	case messages.SequenceReset:
		r.seqs = append(r.seqs, 0)
		r.resets = append(r.resets, msg)
	}
}

func (r *router) got() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seqs)
}

func (r *router) told() []messages.SequenceReset {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.resets)
}

// start runs a consumer of s with the state file path, feeding rt.
func start(t *testing.T, s *stream, path string, rt *router) *clustersub.Consumer {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	rpid := e.Spawn(func() actor.Receiver { return rt }, "router")
	c, err := clustersub.New(clustersub.Config{Link: s.link, Router: rpid, StateFile: path, Stream: "TEST"})
	if err != nil {
		t.Fatal(err)
	}
	pid := e.Spawn(c.Producer(), "clustersub")
	t.Cleanup(func() { <-e.Poison(pid).Done() })
	return c
}

// seqs returns from..to.
func seqs(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// awaitSeqs waits until rt has been sent exactly want.
func awaitSeqs(t *testing.T, rt *router, want []uint64) {
	t.Helper()
	await.True(t, 10*time.Second, fmt.Sprintf("sequences %v", want), func() bool { return slices.Equal(rt.got(), want) },
		func() { t.Logf("router got %v", rt.got()) })
}

// A stream deleted and created again numbers its messages from 1 anew: the
// consumer, which waited for the old stream's next number, notices within
// seconds, counts the reset (no gap: what the old stream held unread is
// unknowable), tells the router before the new stream's first run, reads
// the new stream from its start and saves its creation time.
func TestStreamRecreated(t *testing.T) {
	s := newStream(t)
	s.publish(t, 20)
	rt := &router{}
	path := filepath.Join(t.TempDir(), "consumer.json")
	c := start(t, s, path, rt)
	await.True(t, 10*time.Second, "the consumer to read", func() bool { return c.Status().Reading }) // from the newest on
	s.publish(t, 10)
	awaitSeqs(t, rt, seqs(21, 30))

	created := awaitSaved(t, path, 30).Created
	if created.IsZero() {
		t.Fatal("state file without the stream's creation time")
	}

	s.recreate(t)
	s.publish(t, 5)
	awaitSeqs(t, rt, slices.Concat(seqs(21, 30), []uint64{0}, seqs(1, 5)))
	if st := c.Status(); st.Resets != 1 || st.Gap != 0 || st.LastSeq != 5 {
		t.Errorf("status %+v; want 1 reset, no gap, last sequence 5", st)
	}
	if r := rt.told(); !slices.Equal(r, []messages.SequenceReset{{Next: 1, Last: 30}}) {
		t.Errorf("router told %+v; want next 1, last 30", r)
	}
	if saved := awaitSaved(t, path, 5); saved.Created.Equal(created) {
		t.Errorf("state file keeps the old stream's creation time %v", created)
	}
}

// saved is the consumer's state file.
type saved struct {
	Stream  string    `json:"stream"`
	LastSeq uint64    `json:"last_seq"`
	Created time.Time `json:"created"`
}

// awaitSaved waits until the state file at path holds the sequence last.
func awaitSaved(t *testing.T, path string, last uint64) saved {
	t.Helper()
	return await.Value(t, 10*time.Second, fmt.Sprintf("last_seq %d saved", last), func() (saved, bool) {
		var s saved
		data, err := os.ReadFile(path)
		return s, err == nil && json.Unmarshal(data, &s) == nil && s.LastSeq == last
	})
}

// A consumer whose state file (of the format without the stream's
// creation time) holds a number the stream never reached reads the stream
// from its start: the stream was recreated while the edge was down.
func TestStreamRecreatedWhileStopped(t *testing.T) {
	s := newStream(t)
	s.publish(t, 3)
	path := filepath.Join(t.TempDir(), "consumer.json")
	if err := os.WriteFile(path, []byte(`{"stream":"TEST","last_seq":50000}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rt := &router{}
	c := start(t, s, path, rt)
	awaitSeqs(t, rt, append([]uint64{0}, seqs(1, 3)...))
	if st := c.Status(); st.Resets != 1 || st.Gap != 0 {
		t.Errorf("status %+v; want 1 reset, no gap", st)
	}
	if r := rt.told(); !slices.Equal(r, []messages.SequenceReset{{Next: 1, Last: 50000}}) {
		t.Errorf("router told %+v; want next 1, last 50000", r)
	}
	if saved := awaitSaved(t, path, 3); saved.Created.IsZero() {
		t.Error("state file without the stream's creation time")
	}
}

// A stream created again that already holds more messages than the
// consumer had read looks like the old one going on; its creation time
// tells it apart, and the consumer reads it from its start.
func TestStreamRecreatedAndOvertaken(t *testing.T) {
	s := newStream(t)
	rt := &router{}
	c := start(t, s, filepath.Join(t.TempDir(), "consumer.json"), rt)
	await.True(t, 10*time.Second, "the consumer to read", func() bool { return c.Status().Reading })
	s.publish(t, 5)
	awaitSeqs(t, rt, seqs(1, 5))

	s.recreate(t)
	s.publish(t, 20)
	await.True(t, 10*time.Second, "the new stream read from its start after the reset", func() bool {
		got := rt.got()
		i := slices.Index(got, 0)
		return i >= 0 && slices.Equal(got[i+1:], seqs(1, 20))
	}, func() { t.Logf("router got %v", rt.got()) })
	if got := rt.got(); !slices.Equal(got[:5], seqs(1, 5)) || slices.Index(got, 0) > 20 {
		t.Errorf("router got %v; want 1..5, at most the new stream's 6..20 before the reset, then 1..20", got)
	}
	if st := c.Status(); st.Resets != 1 || st.Gap != 0 {
		t.Errorf("status %+v; want 1 reset, no gap", st)
	}
}

// A consumer with no saved position that starts before the stream exists
// (an ingest node's, whose publisher creates the stream) reads every
// message the stream gets, from its first: none is stored before the
// consumer started.
func TestFreshConsumerReadsANewStreamFromItsStart(t *testing.T) {
	s := newStream(t)
	s.delete(t)
	rt := &router{}
	c := start(t, s, filepath.Join(t.TempDir(), "consumer.json"), rt)
	time.Sleep(200 * time.Millisecond) // the consumer looks for the stream and finds none
	select {
	case <-c.Positioned():
		t.Fatal("positioned before the stream exists")
	default:
	}
	s.create(t)
	s.publish(t, 5)
	awaitSeqs(t, rt, seqs(1, 5))
	select {
	case <-c.Positioned():
	default:
		t.Error("reading without being positioned")
	}
}

// A consumer with no saved position that starts while the stream holds
// messages starts after them, at the stream's newest, and says so at once.
func TestFreshConsumerStartsAfterTheNewest(t *testing.T) {
	s := newStream(t)
	s.publish(t, 3)
	rt := &router{}
	c := start(t, s, filepath.Join(t.TempDir(), "consumer.json"), rt)
	select {
	case <-c.Positioned():
	case <-time.After(10 * time.Second):
		t.Fatal("not positioned")
	}
	s.publish(t, 2)
	awaitSeqs(t, rt, seqs(4, 5))
}

// A fresh consumer saves its position as soon as it has one, before it
// routes anything: killed then, it resumes there rather than at the
// stream's newest, which would skip what was stored meanwhile.
func TestFreshConsumerSavesItsPositionAtOnce(t *testing.T) {
	s := newStream(t)
	s.publish(t, 3)
	path := filepath.Join(t.TempDir(), "consumer.json")
	start(t, s, path, &router{})
	if saved := awaitSaved(t, path, 3); saved.Created.IsZero() {
		t.Error("state file without the stream's creation time")
	}
}
