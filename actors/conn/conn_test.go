package conn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/actors/supervise"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/internal/wsframe"
	"github.com/certstream/certstream/messages"
)

// quiet is a policy without heartbeats or pings within a test's lifetime.
var quiet = Policy{HeartbeatInterval: time.Hour, PingInterval: time.Hour}

// harness is one connection actor under the router, writing to the server
// end of a loopback TCP connection whose client end the test reads. The
// actor's clock is the router's (router.Config.Now).
type harness struct {
	t      *testing.T
	e      *actor.Engine
	router *actor.PID
	sock   *Socket
	srv    *faultConn
	pid    *actor.PID
	cli    net.Conn
	br     *bufio.Reader
	cfg    Config
	closed chan string // the reason passed to OnClose
}

func newHarness(t *testing.T, cfg Config, rcfg router.Config, cli *net.Dialer) *harness {
	t.Helper()
	return newHarnessWith(t, cfg, rcfg, cli, nil)
}

// newHarnessWith is newHarness with a socket preamble.
func newHarnessWith(t *testing.T, cfg Config, rcfg router.Config, cli *net.Dialer, preamble []byte) *harness {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, e: e, closed: make(chan string, 2)}
	h.router = e.Spawn(router.New(rcfg), "router")
	t.Cleanup(func() { <-e.Poison(h.router).Done() })
	srv, c := dialPair(t, cli)
	h.srv = &faultConn{Conn: srv}
	h.cli, h.br = c, bufio.NewReaderSize(c, 64<<10)
	h.sock = NewSocket(h.srv, preamble)
	cfg.Stream = wire.StreamDomains // publish expects domains-only messages
	cfg.Now = rcfg.Now
	cfg.OnClose = func(r string) { h.closed <- r }
	h.cfg = cfg
	res, err := e.Request(h.router, messages.Subscribe{Stream: cfg.Stream, Transport: cfg.Transport,
		Name: "c-1", Producer: New(h.sock, cfg), TickAfter: h.sock.TickAfter()}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	h.pid = res.(*actor.PID)
	return h
}

// faultConn is a connection whose next Write of a frame that crash accepts
// panics (in the connection actor, which alone writes).
type faultConn struct {
	net.Conn
	crash atomic.Pointer[func([]byte) bool]
	// during, when set, runs inside every Write (a slow client's write).
	during atomic.Pointer[func()]
}

func (c *faultConn) Write(p []byte) (int, error) {
	if f := c.during.Load(); f != nil {
		(*f)()
	}
	if f := c.crash.Load(); f != nil && (*f)(p) && c.crash.CompareAndSwap(f, nil) {
		panic("conn test: injected panic in Write")
	}
	return c.Conn.Write(p)
}

// crashOn makes the next Write starting with a frame of opcode op panic.
func (c *faultConn) crashOn(op byte) {
	f := func(p []byte) bool { return len(p) > 0 && p[0]&0x0f == op }
	c.crash.Store(&f)
}

// dialPair connects a client (dialed with d, or a default dialer) to a
// loopback listener and returns the server and client ends.
func dialPair(t *testing.T, d *net.Dialer) (srv, cli net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if d == nil {
		d = &net.Dialer{}
	}
	cli, err = d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close(); srv.Close() })
	return srv, cli
}

// domainsUpdate is a certificate with one domain, tag padded so that its
// domains-only message (the payload of its frame) is size bytes long.
func domainsUpdate(tag string, size int) *wire.Update {
	const overhead = len(`{"message_type":"dns_entries","data":[""]}`)
	domain := tag + strings.Repeat("d", size-overhead-len(tag))
	return &wire.Update{Entry: wire.Entry{Leaf: &wire.Cert{AllDomains: []string{domain}}}}
}

