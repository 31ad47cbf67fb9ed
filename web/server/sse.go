package server

import (
	"fmt"
	"io"
	"net"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/conn"
	"github.com/certstream/certstream/internal/wire"
)

// sseHeader starts an event stream; the body runs until the connection
// closes. It is the preamble of every SSE socket (read only, shared).
var sseHeader = []byte("HTTP/1.1 200 OK\r\n" +
	"Content-Type: text/event-stream\r\n" +
	"Cache-Control: no-cache\r\n" +
	"Connection: keep-alive\r\n" +
	"X-Accel-Buffering: no\r\n" +
	"Access-Control-Allow-Origin: *\r\n" +
	"\r\n")

// sseStreams maps the values of /sse?stream= to streams ("" is lite).
var sseStreams = map[string]wire.Stream{
	"": wire.StreamLite, "lite": wire.StreamLite, "full": wire.StreamFull,
	"domains": wire.StreamDomains, "domains-only": wire.StreamDomains,
}

// serveSSE hijacks /sse requests. The connection actor writes the raw
// event-stream response as its socket's preamble, then the events; a client
// that cannot be subscribed gets a 503 instead.
func (s *Server) serveSSE(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() {
		Error(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
		return
	}
	name := string(ctx.QueryArgs().Peek("stream"))
	stream, ok := sseStreams[name]
	if !ok {
		Error(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("unknown stream %q", name))
		return
	}
	if !s.cfg.Streams[stream] {
		Error(ctx, fasthttp.StatusNotFound, "not found")
		return
	}
	o, ok := s.parseOptions(ctx)
	if !ok {
		return
	}
	remote := ctx.RemoteAddr().String() // ctx must not be used once hijacked
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer s.filters.Release(o.filter)
		raw := rawConn(c)
		if err := s.session(conn.NewSocket(raw, sseHeader), wire.SSE, stream, remote, &o, func() { discard(c) }); err != nil {
			reject(raw, err)
		}
	})
}

// discard reads and drops what an SSE client sends until it leaves or the
// actor expires the read deadline.
func discard(r io.Reader) {
	buf := make([]byte, 128)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
	}
}
