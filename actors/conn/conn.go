// Package conn is the connection actor: one per streaming client, WebSocket
// or SSE, spawned by the router as its child. It drains the client's bounded
// ring (owned by the router) in batches and writes each batch of ready-made
// frames with one write call, coalescing the frames that arrive within a
// short window of its last write into one, keeps an idle stream alive with heartbeats and
// (WebSocket) pings, and disconnects a client that falls too far behind,
// stops answering or cannot be written to. Only this actor writes to the
// client's socket; the HTTP side reads it and reports through Socket.
package conn

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/internal/wsframe"
	"github.com/certstream/certstream/messages"
)

// Close reasons, as recorded in Socket.Reason and passed to Hooks.OnClose.
// The set is fixed, so it can label metrics.
const (
	ReasonWriteTimeout = "write timeout"
	ReasonWriteError   = "write error"
	ReasonTooSlow      = "too slow"        // over the drop ratio (1008)
	ReasonPongTimeout  = "pong timeout"    // no frame from the client after a ping
	ReasonPeerClosed   = "client closed"   // the client sent a close frame
	ReasonTooBig       = "message too big" // a client message over the read limit (1009)
	ReasonShutdown     = "server shutdown" // the server is going away (1001)
	ReasonGone         = "client gone"     // stopped without a close of its own: the client left
	ReasonAborted      = "aborted"         // the HTTP side gave up waiting for the actor
)

// Policy is how a connection is kept alive and when it is given up. Zero
// fields take the defaults noted.
type Policy struct {
	// HeartbeatInterval bounds the silence on an idle stream: the first
	// tick that finds nothing written for HeartbeatInterval minus 1.5
	// TickPeriod writes a heartbeat data frame, so that with ticks
	// TickPeriod apart (give or take some jitter) the silence stays under
	// HeartbeatInterval. Default 10 s.
	HeartbeatInterval time.Duration
	// TickPeriod is how often the router looks for connections due a Tick
	// (see Socket.TickAfter). Default 1 s.
	TickPeriod time.Duration
	// PingInterval is the most time between two pings of a WebSocket
	// client; a ping that falls due before the next heartbeat goes out
	// with the heartbeat, so pings come a little more often. Default 20 s.
	PingInterval time.Duration
	// PongTimeout closes a WebSocket client from which no frame (pong or
	// other) arrived this long after a ping. Default 10 s.
	PongTimeout time.Duration
	// WriteTimeout is the deadline of each write. Default 10 s.
	WriteTimeout time.Duration
	// CloseTimeout is the deadline for writing a close frame. Default 1 s.
	CloseTimeout time.Duration
	// CloseGrace is how long the reader keeps reading after a close frame
	// was written, waiting for the client's close reply. Default 2 s.
	CloseGrace time.Duration
	// MaxDropRatio disconnects a client once more than this fraction of the
	// messages pushed to it over its life were dropped. 1 or more disables
	// it. Default (0) 0.5.
	MaxDropRatio float64
	// MinDropSample is how many messages must have been pushed before
	// MaxDropRatio applies. Default 100.
	MinDropSample uint64
	// BatchLimit is the most frames written with one write, and the
	// queue length at which coalesced frames are written without waiting
	// for the rest of the window. Default 256.
	BatchLimit int
	// CoalesceWindow is the least time between the starts of two writes
	// of queued frames while they keep coming: a client whose last write
	// began within the window gets what arrives meanwhile when the window
	// since then has passed (or BatchLimit frames are queued), in one
	// write; a client idle for longer gets a frame at once. So no frame
	// waits longer than the window for its write to begin. Zero takes the default,
	// DefaultCoalesceWindow; negative writes as soon as frames arrive.
	CoalesceWindow time.Duration
	// SSEDataHeartbeat makes SSE heartbeats data events carrying the
	// heartbeat message instead of ": heartbeat" comments.
	SSEDataHeartbeat bool
}

