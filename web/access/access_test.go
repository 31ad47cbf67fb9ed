package access

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/await"
)

// testServer is a fasthttp server behind a Controller: /api and /health
// answer 200, /admin 200, /stream hijacks and holds the connection until
// the client closes it.
type testServer struct {
	addr string
	c    *Controller
}

func serve(t *testing.T, p Policy) *testServer {
	t.Helper()
	c := New(Routes{Health: []string{"/health"}, Metrics: "/metrics", Admin: []string{"/admin"},
		Streams: []string{"/stream"}}, p)
	h := func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/stream":
			ctx.Hijack(func(conn net.Conn) {
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
				_, _ = io.Copy(io.Discard, conn) // until the client leaves
			})
			ctx.HijackSetNoResponse(true)
		case "/api", "/health", "/metrics", "/admin":
			ctx.SetBodyString("ok")
		default:
			ctx.SetStatusCode(404)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: c.Middleware(h), ReadTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(Listen(ln)) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return &testServer{addr: ln.Addr().String(), c: c}
}

// get sends a GET with the given headers and returns the response.
func (s *testServer) get(t *testing.T, path string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+s.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func (s *testServer) status(t *testing.T, path string, headers ...string) int {
	t.Helper()
	return s.get(t, path, headers...).StatusCode
}

func TestTokens(t *testing.T) {
	s := serve(t, Policy{AuthEnabled: true, Tokens: []string{"s3cret-token", "other"}, PublicHealth: true, AdminToken: "admin-tok"})
	for _, tc := range []struct {
		path    string
		headers []string
		want    int
	}{
		{"/api", nil, 401},
		{"/api", []string{"Authorization", "Bearer s3cret-token"}, 200},
		{"/api", []string{"Authorization", "bearer other"}, 200},
		{"/api?token=s3cret-token", nil, 200},
		{"/api", []string{"Authorization", "Bearer wrong"}, 401},
		{"/api", []string{"Authorization", "Basic s3cret-token"}, 401},
		{"/api", []string{"Authorization", "Bearer"}, 401},
		{"/api", []string{"Authorization", "Bearer "}, 401},
		{"/api?token=", nil, 401},
		{"/api?token=S3CRET-TOKEN", nil, 401},
		// a header that fails is not rescued by a good query token
		{"/api?token=s3cret-token", []string{"Authorization", "Bearer wrong"}, 401},
		{"/health", nil, 200},
		{"/metrics", nil, 401}, // PublicMetrics is false
		{"/nowhere", nil, 401}, // unknown paths are not a way around auth
		{"/admin", nil, 401},
		{"/admin", []string{"Authorization", "Bearer s3cret-token"}, 401}, // a client token is not the admin's
		{"/admin?token=admin-tok", nil, 200},
		{"/api?token=admin-tok", nil, 401}, // nor the other way round
	} {
		resp := s.get(t, tc.path, tc.headers...)
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s %v: %d, want %d", tc.path, tc.headers, resp.StatusCode, tc.want)
		}
		if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s: 401 without WWW-Authenticate", tc.path)
		}
	}
}

// TestNearMissTokensRejected: tokens that share a prefix of every length
// with a real one, or extend it, are all refused; the comparison does not
// stop at the first difference (it hashes both sides to the same length).
func TestNearMissTokensRejected(t *testing.T) {
	const real = "0123456789abcdef0123456789abcdef"
	want := []string{real, "another-token"}
	if !tokenMatches(real, want) {
		t.Fatal("the real token was refused")
	}
	for i := 0; i < len(real); i++ {
		for _, guess := range []string{real[:i], real[:i] + "X" + real[i+1:], real + real[:i+1]} {
			if tokenMatches(guess, want) {
				t.Fatalf("near-miss %q accepted", guess)
			}
		}
	}
	if tokenMatches("", []string{""}) || tokenMatches("x", nil) {
		t.Fatal("empty token or empty list matched")
	}
}

func TestAdminClosedWithoutToken(t *testing.T) {
	s := serve(t, Policy{})
	if got := s.status(t, "/admin?token="); got != 404 {
		t.Fatalf("admin without a token configured: %d, want 404", got)
	}
	if got := s.status(t, "/api"); got != 200 {
		t.Fatalf("auth disabled: %d, want 200", got)
	}
}

