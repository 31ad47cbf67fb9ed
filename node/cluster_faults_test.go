package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/clusterlink"
	"github.com/certstream/certstream/messages"
)

// Fault tests of a cluster of nodes: an edge killed and restarted, a NATS
// server of three killed, one of two ingest nodes stopped. (An edge away
// for longer than the retention is TestEdgeCountsTheGapAfterRetention.)

// appendAll appends n entries to each generated fake log.
func appendAll(t *testing.T, f *fakeLogs, n int) {
	t.Helper()
	for _, l := range f.logs {
		if err := l.Append(n); err != nil {
			t.Fatal(err)
		}
	}
}

// expectGenerated is expect without navigli, which the test holds down.
func (f *fakeLogs) expectGenerated(t *testing.T) *expected {
	e := f.expect(t)
	url := f.navigli.URL()
	e.total -= len(e.full[url])
	delete(e.full, url)
	delete(e.lite, url)
	return e
}

// awaitReading waits until an edge's consumer reads the stream.
func awaitReading(t *testing.T, edge *Node) {
	t.Helper()
	await.True(t, 30*time.Second, "the edge to read the stream", func() bool {
		st, _ := edge.clusterStatus()
		return st.Reading
	})
}

// awaitAll waits until each client holds want messages.
func awaitAll(t *testing.T, n *Node, want *expected, clients ...*client) {
	t.Helper()
	for _, c := range clients {
		await.True(t, 60*time.Second, c.name+" to receive every entry", func() bool { return c.count() >= want.total },
			diagnose(t, n, want, clients...))
	}
	time.Sleep(300 * time.Millisecond) // anything extra would arrive now
}