// publish has the router publish updates and returns the frames the client
// must get for them.
func (h *harness) publish(updates ...*wire.Update) [][]byte {
	var sent [][]byte
	for _, u := range updates {
		msg := wire.AppendDomainsOnly(nil, u)
		if h.cfg.Transport == wire.SSE {
			u.Seq = u.Index + 1 // numbered here: the router keeps a number it is given
			sent = append(sent, wire.AppendEvent(nil, u.Seq, msg))
		} else {
			sent = append(sent, wire.AppendFrame(nil, wire.WebSocket, msg))
		}
	}
	h.e.Send(h.router, messages.Published{Updates: updates})
	return sent
}

// expectStream reads from the client exactly the concatenation of sent.
func (h *harness) expectStream(sent [][]byte, what string) {
	h.t.Helper()
	want := bytes.Join(sent, nil)
	got := make([]byte, len(want))
	_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(h.br, got); err != nil {
		h.t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, want) {
		h.t.Fatalf("stream differs from %s", what)
	}
}

// sub is the connection as the router accounts for it.
type sub struct {
	messages.ConnStats
	Active bool // still subscribed
}

func (h *harness) stats() sub {
	h.t.Helper()
	res, err := h.e.Request(h.router, messages.Inspect{}, 5*time.Second).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	info := res.(messages.ActorInfo)
	var subs []sub
	for _, ch := range info.Children {
		subs = append(subs, sub{ch.Details["conn"].(messages.ConnStats), true})
	}
	for _, cs := range info.Details["closed"].([]messages.ConnStats) {
		subs = append(subs, sub{cs, false})
	}
	if len(subs) != 1 {
		h.t.Fatalf("router has %d subscribers: %+v", len(subs), subs)
	}
	return subs[0]
}

// waitStats polls the subscriber's stats until ok accepts them.
func (h *harness) waitStats(what string, ok func(sub) bool) sub {
	h.t.Helper()
	return await.Value(h.t, 10*time.Second, what, func() (sub, bool) {
		s := h.stats()
		return s, ok(s)
	})
}

// waitDone waits for the actor to stop and checks that OnClose was called
// once with the socket's reason.
func (h *harness) waitDone() {
	h.t.Helper()
	select {
	case <-h.sock.Done():
	case <-time.After(10 * time.Second):
		h.t.Fatal("actor did not stop")
	}
	select {
	case r := <-h.closed:
		if r != h.sock.Reason() {
			h.t.Fatalf("OnClose(%q), Reason() = %q", r, h.sock.Reason())
		}
	default:
		h.t.Fatal("OnClose not called")
	}
	select {
	case r := <-h.closed:
		h.t.Fatalf("OnClose called again (%q)", r)
	default:
	}
}

// clock is a manual clock for the router and its connections: time moves
// only when the test advances it, so keep-alive tests do not wait.
type clock struct{ ms atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ms.Store(1_700_000_000_000)
	return c
}

func (c *clock) Now() time.Time { return time.UnixMilli(c.ms.Load()) }

// set moves the clock to ms (Unix ms).
func (c *clock) set(ms int64) { c.ms.Store(ms) }

// ticking is a router config with c as its clock, ticking often.
func (c *clock) ticking() router.Config {
	return router.Config{Now: c.Now, TickInterval: 5 * time.Millisecond}
}

// waitTickAfter waits until the actor asks for no Tick before want.
func (h *harness) waitTickAfter(want int64) {
	h.t.Helper()
	await.Value(h.t, 5*time.Second, fmt.Sprint("TickAfter ", want), func() (int64, bool) {
		v := h.sock.TickAfter().Load()
		return v, v == want
	})
}

func checkAccounting(t *testing.T, s sub) {
	t.Helper()
	if s.Pushed != s.Delivered+s.Dropped+uint64(s.Queued)+uint64(s.InFlight) {
		t.Fatalf("accounting broken: %+v", s)
	}
}

// readFrame reads one unmasked server frame.
func readFrame(r io.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126, 127:
		ext := make([]byte, 2+6*(n-126))
		if _, err = io.ReadFull(r, ext); err != nil {
			return 0, nil, err
		}
		if n == 126 {
			n = uint64(binary.BigEndian.Uint16(ext))
		} else {
			n = binary.BigEndian.Uint64(ext)
		}
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(r, payload)
	return h[0] & 0x0f, payload, err
}

