package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/fakelog"
)

// TestEdgeSurvivesSIGKILL runs an ingest node and an edge as processes,
// kills the edge with SIGKILL mid-stream while certificates keep coming,
// and starts it again on the same port: its client reconnects (resuming
// after the last number it got) and, across both runs, gets every
// certificate the stream holds — nothing lost; those the edge routed after
// its last periodic save come twice, and only those.
func TestEdgeSurvivesSIGKILL(t *testing.T) {
	srv, err := fakelog.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	log, err := srv.AddLog(fakelog.LogConfig{Name: "k", Kind: fakelog.RFC6962})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	natsPort, ingestPort, edgePort := freePort(t), freePort(t), freePort(t)
	ingestCfg := writeConfig(t, filepath.Join(dir, "ingest.toml"), fmt.Sprintf(`
[server]
host = "127.0.0.1"
port = %d

[ct_log]
follow_log_list = false
state_file = %q
start_overlap = 1000000
poll_interval_ms = 100
batch_size = 50

[[ct_log.custom_logs]]
name = "k"
url = %q
kind = "rfc6962"

[cluster]
role = "ingest"
consumer_state_file = %q

[cluster.nats]
listen = "127.0.0.1:%d"
store_dir = %q
`, ingestPort, filepath.Join(dir, "ingest-state.json"), log.URL(), filepath.Join(dir, "ingest-consumer.json"),
		natsPort, filepath.Join(dir, "nats")))
	edgeCfg := writeConfig(t, filepath.Join(dir, "edge.toml"), fmt.Sprintf(`
[server]
host = "127.0.0.1"
port = %d

[ct_log]
follow_log_list = false
state_file = %q

[cluster]
role = "edge"
consumer_state_file = %q

[cluster.nats]
urls = ["nats://127.0.0.1:%d"]
`, edgePort, filepath.Join(dir, "edge-state.json"), filepath.Join(dir, "edge-consumer.json"), natsPort))

	ingest := startProcess(t, ingestCfg)
	defer stopProcess(ingest)
	ingestStats := fmt.Sprintf("http://127.0.0.1:%d/api/stats", ingestPort)
	await.True(t, 30*time.Second, "the ingest to serve", func() bool { _, ok := clusterStats(ingestStats); return ok })
	edge := startProcess(t, edgeCfg)
	edgeURL := fmt.Sprintf("ws://127.0.0.1:%d/?seq=1", edgePort)
	c := &seqClient{}
	go c.follow(edgeURL, 90*time.Second)
	defer c.close()
	await.True(t, 30*time.Second, "the edge's client to be connected", c.connected)

	const rounds = 80 // 10 certificates every 50 ms: 800 in 4 s, the kill in the middle
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		for range rounds {
			log.Append(10)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	await.True(t, 30*time.Second, "the client to get 300 certificates (the edge has saved its position since)", func() bool { return c.max() >= 300 })
	edge.Process.Signal(syscall.SIGKILL)
	edge.Wait()
	// Frames already in the client's socket are still read after the kill:
	// the last number counts once the client has seen the connection end.
	await.True(t, 10*time.Second, "the client to see its connection end", func() bool { return !c.connected() })
	killedAt := c.max()
	time.Sleep(500 * time.Millisecond) // certificates go on while the edge is down
	edge = startProcess(t, edgeCfg)
	defer stopProcess(edge)
	<-appended

	total := uint64(log.Size())
	await.True(t, 30*time.Second, fmt.Sprintf("the ingest to consume all %d certificates from its stream", total), func() bool {
		s, ok := clusterStats(ingestStats)
		return ok && s.Consumer.LastSeq == total
	})
	await.True(t, 30*time.Second, fmt.Sprintf("the edge's client to get up to %d", total), func() bool { return c.max() == total },
		func() { t.Logf("client: max %d, %d sessions", c.max(), c.sessions()) })
	got := c.counts()
	var missing []uint64
	dups := 0
	for seq := uint64(1); seq <= total; seq++ {
		switch n := got[seq]; {
		case n == 0:
			missing = append(missing, seq)
		case n > 2 || n == 2 && seq > killedAt:
			t.Errorf("certificate %d reached the client %d times (killed at %d)", seq, n, killedAt)
		case n == 2:
			dups++
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d certificates never reached the client across the kill (first %v)", len(missing), total, missing[:min(len(missing), 10)])
	}
	if c.sessions() < 2 || killedAt >= total {
		t.Errorf("the kill did not happen mid-stream: %d sessions, killed at %d of %d", c.sessions(), killedAt, total)
	}
	t.Logf("killed at %d of %d; %d delivered again after the restart (routed after the edge's last save)", killedAt, total, dups)
}

// writeConfig writes a configuration file and returns its path.
func writeConfig(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startProcess starts the node binary with a configuration file.
func startProcess(t *testing.T, cfg string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binary, "--config", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// stopProcess stops a node gracefully and waits for it.
func stopProcess(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// nodeCluster is the cluster object of /api/stats.
type nodeCluster struct {
	Consumer struct {
		LastSeq uint64 `json:"last_seq"`
	} `json:"consumer"`
}

// clusterStats reads a node's /api/stats cluster object.
func clusterStats(url string) (nodeCluster, bool) {
	resp, err := http.Get(url)
	if err != nil {
		return nodeCluster{}, false
	}
	defer resp.Body.Close()
	var s struct {
		Cluster *nodeCluster `json:"cluster"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&s) != nil || s.Cluster == nil {
		return nodeCluster{}, false
	}
	return *s.Cluster, true
}

// seqClient is a WebSocket client of numbered messages that reconnects
// after its connection fails, resuming after the last number it got, and
// counts how often it got each number.
type seqClient struct {
	mu      sync.Mutex
	got     map[uint64]int
	top     uint64
	up      bool
	session int
	closed  bool
	conn    *websocket.Conn
}

// follow connects to url (with since= once it has a number) again and
// again until close or the deadline.
func (c *seqClient) follow(url string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		u := url
		if c.top > 0 {
			u = fmt.Sprintf("%s&since=%d", url, c.top)
		}
		c.mu.Unlock()
		ws, _, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c.mu.Lock()
		c.conn, c.up = ws, true
		c.session++
		c.mu.Unlock()
		c.read(ws)
		c.mu.Lock()
		c.up = false
		c.mu.Unlock()
	}
}

// read records the numbers of ws's messages until it fails.
func (c *seqClient) read(ws *websocket.Conn) {
	defer ws.Close()
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var m struct {
			MessageType string `json:"message_type"`
			Seq         uint64 `json:"seq"`
		}
		if json.Unmarshal(data, &m) != nil || m.MessageType != "certificate_update" || m.Seq == 0 {
			continue
		}
		c.mu.Lock()
		if c.got == nil {
			c.got = map[uint64]int{}
		}
		c.got[m.Seq]++
		c.top = max(c.top, m.Seq)
		c.mu.Unlock()
	}
}

func (c *seqClient) connected() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.up }
func (c *seqClient) max() uint64     { c.mu.Lock(); defer c.mu.Unlock(); return c.top }
func (c *seqClient) sessions() int   { c.mu.Lock(); defer c.mu.Unlock(); return c.session }

func (c *seqClient) counts() map[uint64]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[uint64]int, len(c.got))
	for k, v := range c.got {
		out[k] = v
	}
	return out
}

// close ends following.
func (c *seqClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn != nil {
		c.conn.Close()
	}
}