// publisherDetails is an ingest's publisher's admin details.
func publisherDetails(t *testing.T, n *Node) map[string]any {
	t.Helper()
	res, err := n.Engine.Request(n.Publisher, messages.Inspect{}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(messages.ActorInfo).Details
}

// detail reads a numeric admin detail.
func detail(d map[string]any, key string) uint64 {
	switch v := d[key].(type) {
	case uint64:
		return v
	case int:
		return uint64(v)
	}
	return 0
}

// freeAddrs returns n loopback addresses free a moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// Two ingest nodes follow the same logs and both publish every
// certificate; JetStream stores each once (the message id is its SHA-256),
// so the edge's clients get each certificate exactly once and in order.
// Then one ingest stops: the other carries on, with no gap and no
// duplicate at the edge.
func TestTwoIngestsOneStops(t *testing.T) {
	f := newFakeLogs(t)
	f.holdNavigli(t)
	aCfg, edgeCfg := clusterConfigs(t, f)
	a := startNode(t, aCfg, Options{})
	defer shutdown(t, a)
	bDir := t.TempDir()
	bCfg := f.config(t, bDir)
	bCfg.Cluster.Role = config.RoleIngest
	bCfg.Cluster.ConsumerStateFile = filepath.Join(bDir, "consumer.json")
	bCfg.Cluster.NATS.Embedded = false
	bCfg.Cluster.NATS.URLs = []string{a.NATS.ClientURL()}
	b := startNode(t, bCfg, Options{})
	edge := startNode(t, edgeCfg(a, t.TempDir()), Options{})
	defer shutdown(t, edge)
	awaitReading(t, edge)
	lite, full := dialWS(t, edge.Addr(), "/"), dialWS(t, edge.Addr(), "/full-stream")

	grow(t, f, 150, 3)
	want := f.expect(t)
	awaitAll(t, edge, want, lite, full)
	checkStream(t, "edge lite, both ingests", lite.snapshot(), want.lite)
	await.True(t, 20*time.Second, "both ingests to have every certificate acknowledged", func() bool {
		return detail(publisherDetails(t, a), "acknowledged") == uint64(want.total) &&
			detail(publisherDetails(t, b), "acknowledged") == uint64(want.total)
	})
	if da, db := detail(publisherDetails(t, a), "duplicates"), detail(publisherDetails(t, b), "duplicates"); da+db != uint64(want.total) {
		t.Errorf("duplicates acknowledged: %d + %d, want %d (each certificate published twice, stored once)", da, db, want.total)
	}

	shutdown(t, b)
	appendAll(t, f, 60)
	want = f.expect(t)
	awaitAll(t, edge, want, lite, full)
	checkStream(t, "edge lite", lite.snapshot(), want.lite)
	checkStream(t, "edge full", full.snapshot(), want.full)
	_, last, err := a.Link.FirstSeq(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := edge.clusterStatus(); st.Gap != 0 || st.LastSeq != last || last != uint64(want.total) {
		t.Errorf("edge status %+v, stream last %d; want %d certificates, no gap", st, last, want.total)
	}
}

// Three embedded NATS servers form a cluster holding the stream with three
// replicas; the ingest node runs one of them, the test the other two. The
// server the ingest is connected to is shut down mid-stream: the ingest
// and the edge reconnect to the others, publishing and consuming carry on,
// and the edge's clients get every certificate exactly once.
func TestNATSServerKilled(t *testing.T) {
	f := newFakeLogs(t)
	f.holdNavigli(t)
	ingestCfg, edgeCfg := clusterConfigs(t, f)
	clientAddrs, routeAddrs := freeAddrs(t, 3), freeAddrs(t, 3)
	var urls []string
	for _, a := range clientAddrs {
		urls = append(urls, "nats://"+a)
	}
	routes := func(self int) []string {
		var r []string
		for i, a := range routeAddrs {
			if i != self {
				r = append(r, "nats-route://"+a)
			}
		}
		return r
	}
	servers := make([]*clusterlink.Server, 3)
	for i := 1; i < 3; i++ {
		s, err := clusterlink.StartServer(clusterlink.ServerConfig{Name: fmt.Sprint("s", i), Listen: clientAddrs[i],
			StoreDir: t.TempDir(), ClusterName: "test", ClusterListen: routeAddrs[i], Routes: routes(i)})
		if err != nil {
			t.Fatal(err)
		}
		servers[i] = s
		t.Cleanup(s.Shutdown)
	}
	nc := &ingestCfg.Cluster.NATS
	nc.ServerName, nc.Listen, nc.ClusterName, nc.ClusterListen, nc.Routes = "s0", clientAddrs[0], "test", routeAddrs[0], routes(0)
	nc.URLs = urls
	ingestCfg.Cluster.Replicas = 3
	in := startNode(t, ingestCfg, Options{})
	defer shutdown(t, in)
	servers[0] = in.NATS
	ec := edgeCfg(in, t.TempDir())
	ec.Cluster.NATS.URLs = urls
	edge := startNode(t, ec, Options{})
	defer shutdown(t, edge)
	awaitReading(t, edge)
	lite := dialWS(t, edge.Addr(), "/")

	appendAll(t, f, 50)
	want := f.expectGenerated(t)
	awaitAll(t, edge, want, lite)

	killed := -1
	for i, a := range clientAddrs {
		if strings.Contains(in.Link.Server(), a) {
			killed = i
		}
	}
	if killed < 0 {
		t.Fatalf("the ingest is connected to %q, none of %v", in.Link.Server(), clientAddrs)
	}
	t.Logf("shutting down server s%d, the ingest's; the edge is on %s", killed, edge.Link.Server())
	servers[killed].Shutdown()
	appendAll(t, f, 50)
	time.Sleep(500 * time.Millisecond)
	appendAll(t, f, 50)
	want = f.expectGenerated(t)
	awaitAll(t, edge, want, lite)
	checkStream(t, "edge lite", lite.snapshot(), want.lite)
	if st, _ := edge.clusterStatus(); st.Gap != 0 || !st.LinkUp {
		t.Errorf("edge status %+v", st)
	}
	if in.Link.Server() == "" || strings.Contains(in.Link.Server(), clientAddrs[killed]) {
		t.Errorf("the ingest is connected to %q after s%d was shut down", in.Link.Server(), killed)
	}
}

// gate is a TCP proxy in front of a NATS server that turns connections
// away while closed: an edge behind it cannot read the stream until the
// test opens it.
type gate struct {
	ln     net.Listener
	target string
	open   atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newGate(t *testing.T, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, target: strings.TrimPrefix(target, "nats://")}
	g.open.Store(true)
	go g.serve()
	t.Cleanup(func() { ln.Close(); g.cut() })
	return g
}

func (g *gate) url() string { return "nats://" + g.ln.Addr().String() }

func (g *gate) serve() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		if !g.open.Load() {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", g.target)
		if err != nil {
			c.Close()
			continue
		}
		g.mu.Lock()
		g.conns = append(g.conns, c, up)
		g.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

// cut closes every proxied connection.
func (g *gate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.conns {
		c.Close()
	}
	g.conns = nil
}

// savedSeq reads the sequence an edge's state file holds.
func savedSeq(t *testing.T, path string) uint64 {
	t.Helper()
	var s struct {
		LastSeq uint64 `json:"last_seq"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s.LastSeq
}

// startNodeAt starts a node listening on addr.
func startNodeAt(t *testing.T, cfg *config.Config, addr string) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(cfg, Options{Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// An edge killed mid-stream and restarted resumes right after the last
// sequence its state file holds. kill -9 leaves that file as of the last
// periodic save (every second), so a restarted edge routes again at most
// what it routed since: the test kills it in the worst case, a whole phase
// of certificates after the save, and certificates keep coming while it
// is down. Its clients reconnect before it reads again and then get every
// certificate they missed, exactly once, plus the re-routed phase: nothing
// is lost, and the duplicates are exactly the sequences routed after the
// save.
func TestEdgeKilledResumes(t *testing.T) {
	f := newFakeLogs(t)
	f.holdNavigli(t)
	ingestCfg, edgeCfg := clusterConfigs(t, f)
	in := startNode(t, ingestCfg, Options{})
	defer shutdown(t, in)
	g := newGate(t, in.NATS.ClientURL())
	edgeDir := t.TempDir()
	ec := edgeCfg(in, edgeDir)
	ec.Cluster.NATS.URLs = []string{g.url()}
	edge := startNode(t, ec, Options{})
	addr := edge.Addr().String()
	awaitReading(t, edge)
	paths := []string{"/", "/full-stream"}
	var before []*client
	for _, p := range paths {
		before = append(before, dialWS(t, edge.Addr(), p))
	}
	streamLast := func() uint64 {
		_, last, err := in.Link.FirstSeq(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return last
	}

	appendAll(t, f, 40) // phase 1: routed and saved
	await.True(t, 30*time.Second, "the edge to save the first phase", func() bool {
		last := streamLast()
		return last == 120 && savedSeq(t, ec.Cluster.ConsumerStateFile) == last
	})
	saved, err := os.ReadFile(ec.Cluster.ConsumerStateFile)
	if err != nil {
		t.Fatal(err)
	}
	savedAt := savedSeq(t, ec.Cluster.ConsumerStateFile)
	appendAll(t, f, 40) // phase 2: routed, not yet saved when the edge dies
	want := f.expectGenerated(t)
	awaitAll(t, edge, want, before...)
	routedAt := streamLast()
	if st, _ := edge.clusterStatus(); st.LastSeq != routedAt {
		t.Fatalf("edge routed up to %d, stream holds %d", st.LastSeq, routedAt)
	}

	// kill -9: no final save; the state file is as of the last periodic one.
	g.open.Store(false)
	shutdown(t, edge)
	g.cut()
	if err := os.WriteFile(ec.Cluster.ConsumerStateFile, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	appendAll(t, f, 40) // phase 3: published while the edge is down
	await.True(t, 30*time.Second, "the ingest to publish the third phase", func() bool { return streamLast() == routedAt+120 })

	edge = startNodeAt(t, ec, addr)
	defer shutdown(t, edge)
	var after []*client
	for _, p := range paths {
		after = append(after, dialWS(t, edge.Addr(), p))
	}
	await.True(t, 10*time.Second, "the clients to be subscribed again", func() bool {
		return edge.Clients.Totals().ConnectionCount() == len(paths)
	})
	g.open.Store(true)
	awaitReading(t, edge)
	appendAll(t, f, 20) // phase 4: after the restart
	want = f.expectGenerated(t)
	for _, c := range after {
		n := want.total - int(savedAt)
		await.True(t, 60*time.Second, c.name+" to receive the rest", func() bool { return c.count() >= n })
	}
	time.Sleep(300 * time.Millisecond)

	dups := routedAt - savedAt
	wants := []map[string]map[uint64]string{want.lite, want.full}
	for i, c := range after {
		got, old := c.snapshot(), before[i].snapshot()
		if len(old)+len(got) != want.total+int(dups) {
			t.Errorf("%s: %d messages before and %d after the restart, want %d in all (every certificate once, the %d routed after the last save twice)",
				c.name, len(old), len(got), want.total+int(dups), dups)
			continue
		}
		// The duplicates are exactly what was routed after the save; the
		// rest completes the stream, exactly once and in order.
		if !slices.Equal(got[:dups], old[savedAt:]) {
			t.Errorf("%s: the first %d messages after the restart are not the ones routed after the last save", c.name, dups)
		}
		checkStream(t, c.name, append(old, got[dups:]...), wants[i])
	}
	st, _ := edge.clusterStatus()
	if last := streamLast(); st.Gap != 0 || st.LastSeq != last || st.Consumed != last-savedAt {
		t.Errorf("edge after restart %+v; want last %d, %d consumed, no gap", st, last, last-savedAt)
	}
}
