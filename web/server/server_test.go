package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/conn"
	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/internal/wsframe"
	"github.com/certstream/certstream/messages"
)

var allStreams = [wire.NumStreams]bool{true, true, true}

// quiet is a client policy without heartbeats or pings within a test.
var quiet = conn.Policy{HeartbeatInterval: time.Hour, PingInterval: time.Hour}

// env is a server on 127.0.0.1 in front of a router.
type env struct {
	t      testing.TB
	e      *actor.Engine
	router *actor.PID
	srv    *Server
	addr   string
	down   bool
}

func start(t testing.TB, cfg Config, rcfg router.Config, setup ...func(*Server)) *env {
	t.Helper()
	return startDelayed(t, cfg, rcfg, 0, setup...)
}

// startDelayed is start with the server's Subscribe requests reaching the
// router delay late (publishing goes on meanwhile), to expose clients that
// think they are subscribed too early.
func startDelayed(t testing.TB, cfg Config, rcfg router.Config, delay time.Duration, setup ...func(*Server)) *env {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	rt := e.Spawn(router.New(rcfg), "router")
	front := rt
	if delay > 0 {
		front = e.Spawn(func() actor.Receiver { return &delayer{router: rt, delay: delay} }, "delayer")
	}
	srv := New(cfg, e, front)
	for _, f := range setup {
		f(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	v := &env{t: t, e: e, router: rt, srv: srv, addr: ln.Addr().String()}
	t.Cleanup(func() {
		if !v.down {
			v.shutdown()
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		<-e.Poison(rt).Done()
	})
	return v
}

// delayer passes the server's messages on to the router, each Subscribe
// delay late.
type delayer struct {
	router *actor.PID
	delay  time.Duration
}

func (d *delayer) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case messages.Subscribe:
		e, sender := c.Engine(), c.Sender()
		time.AfterFunc(d.delay, func() { e.SendWithSender(d.router, m, sender) })
	case messages.Unsubscribe:
		c.Forward(d.router)
	}
}

func (v *env) shutdown() error {
	v.down = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return v.srv.Shutdown(ctx)
}

func (v *env) dial(path string, d *net.Dialer) *websocket.Conn {
	v.t.Helper()
	wd := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if d != nil {
		wd.NetDialContext = d.DialContext
	}
	c, resp, err := wd.Dial("ws://"+v.addr+path, nil)
	if err != nil {
		v.t.Fatalf("dial %s: %v (%v)", path, err, resp)
	}
	v.t.Cleanup(func() { c.Close() })
	return c
}

// sub is a client's connection as the router accounts for it.
type sub struct {
	messages.ConnStats
	Active bool // still subscribed
}

// subs returns the router's subscribers, current and departed, in the
// order they subscribed.
func (v *env) subs() []sub {
	v.t.Helper()
	res, err := v.e.Request(v.router, messages.Inspect{}, 5*time.Second).Result()
	if err != nil {
		v.t.Fatal(err)
	}
	info := res.(messages.ActorInfo)
	var out []sub
	for _, ch := range info.Children {
		out = append(out, sub{ch.Details["conn"].(messages.ConnStats), true})
	}
	for _, cs := range info.Details["closed"].([]messages.ConnStats) {
		out = append(out, sub{cs, false})
	}
	sort.Slice(out, func(i, j int) bool { return seq(out[i].ID) < seq(out[j].ID) })
	return out
}

// seq is the sequence number the server gave a connection (its PID id ends
// in "-<seq>").
func seq(id string) int {
	n, _ := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
	return n
}

// waitSubs waits until ok accepts the router's subscribers.
func (v *env) waitSubs(what string, ok func([]sub) bool) []sub {
	v.t.Helper()
	return await.Value(v.t, 10*time.Second, what, func() ([]sub, bool) {
		subs := v.subs()
		return subs, ok(subs)
	})
}

func activeCount(n int) func([]sub) bool {
	return func(subs []sub) bool {
		k := 0
		for _, s := range subs {
			if s.Active {
				k++
			}
		}
		return k == n
	}
}

// publish has the router publish updates.
func (v *env) publish(updates ...*wire.Update) {
	v.e.Send(v.router, messages.Published{Updates: updates})
}

// update is certificate n of a test, with a domain of about pad bytes.
func update(tag string, n, pad int) *wire.Update {
	domain := fmt.Sprintf("%s-%d.%s.example", tag, n, strings.Repeat("x", pad))
	return &wire.Update{Entry: wire.Entry{Index: uint64(n), Leaf: &wire.Cert{AllDomains: []string{domain}}},
		Source: &wire.Source{Name: "test log", URL: "https://log.example/"}, CertLink: "https://log.example/1", Seen: 1}
}

// updates returns certificates from to to-1 of a test.
func updates(tag string, from, to, pad int) []*wire.Update {
	var out []*wire.Update
	for n := from; n < to; n++ {
		out = append(out, update(tag, n, pad))
	}
	return out
}

// encoders are the messages of each stream.
var encoders = [wire.NumStreams]func([]byte, *wire.Update) []byte{
	wire.StreamLite: wire.AppendLite, wire.StreamFull: wire.AppendFull, wire.StreamDomains: wire.AppendDomainsOnly,
}

// message is u as clients of stream st get it.
func message(st wire.Stream, u *wire.Update) []byte { return encoders[st](nil, u) }

func checkAccounting(t *testing.T, s sub) {
	t.Helper()
	if s.Pushed != s.Delivered+s.Dropped+uint64(s.Queued)+uint64(s.InFlight) {
		t.Fatalf("accounting broken: %+v", s)
	}
}

func TestWebSocketStreamsDeliverInOrder(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{MailboxCapacity: 512})
	paths := map[wire.Stream]string{wire.StreamLite: "/", wire.StreamFull: "/full-stream", wire.StreamDomains: "/domains-only"}
	clients := map[wire.Stream]*websocket.Conn{}
	for st, path := range paths {
		clients[st] = v.dial(path, nil)
	}
	v.waitSubs("3 subscribers", activeCount(3))
	sent := updates("ordered", 0, 100, 50)
	v.publish(sent...)
	for st, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i, u := range sent {
			typ, got, err := c.ReadMessage()
			if err != nil || typ != websocket.TextMessage || !bytes.Equal(got, message(st, u)) {
				t.Fatalf("%s message %d: type %d %q %v", st, i, typ, got, err)
			}
		}
	}
	for _, c := range clients {
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	subs := v.waitSubs("all gone", activeCount(0))
	for _, s := range subs {
		checkAccounting(t, s)
		if s.Pushed != 100 || s.Delivered != 100 || s.Transport != wire.WebSocket.String() {
			t.Fatalf("%s: %+v", s.ID, s)
		}
	}
}

