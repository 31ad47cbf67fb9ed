package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/ctdecode"
	"github.com/certstream/certstream/internal/fakelog"
	"github.com/certstream/certstream/internal/fixtures"
	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/wire"
)

// fakeLogs is a fake CT server with two RFC 6962 logs, one generated tiled
// log and the real navigli tiled fixture.
type fakeLogs struct {
	srv     *fakelog.Server
	logs    []*fakelog.Log
	navigli *fakelog.StaticDir
}

func newFakeLogs(t *testing.T) *fakeLogs {
	t.Helper()
	srv, err := fakelog.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	f := &fakeLogs{srv: srv}
	for _, c := range []fakelog.LogConfig{
		{Name: "alpha", Kind: fakelog.RFC6962, PrecertFraction: 0.3},
		{Name: "beta", Kind: fakelog.RFC6962, PrecertFraction: 0.5},
		{Name: "gamma", Kind: fakelog.StaticCT, PrecertFraction: 0.5},
	} {
		l, err := srv.AddLog(c)
		if err != nil {
			t.Fatal(err)
		}
		f.logs = append(f.logs, l)
	}
	nc, err := fakelog.NavigliConfig(fixtures.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	if f.navigli, err = srv.ServeStaticDir(nc); err != nil {
		t.Fatal(err)
	}
	return f
}

// holdNavigli makes navigli, which holds 778 entries from the start, answer
// 503 until grow: the node then cannot route them before the test's clients,
// dialed one by one after it started, are all subscribed.
func (f *fakeLogs) holdNavigli(t *testing.T) {
	t.Helper()
	if err := f.navigli.UpdateFaults(func(fl *fakelog.Faults) { fl.Down = true }); err != nil {
		t.Fatal(err)
	}
}

// config returns a node configuration following exactly the fake logs,
// starting at index 0, on a random port, with state in dir.
func (f *fakeLogs) config(t *testing.T, dir string) *config.Config {
	cfg := config.Default()
	cfg.Server.Host, cfg.Server.Port = "127.0.0.1", 1
	cfg.CTLog.FollowLogList = false
	cfg.CTLog.StateFile = filepath.Join(dir, "state.json")
	cfg.CTLog.StartOverlap = 1_000_000
	cfg.CTLog.PollIntervalMS = 100
	cfg.CTLog.RetryInitialMS = 20
	cfg.CTLog.RetryMaxMS = 200
	cfg.CTLog.BatchSize = 64
	cfg.CTLog.OperatorRequestsPerSec = 100000
	for _, l := range f.logs {
		kind := config.KindRFC6962
		if l.Kind() == fakelog.StaticCT {
			kind = config.KindStaticCT
		}
		cfg.CTLog.CustomLogs = append(cfg.CTLog.CustomLogs, config.CustomLog{
			Name: l.Description(), URL: l.URL(), Kind: kind, Key: l.PublicKeyBase64(), Operator: l.Operator()})
	}
	cfg.CTLog.CustomLogs = append(cfg.CTLog.CustomLogs, config.CustomLog{
		Name: f.navigli.Description(), URL: f.navigli.URL(), Kind: config.KindStaticCT,
		Key: f.navigli.PublicKeyBase64(), Operator: "navigli"})
	cfg.Clients.HeartbeatSecs = 2
	// Test clients share two cores with the node, the fake logs and other
	// tests; a deep mailbox keeps a starved client from dropping, so these
	// tests check the pipeline, not the machine. The slow-client test sets
	// its own.
	cfg.Clients.MailboxCapacity = 16384
	return &cfg
}

// startNode starts a node on a loopback listener.
func startNode(t *testing.T, cfg *config.Config, opts Options) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Listener = ln
	n, err := Start(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// expected computes, for every entry the fake logs hold, the message each
// stream must carry (with "seen" normalized), keyed by log URL and index.
type expected struct {
	full, lite map[string]map[uint64]string
	domains    map[string]int // multiset of domains-only messages
	garbage    map[string]int // garbage leaves per log URL
	total      int
}

var seenRE = regexp.MustCompile(`"seen":[0-9.e+-]+`)

func normalize(msg string) string { return seenRE.ReplaceAllString(msg, `"seen":0.0`) }

func (f *fakeLogs) expect(t *testing.T) *expected {
	t.Helper()
	e := &expected{full: map[string]map[uint64]string{}, lite: map[string]map[uint64]string{},
		domains: map[string]int{}, garbage: map[string]int{}}
	chains := certfields.NewCache(16)
	add := func(url, name string, ent *wire.Entry, link string) {
		u := &wire.Update{Entry: *ent, Source: &wire.Source{Name: name, URL: url}, CertLink: link}
		if e.full[url] == nil {
			e.full[url], e.lite[url] = map[uint64]string{}, map[uint64]string{}
		}
		e.full[url][ent.Index] = normalize(string(wire.AppendFull(nil, u)))
		e.lite[url][ent.Index] = normalize(string(wire.AppendLite(nil, u)))
		e.domains[string(wire.AppendDomainsOnly(nil, u))]++
		e.total++
	}
	for _, l := range f.logs {
		for i := int64(0); i < l.Size(); i++ {
			entry, _ := l.Entry(i)
			if entry.Garbage {
				e.garbage[l.URL()]++
				continue
			}
			var ent *wire.Entry
			var link string
			var err error
			if l.Kind() == fakelog.RFC6962 {
				li, ed := l.RawEntry(i)
				ent, err = ctdecode.DecodeRFC6962(uint64(i), li, ed, chains)
				link = follow.EntryLink(l.URL(), uint64(i))
			} else {
				var tls []ctdecode.TileLeaf
				tls, err = ctdecode.ParseDataTile(l.TileLeaf(i), uint64(i), 1)
				if err == nil {
					var chain []*wire.Cert
					for _, der := range f.srv.CA().Chain() {
						c, _ := chains.Parse(der)
						chain = append(chain, c)
					}
					ent, err = ctdecode.EntryFromTileLeaf(tls[0], chain)
				}
				link = strings.TrimRight(l.URL(), "/") + "/" + ctdecode.DataTilePath(uint64(i)/256, 256)
			}
			if err != nil {
				t.Fatalf("%s entry %d: %v", l.Name(), i, err)
			}
			add(l.URL(), l.Description(), ent, link)
		}
	}
	// navigli: real data, issuers unknown (404) so no chain.
	dir := filepath.Join(fixtures.Dir(t), "static-ct", "navigli2025h2", "tile", "data")
	for i := int64(0); i < f.navigli.Size(); i += 256 {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%03d", i/256)))
		if err != nil {
			t.Fatal(err)
		}
		leaves, err := ctdecode.ParseDataTile(data, uint64(i), 256)
		if err != nil {
			t.Fatal(err)
		}
		for _, tl := range leaves[:min(256, f.navigli.Size()-i)] {
			ent, err := ctdecode.EntryFromTileLeaf(tl, nil)
			if err != nil {
				t.Fatal(err)
			}
			add(f.navigli.URL(), f.navigli.Description(), ent,
				strings.TrimRight(f.navigli.URL(), "/")+"/"+ctdecode.DataTilePath(uint64(i)/256, 256))
		}
	}
	return e
}

// client is a real streaming client that records every data message.
type client struct {
	name string
	mu   sync.Mutex
	msgs []string
	ids  []string // SSE event ids, in order
	err  error
	done chan struct{}
	conn *websocket.Conn
}

func (c *client) add(m string) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *client) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// eventIDs returns the SSE ids received so far.
func (c *client) eventIDs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ids...)
}

