package conn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/conn/conntest"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/internal/wsframe"
	"github.com/certstream/certstream/messages"
)

// quiet is a policy without heartbeats or pings within a test's lifetime.
var quiet = Policy{HeartbeatInterval: time.Hour, PingInterval: time.Hour}

// harness is one connection actor under the stand-in router, writing to the
// server end of a loopback TCP connection whose client end the test reads.
type harness struct {
	t      *testing.T
	e      *actor.Engine
	router *actor.PID
	sock   *Socket
	pid    *actor.PID
	cli    net.Conn
	br     *bufio.Reader
	cfg    Config
	closed chan string // the reason passed to OnClose
}

func newHarness(t *testing.T, cfg Config, rcfg conntest.Config, cli *net.Dialer) *harness {
	t.Helper()
	return newHarnessWith(t, cfg, rcfg, cli, nil)
}

// newHarnessWith is newHarness with a socket preamble.
func newHarnessWith(t *testing.T, cfg Config, rcfg conntest.Config, cli *net.Dialer, preamble []byte) *harness {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, e: e, cfg: cfg, closed: make(chan string, 1)}
	h.router = e.Spawn(conntest.New(rcfg), "router")
	t.Cleanup(func() { <-e.Poison(h.router).Done() })
	srv, c := dialPair(t, cli)
	h.cli, h.br = c, bufio.NewReaderSize(c, 64<<10)
	h.sock = NewSocket(srv, preamble)
	cfg.OnClose = func(r string) { h.closed <- r }
	res, err := e.Request(h.router, messages.Subscribe{Stream: cfg.Stream, Transport: cfg.Transport,
		Name: "c-1", Producer: New(h.sock, cfg), TickAfter: h.sock.TickAfter()}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	h.pid = res.(*actor.PID)
	return h
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

func (h *harness) publish(payloads ...[]byte) [][]byte {
	var sent [][]byte
	for _, p := range payloads {
		f := wire.Frames{WS: wsframe.AppendText(nil, p), SSE: wire.AppendFrame(nil, wire.SSE, p)}
		h.e.Send(h.router, conntest.Publish{Stream: h.cfg.Stream, Frames: f})
		sent = append(sent, f.For(h.cfg.Transport))
	}
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

func (h *harness) stats() conntest.Sub {
	h.t.Helper()
	subs, err := conntest.Stats(h.e, h.router)
	if err != nil || len(subs) != 1 {
		h.t.Fatalf("stats: %v %v", subs, err)
	}
	return subs[0]
}

// waitStats polls the subscriber's stats until ok accepts them.
func (h *harness) waitStats(what string, ok func(conntest.Sub) bool) conntest.Sub {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := h.stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s: %+v", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
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
}

func checkAccounting(t *testing.T, s mailbox.Stats) {
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

func payloads(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		// sizes cross the 7- and 16-bit length boundaries
		size := []int{10, 125, 126, 300, 70000}[i%5]
		out[i] = append([]byte(fmt.Sprintf(`{"n":%d,"pad":"`, i)), bytes.Repeat([]byte{'x'}, size)...)
		out[i] = append(out[i], `"}`...)
	}
	return out
}

func TestFramesArriveInOrderByteIdentical(t *testing.T) {
	for _, tr := range []wire.Transport{wire.WebSocket, wire.SSE} {
		t.Run(tr.String(), func(t *testing.T) {
			h := newHarness(t, Config{Transport: tr, Stream: wire.StreamFull, Policy: quiet},
				conntest.Config{RingCapacity: 1024}, nil)
			sent := h.publish(payloads(200)...)
			h.expectStream(sent, "the concatenated frames")
			s := h.waitStats("all delivered", func(s conntest.Sub) bool { return s.Stats.Delivered == 200 })
			if s.Stats.Pushed != 200 || s.Stats.Dropped != 0 {
				t.Fatalf("stats %+v", s.Stats)
			}
			checkAccounting(t, s.Stats)
		})
	}
}

func TestHeartbeatOnIdleStream(t *testing.T) {
	const interval = 3 * time.Second
	cases := []struct {
		name    string
		tr      wire.Transport
		dataSSE bool
	}{{"ws", wire.WebSocket, false}, {"sse-comment", wire.SSE, false}, {"sse-data", wire.SSE, true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := Policy{HeartbeatInterval: interval, PingInterval: time.Hour, SSEDataHeartbeat: tc.dataSSE}
			h := newHarness(t, Config{Transport: tc.tr, Policy: p}, conntest.Config{}, nil)
			last := time.Now()
			for i := 0; i < 3; i++ {
				_ = h.cli.SetReadDeadline(time.Now().Add(2 * interval))
				msg := readHeartbeat(t, h.br, tc.tr, tc.dataSSE)
				now := time.Now()
				if gap := now.Sub(last); gap > interval+300*time.Millisecond {
					t.Fatalf("heartbeat %d after %v of silence, interval %v", i, gap, interval)
				}
				last = now
				if msg != nil {
					var hb struct {
						Type string  `json:"message_type"`
						TS   float64 `json:"timestamp"`
					}
					if err := json.Unmarshal(msg, &hb); err != nil || hb.Type != "heartbeat" ||
						hb.TS < float64(now.Unix()-5) || hb.TS > float64(now.Unix()+1) {
						t.Fatalf("heartbeat %q: %+v %v", msg, hb, err)
					}
				}
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
	p := Policy{HeartbeatInterval: 2 * time.Second, TickPeriod: 200 * time.Millisecond, PingInterval: 3 * time.Second}
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: p}, conntest.Config{TickEvery: 200 * time.Millisecond}, nil)
	start := time.Now()
	_ = h.cli.SetReadDeadline(start.Add(10 * time.Second))
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
	if waited := time.Since(start); waited >= 3*time.Second {
		t.Fatalf("heartbeat and ping after %v: the ping waited for its own time", waited)
	}
	// The actor asks (once its write call has returned, which can be just
	// after the client read the frames) for no tick before the next thing
	// due: the pong deadline, a second heartbeat or the next ping, all over a
	// second away.
	ahead := func() int64 { return h.sock.TickAfter().Load() - time.Now().UnixMilli() }
	for end := time.Now().Add(time.Second); ahead() < 500 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	if a := ahead(); a < 500 {
		t.Fatalf("TickAfter only %d ms ahead after a heartbeat and a ping", a)
	}
}

func TestPongTimeoutCloses(t *testing.T) {
	p := Policy{HeartbeatInterval: time.Hour, PingInterval: time.Second, PongTimeout: time.Second}
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: p}, conntest.Config{TickEvery: 200 * time.Millisecond}, nil)
	_ = h.cli.SetReadDeadline(time.Now().Add(10 * time.Second))
	op, _, err := readFrame(h.br)
	if err != nil || op != wsframe.OpPing {
		t.Fatalf("want a ping first: op %d %v", op, err)
	}
	code, text, _ := readUntilClose(t, h.br)
	if code != wsframe.CloseGoingAway || text != ReasonPongTimeout {
		t.Fatalf("close %d %q", code, text)
	}
	h.waitDone()
	if h.sock.Reason() != ReasonPongTimeout {
		t.Fatalf("reason %q", h.sock.Reason())
	}
}

func TestAnsweredPingsKeepConnection(t *testing.T) {
	p := Policy{HeartbeatInterval: time.Hour, PingInterval: time.Second, PongTimeout: time.Second}
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: p}, conntest.Config{TickEvery: 200 * time.Millisecond}, nil)
	end := time.Now().Add(3500 * time.Millisecond)
	pings := 0
	for time.Now().Before(end) {
		_ = h.cli.SetReadDeadline(end)
		op, _, err := readFrame(h.br)
		if err != nil {
			break // deadline
		}
		if op != wsframe.OpPing {
			t.Fatalf("unexpected frame op %d", op)
		}
		pings++
		h.sock.Touch() // what the reader does when the pong arrives
	}
	if pings < 2 {
		t.Fatalf("%d pings in 3.5 s with a 1 s interval", pings)
	}
	if r := h.sock.Reason(); r != "" {
		t.Fatalf("closed: %q", r)
	}
}

