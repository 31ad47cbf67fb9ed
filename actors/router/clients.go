package router

import (
	"sync"
	"sync/atomic"

	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
)

// Clients is the router's client accounting readable from any goroutine: the
// rings of its live subscribers and the final counts of departed ones. The
// router touches it only when a client comes or goes; readers (metrics
// scrapes, the API) compute totals from the rings when they ask, so nothing
// is counted per message here.
type Clients struct {
	mu     sync.Mutex
	rings  map[*mailbox.Ring[[]byte]]kind
	closed Totals // departed subscribers' counters (Connections and queue fields unused)
	in     atomic.Uint64
}

type kind struct {
	stream    wire.Stream
	transport wire.Transport
}

// Totals sums the router's clients at one moment.
type Totals struct {
	// Connections counts live subscribers by stream and transport.
	Connections [wire.NumStreams][wire.NumTransports]int
	// Pushed, Delivered and Dropped are message counts over the node's life,
	// departed clients included.
	Pushed, Delivered, Dropped uint64
	// QueuedSum and QueuedMax are the live subscribers' ring depths.
	QueuedSum, QueuedMax int
	// Certificates is how many certificates the router received.
	Certificates uint64
}

// ConnectionCount returns the number of live subscribers.
func (t Totals) ConnectionCount() int {
	n := 0
	for _, byTransport := range t.Connections {
		for _, c := range byTransport {
			n += c
		}
	}
	return n
}

// NewClients returns an empty accounting to put in Config.Clients.
func NewClients() *Clients {
	return &Clients{rings: map[*mailbox.Ring[[]byte]]kind{}}
}

// received counts n certificates in.
func (l *Clients) received(n int) {
	if l != nil {
		l.in.Add(uint64(n))
	}
}

func (l *Clients) add(r *mailbox.Ring[[]byte], s wire.Stream, t wire.Transport) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rings[r] = kind{s, t}
}

// remove forgets r, keeping its final counts; st is its Stats once closed
// (nothing queued). Frames still in flight then are counted as dropped: the
// router no longer learns whether they were written.
func (l *Clients) remove(r *mailbox.Ring[[]byte], st mailbox.Stats) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.rings[r]; !ok {
		return
	}
	delete(l.rings, r)
	l.closed.Pushed += st.Pushed
	l.closed.Delivered += st.Delivered
	l.closed.Dropped += st.Dropped + uint64(st.Queued) + uint64(st.InFlight)
}

// Totals computes the current totals.
func (l *Clients) Totals() Totals {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.closed
	t.Certificates = l.in.Load()
	for r, k := range l.rings {
		st := r.Stats()
		t.Connections[k.stream][k.transport]++
		t.Pushed += st.Pushed
		t.Delivered += st.Delivered
		t.Dropped += st.Dropped
		t.QueuedSum += st.Queued
		t.QueuedMax = max(t.QueuedMax, st.Queued)
	}
	return t
}
