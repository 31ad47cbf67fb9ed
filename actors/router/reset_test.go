package router

import (
	"bytes"
	"slices"
	"testing"

	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// numbered returns the test updates (fresh ones: the router keeps what it
// is sent) numbered from first on, as an edge's consumer numbers them with
// the stream's sequences.
func numbered(t *testing.T, first uint64, n int) []*wire.Update {
	ups := updates(t)[:n]
	for i, u := range ups {
		u.Seq = first + uint64(i)
	}
	return ups
}

// TestSequenceReset: an edge's router (numbers from the stream) is told
// that the cluster's stream was created again and numbers from 1 anew. Its
// replay window lets the old stream's certificates go, so a client
// resuming after a number of the new stream gets what follows it, and one
// resuming after a number of the old stream is told "restart" and gets the
// new stream from its start. A client connected across the reset is told
// too.
func TestSequenceReset(t *testing.T) {
	e, r := startRouter(Config{Sequence: func([]*wire.Update) {}})
	sse := func(name string, resume bool, since uint64) *sink {
		s, _ := subscribeWith(t, e, r, messages.Subscribe{Stream: wire.StreamDomains, Transport: wire.SSE, Name: name,
			Notices: true, Resume: resume, Since: since})
		return s
	}
	frames := func(ups []*wire.Update) (b [][]byte) {
		for _, u := range ups {
			b = append(b, serializeFor(wire.StreamDomains, wire.SSE, u))
		}
		return b
	}
	restart := func(after, next uint64) [][]byte {
		return [][]byte{gapFrame(wire.SSE, wire.Gap{Reason: "restart", After: after, Next: next})}
	}
	expect := func(name string, s *sink, want ...[][]byte) {
		t.Helper()
		if got, want := s.ring.Drain(nil, 100), slices.Concat(want...); !slices.EqualFunc(got, want, bytes.Equal) {
			t.Errorf("%s got\n%.400q\nwant\n%.400q", name, got, want)
		}
	}

	live := sse("live", false, 0)
	old := numbered(t, 101, 10)
	e.Send(r, messages.Published{Updates: old})
	inspect(t, e, r)
	expect("a live client", live, frames(old))
	e.Send(r, messages.SequenceReset{Next: 1, Last: 110})
	fresh := numbered(t, 1, 3)
	e.Send(r, messages.Published{Updates: fresh})
	inspect(t, e, r)
	expect("a client connected across the reset", live, restart(110, 1), frames(fresh))
	expect("a client resuming after 2", sse("new", true, 2), frames(fresh[2:]))
	expect("a client resuming after 105 of the old stream", sse("old", true, 105), restart(105, 1), frames(fresh))
	w := inspect(t, e, r).Details["window"].(map[string]any)
	if w["messages"] != 3 || w["oldest_seq"] != uint64(1) || w["newest_seq"] != uint64(3) {
		t.Errorf("window after the reset: %v; want the new stream's 1..3", w)
	}
}