// closeFrame reads frames until a close frame and returns its code and text.
func readUntilClose(t *testing.T, r io.Reader) (code uint16, text string, skipped int) {
	t.Helper()
	for {
		op, p, err := readFrame(r)
		if err != nil {
			t.Fatalf("no close frame (after %d frames): %v", skipped, err)
		}
		if op == wsframe.OpClose {
			if len(p) < 2 {
				return 0, "", skipped
			}
			return binary.BigEndian.Uint16(p), string(p[2:]), skipped
		}
		skipped++
	}
}

// updates returns n certificates whose messages are all different and whose
// sizes cross the 7- and 16-bit WebSocket length boundaries.
func updates(n int) []*wire.Update {
	out := make([]*wire.Update, n)
	for i := range out {
		out[i] = domainsUpdate(fmt.Sprint(i, "."), []int{60, 125, 126, 300, 70000}[i%5])
	}
	return out
}

func TestFramesArriveInOrderByteIdentical(t *testing.T) {
	for _, tr := range []wire.Transport{wire.WebSocket, wire.SSE} {
		t.Run(tr.String(), func(t *testing.T) {
			h := newHarness(t, Config{Transport: tr, Policy: quiet},
				router.Config{MailboxCapacity: 1024}, nil)
			sent := h.publish(updates(200)...)
			h.expectStream(sent, "the concatenated frames")
			s := h.waitStats("all delivered", func(s sub) bool { return s.Delivered == 200 })
			if s.Pushed != 200 || s.Dropped != 0 {
				t.Fatalf("stats %+v", s)
			}
			checkAccounting(t, s)
		})
	}
}

// TestHeartbeatOnIdleStream: on a silent stream, each heartbeat is written
// by the first tick at or after HeartbeatInterval minus 1.5 TickPeriod of
// silence (so that with ticks TickPeriod apart the silence stays under
// HeartbeatInterval), carries that tick's time, and no tick before it.
func TestHeartbeatOnIdleStream(t *testing.T) {
	cases := []struct {
		name    string
		tr      wire.Transport
		dataSSE bool
	}{{"ws", wire.WebSocket, false}, {"sse-comment", wire.SSE, false}, {"sse-data", wire.SSE, true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			start := clk.ms.Load()
			p := Policy{HeartbeatInterval: 3 * time.Second, PingInterval: time.Hour, SSEDataHeartbeat: tc.dataSSE}
			h := newHarness(t, Config{Transport: tc.tr, Policy: p}, clk.ticking(), nil)
			const silence = 3000 - 1500 // HeartbeatInterval - 1.5 TickPeriod (1 s)
			h.waitTickAfter(start + silence)
			for i, last := 0, start; i < 3; i++ {
				due := last + silence
				clk.set(due)
				_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
				msg := readHeartbeat(t, h.br, tc.tr, tc.dataSSE)
				if msg != nil && !bytes.Equal(msg, wire.AppendHeartbeat(nil, due)) {
					t.Fatalf("heartbeat %d: %s, want the time %d", i, msg, due)
				}
				h.waitTickAfter(due + silence)
				last = due
			}
		})
	}
}

// readHeartbeat reads one heartbeat and returns its JSON (nil for an SSE
// comment).
func readHeartbeat(t *testing.T, r *bufio.Reader, tr wire.Transport, dataSSE bool) []byte {
	t.Helper()
	if tr == wire.WebSocket {
		op, p, err := readFrame(r)
		if err != nil || op != wsframe.OpText {
			t.Fatalf("frame op %d: %v", op, err)
		}
		return p
	}
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if blank, err := r.ReadString('\n'); err != nil || blank != "\n" {
		t.Fatalf("event not ended by a blank line: %q %v", blank, err)
	}
	if !dataSSE {
		if line != ": heartbeat\n" {
			t.Fatalf("SSE heartbeat %q", line)
		}
		return nil
	}
	p, ok := strings.CutPrefix(line, "data: ")
	if !ok {
		t.Fatalf("SSE data heartbeat %q", line)
	}
	return []byte(strings.TrimSuffix(p, "\n"))
}

