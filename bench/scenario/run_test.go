package scenario

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/bench/client"
)

// lossy is a tiny certstream-like server and its own source: every Append
// sends one message per entry to each subscriber, except the ones a path's
// rule drops, so the test knows exactly what each client must miss.
//
//	/              lite: every message
//	/domains-only  drops entries whose sequence number is 3 mod 10
//	/full-stream   closes with 1008 "too slow" once entry closeAt is sent
//	/sse?stream=   lite events, drops entries whose number is 0 mod 4
//
// Every connection also gets heartbeats (WebSocket text, SSE comments) and
// WebSocket pings; the pongs are counted. With serveFirst set, later
// connections are turned away.
type lossy struct {
	mu     sync.Mutex
	seq    int64
	subs   []*sub
	down   bool
	held   int
	drops  int64          // messages the rules dropped (not those after a close)
	opened map[string]int // subscriptions by path
	pongs  atomic.Int64
	// serveFirst, when positive, serves only that many connections; the
	// later ones are refused with HTTP 503 (every third) or cut at once
	// (WebSocket close 1001 "going away", or the end of the SSE stream).
	serveFirst atomic.Int64
	conns      atomic.Int64 // connections so far
}

const closeAt = 200 // sequence number after which /full-stream clients are closed

// latencyOffset is how far in the past every message claims to have been
// submitted: the latency the harness must measure.
const latencyOffset = 5 * time.Second

type sub struct {
	path string
	ch   chan int64 // sequence numbers to send
}

func (l *lossy) dropped(path string, seq int64) bool {
	switch path {
	case "/domains-only":
		return seq%10 == 3
	case "/sse":
		return seq%4 == 0
	case "/full-stream":
		return seq > closeAt
	}
	return false
}

func (l *lossy) Append(n int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		l.held += n
		return nil
	}
	l.send(n)
	return nil
}

func (l *lossy) send(n int) {
	for range n {
		l.seq++
		for _, s := range l.subs {
			switch {
			case !l.dropped(s.path, l.seq):
				s.ch <- l.seq
			case s.path != "/full-stream":
				l.drops++
			}
		}
	}
}

func (l *lossy) SetDown(down bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = down
	if !down {
		l.send(l.held)
		l.held = 0
	}
	return nil
}

func (l *lossy) subscribe(path string) *sub {
	s := &sub{path: path, ch: make(chan int64, 10000)}
	l.mu.Lock()
	l.subs = append(l.subs, s)
	if l.opened == nil {
		l.opened = map[string]int{}
	}
	l.opened[path]++
	l.mu.Unlock()
	return s
}

func (l *lossy) unsubscribe(s *sub) {
	l.mu.Lock()
	l.subs = slices.DeleteFunc(l.subs, func(x *sub) bool { return x == s })
	l.mu.Unlock()
}

// turnAway reports whether the server turns this new connection away,
// and whether by cutting it (else by refusing it).
func (l *lossy) turnAway() (away, cut bool) {
	n, first := l.conns.Add(1), l.serveFirst.Load()
	return first > 0 && n > first, n%3 != 0 // a period prime to the four kinds' cycle
}

func message(path string, seq int64) []byte {
	if path == "/domains-only" {
		return fmt.Appendf(nil, `{"message_type":"dns_entries","data":["n%d.example"]}`, seq)
	}
	ts := float64(time.Now().Add(-latencyOffset).UnixMilli()) / 1000
	return fmt.Appendf(nil, `{"message_type":"certificate_update","data":{"cert_index":%d,"seen":%.3f,"submission_timestamp":%.3f,"source":{"name":"t","url":"u"}}}`,
		seq, ts+latencyOffset.Seconds(), ts)
}

func (l *lossy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/metrics":
		l.mu.Lock()
		fmt.Fprintf(w, "# HELP go_goroutines x\ngo_goroutines 42\n%s %d\n%s %d\n", metricRouterIn, l.seq, metricDropped, l.drops)
		l.mu.Unlock()
	case "/sse", "/", "/full-stream", "/domains-only":
		away, cut := l.turnAway()
		switch {
		case away && !cut:
			http.Error(w, "turned away", http.StatusServiceUnavailable)
		case r.URL.Path == "/sse":
			l.serveSSE(w, r, away)
		default:
			l.serveWS(w, r, away)
		}
	default:
		http.NotFound(w, r)
	}
}