// TestHeartbeatOnIdleWebSocket: on a manual clock shared by the router and
// the connection, a silent stream gets a heartbeat from the first tick after
// HeartbeatInterval minus 1.5 TickPeriod (2 s - 1.5 s) of silence, carrying
// that tick's time.
func TestHeartbeatOnIdleWebSocket(t *testing.T) {
	var now atomic.Int64
	begin := int64(1_700_000_000_000)
	now.Store(begin)
	clock := func() time.Time { return time.UnixMilli(now.Load()) }
	p := conn.Policy{HeartbeatInterval: 2 * time.Second, PingInterval: time.Hour}
	v := start(t, Config{Streams: allStreams, Client: p}, router.Config{Now: clock, TickInterval: 5 * time.Millisecond},
		func(s *Server) { s.setClock(clock) })
	c := v.dial("/", nil)
	v.waitSubs("the client", activeCount(1))
	for i := int64(1); i <= 2; i++ {
		due := begin + i*500
		now.Store(due)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, p, err := c.ReadMessage(); err != nil || !bytes.Equal(p, wire.AppendHeartbeat(nil, due)) {
			t.Fatalf("heartbeat %d: %q %v, want one at %d", i, p, err, due)
		}
	}
}

// TestPings keeps a client that answers the server's pings (but sends none)
// connected, and closes one that does not answer with 1001.
func TestPings(t *testing.T) {
	p := conn.Policy{HeartbeatInterval: time.Hour, PingInterval: time.Second, PongTimeout: time.Second}
	v := start(t, Config{Streams: allStreams, Client: p}, router.Config{TickInterval: 250 * time.Millisecond})
	answering := v.dial("/", nil)
	v.waitSubs("first subscriber", activeCount(1)) // so that it is subs[0]
	silent := v.dial("/", nil)
	pings := 0
	reply := answering.PingHandler()
	answering.SetPingHandler(func(s string) error { pings++; return reply(s) })
	silent.SetPingHandler(func(string) error { return nil })

	errc := make(chan error, 1)
	go func() {
		_ = silent.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := silent.ReadMessage()
		errc <- err
	}()
	_ = answering.SetReadDeadline(time.Now().Add(3500 * time.Millisecond))
	_, _, err := answering.ReadMessage()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("answering client: %v", err)
	}
	if pings < 2 {
		t.Fatalf("%d pings in 3.5 s", pings)
	}
	if err := <-errc; !websocket.IsCloseError(err, int(wsframe.CloseGoingAway)) || !strings.Contains(err.Error(), conn.ReasonPongTimeout) {
		t.Fatalf("silent client: %v", err)
	}
	subs := v.waitSubs("the silent one gone", activeCount(1))
	if !subs[0].Active {
		t.Fatalf("the answering client was dropped: %+v", subs)
	}
}

