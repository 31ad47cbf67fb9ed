package router

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/filter"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// acquire returns the shared filter of query from set.
func acquire(t *testing.T, set *filter.Set, query map[string][]string) *filter.Filter {
	t.Helper()
	spec, err := filter.Parse(func(name string) []string { return query[name] }, set.Limits())
	if err != nil {
		t.Fatal(err)
	}
	f, err := set.Acquire(spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func inspect(t *testing.T, e *actor.Engine, r *actor.PID) messages.ActorInfo {
	t.Helper()
	res, err := e.Request(r, messages.Inspect{}, time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(messages.ActorInfo)
}

// TestFiltersEvaluatedOncePerDistinctFilter: 30 clients on two streams and
// both transports share two distinct filters; the router evaluates each
// filter once per certificate, and each client gets exactly the matching
// certificates, in order, as the bytes an unfiltered client gets.
func TestFiltersEvaluatedOncePerDistinctFilter(t *testing.T) {
	e, r := startRouter(Config{MailboxCapacity: 1000})
	set := filter.NewSet(filter.Limits{})
	ups := updates(t)
	for i := 1; i < len(ups); i += 2 {
		ups[i].Type = wire.PrecertEntry
	}
	x509 := acquire(t, set, map[string][]string{"type": {"x509"}})
	named := acquire(t, set, map[string][]string{"domain_contains": {ups[3].Leaf.AllDomains[0]}})
	plain, _ := subscribe(t, e, r, wire.StreamLite, wire.WebSocket, "plain")
	type client struct {
		s      *sink
		f      *filter.Filter
		stream wire.Stream
		tr     wire.Transport
	}
	var clients []client
	for i := range 30 {
		f := x509
		if i%3 == 0 {
			f = named
		}
		st, tr := wire.Stream(i%2), wire.Transport(i/2%2) // lite/full, ws/sse
		s, _ := subscribeWith(t, e, r, messages.Subscribe{Stream: st, Transport: tr, Name: fmt.Sprint(i), Filter: f})
		clients = append(clients, client{s, f, st, tr})
	}
	for range 3 {
		e.Send(r, messages.Published{Updates: ups})
	}
	info := inspect(t, e, r)
	if got, want := info.Details["filter_evaluations"].(uint64), uint64(2*3*len(ups)); got != want {
		t.Fatalf("%d filter evaluations for 2 distinct filters and %d certificates, want %d", got, 3*len(ups), want)
	}
	all := plain.ring.Drain(nil, 1000)
	for i, c := range clients {
		got := c.s.ring.Drain(nil, 1000)
		var want [][]byte
		for range 3 {
			for _, u := range ups {
				if c.f.Match(u) {
					want = append(want, serializeFor(c.stream, c.tr, u))
				}
			}
		}
		if len(want) == 0 || len(want) == 3*len(ups) {
			t.Fatalf("client %d: the filter %q must keep some certificates and not others", i, c.f)
		}
		if len(got) != len(want) {
			t.Fatalf("client %d (%q): %d messages, want %d", i, c.f, len(got), len(want))
		}
		for k := range got {
			if !bytes.Equal(got[k], want[k]) {
				t.Fatalf("client %d message %d: %.60q, want %.60q", i, k, got[k], want[k])
			}
		}
	}
	if len(all) != 3*len(ups) {
		t.Fatalf("unfiltered client: %d messages, want %d", len(all), 3*len(ups))
	}
	var cs messages.ConnStats
	for _, ch := range info.Children {
		if x := ch.Details["conn"].(messages.ConnStats); strings.HasSuffix(x.ID, "/1") {
			cs = x
		}
	}
	if cs.Filter != "type=x509" || cs.FilteredOut == 0 || cs.FilteredOut+cs.Pushed != uint64(3*len(ups)) {
		t.Fatalf("admin view of a filtered client: %+v", cs)
	}
}

// serializeFor is u as a client of stream st over transport tr gets it.
func serializeFor(st wire.Stream, tr wire.Transport, u *wire.Update) []byte {
	enc := map[wire.Stream]func([]byte, *wire.Update) []byte{
		wire.StreamLite: wire.AppendLite, wire.StreamFull: wire.AppendFull, wire.StreamDomains: wire.AppendDomainsOnly,
	}[st]
	if tr == wire.SSE {
		return wire.AppendEvent(nil, u.Seq, enc(nil, u))
	}
	return wire.AppendFrame(nil, tr, enc(nil, u))
}

// TestDropNotice: a subscriber that asked for notices is told, before the
// next message pushed to it, how many its ring dropped: the ring's own
// count.
func TestDropNotice(t *testing.T) {
	e, r := startRouter(Config{MailboxCapacity: 4})
	s, _ := subscribeWith(t, e, r, messages.Subscribe{Stream: wire.StreamDomains, Transport: wire.WebSocket, Name: "n", Notices: true})
	ups := updates(t)
	e.Send(r, messages.Published{Updates: ups}) // 11 into a ring of 4: 7 dropped
	inspect(t, e, r)
	s.ring.Drain(nil, 10)
	e.Send(r, messages.Published{Updates: ups[:1]})
	inspect(t, e, r)
	got := s.ring.Drain(nil, 10)
	want := wire.AppendFrame(nil, wire.WebSocket, []byte(`{"message_type":"gap","reason":"dropped","missed":7,"dropped_total":7}`))
	if len(got) != 2 || !bytes.Equal(got[0], want) || !bytes.Equal(got[1], serializeFor(wire.StreamDomains, wire.WebSocket, ups[0])) {
		t.Fatalf("after drops: %q", got)
	}
	if d := s.ring.Stats().Dropped; d != 7 {
		t.Fatalf("ring dropped %d", d)
	}
}

// TestCompressedOncePerMessage: subscribers that negotiated
// permessage-deflate share one compressed frame per message; the others get
// the uncompressed frame.
func TestCompressedOncePerMessage(t *testing.T) {
	e, r := startRouter(Config{MailboxCapacity: 100})
	a, _ := subscribeWith(t, e, r, messages.Subscribe{Stream: wire.StreamLite, Transport: wire.WebSocket, Name: "a", Deflate: true})
	b, _ := subscribeWith(t, e, r, messages.Subscribe{Stream: wire.StreamLite, Transport: wire.WebSocket, Name: "b", Deflate: true})
	plain, _ := subscribe(t, e, r, wire.StreamLite, wire.WebSocket, "plain")
	ups := updates(t)
	e.Send(r, messages.Published{Updates: ups})
	info := inspect(t, e, r)
	fa, fb, fp := a.ring.Drain(nil, 100), b.ring.Drain(nil, 100), plain.ring.Drain(nil, 100)
	for i, u := range ups {
		want := serializeFor(wire.StreamLite, wire.WebSocket, u)
		if !bytes.Equal(fp[i], want) || fa[i][0] != 0xC1 || &fa[i][0] != &fb[i][0] || len(fa[i]) >= len(want) {
			t.Fatalf("message %d: plain %v, compressed %#x shared %v, %d bytes of %d", i,
				bytes.Equal(fp[i], want), fa[i][0], &fa[i][0] == &fb[i][0], len(fa[i]), len(want))
		}
	}
	if n := info.Details["serialized"].(map[string]uint64)["lite"]; n != uint64(len(ups)) {
		t.Fatalf("%d serializations for %d certificates", n, len(ups))
	}
}
