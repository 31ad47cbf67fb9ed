package server

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/conn"
	"github.com/certstream/certstream/messages"
)

// sseHeader starts an event stream; the body runs until the connection
// closes.
const sseHeader = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: text/event-stream\r\n" +
	"Cache-Control: no-cache\r\n" +
	"Connection: keep-alive\r\n" +
	"X-Accel-Buffering: no\r\n" +
	"Access-Control-Allow-Origin: *\r\n" +
	"\r\n"

// sseStreams maps the values of /sse?stream= to streams ("" is lite).
var sseStreams = map[string]messages.Stream{
	"": messages.StreamLite, "lite": messages.StreamLite, "full": messages.StreamFull,
	"domains": messages.StreamDomains, "domains-only": messages.StreamDomains,
}

// serveSSE hijacks /sse requests and writes a raw event-stream response;
// events then come from the connection actor.
func (s *Server) serveSSE(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() {
		jsonError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
		return
	}
	name := string(ctx.QueryArgs().Peek("stream"))
	stream, ok := sseStreams[name]
	if !ok {
		jsonError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("unknown stream %q", name))
		return
	}
	if !s.cfg.Streams[stream] {
		jsonError(ctx, fasthttp.StatusNotFound, "not found")
		return
	}
	remote := ctx.RemoteAddr().String() // ctx must not be used once hijacked
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		raw := rawConn(c)
		_ = raw.SetWriteDeadline(time.Now().Add(s.cfg.Client.WriteTimeout))
		if _, err := io.WriteString(raw, sseHeader); err != nil {
			return
		}
		// Written before the actor exists, so no write races it; a client
		// that cannot be subscribed sees its stream end at once.
		sock := conn.NewSocket(raw)
		s.session(sock, messages.SSE, stream, remote, func() { discard(c) })
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
