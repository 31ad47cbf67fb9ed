package node

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/web/api"
)

// A standalone node starts no NATS server and opens no link.
func TestStandaloneHasNoCluster(t *testing.T) {
	f := newFakeLogs(t)
	n := startNode(t, f.config(t, t.TempDir()), Options{})
	defer shutdown(t, n)
	if n.NATS != nil || n.Link != nil || n.Publisher != nil || n.Consumer != nil {
		t.Errorf("standalone node has cluster parts: %+v", n.cluster)
	}
	if st := statsCluster(t, n); st != nil {
		t.Errorf("standalone /api/stats has a cluster object: %v", st)
	}
}

// statsCluster returns the "cluster" object of n's /api/stats, or nil.
func statsCluster(t *testing.T, n *Node) map[string]any {
	t.Helper()
	r := get(t, base(n)+"/api/stats")
	var s map[string]any
	if r.status != 200 || json.Unmarshal(r.body, &s) != nil {
		t.Fatalf("/api/stats: %d %s", r.status, r.body)
	}
	c, _ := s["cluster"].(map[string]any)
	return c
}

// clusterConfigs returns an ingest node's configuration following the fake
// logs with an embedded NATS server on a loopback port, and a function
// making an edge's configuration once the ingest runs.
func clusterConfigs(t *testing.T, f *fakeLogs) (ingest *config.Config, edge func(ingest *Node, dir string) *config.Config) {
	dir := t.TempDir()
	ingest = f.config(t, dir)
	ingest.Cluster.Role = config.RoleIngest
	ingest.Cluster.NATS.Listen = "127.0.0.1:0"
	ingest.Cluster.NATS.StoreDir = filepath.Join(dir, "nats")
	ingest.Cluster.ConsumerStateFile = filepath.Join(dir, "consumer.json")
	return ingest, func(in *Node, dir string) *config.Config {
		cfg := config.Default()
		cfg.Server.Host, cfg.Server.Port = "127.0.0.1", 1
		cfg.CTLog.FollowLogList = false
		cfg.CTLog.StateFile = filepath.Join(dir, "state.json")
		cfg.Clients = ingest.Clients
		cfg.Cluster.Role = config.RoleEdge
		cfg.Cluster.NATS.URLs = []string{in.NATS.ClientURL()}
		cfg.Cluster.ConsumerStateFile = filepath.Join(dir, "edge.json")
		return &cfg
	}
}

// An edge's clients get exactly the bytes the ingest's own clients get, in
// the same order, on every stream and transport — numbers included: SSE
// ids and WebSocket "seq" are the stream's sequence on both.
func TestEdgeServesTheIngestBytes(t *testing.T) {
	f := newFakeLogs(t)
	f.holdNavigli(t)
	ingestCfg, edgeCfg := clusterConfigs(t, f)
	in := startNode(t, ingestCfg, Options{})
	defer shutdown(t, in)
	edge := startNode(t, edgeCfg(in, t.TempDir()), Options{})
	defer shutdown(t, edge)
	if edge.Logs != nil || edge.Dedup != nil || edge.Consumer == nil || in.Publisher == nil {
		t.Fatalf("roles: edge logs %v dedup %v consumer %v; ingest publisher %v",
			edge.Logs, edge.Dedup, edge.Consumer, in.Publisher)
	}
	awaitReading(t, edge)
	paths := []string{"/", "/full-stream", "/domains-only", "/?seq=1"}
	var inClients, edgeClients []*client
	for _, p := range paths {
		inClients = append(inClients, dialWS(t, in.Addr(), p))
		edgeClients = append(edgeClients, dialWS(t, edge.Addr(), p))
	}
	for _, stream := range []string{"full", "lite", "domains"} {
		inClients = append(inClients, dialSSE(t, in.Addr(), stream))
		edgeClients = append(edgeClients, dialSSE(t, edge.Addr(), stream))
	}
	// Filtered clients: the edge applies filters to what it consumes.
	inPrecerts, edgePrecerts := dialWS(t, in.Addr(), "/?type=precert"), dialWS(t, edge.Addr(), "/?type=precert")
	grow(t, f, 300, 3)
	want := f.expect(t)
	for _, c := range append(inClients, edgeClients...) {
		await.True(t, 60*time.Second, c.name+" to receive every entry", func() bool { return c.count() >= want.total },
			diagnose(t, in, want, append(inClients, edgeClients...)...))
	}
	time.Sleep(300 * time.Millisecond) // anything extra would arrive now
	checkStream(t, "ingest ws lite", inClients[0].snapshot(), want.lite)
	for i, c := range edgeClients {
		if got, exp := c.snapshot(), inClients[i].snapshot(); !slices.Equal(got, exp) {
			t.Errorf("edge %s: %d messages differ from the ingest's %d", c.name, len(got), len(exp))
		}
		if got, exp := c.eventIDs(), inClients[i].eventIDs(); !slices.Equal(got, exp) {
			t.Errorf("edge %s: SSE ids %v differ from the ingest's %v", c.name, head(got), head(exp))
		}
	}
	var precerts []string
	for _, m := range inClients[0].snapshot() {
		if strings.Contains(m, `"update_type":"PrecertLogEntry"`) {
			precerts = append(precerts, m)
		}
	}
	if len(precerts) == 0 || len(precerts) == want.total {
		t.Fatalf("%d precertificates of %d: the filter test needs some of each type", len(precerts), want.total)
	}
	for _, c := range []*client{inPrecerts, edgePrecerts} {
		await.True(t, 30*time.Second, c.name+" to receive every precertificate", func() bool { return c.count() >= len(precerts) })
	}
	time.Sleep(300 * time.Millisecond)
	for _, c := range []*client{inPrecerts, edgePrecerts} {
		if got := c.snapshot(); !slices.Equal(got, precerts) {
			t.Errorf("%s: %d messages, not the %d precertificates of the unfiltered stream", c.name, len(got), len(precerts))
		}
	}
	for _, c := range []*client{inClients[3], edgeClients[3]} {
		for i, m := range c.snapshot() {
			var seq struct{ Seq uint64 }
			if json.Unmarshal([]byte(m), &seq); seq.Seq != uint64(i+1) {
				t.Fatalf("%s message %d has seq %d, want the stream sequence %d", c.name, i, seq.Seq, i+1)
			}
		}
	}
	for _, c := range []*client{inClients[4], edgeClients[4]} {
		if ids := c.eventIDs(); len(ids) != want.total || ids[0] != "1" || ids[len(ids)-1] != strconv.Itoa(want.total) {
			t.Errorf("%s: SSE ids %v, want 1..%d (the stream sequence)", c.name, head(ids), want.total)
		}
	}
	st, _ := edge.clusterStatus()
	if st.Gap != 0 || st.Bad != 0 || st.Consumed != uint64(want.total) || !st.LinkUp {
		t.Errorf("edge consumer status %+v, want %d consumed, no gap", st, want.total)
	}
	es, is := statsCluster(t, edge), statsCluster(t, in)
	ec, _ := es["consumer"].(map[string]any)
	if es["role"] != "edge" || es["link"] != "up" || ec == nil || ec["consumed"] != float64(want.total) ||
		ec["last_seq"] != float64(want.total) || ec["gap_messages"] != 0.0 || ec["lag_messages"] != 0.0 {
		t.Errorf("edge /api/stats cluster: %v", es)
	}
	await.True(t, 10*time.Second, "the ingest's /api/stats to show every certificate acknowledged", func() bool {
		is = statsCluster(t, in)
		p, _ := is["publisher"].(map[string]any)
		return is["role"] == "ingest" && is["link"] == "up" && p != nil && p["published"] == float64(want.total) &&
			p["acknowledged"] == float64(want.total) && p["pending"] == 0.0
	})
	var h api.DeepHealth
	if r := get(t, base(edge)+"/health/deep"); r.status != 200 || json.Unmarshal(r.body, &h) != nil ||
		h.Status != api.StatusHealthy || h.Link != api.StatusHealthy {
		t.Errorf("edge /health/deep: %d %s", r.status, r.body)
	}
}