func TestPingDueBeforeNextHeartbeatGoesWithIt(t *testing.T) {
	// Heartbeats after 2 s - 1.5 ticks = 1.7 s of silence; the ping due at
	// 3 s would come before the second heartbeat, so it goes with the first.
	clk := newClock()
	start := clk.ms.Load()
	p := Policy{HeartbeatInterval: 2 * time.Second, TickPeriod: 200 * time.Millisecond, PingInterval: 3 * time.Second}
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: p}, clk.ticking(), nil)
	h.waitTickAfter(start + 1700)
	clk.set(start + 1700)
	_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	op, _, err := readFrame(h.br)
	if err != nil || op != wsframe.OpText {
		t.Fatalf("want the heartbeat first: op %d %v", op, err)
	}
	if h.br.Buffered() == 0 {
		t.Fatal("the ping did not arrive in the heartbeat's write")
	}
	if op, _, err = readFrame(h.br); err != nil || op != wsframe.OpPing {
		t.Fatalf("want a ping with the heartbeat: op %d %v", op, err)
	}
	// No tick is needed before the next thing due: the second heartbeat,
	// before the next ping (at 4.7 s) and the pong deadline (at 11.7 s).
	h.waitTickAfter(start + 1700 + 1700)
}

func TestPongTimeoutCloses(t *testing.T) {
	clk := newClock()
	start := clk.ms.Load()
	p := Policy{HeartbeatInterval: time.Hour, PingInterval: time.Second, PongTimeout: time.Second}
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: p}, clk.ticking(), nil)
	h.waitTickAfter(start + 1000)
	clk.set(start + 1000)
	_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	op, _, err := readFrame(h.br)
	if err != nil || op != wsframe.OpPing {
		t.Fatalf("want a ping first: op %d %v", op, err)
	}
	h.waitTickAfter(start + 2000) // the pong deadline (and the next ping)
	clk.set(start + 2000)
	code, text, skipped := readUntilClose(t, h.br)
	if code != wsframe.CloseGoingAway || text != ReasonPongTimeout || skipped != 0 {
		t.Fatalf("close %d %q after %d more frames", code, text, skipped)
	}
	h.waitDone()
	if h.sock.Reason() != ReasonPongTimeout {
		t.Fatalf("reason %q", h.sock.Reason())
	}
}

func TestAnsweredPingsKeepConnection(t *testing.T) {
	clk := newClock()
	start := clk.ms.Load()
	p := Policy{HeartbeatInterval: time.Hour, PingInterval: time.Second, PongTimeout: time.Second}
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: p}, clk.ticking(), nil)
	_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := int64(1); i <= 3; i++ {
		h.waitTickAfter(start + i*1000)
		clk.set(start + i*1000)
		if op, _, err := readFrame(h.br); err != nil || op != wsframe.OpPing {
			t.Fatalf("ping %d: op %d %v", i, op, err)
		}
		h.sock.Touch() // what the reader does when the pong arrives
	}
	h.waitTickAfter(start + 4000)
	if r := h.sock.Reason(); r != "" {
		t.Fatalf("closed: %q", r)
	}
}

func TestPeerPingAndClose(t *testing.T) {
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, router.Config{}, nil)
	_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	h.sock.PeerPing("abc")
	op, p, err := readFrame(h.br)
	if err != nil || op != wsframe.OpPong || string(p) != "abc" {
		t.Fatalf("pong: op %d %q %v", op, p, err)
	}
	// A flood of pings is answered with at least the latest one's payload,
	// and with no more pongs than pings.
	for i := range 1000 {
		h.sock.PeerPing(fmt.Sprint(i))
	}
	pongs := 0
	for {
		op, p, err := readFrame(h.br)
		if err != nil || op != wsframe.OpPong {
			t.Fatalf("pong: op %d %q %v", op, p, err)
		}
		pongs++
		if string(p) == "999" {
			break
		}
	}
	if pongs > 1000 {
		t.Fatalf("%d pongs for 1000 pings", pongs)
	}
	h.sock.PeerClose(1005)
	code, _, _ := readUntilClose(t, h.br)
	if code != wsframe.CloseNormal {
		t.Fatalf("close reply code %d", code)
	}
	h.waitDone()
	if h.sock.Reason() != ReasonPeerClosed {
		t.Fatalf("reason %q", h.sock.Reason())
	}
}