func smallBufferDialer(size int) *net.Dialer {
	return &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}); err != nil {
			return err
		}
		return serr
	}}
}

// TestSlowClientClosedFastClientServed streams to a fast client and to one
// with a tiny receive buffer that stops reading. The slow one drops and is
// closed with 1008; the fast one gets every message.
func TestSlowClientClosedFastClientServed(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{MailboxCapacity: 64})
	fast := v.dial("/", nil)
	fastID := v.waitSubs("fast subscriber", activeCount(1))[0].ID
	slow := v.dial("/", smallBufferDialer(4096))
	v.waitSubs("2 subscribers", activeCount(2))

	var got atomic.Int64 // messages the fast client read, in order
	go func() {
		_ = fast.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			_, p, err := fast.ReadMessage()
			if err != nil {
				return
			}
			n := got.Load()
			if want := message(wire.StreamLite, update("lite", int(n), 4000)); !bytes.Equal(p, want) {
				t.Errorf("fast client message %d: %.40q", n, p)
				return
			}
			got.Add(1)
		}
	}()

	sent := 0
	var slowErr chan error // set once the slow client reads again
	deadline := time.Now().Add(20 * time.Second)
	for {
		subs := v.subs()
		var f, s sub
		for _, x := range subs {
			if x.ID == fastID {
				f = x
			} else {
				s = x
			}
		}
		if !s.Active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow client never closed: %+v", s)
		}
		if f.Delivered < f.Pushed { // let the fast client catch up
			time.Sleep(time.Millisecond)
			continue
		}
		if slowErr == nil && s.Pushed > 200 && s.Dropped*10 > s.Pushed*6 {
			// Well over the ratio: let the slow client read, so that its
			// blocked write completes and the ratio is checked.
			slowErr = make(chan error, 1)
			go func() { slowErr <- readAll(slow) }()
		}
		batch := updates("lite", sent, sent+32, 4000)
		v.publish(batch...)
		sent += len(batch)
	}
	if slowErr == nil { // closed before it was let read: it still gets the close frame
		slowErr = make(chan error, 1)
		go func() { slowErr <- readAll(slow) }()
	}
	v.waitSubs("fast client caught up", func(subs []sub) bool {
		for _, x := range subs {
			if x.ID == fastID {
				return x.Delivered == uint64(sent)
			}
		}
		return false
	})
	for end := time.Now().Add(10 * time.Second); got.Load() < int64(sent) && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := got.Load(); n != int64(sent) {
		t.Fatalf("fast client got %d of %d", n, sent)
	}
	fast.Close()
	for _, x := range v.waitSubs("both gone", activeCount(0)) {
		checkAccounting(t, x)
		if x.ID == fastID && (x.Dropped != 0 || x.Delivered != uint64(sent)) {
			t.Fatalf("fast client: %+v", x)
		}
		if x.ID != fastID && x.Dropped*2 <= x.Pushed {
			t.Fatalf("slow client: %+v", x)
		}
	}
	if err := <-slowErr; !websocket.IsCloseError(err, int(wsframe.ClosePolicyViolation)) ||
		!strings.Contains(err.Error(), conn.ReasonTooSlow+": dropped ") {
		t.Fatalf("slow client: %v", err)
	}
}