// WithDefaults returns p with every zero field set to its default.
func (p Policy) WithDefaults() Policy {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.HeartbeatInterval, 10*time.Second)
	def(&p.TickPeriod, time.Second)
	def(&p.PingInterval, 20*time.Second)
	def(&p.PongTimeout, 10*time.Second)
	def(&p.WriteTimeout, 10*time.Second)
	def(&p.CloseTimeout, time.Second)
	def(&p.CloseGrace, 2*time.Second)
	if p.MaxDropRatio <= 0 {
		p.MaxDropRatio = 0.5
	}
	if p.MinDropSample == 0 {
		p.MinDropSample = 100
	}
	if p.BatchLimit <= 0 {
		p.BatchLimit = 256
	}
	if p.CoalesceWindow == 0 {
		p.CoalesceWindow = DefaultCoalesceWindow
	}
	return p
}

// Hooks let the caller count what connections do (metrics). Nil hooks are
// skipped; hooks must be cheap and must not block.
type Hooks struct {
	// OnWrite is called after each batch of queued frames was written,
	// with the write calls it took and the frames and bytes they carried.
	OnWrite func(writes, frames, bytes int)
	// OnClose is called once per connection, when its actor stops, with
	// the close reason.
	OnClose func(reason string)
}

// Config is one connection's transport, stream, policy and hooks.
type Config struct {
	Transport wire.Transport
	Stream    wire.Stream
	Policy
	Hooks
	// Now is the clock of the keep-alive bookkeeping: when data and pings
	// were last written, and so when the next Tick is due. It must agree
	// with the clock of the messages.Tick the router sends. Write and read
	// deadlines always use the wall clock, and the coalescing window a
	// timer (Now tells whether a window has passed). Default time.Now.
	Now func() time.Time
	// afterFunc starts the coalescing timer (default time.AfterFunc); tests
	// replace it to fire timers themselves.
	afterFunc func(d time.Duration, f func()) stopper
}

// stopper is a timer that can be stopped (a *time.Timer).
type stopper interface{ Stop() bool }

// DefaultCoalesceWindow is the CoalesceWindow of a Policy that leaves it
// zero: with logs publishing once a second at phases of their own, it
// keeps a client to at most ten writes a second, and it adds at most a
// tenth of a second to an entry's latency.
const DefaultCoalesceWindow = 100 * time.Millisecond

// maxBatchesPerWake is how many batches one Wake writes before the actor
// yields (sends itself another Wake), so that Stop and Tick get through.
const maxBatchesPerWake = 4

// Messages the reader side sends to the actor through Socket.
type (
	peerPing  struct{} // the payload is in Socket.pingData
	windowEnd struct{} // the coalescing timer fired
	peerClose struct{ code int }
	failure   struct {
		code   uint16
		reason string
	}
)

// New returns the producer factory to put in messages.Subscribe: the router
// calls it with the client's ring and spawns the result. Everything that
// must survive a restart lives in s and the ring, not in the receiver.
func New(s *Socket, cfg Config) func(ring *mailbox.Ring[[]byte]) actor.Producer {
	cfg.Policy = cfg.Policy.WithDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.afterFunc == nil {
		cfg.afterFunc = func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }
	}
	return func(ring *mailbox.Ring[[]byte]) actor.Producer {
		return func() actor.Receiver { return &connActor{s: s, ring: ring, cfg: &cfg} }
	}
}

type connActor struct {
	s    *Socket
	ring *mailbox.Ring[[]byte]
	cfg  *Config
	// panicked is set while a Receive runs, so it is still set when a
	// Receive panicked.
	panicked bool
}

// Receive handles the router's Wake and Tick, the reader's reports and the
// actor lifecycle.
//
// Stopped comes both when the actor stops for good and when hollywood is
// about to restart it after a panic; only the first must tear the
// connection down. Whoever stops a connection for good closes its ring
// first (the router when it unsubscribes it, the restart budget when it
// gives up), so a Stopped right after a panic, with the ring still open, is
// a restart.
func (a *connActor) Receive(c *actor.Context) {
	if _, ok := c.Message().(actor.Stopped); ok {
		a.stopped()
		return
	}
	a.panicked = true // until receive returns
	a.receive(c)
	a.panicked = false
}

