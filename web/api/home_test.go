package api

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/internal/wire"
)

// visit renders the page as a browser's GET to host would get it, over TLS
// when secure.
func visit(t *testing.T, cfg Config, host string, secure bool) string {
	t.Helper()
	m := mux{}
	Register(m, cfg, Sources{})
	var ctx fasthttp.RequestCtx
	if secure {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		ctx.Init2(tls.Client(a, &tls.Config{}), nil, false)
	}
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/")
	ctx.Request.Header.SetHost(host)
	m["page"](&ctx)
	if ctx.Response.StatusCode() != 200 || !strings.HasPrefix(string(ctx.Response.Header.ContentType()), "text/html") {
		t.Fatalf("GET /: %d %s", ctx.Response.StatusCode(), ctx.Response.Header.ContentType())
	}
	return string(ctx.Response.Body())
}

// The page lists the stream URLs of the listener the browser reached (its
// Host, ws or wss), only the enabled streams, and the enabled endpoints.
func TestHomePage(t *testing.T) {
	streams := [wire.NumStreams]bool{wire.StreamLite: true, wire.StreamDomains: true}
	page := visit(t, Config{API: true, Metrics: true, MetricsPath: "/m", Streams: streams}, "certs.example:8443", false)
	for _, want := range []string{"ws://certs.example:8443/", "ws://certs.example:8443/domains-only",
		"http://certs.example:8443/sse?stream=lite", "http://certs.example:8443/sse?stream=domains",
		`href="/api/stats"`, `href="/health/deep"`, `href="/example.json?stream=domains"`, `href="/m"`,
		`id="preview"`, "EventSource"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, absent := range []string{"full-stream", "stream=full", "wss://", `href="/admin"`} {
		if strings.Contains(page, absent) {
			t.Errorf("page shows %q", absent)
		}
	}

	page = visit(t, Config{Admin: true, Streams: [wire.NumStreams]bool{wire.StreamFull: true}}, "h", true)
	for _, want := range []string{"wss://h/full-stream", "https://h/sse?stream=full", `href="/admin"`} {
		if !strings.Contains(page, want) {
			t.Errorf("TLS page lacks %q", want)
		}
	}
	for _, absent := range []string{"ws://", "http://h", "/api/stats", "EventSource"} {
		if strings.Contains(page, absent) {
			t.Errorf("TLS page shows %q", absent)
		}
	}
}
