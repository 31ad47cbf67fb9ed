package node

import (
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/fixtures"
)

// dialStatus opens a WebSocket to path and returns the handshake status
// (101 on success) and the connection, if any.
func dialStatus(t *testing.T, d *websocket.Dialer, url string, h http.Header) (int, *websocket.Conn) {
	t.Helper()
	ws, resp, err := d.Dial(url, h)
	if err == nil {
		t.Cleanup(func() { ws.Close() })
		return resp.StatusCode, ws
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	return resp.StatusCode, nil
}

// TestAccessControl runs a node with auth, a per-IP connection limit and
// public health, and throws hostile requests at it: none gets through or
// brings it down, and real clients keep streaming.
func TestAccessControl(t *testing.T) {
	f := newFakeLogs(t)
	cfg := f.config(t, t.TempDir())
	cfg.Auth.Enabled, cfg.Auth.Tokens = true, []string{"tok-1", "tok-2"}
	cfg.Auth.PublicHealth, cfg.Auth.PublicMetrics = true, false
	cfg.ConnectionLimit.Enabled, cfg.ConnectionLimit.PerIP, cfg.ConnectionLimit.MaxConnections = true, 2, 100
	n := startNode(t, cfg, Options{})
	defer shutdown(t, n)
	b, ws := base(n), "ws://"+n.Addr().String()

	for _, tc := range []struct {
		path    string
		headers []string
		want    int
	}{
		{"/health", nil, 200},
		{"/health/deep", nil, 200},
		{"/metrics", nil, 401},
		{"/metrics?token=tok-2", nil, 200},
		{"/api/stats", nil, 401},
		{"/api/stats", []string{"Authorization", "Bearer tok-1"}, 200},
		{"/api/stats?token=tok-2", nil, 200},
		{"/api/stats", []string{"Authorization", "Bearer tok-3"}, 401},
		{"/api/stats", []string{"Authorization", "Bearer tok-"}, 401},
		{"/api/stats", []string{"Authorization", "Bearer tok-1x"}, 401},
		{"/api/stats", []string{"Authorization", "tok-1"}, 401},
		{"/api/logs?token=TOK-1", nil, 401},
		{"/example.json", nil, 401},
		{"/api/cert/" + strings.Repeat("0", 64), nil, 401},
		{"/sse?stream=lite", nil, 401},
		{"/admin/actors?token=tok-1", nil, 404}, // admin disabled
	} {
		if r := get(t, b+tc.path, tc.headers...); r.status != tc.want {
			t.Errorf("GET %s %v: %d, want %d: %s", tc.path, tc.headers, r.status, tc.want, r.body)
		}
	}

	if st, _ := dialStatus(t, websocket.DefaultDialer, ws+"/full-stream", nil); st != 401 {
		t.Fatalf("WebSocket without a token: %d", st)
	}
	if st, _ := dialStatus(t, websocket.DefaultDialer, ws+"/full-stream?token=nope", nil); st != 401 {
		t.Fatalf("WebSocket with a wrong token: %d", st)
	}
	c1 := dialWS(t, n.Addr(), "/full-stream?token=tok-1")
	if st, _ := dialStatus(t, websocket.DefaultDialer, ws+"/", http.Header{"Authorization": {"Bearer tok-2"}}); st != 101 {
		t.Fatalf("WebSocket with a bearer header: %d", st)
	}
	// A flood from the same IP beyond per_ip = 2, some with a spoofed
	// X-Forwarded-For (the peer is not a trusted proxy): all refused.
	for i := range 10 {
		h := http.Header{}
		if i%2 == 1 {
			h.Set("X-Forwarded-For", "198.51.100."+strconv.Itoa(i))
		}
		if st, _ := dialStatus(t, websocket.DefaultDialer, ws+"/?token=tok-1", h); st != 429 {
			t.Fatalf("connection %d beyond the per-IP limit: %d", i+3, st)
		}
	}
	if r := get(t, b+"/sse?stream=domains&token=tok-1"); r.status != 429 {
		t.Fatalf("an SSE client beyond the per-IP limit: %d", r.status)
	}

	// Junk, traversal and oversized requests.
	for _, path := range []string{"/nope?token=tok-1", "/api?token=tok-1", "/api/stats/extra?token=tok-1",
		"/static/../../etc/passwd?token=tok-1", "/%2e%2e/%2e%2e/etc/passwd?token=tok-1"} {
		r := get(t, b+path)
		if r.status != 404 || r.header.Get("Content-Type") != "application/json" || !strings.Contains(string(r.body), `"error"`) {
			t.Errorf("GET %s: %d %q %s", path, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	for _, raw := range []string{
		"GET /../../../etc/passwd?token=tok-1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /api/../../../../etc/passwd?token=tok-1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /..%2f..%2fetc%2fpasswd?token=tok-1 HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		if st := rawRequest(t, n.Addr().String(), raw); st != 404 {
			t.Errorf("%q: %d, want 404", raw, st)
		}
	}
	huge := "GET /health HTTP/1.1\r\nHost: x\r\nX-Junk: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"
	if st := rawRequest(t, n.Addr().String(), huge); st != 431 && st != 0 {
		t.Errorf("oversized headers: %d, want 431 or a closed connection", st)
	}
	if st := rawRequest(t, n.Addr().String(), "\x16\x03\x01garbage\r\n\r\n"); st != 400 && st != 0 {
		t.Errorf("garbage request: %d", st)
	}

	// A client frame over clients.max_message_bytes closes that client only
	// (1009). It is small enough to be written whole before the server closes.
	if err := c1.conn.WriteMessage(websocket.TextMessage, make([]byte, cfg.Clients.MaxMessageBytes+1000)); err != nil {
		t.Fatal(err)
	}
	<-c1.done
	if ce, ok := c1.readErr().(*websocket.CloseError); !ok || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized frame: %v, want close 1009", c1.readErr())
	}

	// Still serving: the closed client's slot is free again.
	await.True(t, 10*time.Second, "the closed client's slot to be released", func() bool {
		st, _ := dialStatus(t, websocket.DefaultDialer, ws+"/full-stream?token=tok-1", nil)
		return st == 101
	})
	if r := get(t, b+"/health"); r.status != 200 {
		t.Fatalf("health after the attacks: %d", r.status)
	}
}

// TestRateLimit: a burst of API calls from one IP beyond the bucket gets
// 429 with Retry-After, new connections too; the bucket refills.
func TestRateLimit(t *testing.T) {
	f := newFakeLogs(t)
	cfg := f.config(t, t.TempDir())
	cfg.RateLimit.Enabled, cfg.RateLimit.PerIPPerSec, cfg.RateLimit.Burst = true, 2, 4
	n := startNode(t, cfg, Options{})
	defer shutdown(t, n)
	ok, limited := 0, 0
	var retry string
	for range 10 {
		r := get(t, base(n)+"/api/stats")
		switch r.status {
		case 200:
			ok++
		case 429:
			limited++
			retry = r.header.Get("Retry-After")
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	if ok < 4 || limited == 0 {
		t.Fatalf("%d allowed, %d limited; want the burst (4) allowed, then refusals", ok, limited)
	}
	if s, err := strconv.Atoi(retry); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", retry)
	}
	if st, _ := dialStatus(t, websocket.DefaultDialer, "ws://"+n.Addr().String()+"/", nil); st != 429 {
		t.Fatalf("a new connection over the rate: %d", st)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := get(t, base(n)+"/api/stats"); r.status != 200 {
		t.Fatalf("after the refill: %d", r.status)
	}
}

// TestTLS serves the node over TLS with a self-signed certificate: the API,
// a wss client with entries, and the connection limit's release all work.
func TestTLS(t *testing.T) {
	f := newFakeLogs(t)
	cfg := f.config(t, t.TempDir())
	cfg.Server.TLSCert, cfg.Server.TLSKey = fixtures.SelfSignedTLS(t)
	cfg.ConnectionLimit.Enabled, cfg.ConnectionLimit.PerIP = true, 1
	n := startNode(t, cfg, Options{})
	defer shutdown(t, n)
	https := "https://" + n.Addr().String()
	if r := get(t, https+"/health"); r.status != 200 || string(r.body) != "OK" {
		t.Fatalf("https health: %d %s", r.status, r.body)
	}
	// Plain HTTP on the TLS port gets an error or a closed connection,
	// never the endpoint.
	if resp, err := http.Get("http://" + n.Addr().String() + "/health"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && string(body) == "OK" {
			t.Fatal("plain HTTP served on the TLS port")
		}
	}
	d := &websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, HandshakeTimeout: 5 * time.Second}
	wss := "wss://" + n.Addr().String() + "/full-stream"
	st, ws := dialStatus(t, d, wss, nil)
	if st != 101 {
		t.Fatalf("wss: %d", st)
	}
	if st, _ := dialStatus(t, d, wss, nil); st != 429 {
		t.Fatalf("second wss from the same IP with per_ip = 1: %d", st)
	}
	if err := f.logs[0].Append(3); err != nil {
		t.Fatal(err)
	}
	got := 0
	_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for got < 3 {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("wss read after %d messages: %v", got, err)
		}
		if !isHeartbeat(string(data)) {
			got++
		}
	}
	ws.Close()
	await.True(t, 10*time.Second, "the TLS client's slot to be released", func() bool {
		st, _ := dialStatus(t, d, wss, nil)
		return st == 101
	})
}