func (a *connActor) receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case messages.Wake:
		a.flush(c)
	case windowEnd:
		a.s.timer = nil
		a.s.draining = true // the window since the last write has passed
		a.flush(c)
	case messages.Tick:
		a.tick(c, m.Now)
	case peerPing:
		if data := a.s.pingData.Swap(nil); data != nil {
			a.writeControl(c, wsframe.AppendPong(a.controlBuf(), []byte(*data)))
		}
	case peerClose:
		code := uint16(m.code)
		if m.code < 1000 || m.code == 1005 {
			code = wsframe.CloseNormal // 1005 means "no code": reply with a plain close
		}
		a.close(c, code, ReasonPeerClosed, "")
	case failure:
		if m.code == wsframe.CloseGoingAway {
			a.drain(c)
		}
		a.close(c, m.code, m.reason, "")
	case actor.Started:
		a.started(c)
	}
}

func (a *connActor) started(c *actor.Context) {
	s := a.s
	s.self.Store(&actorRef{engine: c.Engine(), pid: c.PID()})
	if !s.started {
		s.started = true
		now := a.cfg.Now().UnixMilli()
		s.lastData, s.lastPing = now, now
	}
	if s.inflight > 0 { // a crash between drain and write: those frames are lost
		a.ring.Done(0, s.inflight)
		s.inflight = 0
	}
	if !s.closing {
		// A restart may have swallowed the Wake (or ping report) that was
		// being handled; neither is sent again while one is outstanding.
		c.Send(c.PID(), messages.Wake{})
		if s.pingData.Load() != nil {
			c.Send(c.PID(), peerPing{})
		}
	}
}

// flush writes what is queued, unless the frames are to gather for the rest
// of the coalescing window: then it arms the window's timer and returns.
// Once it writes, it drains the ring, up to maxBatchesPerWake batches per
// message (then it yields, sending itself a Wake), until a batch takes all
// that is queued; what arrives after that gathers for the next window.
func (a *connActor) flush(c *actor.Context) {
	s := a.s
	if s.closing || !a.writePreamble(c) {
		return
	}
	for range maxBatchesPerWake {
		if !s.draining {
			if wait := a.hold(); wait > 0 && a.ring.Defer(a.cfg.BatchLimit) {
				a.arm(c, wait)
				return
			}
			s.draining = true
			a.disarm()
		}
		if !a.writeNext(c) || a.tooSlow(c) {
			return
		}
	}
	c.Send(c.PID(), messages.Wake{})
}

// hold is how long frames that arrive now wait: what is left of the
// coalescing window since the last write, 0 when it has passed.
func (a *connActor) hold() time.Duration {
	if a.cfg.CoalesceWindow < 0 || a.s.lastWrite.IsZero() {
		return 0
	}
	return max(0, a.cfg.CoalesceWindow-a.cfg.Now().Sub(a.s.lastWrite))
}

// arm starts the window's timer, unless it is running: it was started for
// the same window, since nothing was written since.
func (a *connActor) arm(c *actor.Context, d time.Duration) {
	if a.s.timer != nil {
		return
	}
	e, pid := c.Engine(), c.PID()
	a.s.timer = a.cfg.afterFunc(d, func() { e.Send(pid, windowEnd{}) })
}

// disarm stops the window's timer (the frames go out now); a windowEnd
// already sent then finds them written, or gathers the next ones early.
func (a *connActor) disarm() {
	if a.s.timer != nil {
		a.s.timer.Stop()
		a.s.timer = nil
	}
}

// drain writes everything queued, without yielding: the last flush before
// a going-away close, so a graceful shutdown delivers what was routed.
func (a *connActor) drain(c *actor.Context) {
	for !a.s.closing && a.writeNext(c) {
	}
}