func TestPeerPingAndClose(t *testing.T) {
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, conntest.Config{}, nil)
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
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, conntest.Config{}, nil)
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
		conntest.Config{RingCapacity: 64}, smallBufferDialer(4096))
	chunk := make([][]byte, 32)
	for i := range chunk {
		chunk[i] = bytes.Repeat([]byte("y"), 4000)
	}
	deadline := time.Now().Add(10 * time.Second)
	// Go on until well over the 0.5 drop ratio (counted over the whole life).
	for s := h.stats(); s.Active && (s.Stats.Pushed < 200 || s.Stats.Dropped*10 < s.Stats.Pushed*6); s = h.stats() {
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
	checkAccounting(t, s.Stats)
	if s.Stats.Delivered != uint64(got) || s.Stats.Dropped*2 <= s.Stats.Pushed || s.Stats.Queued != 0 {
		t.Fatalf("client read %d frames; stats %+v", got, s.Stats)
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
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, conntest.Config{RingCapacity: 64}, nil)
	_ = h.cli.(*net.TCPConn).SetLinger(0)
	h.cli.Close() // reset: writes fail
	for i := 0; i < 200; i++ {
		h.publish(payloads(5)...)
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
	checkAccounting(t, s.Stats)
	if s.Active || s.Stats.Queued != 0 || s.Stats.InFlight != 0 || s.Stats.Dropped == 0 {
		t.Fatalf("after close: %+v", s)
	}
}

// TestPanicRestartKeepsQueueAndSocket crashes the actor while messages keep
// coming: the restarted actor writes every one of them, in order, to the
// same socket.
func TestPanicRestartKeepsQueueAndSocket(t *testing.T) {
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: quiet}, conntest.Config{RingCapacity: 1024}, nil)
	all := payloads(100)
	sent := h.publish(all[:50]...)
	h.waitStats("first half delivered", func(s conntest.Sub) bool { return s.Stats.Delivered == 50 })
	h.e.Send(h.pid, InjectPanic{})
	sent = append(sent, h.publish(all[50:]...)...)
	h.expectStream(sent, "the frames pushed around the restart")
	s := h.waitStats("all delivered", func(s conntest.Sub) bool { return s.Stats.Delivered == 100 })
	if s.Restarts != 1 || s.Stats.Dropped != 0 || !s.Active {
		t.Fatalf("after restart: %+v", s)
	}
	checkAccounting(t, s.Stats)
	select {
	case <-h.sock.Done():
		t.Fatal("Done closed by a restart")
	default:
	}
	// The restarted actor still serves the same socket.
	h.expectStream(h.publish([]byte(`{"after":"restart"}`)), "the frame pushed after the restart")
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
	h := newHarness(t, Config{Transport: wire.WebSocket, Policy: p}, conntest.Config{RingCapacity: 1024}, nil)
	h.e.Send(h.pid, InjectPanic{InFlush: true})
	sent := h.publish(payloads(60)...)
	s := h.waitStats("the rest delivered", func(s conntest.Sub) bool {
		return s.Restarts == 1 && s.Stats.Delivered+s.Stats.Dropped == 60
	})
	checkAccounting(t, s.Stats)
	lost := int(s.Stats.Dropped)
	if lost == 0 || lost > p.BatchLimit {
		t.Fatalf("lost %d frames, want 1..%d: %+v", lost, p.BatchLimit, s.Stats)
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
		n, b, err := s.writeBatch(wb, time.Second)
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
			h := newHarnessWith(t, Config{Transport: tr, Policy: quiet}, conntest.Config{}, nil, pre)
			got := make([]byte, len(pre))
			_ = h.cli.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(h.br, got); err != nil || !bytes.Equal(got, pre) {
				t.Fatalf("preamble %q %v", got, err)
			}
			sent := h.publish(payloads(3)...)
			want := bytes.Join(sent, nil)
			got = make([]byte, len(want))
			if _, err := io.ReadFull(h.br, got); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("frames after the preamble: %v", err)
			}
		})
	}
}