func TestFailSendsCloseFrame(t *testing.T) {
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, router.Config{}, nil)
	_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	h.sock.Fail(wsframe.CloseTooBig, ReasonTooBig)
	code, text, _ := readUntilClose(t, h.br)
	if code != wsframe.CloseTooBig || text != ReasonTooBig {
		t.Fatalf("close %d %q", code, text)
	}
	h.waitDone()
}

// TestSlowClientDisconnected lets a client with a tiny receive buffer stop
// reading while messages keep coming at a pace a reading client would
// absorb: its ring drops, and once it reads again it gets what was written
// and then a 1008 close with the reason.
func TestSlowClientDisconnected(t *testing.T) {
	p := quiet
	p.WriteTimeout = 10 * time.Second
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: p},
		router.Config{MailboxCapacity: 64}, smallBufferDialer(4096))
	chunk := make([]*wire.Update, 32)
	for i := range chunk {
		chunk[i] = domainsUpdate("", 4000)
	}
	deadline := time.Now().Add(10 * time.Second)
	// Go on until well over the 0.5 drop ratio (counted over the whole life).
	for s := h.stats(); s.Active && (s.Pushed < 200 || s.Dropped*10 < s.Pushed*6); s = h.stats() {
		if time.Now().After(deadline) {
			t.Fatalf("no drops: %+v", s)
		}
		h.publish(chunk...)
		time.Sleep(2 * time.Millisecond)
	}
	_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	code, text, got := readUntilClose(t, h.br)
	if code != wsframe.ClosePolicyViolation || !strings.HasPrefix(text, ReasonTooSlow+": dropped ") {
		t.Fatalf("close %d %q", code, text)
	}
	h.waitDone()
	s := h.stats()
	checkAccounting(t, s)
	if s.Delivered != uint64(got) || s.Dropped*2 <= s.Pushed || s.Queued != 0 {
		t.Fatalf("client read %d frames; stats %+v", got, s)
	}
	if h.sock.Reason() != ReasonTooSlow {
		t.Fatalf("reason %q", h.sock.Reason())
	}
}

func smallBufferDialer(size int) *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		})
		if err != nil {
			return err
		}
		return serr
	}}
}

func TestWriteErrorClosesAndCountsLoss(t *testing.T) {
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, router.Config{MailboxCapacity: 64}, nil)
	_ = h.cli.(*net.TCPConn).SetLinger(0)
	h.cli.Close() // reset: writes fail
	for i := 0; i < 200; i++ {
		h.publish(updates(5)...)
		select {
		case <-h.sock.Done():
			i = 200
		case <-time.After(5 * time.Millisecond):
		}
	}
	h.waitDone()
	if r := h.sock.Reason(); r != ReasonWriteError {
		t.Fatalf("reason %q", r)
	}
	s := h.stats()
	checkAccounting(t, s)
	if s.Active || s.Queued != 0 || s.InFlight != 0 || s.Dropped == 0 {
		t.Fatalf("after close: %+v", s)
	}
}