// readAll reads c until an error and returns it.
func readAll(c *websocket.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return err
		}
	}
}

func TestOversizedClientMessageCloses(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet, ReadLimit: 4096}, router.Config{})
	big, other := v.dial("/", nil), v.dial("/", nil)
	v.waitSubs("2 subscribers", activeCount(2))
	if err := big.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("z"), 10000)); err != nil {
		t.Fatal(err)
	}
	_ = big.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := big.ReadMessage(); !websocket.IsCloseError(err, int(wsframe.CloseTooBig)) {
		t.Fatalf("oversized sender: %v", err)
	}
	v.waitSubs("the sender gone", activeCount(1))
	// A message at the limit is fine, and the other client is served.
	if err := other.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("z"), 4096)); err != nil {
		t.Fatal(err)
	}
	still := update("still-here", 0, 10)
	v.publish(still)
	_ = other.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, p, err := other.ReadMessage(); err != nil || !bytes.Equal(p, message(wire.StreamLite, still)) {
		t.Fatalf("other client: %q %v", p, err)
	}
}

func TestSSEClientReceivesEvents(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{})
	for _, tc := range []struct {
		query  string
		stream wire.Stream
	}{{"", wire.StreamLite}, {"?stream=full", wire.StreamFull}, {"?stream=domains-only", wire.StreamDomains}} {
		t.Run(tc.stream.String(), func(t *testing.T) {
			resp, err := http.Get("http://" + v.addr + "/sse" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			for k, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
				if got := resp.Header.Get(k); resp.StatusCode != 200 || got != want {
					t.Fatalf("status %d, %s: %q", resp.StatusCode, k, got)
				}
			}
			subs := v.waitSubs("SSE subscriber", activeCount(1))
			if subs[len(subs)-1].Transport != wire.SSE.String() || subs[len(subs)-1].Stream != tc.stream.String() {
				t.Fatalf("subscribed as %+v", subs[len(subs)-1])
			}
			sent := updates(tc.stream.String(), 0, 20, 30)
			v.publish(sent...)
			br := bufio.NewReader(resp.Body)
			first := 0
			for i, u := range sent {
				id, err := br.ReadString('\n')
				if i == 0 {
					_, err = fmt.Sscanf(id, "id: %d\n", &first)
				}
				want := fmt.Sprintf("id: %d\ndata: %s\n\n", first+i, message(tc.stream, u))
				got := make([]byte, len(want)-len(id))
				if _, err2 := io.ReadFull(br, got); err != nil || err2 != nil || id+string(got) != want {
					t.Fatalf("event %d: %q %v %v, want %q", i, id+string(got), err, err2, want)
				}
			}
			resp.Body.Close()
			v.waitSubs("SSE client gone", activeCount(0))
		})
	}
}

func TestShutdownClosesClientsWithGoingAway(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{})
	ws1, ws2 := v.dial("/", nil), v.dial("/full-stream", nil)
	resp, err := http.Get("http://" + v.addr + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	v.waitSubs("3 subscribers", activeCount(3))

	done := make(chan error, 1)
	go func() { done <- v.shutdown() }()
	for _, c := range []*websocket.Conn{ws1, ws2} {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, int(wsframe.CloseGoingAway)) {
			t.Fatalf("websocket client: %v", err)
		}
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("SSE stream did not end cleanly: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if subs := v.subs(); !activeCount(0)(subs) {
		t.Fatalf("clients still subscribed after Shutdown: %+v", subs)
	}
	if _, _, err := (&websocket.Dialer{HandshakeTimeout: time.Second}).Dial("ws://"+v.addr+"/", nil); err == nil {
		t.Fatal("dial after Shutdown succeeded")
	}
}

