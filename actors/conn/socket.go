package conn

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// Socket is a client connection shared by its connection actor, which alone
// writes to it, and the HTTP side's reader goroutine, which reads from it and
// reports what it sees through the methods below. It also holds the actor's
// state, so that a restarted actor carries on where the crashed one stopped.
type Socket struct {
	conn net.Conn

	seen      atomic.Uint64          // frames received from the client
	pingData  atomic.Pointer[string] // payload of the latest client ping not yet answered
	self      atomic.Pointer[actorRef]
	tickAfter atomic.Int64 // Unix ms before which the actor needs no Tick
	reason    atomic.Pointer[string]
	done      chan struct{}
	stopOnce  sync.Once

	// Actor state: touched only on the actor's goroutine.
	preamble []byte // written before anything else, then nil
	started  bool
	closing  bool  // a close has begun; nothing more is written but a close frame
	inflight int   // frames drained from the ring and not yet reported with Done
	lastData int64 // Unix ms of the last data frame (message or heartbeat) written
	// lastWrite is when the last write of queued frames began, the start
	// of the coalescing window; timer, when set, ends that window; draining is
	// set from the decision to write until a batch drains the ring.
	lastWrite time.Time
	timer     stopper
	draining  bool
	lastPing  int64 // Unix ms of the last ping written
	pingSent  int64 // Unix ms of the oldest unanswered ping, 0 if none
	// seenAtPing is seen when the oldest unanswered ping was written: any
	// frame received since answers it.
	seenAtPing uint64
}

type actorRef struct {
	engine *actor.Engine
	pid    *actor.PID
}

// NewSocket wraps c, the connection the actor writes to and whose read
// deadline it uses to wake the reader. For fasthttp-hijacked connections pass
// the underlying connection, so that writes reach it directly. preamble, if
// not empty, is the first thing the actor writes, as soon as it starts: the
// HTTP response that opens the stream (the WebSocket 101 or the SSE 200), so
// that a client that got it is subscribed.
func NewSocket(c net.Conn, preamble []byte) *Socket {
	return &Socket{conn: c, done: make(chan struct{}), preamble: preamble}
}

// Done is closed once the connection actor has stopped for good (not when it
// is restarted). The HTTP side waits for it before giving up the connection.
func (s *Socket) Done() <-chan struct{} { return s.done }

// Reason is why the connection was closed ("" while it is open). The first
// recorded reason wins.
func (s *Socket) Reason() string {
	if r := s.reason.Load(); r != nil {
		return *r
	}
	return ""
}

// TickAfter is the time (Unix ms) before which the connection actor needs
// no messages.Tick, kept up to date by the actor: pass it to the router in
// messages.Subscribe so that it skips the connection until then.
func (s *Socket) TickAfter() *atomic.Int64 { return &s.tickAfter }

// Touch records that a frame arrived from the client: any frame proves the
// client is alive.
func (s *Socket) Touch() { s.seen.Add(1) }

// PeerPing asks the actor to answer a client's ping with a pong carrying
// data. Pings that arrive before the actor got to answer are coalesced: only
// the latest is answered (RFC 6455 5.5.3), so a ping flood cannot pile up
// messages in the actor's inbox.
func (s *Socket) PeerPing(data string) {
	s.Touch()
	if s.pingData.Swap(&data) == nil {
		s.send(peerPing{})
	}
}

// PeerClose asks the actor to answer a client's close frame (which carried
// code) and close.
func (s *Socket) PeerClose(code int) {
	s.Touch()
	s.send(peerClose{code: code})
}

// Fail asks the actor to close the connection with a close frame carrying
// code and reason (WebSocket only; an SSE stream just ends).
func (s *Socket) Fail(code uint16, reason string) {
	s.send(failure{code: code, reason: reason})
}

// Abort wakes the reader at once by expiring the read deadline, without
// writing anything. It is the last resort when the actor cannot be reached.
func (s *Socket) Abort() {
	s.setReason(ReasonAborted)
	_ = s.conn.SetReadDeadline(expired)
}

// send delivers msg to the connection actor once it has started.
func (s *Socket) send(msg any) {
	if ref := s.self.Load(); ref != nil {
		ref.engine.Send(ref.pid, msg)
	}
}

func (s *Socket) setReason(r string) { s.reason.CompareAndSwap(nil, &r) }

// expired is a deadline in the past: it makes a blocked read return at once.
var expired = time.Unix(1, 0)