// writeNext drains one batch from the ring and writes it. It returns false
// when the ring was empty (which re-arms its wake-up) or the write failed.
func (a *connActor) writeNext(c *actor.Context) bool {
	s := a.s
	wb := getBuf()
	defer putBuf(wb)
	wb.frames = a.ring.Drain(wb.frames[:0], a.cfg.BatchLimit)
	if len(wb.frames) == 0 {
		s.draining = false
		return false
	}
	if len(wb.frames) < a.cfg.BatchLimit {
		s.draining = false // the ring is drained: newer frames wait for the window
	}
	s.inflight = len(wb.frames)
	began := a.cfg.Now()
	frames, bytes, writes, err := s.writeBatch(wb, a.cfg.WriteTimeout)
	a.ring.Done(frames, len(wb.frames)-frames)
	s.inflight = 0
	if err != nil {
		a.writeFailed(c, err)
		return false
	}
	s.lastWrite = began // what arrived during a slow write has waited since
	s.lastData = a.cfg.Now().UnixMilli()
	if a.cfg.OnWrite != nil {
		a.cfg.OnWrite(writes, frames, bytes)
	}
	return true
}

// tick writes a heartbeat when the stream has been idle and, on a
// WebSocket, a ping when one is due (with the heartbeat, in one write, when
// it would fall due before the next heartbeat), closes a client that left a
// ping unanswered, enforces the drop ratio, lets the ring release an unused
// buffer, and records when it next needs a tick.
func (a *connActor) tick(c *actor.Context, now int64) {
	s, p := a.s, &a.cfg.Policy
	if s.closing {
		return
	}
	ws := a.cfg.Transport == wire.WebSocket
	if ws && s.pingSent != 0 && s.seen.Load() != s.seenAtPing {
		s.pingSent = 0 // answered (any frame counts)
	}
	if ws && s.pingSent != 0 && now-s.pingSent >= p.PongTimeout.Milliseconds() {
		a.close(c, wsframe.CloseGoingAway, ReasonPongTimeout, "")
		return
	}
	wb := getBuf()
	defer putBuf(wb)
	heartbeat := now-s.lastData >= a.heartbeatAfter()
	out := wb.b[:0]
	if heartbeat {
		out = wb.heartbeat(a.cfg.Transport, p.SSEDataHeartbeat, now)
	}
	nextPing := s.lastPing + p.PingInterval.Milliseconds()
	ping := ws && (now >= nextPing || heartbeat && now+a.heartbeatAfter() >= nextPing)
	if ping {
		out = wsframe.AppendPing(out, nil)
		wb.b = out // keep a grown buffer for the pool
	}
	if len(out) > 0 {
		// Take the time and the frame count before writing: a pong can
		// arrive (and be counted in seen) before the write call returns.
		sent, seen := a.cfg.Now().UnixMilli(), s.seen.Load()
		if _, err := s.write(out, p.WriteTimeout); err != nil {
			a.writeFailed(c, err)
			return
		}
		if heartbeat {
			s.lastData = sent
		}
		if ping {
			s.lastPing = sent
			if s.pingSent == 0 {
				s.pingSent, s.seenAtPing = sent, seen
			}
		}
	}
	if a.tooSlow(c) {
		return
	}
	a.ring.Trim()
	s.tickAfter.Store(a.nextTick())
}

// heartbeatAfter is the silence, in ms, after which a tick writes a
// heartbeat: 1.5 ticks short of HeartbeatInterval, so that with ticks
// TickPeriod apart the silence stays under it.
func (a *connActor) heartbeatAfter() int64 {
	p := &a.cfg.Policy
	return (p.HeartbeatInterval - p.TickPeriod*3/2).Milliseconds()
}

// nextTick is the Unix ms of the next thing a tick must do: a heartbeat on
// a stream that stays silent, a ping, or a pong deadline. Data written in
// between only makes the heartbeat later, so the tick that comes at this
// time may find nothing to do but move it on.
func (a *connActor) nextTick() int64 {
	s, p := a.s, &a.cfg.Policy
	next := s.lastData + a.heartbeatAfter()
	if a.cfg.Transport == wire.WebSocket {
		next = min(next, s.lastPing+p.PingInterval.Milliseconds())
		if s.pingSent != 0 {
			next = min(next, s.pingSent+p.PongTimeout.Milliseconds())
		}
	}
	return next
}