func TestRoutes(t *testing.T) {
	streams := allStreams
	streams[wire.StreamFull] = false
	v := start(t, Config{Streams: streams, Client: quiet}, router.Config{}, func(s *Server) {
		s.Handle("/extra", func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("extra") })
		s.Use(func(next fasthttp.RequestHandler) fasthttp.RequestHandler {
			return func(ctx *fasthttp.RequestCtx) {
				ctx.Response.Header.Set("X-Test", "mw")
				next(ctx)
			}
		})
	})
	tests := []struct {
		path, body string
		status     int
	}{
		{"/health", "OK", 200},
		{"/extra", "extra", 200},
		{"/nope", `{"error":"not found"}`, 404},
		{"/full-stream", `{"error":"not found"}`, 404},
		{"/sse?stream=full", `{"error":"not found"}`, 404},
		{"/sse?stream=bogus", `{"error":"unknown stream \"bogus\""}`, 400},
	}
	for _, tc := range tests {
		resp, err := http.Get("http://" + v.addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(body) != tc.body || resp.Header.Get("X-Test") != "mw" {
			t.Errorf("%s: %d %q (X-Test %q), want %d %q", tc.path, resp.StatusCode, body, resp.Header.Get("X-Test"), tc.status, tc.body)
		}
	}
	if _, resp, err := (&websocket.Dialer{}).Dial("ws://"+v.addr+"/full-stream", nil); err == nil || resp == nil || resp.StatusCode != 404 {
		t.Fatalf("websocket to a disabled stream: %v %v", err, resp)
	}
	c := v.dial("/domains-only", nil) // enabled streams still work
	if subs := v.waitSubs("subscriber", activeCount(1)); subs[0].Stream != wire.StreamDomains.String() {
		t.Fatalf("subscribed as %+v", subs[0])
	}
	c.Close()
}

// TestTLS serves WSS and HTTPS with a self-signed certificate: the actor's
// writes go through the TLS connection.
func TestTLS(t *testing.T) {
	certFile, keyFile := fixtures.SelfSignedTLS(t)
	v := start(t, Config{Streams: allStreams, Client: quiet, TLSCertFile: certFile, TLSKeyFile: keyFile}, router.Config{})
	tlsCfg := &tls.Config{InsecureSkipVerify: true}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: tlsCfg}
	c, _, err := d.Dial("wss://"+v.addr+"/full-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	resp, err := hc.Get("https://" + v.addr + "/sse?stream=full")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	v.waitSubs("2 subscribers", activeCount(2))
	sent := updates("full", 0, 10, 3000)
	v.publish(sent...)
	br := bufio.NewReader(resp.Body)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, u := range sent {
		want := message(wire.StreamFull, u)
		if _, p, err := c.ReadMessage(); err != nil || !bytes.Equal(p, want) {
			t.Fatalf("wss message %d: %v", i, err)
		}
		if e := readEvent(t, br); !bytes.Equal(e["data"], want) {
			t.Fatalf("https event %d: %q", i, e)
		}
	}
}