// TestPanicRestartKeepsQueueAndSocket crashes the actor while messages keep
// coming: the restarted actor writes every one of them, in order, to the
// same socket.
func TestPanicRestartKeepsQueueAndSocket(t *testing.T) {
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, router.Config{MailboxCapacity: 1024}, nil)
	all := updates(100)
	sent := h.publish(all[:50]...)
	h.waitStats("first half delivered", func(s sub) bool { return s.Delivered == 50 })
	h.srv.crashOn(wsframe.OpPong)
	h.sock.PeerPing("crash") // the actor panics writing the pong
	sent = append(sent, h.publish(all[50:]...)...)
	h.expectStream(sent, "the frames pushed around the restart")
	s := h.waitStats("all delivered", func(s sub) bool { return s.Delivered == 100 })
	if s.Restarts != 1 || s.Dropped != 0 || !s.Active {
		t.Fatalf("after restart: %+v", s)
	}
	checkAccounting(t, s)
	select {
	case <-h.sock.Done():
		t.Fatal("Done closed by a restart")
	default:
	}
	// The restarted actor still serves the same socket.
	h.expectStream(h.publish(domainsUpdate("after.restart.", 100)), "the frame pushed after the restart")
}

// TestRestartThenStopTearsDownOnce: a restarted actor keeps its socket;
// stopping it later tears the connection down, once.
func TestRestartThenStopTearsDownOnce(t *testing.T) {
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, router.Config{}, nil)
	h.srv.crashOn(wsframe.OpPong)
	h.sock.PeerPing("crash")
	h.waitStats("the restart", func(s sub) bool { return s.Restarts == 1 })
	h.expectStream(h.publish(domainsUpdate("restarted.", 80)), "a frame after the restart")
	select {
	case <-h.sock.Done():
		t.Fatal("Done closed by a restart")
	default:
	}
	h.e.Send(h.router, messages.Unsubscribe{PID: h.pid})
	h.waitDone()
	if r := h.sock.Reason(); r != ReasonGone {
		t.Fatalf("reason %q", r)
	}
}

// TestGivenUpActorFinishes: when the router's restart budget for the
// connection is spent, the supervisor stops the actor instead of letting
// hollywood restart it, and that stop tears the connection down once.
func TestGivenUpActorFinishes(t *testing.T) {
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, router.Config{}, nil)
	panics := supervise.DefaultPolicy.Max + 1 // the last one spends the budget
	for i := range panics {
		h.srv.crashOn(wsframe.OpPong)
		h.sock.PeerPing("crash")
		await.True(t, 5*time.Second, fmt.Sprint("panic ", i+1), func() bool { return h.srv.crash.Load() == nil })
	}
	h.waitDone()
	if r := h.sock.Reason(); r != ReasonGone {
		t.Fatalf("reason %q", r)
	}
}

func TestFinishIsIdempotent(t *testing.T) {
	srv, _ := dialPair(t, nil)
	s := NewSocket(srv, nil)
	ring := mailbox.New[[]byte](4)
	ring.Push([]byte("queued"))
	calls := 0
	s.finish(ring, func(string) { calls++ })
	s.finish(ring, func(string) { calls++ })
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed")
	}
	st := ring.Stats()
	if calls != 1 || s.Reason() != ReasonGone || st.Dropped != 1 || st.Queued != 0 {
		t.Fatalf("calls %d reason %q stats %+v", calls, s.Reason(), st)
	}
	if ring.Push([]byte("late")) {
		t.Fatal("ring still open after finish")
	}
}

// TestPanicMidFlushResumes crashes the actor with a batch drained but not
// written: that batch is lost and counted as dropped, and the restarted
// actor writes everything queued after it, although the crash swallowed the
// Wake that the ring will not send again.
func TestPanicMidFlushResumes(t *testing.T) {
	p := quiet
	p.BatchLimit = 8
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: p}, router.Config{MailboxCapacity: 1024}, nil)
	h.srv.crashOn(wsframe.OpText) // the actor panics writing the first batch
	sent := h.publish(updates(60)...)
	s := h.waitStats("the rest delivered", func(s sub) bool {
		return s.Restarts == 1 && s.Delivered+s.Dropped == 60
	})
	checkAccounting(t, s)
	lost := int(s.Dropped)
	if lost == 0 || lost > p.BatchLimit {
		t.Fatalf("lost %d frames, want 1..%d: %+v", lost, p.BatchLimit, s)
	}
	want := bytes.Join(sent[lost:], nil)
	got := make([]byte, len(want))
	_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(h.br, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("after the crash: %v", err)
	}
}