// writePreamble writes the socket's preamble now if it is still pending
// (every write would write it first anyway) and reports whether the
// connection is still usable. Started's Wake gets here first, so a client
// gets its response as soon as it is subscribed.
func (a *connActor) writePreamble(c *actor.Context) bool {
	if len(a.s.preamble) == 0 {
		return true
	}
	if _, err := a.s.write(nil, a.cfg.WriteTimeout); err != nil {
		a.writeFailed(c, err)
		return false
	}
	return true
}

// tooSlow closes the connection with 1008 once the share of messages dropped
// over its life exceeds MaxDropRatio (after MinDropSample pushes).
func (a *connActor) tooSlow(c *actor.Context) bool {
	p := &a.cfg.Policy
	st := a.ring.Stats()
	if st.Pushed < p.MinDropSample || float64(st.Dropped) <= p.MaxDropRatio*float64(st.Pushed) {
		return false
	}
	a.close(c, wsframe.ClosePolicyViolation, ReasonTooSlow,
		fmt.Sprintf("dropped %d of %d messages", st.Dropped, st.Pushed))
	return true
}

// controlBuf returns scratch space for one control frame.
func (a *connActor) controlBuf() []byte {
	return make([]byte, 0, wsframe.MaxControlPayload+wsframe.MaxHeaderLen)
}

// writeControl writes a small frame and reports success; a failure closes.
func (a *connActor) writeControl(c *actor.Context, frame []byte) bool {
	if a.s.closing || a.cfg.Transport != wire.WebSocket {
		return false
	}
	if _, err := a.s.write(frame, a.cfg.WriteTimeout); err != nil {
		a.writeFailed(c, err)
		return false
	}
	return true
}

// writeFailed closes after a failed write. The stream may end mid-frame, so
// no close frame is attempted.
func (a *connActor) writeFailed(c *actor.Context, err error) {
	reason := ReasonWriteError
	if errors.Is(err, os.ErrDeadlineExceeded) {
		reason = ReasonWriteTimeout
	}
	a.close(c, 0, reason, "")
}

// close begins closing: it records the reason, writes a WebSocket close
// frame (unless code is 0: the stream is unusable) under a short deadline,
// sets the read deadline so the reader returns (after a grace period for the
// client's close reply when a close frame went out), and asks the router to
// unsubscribe this actor. Close() on a hijacked connection may do nothing,
// hence the deadline.
func (a *connActor) close(c *actor.Context, code uint16, reason, detail string) {
	s := a.s
	if s.closing {
		return
	}
	s.closing = true
	s.setReason(reason)
	deadline := expired
	if code != 0 && a.cfg.Transport == wire.WebSocket {
		text := reason
		if detail != "" {
			text += ": " + detail
		}
		frame := wsframe.AppendClose(a.controlBuf(), code, text)
		if _, err := s.write(frame, a.cfg.CloseTimeout); err == nil {
			deadline = time.Now().Add(a.cfg.CloseGrace)
		}
	}
	_ = s.conn.SetReadDeadline(deadline)
	if parent := c.Parent(); parent != nil {
		c.Send(parent, messages.Unsubscribe{PID: c.PID()})
	}
}

// stopped finishes the connection when the actor stops for good, and leaves
// everything in place when hollywood is restarting it (see Receive).
func (a *connActor) stopped() {
	if a.panicked && !a.ring.Closed() {
		return
	}
	a.s.finish(a.ring, a.cfg.OnClose)
}

// finish discards what is still queued (counted as dropped), wakes the
// reader, reports the close and closes Done. It runs once however often it
// is called.
func (s *Socket) finish(ring *mailbox.Ring[[]byte], onClose func(string)) {
	s.stopOnce.Do(func() {
		s.closing = true
		if s.timer != nil {
			s.timer.Stop()
		}
		ring.Close()
		s.setReason(ReasonGone)
		_ = s.conn.SetReadDeadline(expired)
		if onClose != nil {
			onClose(s.Reason())
		}
		close(s.done)
	})
}
