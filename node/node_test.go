package node

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/messages"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/fakelog"
)

// TestEveryEntryReachesEveryClientOnce runs the real node against the fake
// logs: every entry reaches a WebSocket client of each stream and an SSE
// client exactly once, per log in index order, byte-identical to the
// encoder's output for that entry except "seen".
func TestEveryEntryReachesEveryClientOnce(t *testing.T) {
	f := newFakeLogs(t)
	f.holdNavigli(t)
	n := startNode(t, f.config(t, t.TempDir()), Options{})
	defer shutdown(t, n)
	clients := []*client{
		dialWS(t, n.Addr(), "/"), dialWS(t, n.Addr(), "/full-stream"), dialWS(t, n.Addr(), "/domains-only"),
		dialSSE(t, n.Addr(), "full"), dialSSE(t, n.Addr(), "lite"),
	}
	grow(t, f, 600, 3)
	want := f.expect(t)
	for _, c := range clients {
		await.True(t, 60*time.Second, c.name+" to receive every entry", func() bool { return c.count() >= want.total },
			diagnose(t, n, want, clients...), func() { t.Logf("router: %+v", inspectRouter(t, n)) })
	}
	time.Sleep(300 * time.Millisecond) // anything extra would arrive now
	checkStream(t, "ws lite", clients[0].snapshot(), want.lite)
	checkStream(t, "ws full", clients[1].snapshot(), want.full)
	checkDomains(t, "ws domains", clients[2].snapshot(), want.domains)
	checkStream(t, "sse full", clients[3].snapshot(), want.full)
	checkStream(t, "sse lite", clients[4].snapshot(), want.lite)
}