// TestSubscribedBeforeResponse: a client that got its 101 or 200 is
// subscribed, so a message published right then reaches it.
func TestSubscribedBeforeResponse(t *testing.T) {
	v := startDelayed(t, Config{Streams: allStreams, Client: quiet}, router.Config{}, 50*time.Millisecond)
	for i := 0; i < 3; i++ {
		u := update("round", i, 10)
		msg := message(wire.StreamLite, u)
		ws := v.dial("/", nil)
		v.publish(u)
		_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, p, err := ws.ReadMessage(); err != nil || !bytes.Equal(p, msg) {
			t.Fatalf("round %d, websocket: %q %v", i, p, err)
		}
		ws.Close()
		v.waitSubs("client gone", activeCount(0))

		resp, err := http.Get("http://" + v.addr + "/sse")
		if err != nil {
			t.Fatal(err)
		}
		v.publish(u)
		_ = time.AfterFunc(2*time.Second, func() { resp.Body.Close() })
		if e := readEvent(t, bufio.NewReader(resp.Body)); !bytes.Equal(e["data"], msg) {
			t.Fatalf("round %d, SSE: %q", i, e)
		}
		resp.Body.Close()
		v.waitSubs("client gone", activeCount(0))
	}
}

// TestUnavailableRouterRejects: when the router does not answer, clients
// get a 503 instead of a stream.
func TestUnavailableRouterRejects(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	dead := actor.NewPID(e.Address(), "no/router")
	srv := New(Config{Streams: allStreams, SubscribeTimeout: 200 * time.Millisecond}, e, dead)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	_, resp, err := (&websocket.Dialer{HandshakeTimeout: 5 * time.Second}).Dial("ws://"+ln.Addr().String()+"/", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("websocket: %v %v", err, resp)
	}
	hresp, err := http.Get("http://" + ln.Addr().String() + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	if hresp.StatusCode != http.StatusServiceUnavailable || string(body) != `{"error":"streaming unavailable"}` {
		t.Fatalf("SSE: %d %q", hresp.StatusCode, body)
	}
}

// TestSentCountsOwnClients: two servers in one process (two nodes) each
// count only the messages written to their own clients.
func TestSentCountsOwnClients(t *testing.T) {
	busy := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{})
	idle := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{})
	c := busy.dial("/", nil)
	busy.waitSubs("a subscriber", activeCount(1))
	sent := updates("sent", 0, 10, 20)
	busy.publish(sent...)
	var frameBytes uint64
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i, u := range sent {
		if _, p, err := c.ReadMessage(); err != nil || !bytes.Equal(p, message(wire.StreamLite, u)) {
			t.Fatalf("message %d: %v", i, err)
		}
		frameBytes += uint64(len(wire.AppendFrame(nil, wire.WebSocket, message(wire.StreamLite, u))))
	}
	await.True(t, 5*time.Second, "the writes counted", func() bool { msgs, _ := busy.srv.Sent(); return msgs >= uint64(len(sent)) })
	if msgs, b := busy.srv.Sent(); msgs != uint64(len(sent)) || b != frameBytes {
		t.Errorf("the server that wrote them counts %d messages, %d bytes; want %d, %d", msgs, b, len(sent), frameBytes)
	}
	if msgs, b := idle.srv.Sent(); msgs != 0 || b != 0 {
		t.Errorf("the other server counts %d messages, %d bytes; want 0", msgs, b)
	}
}

// A browser's visit to / (no upgrade) gets the page; a WebSocket client
// connecting to / still gets the lite stream. Without a page the visit is a
// 400, as before.
func TestPageAtRoot(t *testing.T) {
	for _, withPage := range []bool{true, false} {
		v := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{}, func(s *Server) {
			if withPage {
				s.SetPage(func(ctx *fasthttp.RequestCtx) {
					ctx.SetContentType("text/html; charset=utf-8")
					ctx.SetBodyString("<p>page</p>")
				})
			}
		})
		resp, err := http.Get("http://" + v.addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if withPage && (resp.StatusCode != 200 || string(body) != "<p>page</p>") {
			t.Errorf("GET / with a page: %d %q", resp.StatusCode, body)
		}
		if !withPage && resp.StatusCode != 400 {
			t.Errorf("GET / without a page: %d %q, want 400", resp.StatusCode, body)
		}
		c := v.dial("/", nil)
		if subs := v.waitSubs("subscriber", activeCount(1)); subs[0].Stream != wire.StreamLite.String() {
			t.Fatalf("page %v: subscribed as %+v", withPage, subs[0])
		}
		c.Close()
		v.waitSubs("no subscriber", activeCount(0))
	}
}