// shortConn accepts only the first n bytes of a write, then fails.
type shortConn struct {
	net.Conn
	n int
}

func (c *shortConn) SetWriteDeadline(time.Time) error { return nil }
func (c *shortConn) Write(p []byte) (int, error) {
	if len(p) <= c.n {
		return len(p), nil
	}
	return c.n, errors.New("short write")
}

func TestWriteBatchCountsWholeFrames(t *testing.T) {
	frames := [][]byte{bytes.Repeat([]byte("a"), 10), bytes.Repeat([]byte("b"), 20), bytes.Repeat([]byte("c"), 30)}
	for _, tc := range []struct{ accept, frames, bytes int }{{0, 0, 0}, {9, 0, 0}, {10, 1, 10}, {35, 2, 30}, {59, 2, 30}, {60, 3, 60}} {
		s := NewSocket(&shortConn{n: tc.accept}, nil)
		wb := getBuf()
		wb.frames = append(wb.frames[:0], frames...)
		n, b, _, err := s.writeBatch(wb, time.Second)
		putBuf(wb)
		if n != tc.frames || b != tc.bytes || (err == nil) != (tc.accept == 60) {
			t.Errorf("accepting %d bytes: %d frames, %d bytes, %v; want %d, %d", tc.accept, n, b, err, tc.frames, tc.bytes)
		}
	}
}

// TestPreambleFirstOnceSubscribed: the preamble is written as soon as the
// actor starts, before any frame, and only once.
func TestPreambleFirstOnceSubscribed(t *testing.T) {
	for _, tr := range []wire.Transport{wire.WebSocket, wire.SSE} {
		t.Run(tr.String(), func(t *testing.T) {
			pre := []byte("HTTP/1.1 200 OK\r\nX-Test: preamble\r\n\r\n")
			h := newHarnessWith(t, Config{Transport: tr, Policy: quiet}, router.Config{}, nil, pre)
			got := make([]byte, len(pre))
			_ = h.cli.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(h.br, got); err != nil || !bytes.Equal(got, pre) {
				t.Fatalf("preamble %q %v", got, err)
			}
			sent := h.publish(updates(3)...)
			want := bytes.Join(sent, nil)
			got = make([]byte, len(want))
			if _, err := io.ReadFull(h.br, got); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("frames after the preamble: %v", err)
			}
		})
	}
}

// TestWriteBatchSplitsLargeBatches: frames that together exceed
// maxWriteBytes go out in several writes, in order, none over the bound
// unless a single frame is.
func TestWriteBatchSplitsLargeBatches(t *testing.T) {
	srv, cli := dialPair(t, nil)
	rec := &recordConn{Conn: srv}
	s := NewSocket(rec, nil)
	wb := getBuf()
	defer putBuf(wb)
	var want []byte
	for i, size := range []int{300 << 10, 300 << 10, 100 << 10, 600 << 10, 10} {
		f := bytes.Repeat([]byte{byte('a' + i)}, size)
		wb.frames = append(wb.frames, f)
		want = append(want, f...)
	}
	got := make([]byte, len(want))
	read := make(chan error, 1)
	go func() { _, err := io.ReadFull(cli, got); read <- err }()
	frames, n, writes, err := s.writeBatch(wb, 10*time.Second)
	if err != nil || frames != 5 || n != len(want) {
		t.Fatalf("%d frames, %d bytes, %v", frames, n, err)
	}
	if err := <-read; err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %v; stream equal: %v", err, bytes.Equal(got, want))
	}
	// 300K | 300K+100K | 600K | 10
	if writes != 4 || !slices.Equal(rec.sizes, []int{300 << 10, 400 << 10, 600 << 10, 10}) {
		t.Errorf("%d writes of %v bytes", writes, rec.sizes)
	}
}

// recordConn records the size of each write.
type recordConn struct {
	net.Conn
	sizes []int
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.sizes = append(c.sizes, len(p))
	return c.Conn.Write(p)
}