// serveWS streams over WebSocket; with cut set it closes at once instead.
func (l *lossy) serveWS(w http.ResponseWriter, r *http.Request, cut bool) {
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	ws.SetPongHandler(func(string) error { l.pongs.Add(1); return nil })
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	if cut {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "going away"),
			time.Now().Add(time.Second))
		<-gone
		return
	}
	s := l.subscribe(r.URL.Path)
	defer l.unsubscribe(s)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-gone:
			return
		case seq := <-s.ch:
			if err := ws.WriteMessage(websocket.TextMessage, message(s.path, seq)); err != nil {
				return
			}
			if s.path == "/full-stream" && seq == closeAt {
				// It claims 7 more pushed, and dropped.
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1008,
					fmt.Sprintf("too slow: dropped 7 of %d messages", closeAt+7)), time.Now().Add(time.Second))
				<-gone
				return
			}
		case <-tick.C:
			_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"message_type":"heartbeat","timestamp":1.0}`))
			_ = ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
		}
	}
}

// serveSSE streams events; with cut set it ends the stream at once instead.
func (l *lossy) serveSSE(w http.ResponseWriter, r *http.Request, cut bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	f := w.(http.Flusher)
	f.Flush()
	if cut {
		return
	}
	s := l.subscribe("/sse")
	defer l.unsubscribe(s)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case seq := <-s.ch:
			fmt.Fprintf(w, "data: %s\n\n", message(s.path, seq))
		case <-tick.C:
			fmt.Fprint(w, ": heartbeat\n\n")
		}
		f.Flush()
	}
}

func startLossy(t *testing.T) (*lossy, string) {
	t.Helper()
	l := &lossy{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: l}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return l, ln.Addr().String()
}

// inWindow counts the sequence numbers of the window (after the probe
// entries) that rule drops.
func inWindow(res *Result, rule func(int64) bool) int64 {
	var n int64
	for s := res.ProbeEntries + 1; s <= res.ProbeEntries+res.Published; s++ {
		if rule(s) {
			n++
		}
	}
	return n
}

var fastTiming = Timing{Ramp: 1000, ProbeEvery: 20 * time.Millisecond, Quiet: 200 * time.Millisecond,
	DrainIdle: 500 * time.Millisecond, DrainMax: 5 * time.Second, ConnectTimeout: 5 * time.Second, ProbeTimeout: 5 * time.Second}

func TestAccountingAgainstAServerThatDropsKnownMessages(t *testing.T) {
	l, addr := startLossy(t)
	checked := false
	spec := Spec{
		Name: "accounting",
		Groups: []Group{
			{Name: "lite", Transport: client.WebSocket, Stream: client.Lite, Count: 3},
			{Name: "domains", Transport: client.WebSocket, Stream: client.Domains, Count: 2},
			// Slow only in name (it reads far faster than sent), to get per-client details.
			{Name: "full", Transport: client.WebSocket, Stream: client.Full, Count: 2, SlowRate: 1e6},
			{Name: "sse", Transport: client.SSE, Stream: client.Lite, Count: 2},
		},
		Rate: 2000, Duration: 250 * time.Millisecond,
		Checks: func(r *Result) []Check { checked = true; return []Check{{Name: "x", Pass: true}} },
	}
	res, err := Run(context.Background(), spec, Env{Target: "ws://" + addr, Source: l, Pid: os.Getpid(),
		MetricsURL: "http://" + addr + "/metrics", Timing: fastTiming})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published != 500 || res.ProbeEntries < 1 || res.ProbeEntries >= closeAt {
		t.Fatalf("published %d after %d probe entries, want 500 after at least 1", res.Published, res.ProbeEntries)
	}
	if res.Clients != 9 || res.Connected != 9 || res.Unsubscribed != 0 {
		t.Errorf("clients %d connected %d unsubscribed %d, want 9 9 0", res.Clients, res.Connected, res.Unsubscribed)
	}
	byName := map[string]GroupResult{}
	for _, g := range res.Groups {
		byName[g.Name] = g
		if g.Expected != 500 {
			t.Errorf("%s: expected %d, want 500", g.Name, g.Expected)
		}
	}
	domainsLost := inWindow(res, func(s int64) bool { return s%10 == 3 })
	sseLost := inWindow(res, func(s int64) bool { return s%4 == 0 })
	fullGot := closeAt - res.ProbeEntries
	for _, c := range []struct {
		group                     string
		delivered, lost, lostEach int64
		disconnected              int
	}{
		{"lite", 500, 0, 0, 0},
		{"domains", 500 - domainsLost, 2 * domainsLost, domainsLost, 0},
		{"full", fullGot, 2 * (500 - fullGot), 500 - fullGot, 2},
		{"sse", 500 - sseLost, 2 * sseLost, sseLost, 0},
	} {
		g := byName[c.group]
		if g.Delivered != (Summary{c.delivered, c.delivered, c.delivered}) || g.Lost != c.lost || g.Excess != 0 ||
			g.Disconnected != c.disconnected || (c.lost > 0) != (g.LostClients == g.Clients) {
			t.Errorf("%s: delivered %+v lost %d (%d clients) excess %d disconnected %d; want delivered %d lost %d disconnected %d",
				c.group, g.Delivered, g.Lost, g.LostClients, g.Excess, g.Disconnected, c.delivered, c.lost, c.disconnected)
		}
		if g.Heartbeats.Min < 1 {
			t.Errorf("%s: heartbeats %+v, want some", c.group, g.Heartbeats)
		}
	}
	full := byName["full"]
	if len(full.PerClient) != 2 {
		t.Fatalf("full: per-client details %+v", full.PerClient)
	}
	for _, pc := range full.PerClient {
		// Of closeAt+7 pushed over its life, the probe entries came before
		// the window; 7 were dropped, none left queued, and the rest of the
		// window was never sent.
		if pc.Delivered != fullGot || pc.Lost != 500-fullGot || pc.Reason != "close 1008 too slow" ||
			pc.ServerDropped != 7 || pc.ServerPushed != closeAt+7 || pc.NotSent != 500-(closeAt+7-res.ProbeEntries) || pc.Discarded != 0 {
			t.Errorf("full client: %+v", pc)
		}
	}
	if len(res.Disconnects) != 1 || res.Disconnects["close 1008 too slow"] != 2 {
		t.Errorf("disconnects %v, want 2 × close 1008 too slow", res.Disconnects)
	}
	wantDelivered := 3*500 + 2*(500-domainsLost) + 2*fullGot + 2*(500-sseLost)
	if res.Delivered != wantDelivered {
		t.Errorf("delivered %d, want %d", res.Delivered, wantDelivered)
	}
	// Latency: every non-domains message of the window, each ~5 s old.
	if want := 3*500 + 2*fullGot + 2*(500-sseLost); res.Latency.Samples != want {
		t.Errorf("latency samples %d, want %d", res.Latency.Samples, want)
	}
	off := latencyOffset.Milliseconds()
	if res.Latency.P50 < off || res.Latency.P99 > off+1000 || res.Latency.Max < res.Latency.P99 {
		t.Errorf("latency %+v, want about %d ms", res.Latency, off)
	}
	// Messages claim to have been seen now: delivery takes no time.
	if res.Delivery.Samples != res.Latency.Samples || res.Delivery.P99 >= off {
		t.Errorf("delivery latency %+v, want %d samples well under %d ms", res.Delivery, res.Latency.Samples, off)
	}
	if byName["domains"].Latency.Samples != 0 {
		t.Errorf("domains-only messages have no timestamp but %d latency samples", byName["domains"].Latency.Samples)
	}
	if res.MsgsPerSec <= 0 || res.Bytes <= 0 || res.MeasuredSecs <= 0 {
		t.Errorf("rates: %v msgs/s, %d bytes over %v s", res.MsgsPerSec, res.Bytes, res.MeasuredSecs)
	}
	if s := res.Server; s == nil || s.RSSEnd <= 0 || s.PeakRSS < s.RSSEnd || s.Goroutines != 42 || s.CPUSecs < 0 ||
		s.Published != 500 || s.Dropped != 2*domainsLost+2*sseLost {
		t.Errorf("server figures %+v; want 500 published, %d dropped", res.Server, 2*domainsLost+2*sseLost)
	}
	if l.pongs.Load() == 0 {
		t.Error("clients never answered a ping")
	}
	if !checked || len(res.Checks) != 1 {
		t.Error("checks not evaluated")
	}
}

func TestBacklogIsPublishedWhileTheLogsAreDown(t *testing.T) {
	l, addr := startLossy(t)
	spec := Spec{Name: "backlog", Backlog: 300,
		Groups: []Group{{Name: "lite", Transport: client.WebSocket, Stream: client.Lite, Count: 1}}}
	var progress strings.Builder
	res, err := Run(context.Background(), spec, Env{Target: "ws://" + addr, Source: l, Timing: fastTiming,
		MetricsURL: "http://" + addr + "/metrics", Progress: &progress, ProgressEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Published != 300 || res.Groups[0].Delivered.Min != 300 || res.Groups[0].Lost != 0 {
		t.Errorf("published %d, delivered %+v, lost %d", res.Published, res.Groups[0].Delivered, res.Groups[0].Lost)
	}
	if res.IngestRate <= 0 {
		t.Errorf("ingest rate %v", res.IngestRate)
	}
	// The tiny server publishes the whole backlog at once: there is no
	// interval to time, so no server-side rate, and the wait ends.
	if res.ServerIngestRate != 0 {
		t.Errorf("server ingest rate %v from a single step", res.ServerIngestRate)
	}
	if res.Server != nil {
		t.Errorf("server figures without a pid: %+v", res.Server)
	}
	if !strings.Contains(progress.String(), "[backlog] publishing the backlog: 300 of 300") {
		t.Errorf("progress lacks the backlog:\n%s", progress.String())
	}
}

func TestUnreachableTargetIsReportedAsConnectFailures(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	spec := Spec{Name: "down", Rate: 100, Duration: 50 * time.Millisecond,
		Groups: []Group{{Name: "lite", Transport: client.WebSocket, Stream: client.Lite, Count: 2}}}
	res, err := Run(context.Background(), spec, Env{Target: "ws://" + addr, Source: &lossy{}, Timing: fastTiming})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 0 || res.Disconnects["connect: connection refused"] != 2 || res.Groups[0].Lost != 2*res.Published {
		t.Errorf("connected %d, disconnects %v, lost %d of %d", res.Connected, res.Disconnects, res.Groups[0].Lost, res.Published)
	}
}

// churnSpec is a short scenario of members lite WebSocket clients and
// churn beside them, publishing fewer entries than closeAt in all so that
// churned full-stream sessions are served too.
func churnSpec(members int, churn Churn) Spec {
	return Spec{Name: "churn", Rate: 100, Duration: 1500 * time.Millisecond, Churn: churn,
		Groups: []Group{{Name: "lite", Transport: client.WebSocket, Stream: client.Lite, Count: members}},
		Checks: churnChecks}
}

// checkMembers fails t unless the members received every entry and
// stayed: churn must not touch their accounting.
func checkMembers(t *testing.T, res *Result, members int) {
	t.Helper()
	if res.ProbeEntries+res.Published >= closeAt {
		t.Fatalf("%d entries in all: the full stream closed at %d", res.ProbeEntries+res.Published, closeAt)
	}
	g := res.Groups[0]
	if res.Clients != members || res.Connected != members || res.Published == 0 || res.Delivered != int64(members)*res.Published ||
		g.Lost != 0 || g.Excess != 0 || len(res.Disconnects) != 0 {
		t.Errorf("members: %d of %d connected, %d delivered of %d each, lost %d, excess %d, disconnects %v",
			res.Connected, res.Clients, res.Delivered, res.Published, g.Lost, g.Excess, res.Disconnects)
	}
}

// checkSessions fails t unless the churn's session count fits the
// window: each slot starts within one life and loses its last,
// interrupted session; it never opens more than one session per life,
// however short its sessions were.
func checkSessions(t *testing.T, c *ChurnResult, spec Spec) {
	t.Helper()
	lives := int(spec.Duration / spec.Churn.Life)
	if lo, hi := spec.Churn.Conns*(lives-2), spec.Churn.Conns*(lives+1); c.Sessions < lo || c.Sessions+c.Interrupted > hi {
		t.Errorf("%d sessions (+%d interrupted), want %d to %d", c.Sessions, c.Interrupted, lo, hi)
	}
}

func TestChurnedConnectionsAreServedAndAccountedApart(t *testing.T) {
	l, addr := startLossy(t)
	// Lives of half a second, so that a session is served (connected and
	// sent an entry) even on a loaded CI machine; 50 entries/s for 3 s stays
	// under closeAt.
	churn := Churn{Conns: 4, Life: 500 * time.Millisecond}
	spec := churnSpec(3, churn)
	spec.Rate, spec.Duration = 50, 3*time.Second
	res, err := Run(context.Background(), spec, Env{Target: "ws://" + addr, Source: l, Timing: fastTiming})
	if err != nil {
		t.Fatal(err)
	}
	checkMembers(t, res, 3)
	c := res.Churn
	if c == nil {
		t.Fatal("no churn accounted")
	}
	checkSessions(t, c, spec)
	if c.Served != c.Sessions || c.Unserved+c.Failed+c.Cut != 0 || len(c.Reasons) != 0 || c.Conns != 4 || c.LifeSecs != 0.5 {
		t.Errorf("churn %+v, want every session served", c)
	}
	l.mu.Lock()
	opened := maps.Clone(l.opened)
	l.mu.Unlock()
	if opened["/"] <= 3 || opened["/full-stream"] == 0 || opened["/domains-only"] == 0 || opened["/sse"] == 0 {
		t.Errorf("subscriptions by path %v: every kind must churn", opened)
	}
	if len(res.Checks) != 1 || !res.Checks[0].Pass {
		t.Errorf("checks %+v", res.Checks)
	}
}

func TestChurnedConnectionsTurnedAwayFailTheCheck(t *testing.T) {
	l, addr := startLossy(t)
	l.serveFirst.Store(2) // the members
	spec := churnSpec(2, Churn{Conns: 4, Life: 100 * time.Millisecond})
	res, err := Run(context.Background(), spec, Env{Target: "ws://" + addr, Source: l, Timing: fastTiming})
	if err != nil {
		t.Fatal(err)
	}
	checkMembers(t, res, 2)
	c := res.Churn
	if c == nil || c.Sessions == 0 || c.Failed == 0 || c.Cut == 0 || c.Failed+c.Cut != c.Sessions || c.Served+c.Unserved != 0 {
		t.Fatalf("churn %+v, want every session failed or cut, some of each", c)
	}
	checkSessions(t, c, spec)
	failed, cut := 0, 0
	for reason, n := range c.Reasons {
		switch {
		case strings.HasSuffix(reason, ": connect: HTTP 503"):
			failed += n
		case reason == "sse lite: eof without close frame" ||
			strings.HasPrefix(reason, "ws ") && strings.HasSuffix(reason, ": close 1001 going away"):
			cut += n
		default:
			t.Errorf("unexpected reason %q", reason)
		}
	}
	if c.Reasons["sse lite: eof without close frame"] == 0 {
		t.Errorf("reasons %v: no SSE session was cut", c.Reasons)
	}
	if failed != c.Failed || cut != c.Cut {
		t.Errorf("reasons %v, want %d refused and %d cut", c.Reasons, c.Failed, c.Cut)
	}
	if len(res.Checks) != 1 || res.Checks[0].Pass || !strings.Contains(res.Checks[0].Got, fmt.Sprintf("0 of %d", c.Sessions)) {
		t.Errorf("checks %+v, want the churn check failed", res.Checks)
	}
}