func (c *client) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.msgs...)
}

func isHeartbeat(m string) bool { return strings.HasPrefix(m, `{"message_type":"heartbeat"`) }

// dialWS connects a WebSocket client to path and records data messages.
func dialWS(t *testing.T, addr net.Addr, path string) *client {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr.String()+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c := &client{name: "ws" + path, done: make(chan struct{}), conn: ws}
	go c.readWS(0)
	t.Cleanup(func() { ws.Close() })
	return c
}

// readWS records the data messages of c's WebSocket until it fails, pausing
// delay after each message (a slow reader).
func (c *client) readWS(delay time.Duration) {
	defer close(c.done)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		if m := string(data); !isHeartbeat(m) {
			c.add(m)
		}
		time.Sleep(delay)
	}
}

// dialSSE connects an SSE client and records data events.
func dialSSE(t *testing.T, addr net.Addr, stream string) *client {
	t.Helper()
	resp, err := http.Get("http://" + addr.String() + "/sse?stream=" + stream)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("sse: status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c := &client{name: "sse-" + stream, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				c.mu.Lock()
				c.ids = append(c.ids, id)
				c.mu.Unlock()
			}
			if m, ok := strings.CutPrefix(sc.Text(), "data: "); ok && !isHeartbeat(m) {
				c.add(m)
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return c
}

// header is the part of a certificate_update that locates it.
type header struct {
	Data struct {
		CertIndex uint64 `json:"cert_index"`
		Source    struct {
			URL string `json:"url"`
		} `json:"source"`
	} `json:"data"`
}

// checkStream verifies that msgs hold every expected message exactly once,
// byte-identical but for "seen", in index order per log.
func checkStream(t *testing.T, name string, msgs []string, want map[string]map[uint64]string) {
	t.Helper()
	seen := map[string]map[uint64]bool{}
	last := map[string]int64{}
	for _, m := range msgs {
		var h header
		if err := json.Unmarshal([]byte(m), &h); err != nil {
			t.Fatalf("%s: not JSON: %v: %.200s", name, err, m)
		}
		url, idx := h.Data.Source.URL, h.Data.CertIndex
		exp, ok := want[url][idx]
		if !ok {
			t.Fatalf("%s: unexpected message for %s #%d", name, url, idx)
		}
		if seen[url] == nil {
			seen[url] = map[uint64]bool{}
			last[url] = -1
		}
		if seen[url][idx] {
			t.Fatalf("%s: duplicate %s #%d", name, url, idx)
		}
		seen[url][idx] = true
		if int64(idx) <= last[url] {
			t.Fatalf("%s: %s #%d after #%d: out of order", name, url, idx, last[url])
		}
		last[url] = int64(idx)
		if got := normalize(m); got != exp {
			t.Fatalf("%s: %s #%d differs from the encoder's bytes:\n got %.300s\nwant %.300s", name, url, idx, got, exp)
		}
	}
	for url, idxs := range want {
		if len(seen[url]) != len(idxs) {
			var missing []uint64
			for i := range idxs {
				if !seen[url][i] {
					missing = append(missing, i)
				}
			}
			sort.Slice(missing, func(a, b int) bool { return missing[a] < missing[b] })
			t.Fatalf("%s: %s: %d of %d messages missing, first %v", name, url, len(missing), len(idxs), missing[:min(10, len(missing))])
		}
	}
}

// checkDomains verifies the domains-only stream as a multiset.
func checkDomains(t *testing.T, name string, msgs []string, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, m := range msgs {
		got[m]++
	}
	for m, n := range want {
		if got[m] != n {
			t.Fatalf("%s: message %.120s: got %d, want %d", name, m, got[m], n)
		}
	}
	if len(msgs) != sumCounts(want) {
		t.Fatalf("%s: %d messages, want %d", name, len(msgs), sumCounts(want))
	}
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// shutdown stops a node with a bounded deadline.
func shutdown(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// diagnose logs each fetcher's status and each client's count.
func diagnose(t *testing.T, n *Node, want *expected, clients ...*client) func() {
	return func() {
		for _, f := range n.Fetchers.Fetchers() {
			st := f.Handle.Status()
			t.Logf("fetcher %s: %+v restarts=%d", f.ID, st, f.Budget.Restarts())
		}
		for _, c := range clients {
			t.Logf("client %s: %d messages, err %v", c.name, c.count(), c.readErr())
		}
		if want != nil {
			t.Logf("expected %d", want.total)
		}
	}
}