func TestRateLimitRetryAfter(t *testing.T) {
	s := serve(t, Policy{RatePerSec: 0.5, Burst: 3})
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	s.c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	for i := range 3 {
		if got := s.status(t, "/api"); got != 200 {
			t.Fatalf("request %d within the burst: %d", i, got)
		}
	}
	resp := s.get(t, "/api")
	if resp.StatusCode != 429 {
		t.Fatalf("request over the burst: %d, want 429", resp.StatusCode)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra != 2 {
		t.Fatalf("Retry-After %q, want 2 (one token at 0.5/s)", resp.Header.Get("Retry-After"))
	}
	if got := s.status(t, "/stream"); got != 429 {
		t.Fatalf("a new stream over the rate: %d, want 429", got)
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if got := s.status(t, "/api"); got != 200 {
		t.Fatalf("after refill: %d, want 200", got)
	}
}

// openStream opens a raw streaming connection and returns it with its
// response status.
func openStream(t *testing.T, addr string, headers ...string) (net.Conn, int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET /stream HTTP/1.1\r\nHost: x\r\n"
	for i := 0; i+1 < len(headers); i += 2 {
		req += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, resp.StatusCode
}

func waitConns(t *testing.T, c *Controller, want int) {
	t.Helper()
	await.Value(t, 5*time.Second, fmt.Sprintf("%d connections", want), func() (int, bool) {
		n := c.connections()
		return n, n == want
	})
}

func TestPerIPConnectionLimitAndRelease(t *testing.T) {
	s := serve(t, Policy{MaxConnsPerIP: 2, MaxConns: 10})
	var open []net.Conn
	for i := range 2 {
		c, st := openStream(t, s.addr)
		if st != 200 {
			t.Fatalf("stream %d: %d", i, st)
		}
		open = append(open, c)
	}
	// A flood from the same IP beyond the limit is refused, every time.
	for i := range 5 {
		if _, st := openStream(t, s.addr); st != 429 {
			t.Fatalf("flood stream %d: %d, want 429", i, st)
		}
	}
	waitConns(t, s.c, 2)
	if got := s.status(t, "/api"); got != 200 {
		t.Fatalf("API calls are not connection-limited: %d", got)
	}
	open[0].Close()
	waitConns(t, s.c, 1)
	if _, st := openStream(t, s.addr); st != 200 {
		t.Fatalf("after a client left: %d, want 200", st)
	}
}

func TestTotalConnectionLimit(t *testing.T) {
	s := serve(t, Policy{MaxConns: 1, MaxConnsPerIP: 1, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	if _, st := openStream(t, s.addr, "X-Forwarded-For", "192.0.2.1"); st != 200 {
		t.Fatalf("first: %d", st)
	}
	if _, st := openStream(t, s.addr, "X-Forwarded-For", "192.0.2.2"); st != 429 {
		t.Fatalf("over the total from another client: %d, want 429", st)
	}
}

// TestSpoofedForwardedForIgnored: an untrusted peer cannot pick the address
// it is accounted to; a trusted proxy can.
func TestSpoofedForwardedForIgnored(t *testing.T) {
	untrusted := serve(t, Policy{MaxConnsPerIP: 1})
	if _, st := openStream(t, untrusted.addr, "X-Forwarded-For", "198.51.100.1"); st != 200 {
		t.Fatalf("first: %d", st)
	}
	if _, st := openStream(t, untrusted.addr, "X-Forwarded-For", "198.51.100.2"); st != 429 {
		t.Fatalf("a spoofed X-Forwarded-For from an untrusted peer escaped the per-IP limit: %d", st)
	}

	trusted := serve(t, Policy{MaxConnsPerIP: 1, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for i, xff := range []string{"198.51.100.1", "198.51.100.2"} {
		if _, st := openStream(t, trusted.addr, "X-Forwarded-For", xff); st != 200 {
			t.Fatalf("client %d behind a trusted proxy: %d", i, st)
		}
	}
	if _, st := openStream(t, trusted.addr, "X-Forwarded-For", "203.0.113.9, 198.51.100.1"); st != 429 {
		t.Fatalf("the rightmost untrusted hop must be the client: %d", st)
	}
}

func TestForwardedClient(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	peer := netip.MustParseAddr("10.0.0.1")
	for _, tc := range []struct {
		headers []string
		want    string
	}{
		{nil, "10.0.0.1"},
		{[]string{"198.51.100.7"}, "198.51.100.7"},
		{[]string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{[]string{"198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{[]string{"1.1.1.1", "198.51.100.7,10.9.9.9"}, "198.51.100.7"},
		{[]string{"garbage, 198.51.100.7"}, "198.51.100.7"},
		{[]string{"198.51.100.7, garbage"}, "10.0.0.1"},
		{[]string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1"},
		{[]string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{[]string{"2001:db8::1"}, "2001:db8::1"},
	} {
		var hs [][]byte
		for _, h := range tc.headers {
			hs = append(hs, []byte(h))
		}
		if got := forwardedClient(peer, hs, trusted); got.String() != tc.want {
			t.Errorf("%q: %s, want %s", tc.headers, got, tc.want)
		}
	}
}

func TestCORS(t *testing.T) {
	s := serve(t, Policy{AuthEnabled: true, Tokens: []string{"t"}})
	req, _ := http.NewRequest("OPTIONS", "http://"+s.addr+"/api", nil)
	req.Header.Set("Origin", "https://example.org")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	got := s.get(t, "/api?token=t", "Origin", "https://example.org")
	if got.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("GET without Access-Control-Allow-Origin: %v", got.Header)
	}
}

func TestSetPolicyLive(t *testing.T) {
	s := serve(t, Policy{AuthEnabled: true, Tokens: []string{"old"}, MaxConnsPerIP: 1})
	c1, st := openStream(t, s.addr, "Authorization", "Bearer old")
	if st != 200 {
		t.Fatalf("stream: %d", st)
	}
	s.c.SetPolicy(Policy{AuthEnabled: true, Tokens: []string{"new"}, MaxConnsPerIP: 2})
	if got := s.status(t, "/api?token=old"); got != 401 {
		t.Fatalf("old token after reload: %d", got)
	}
	if got := s.status(t, "/api?token=new"); got != 200 {
		t.Fatalf("new token after reload: %d", got)
	}
	if _, st := openStream(t, s.addr, "Authorization", "Bearer new"); st != 200 {
		t.Fatalf("a second stream under the raised limit: %d", st)
	}
	waitConns(t, s.c, 2) // counts carried over the policy change
	c1.Close()
	waitConns(t, s.c, 1)
}

func TestRefusalsAreJSON(t *testing.T) {
	s := serve(t, Policy{AuthEnabled: true, Tokens: []string{"t"}})
	resp, err := http.Get("http://" + s.addr + "/api")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error == "" ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("401 body: %v %+v %q", err, body, resp.Header.Get("Content-Type"))
	}
}

func TestBucketsBounded(t *testing.T) {
	b := newBuckets(100)
	now := time.Unix(0, 0)
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if ok, _ := b.allow(ip, 1, 2, now); !ok {
			t.Fatalf("a new IP was refused")
		}
	}
	if b.size() > 100 {
		t.Fatalf("%d buckets held, limit 100", b.size())
	}
	ip := netip.MustParseAddr("192.0.2.1")
	b.allow(ip, 1, 1, now)
	if ok, wait := b.allow(ip, 1, 1, now); ok || wait != time.Second {
		t.Fatalf("empty bucket: ok=%v wait=%v", ok, wait)
	}
}

func TestPolicyFrom(t *testing.T) {
	cfg := config.Default()
	p := PolicyFrom(&cfg)
	if p.AuthEnabled || p.RatePerSec != 0 || p.MaxConns != 0 || p.MaxConnsPerIP != 0 || p.AdminToken != "" {
		t.Fatalf("defaults impose something: %+v", p)
	}
	cfg.Auth.Enabled, cfg.Auth.Tokens = true, []string{"a"}
	cfg.RateLimit.Enabled = true
	cfg.ConnectionLimit.Enabled = true
	cfg.Admin.Enabled, cfg.Admin.Token = true, "adm"
	cfg.Server.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.1"}
	p = PolicyFrom(&cfg)
	if !p.AuthEnabled || p.Tokens[0] != "a" || p.RatePerSec != cfg.RateLimit.PerIPPerSec || p.Burst != cfg.RateLimit.Burst ||
		p.MaxConns != cfg.ConnectionLimit.MaxConnections || p.MaxConnsPerIP != cfg.ConnectionLimit.PerIP ||
		p.AdminToken != "adm" || len(p.TrustedProxies) != 2 {
		t.Fatalf("enabled sections not carried over: %+v", p)
	}
}