// grow releases navigli if it was held (holdNavigli), appends entries to
// the generated logs in steps while the node runs, and grows navigli from
// 778 to 1024 entries.
func grow(t *testing.T, f *fakeLogs, perLog, steps int) {
	t.Helper()
	if err := f.navigli.UpdateFaults(func(fl *fakelog.Faults) { fl.Down = false }); err != nil {
		t.Fatal(err)
	}
	for s := 0; s < steps; s++ {
		for _, l := range f.logs {
			if err := l.Append(perLog / steps); err != nil {
				t.Fatal(err)
			}
		}
		if s == steps/2 {
			f.navigli.Grow()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestFaultsLoseNothing turns on every fault the fake logs have and still
// expects every entry exactly once except the garbage leaves, which are
// counted. The followers retry the faults: no fetcher restarts. (A
// fetcher's panic, restart and resume from its cursor is tested in
// actors/fetcher; a connection actor's restart with its queue in
// actors/conn.)
func TestFaultsLoseNothing(t *testing.T) {
	f := newFakeLogs(t)
	set := func(l interface{ SetFaults(fakelog.Faults) error }, fl fakelog.Faults) {
		if err := l.SetFaults(fl); err != nil {
			t.Fatal(err)
		}
	}
	set(f.logs[0], fakelog.Faults{PageSize: 7, RateLimitEvery: 25, RetryAfter: 1, TruncateEvery: 11})
	set(f.logs[1], fakelog.Faults{PageSize: 50, ServerErrorEvery: 4, GarbageLeafEvery: 13, Delay: 5 * time.Millisecond})
	set(f.logs[2], fakelog.Faults{TruncateEvery: 5, Tile404Every: 7, GzipTiles: true, RateLimitEvery: 9, OmitRetryAfter: true})
	set(f.navigli, fakelog.Faults{ServerErrorEvery: 3, GzipTiles: true})
	f.holdNavigli(t)
	beta := f.logs[1]
	parseFailures := metrics.GetOrCreateCounter(fmt.Sprintf("certstream_ct_parse_failures_total{log=%q}", beta.Description()))
	failedBefore := parseFailures.Get() // the registry is the process's: -count=N runs add up

	n := startNode(t, f.config(t, t.TempDir()), Options{})
	defer shutdown(t, n)
	full := dialWS(t, n.Addr(), "/full-stream")
	lite := dialSSE(t, n.Addr(), "lite")
	grow(t, f, 400, 1)
	await.True(t, 30*time.Second, "the first entries", func() bool { return full.count() > 0 })
	grow(t, f, 400, 1)
	want := f.expect(t)
	await.True(t, 90*time.Second, "every entry despite faults", func() bool {
		return full.count() >= want.total && lite.count() >= want.total
	}, diagnose(t, n, want, full, lite))
	time.Sleep(300 * time.Millisecond)
	checkStream(t, "ws full", full.snapshot(), want.full)
	checkStream(t, "sse lite", lite.snapshot(), want.lite)
	for _, fe := range n.Fetchers.Fetchers() {
		if fe.Budget.Restarts() != 0 {
			t.Errorf("%s's fetcher restarted %d times, want 0", fe.Handle.Log().Name, fe.Budget.Restarts())
		}
	}
	if want.garbage[beta.URL()] == 0 {
		t.Fatal("no garbage leaves were published; the test is not testing them")
	}
	if got := scrape(t, n)[fmt.Sprintf("certstream_ct_parse_failures_total{log=%q}", beta.Description())] - float64(failedBefore); got != float64(want.garbage[beta.URL()]) {
		t.Errorf("parse failures counted %v, want %d", got, want.garbage[beta.URL()])
	}
	for _, l := range []interface{ Stats() fakelog.Stats }{f.logs[0], f.logs[1], f.logs[2], f.navigli} {
		if len(l.Stats().Faults) == 0 {
			t.Errorf("a log's faults never fired: %+v", l.Stats())
		}
	}
}

// TestRestartResumesFromSavedCursors stops the node mid-stream and starts a
// new one on the same state file: together the two runs deliver every index
// exactly once.
func TestRestartResumesFromSavedCursors(t *testing.T) {
	f := newFakeLogs(t)
	cfg := f.config(t, t.TempDir())
	n1 := startNode(t, cfg, Options{})
	c1 := dialWS(t, n1.Addr(), "/full-stream")
	for _, l := range f.logs {
		if err := l.Append(1500); err != nil {
			t.Fatal(err)
		}
	}
	f.navigli.Grow()
	await.True(t, 30*time.Second, "the first run to be mid-stream", func() bool { return c1.count() >= 300 })
	shutdown(t, n1)
	<-c1.done
	first := c1.snapshot()

	// Hold the logs down until the second run's client is connected, so it
	// sees everything the second run fetches.
	setDown := func(down bool) {
		for _, k := range []interface {
			UpdateFaults(func(*fakelog.Faults)) error
		}{f.logs[0], f.logs[1], f.logs[2], f.navigli} {
			k.UpdateFaults(func(fl *fakelog.Faults) { fl.Down = down })
		}
	}
	setDown(true)
	n2 := startNode(t, cfg, Options{})
	defer shutdown(t, n2)
	c2 := dialWS(t, n2.Addr(), "/full-stream")
	setDown(false)
	want := f.expect(t)
	if len(first) >= want.total {
		t.Fatalf("the first run already had everything (%d); the test did not stop mid-stream", len(first))
	}
	await.True(t, 60*time.Second, "the second run to finish", func() bool { return len(first)+c2.count() >= want.total },
		diagnose(t, n2, want, c2), func() { t.Logf("first run: %d", len(first)) })
	time.Sleep(300 * time.Millisecond)
	checkStream(t, "both runs", append(first, c2.snapshot()...), want.full)
}

// TestSlowClientIsDroppedAndFastClientsLoseNothing has one client reading a
// message a second beside fast ones: the slow one gets drops counted and is
// closed (past its write deadline or over the drop ratio, whichever comes
// first); the fast ones get everything; pushed = delivered + dropped +
// queued holds for every connection, open or closed.
func TestSlowClientIsDroppedAndFastClientsLoseNothing(t *testing.T) {
	f := newFakeLogs(t)
	cfg := f.config(t, t.TempDir())
	cfg.Clients.WriteTimeoutSecs = 3
	cfg.Clients.MailboxCapacity = 1024 // the default: the slow client must drop
	f.holdNavigli(t)
	n := startNode(t, cfg, Options{})
	defer shutdown(t, n)

	slow := dialSlowWS(t, n.Addr(), "/full-stream")
	fast := dialWS(t, n.Addr(), "/full-stream")
	fastSSE := dialSSE(t, n.Addr(), "full")
	grow(t, f, 2400, 4)
	want := f.expect(t)
	await.True(t, 60*time.Second, "fast clients to get everything", func() bool {
		return fast.count() >= want.total && fastSSE.count() >= want.total
	}, diagnose(t, n, want, fast, fastSSE, slow))
	checkStream(t, "fast ws", fast.snapshot(), want.full)
	checkStream(t, "fast sse", fastSSE.snapshot(), want.full)

	var info messages.ActorInfo
	await.True(t, 30*time.Second, "the slow client to be closed", func() bool {
		info = inspectRouter(t, n)
		return len(info.Children) == 2
	})
	closed, _ := info.Details["closed"].([]messages.ConnStats)
	if len(closed) != 1 || closed[0].Dropped == 0 {
		t.Fatalf("want the slow client closed with drops counted, got %+v", closed)
	}
	checkAccounting(t, closed[0])
	for _, ch := range info.Children {
		cs := ch.Details["conn"].(messages.ConnStats)
		checkAccounting(t, cs)
		if cs.Dropped != 0 || cs.Delivered != uint64(want.total) {
			t.Errorf("fast client %s: delivered %d dropped %d, want %d and 0", cs.ID, cs.Delivered, cs.Dropped, want.total)
		}
	}
}

func checkAccounting(t *testing.T, cs messages.ConnStats) {
	t.Helper()
	if cs.Pushed != cs.Delivered+cs.Dropped+uint64(cs.Queued)+uint64(cs.InFlight) {
		t.Errorf("%s: pushed %d != delivered %d + dropped %d + queued %d + in flight %d",
			cs.ID, cs.Pushed, cs.Delivered, cs.Dropped, cs.Queued, cs.InFlight)
	}
}

func inspectRouter(t *testing.T, n *Node) messages.ActorInfo {
	t.Helper()
	res, err := n.Engine.Request(n.Router, messages.Inspect{}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(messages.ActorInfo)
}

// dialSlowWS connects a client with a tiny receive buffer that reads one
// message a second.
func dialSlowWS(t *testing.T, addr net.Addr, path string) *client {
	t.Helper()
	d := websocket.Dialer{NetDial: func(network, a string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
		}}
		return nd.Dial(network, a)
	}}
	ws, _, err := d.Dial("ws://"+addr.String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{name: "slow", done: make(chan struct{}), conn: ws}
	go c.readWS(time.Second)
	t.Cleanup(func() { ws.Close() })
	return c
}

func (c *client) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// TestIdleClientSurvivesOnHeartbeats holds a client like the stock Go
// certstream client — it gives up after 15 s without a data frame and never
// pings on its own — through 60 s of an idle log, then expects entries.
func TestIdleClientSurvivesOnHeartbeats(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a minute")
	}
	t.Parallel()
	f := newFakeLogs(t)
	cfg := f.config(t, t.TempDir())
	cfg.CTLog.CustomLogs = cfg.CTLog.CustomLogs[:1] // alpha only: empty, idle
	cfg.Clients.HeartbeatSecs = 10                  // the default
	n := startNode(t, cfg, Options{})
	defer shutdown(t, n)
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+n.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	read := func() string {
		ws.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("client gave up after 15 s without a data frame: %v", err)
		}
		return string(data)
	}
	heartbeats := 0
	for idleUntil := time.Now().Add(60 * time.Second); time.Now().Before(idleUntil); {
		if m := read(); !isHeartbeat(m) {
			t.Fatalf("unexpected data on an idle log: %.100s", m)
		}
		heartbeats++
	}
	if heartbeats < 5 {
		t.Fatalf("%d heartbeats in a minute, want >= 5", heartbeats)
	}
	if err := f.logs[0].Append(1); err != nil {
		t.Fatal(err)
	}
	for {
		if m := read(); !isHeartbeat(m) {
			if !strings.Contains(m, `"certificate_update"`) {
				t.Fatalf("unexpected message %.100s", m)
			}
			return
		}
	}
}