// An edge away for longer than the stream's retention resumes at the
// oldest retained certificate and counts exactly the ones it missed.
func TestEdgeCountsTheGapAfterRetention(t *testing.T) {
	f := newFakeLogs(t)
	f.holdNavigli(t)
	ingestCfg, edgeCfg := clusterConfigs(t, f)
	ingestCfg.Cluster.RetentionSecs, ingestCfg.Cluster.DuplicateWindowSecs = 1, 1
	in := startNode(t, ingestCfg, Options{})
	defer shutdown(t, in)
	edgeDir := t.TempDir()
	edge := startNode(t, edgeCfg(in, edgeDir), Options{})
	await.True(t, 20*time.Second, "the edge to read the stream", func() bool { st, _ := edge.clusterStatus(); return st.Reading })
	streamLast := func() (first, last uint64) {
		first, last, err := in.Link.FirstSeq(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return first, last
	}
	appendAll := func(n int) {
		for _, l := range f.logs {
			if err := l.Append(n); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendAll(10)
	await.True(t, 30*time.Second, "the edge to consume the first entries", func() bool {
		st, _ := edge.clusterStatus()
		_, last := streamLast()
		return last >= 30 && st.LastSeq == last
	})
	_, before := streamLast()
	shutdown(t, edge)

	appendAll(10)
	await.True(t, 30*time.Second, "the stream to store and then expire the entries published while the edge is away", func() bool {
		first, last := streamLast()
		return last >= before+30 && first > last
	})
	_, away := streamLast()
	edge = startNode(t, edgeCfg(in, edgeDir), Options{})
	defer shutdown(t, edge)
	await.True(t, 20*time.Second, "the edge to read again", func() bool { st, _ := edge.clusterStatus(); return st.Reading })
	appendAll(5)
	await.True(t, 30*time.Second, "the edge to consume the new entries", func() bool {
		st, _ := edge.clusterStatus()
		_, last := streamLast()
		return last >= away+15 && st.LastSeq == last
	})
	st, _ := edge.clusterStatus()
	if st.Gap != away-before {
		t.Errorf("gap counted %d, want %d (sequences %d..%d expired while the edge was away)", st.Gap, away-before, before+1, away)
	}
}

// head is the first few of ids, for an error message.
func head(ids []string) []string { return ids[:min(len(ids), 5)] }

// An ingest whose embedded server takes clients over TLS, with no
// nats.urls, reaches its own server in process: its clients get every
// certificate, though its server's certificate names the host, not the
// address it listens on.
func TestIngestReachesItsTLSServer(t *testing.T) {
	f := newFakeLogs(t)
	f.holdNavigli(t)
	cfg, _ := clusterConfigs(t, f)
	ca := fixtures.NewCA(t)
	cfg.Cluster.NATS.TLSCert, cfg.Cluster.NATS.TLSKey = ca.Issue(t, "nats.example.internal")
	cfg.Cluster.NATS.TLSCA = ca.CertFile
	cfg.Cluster.NATS.User, cfg.Cluster.NATS.Password = "ingest", "secret"
	in := startNode(t, cfg, Options{})
	defer shutdown(t, in)
	awaitReading(t, in)
	lite := dialWS(t, in.Addr(), "/")
	grow(t, f, 50, 2)
	want := f.expect(t)
	awaitAll(t, in, want, lite)
	checkStream(t, "ingest ws lite over its TLS server", lite.snapshot(), want.lite)
}
