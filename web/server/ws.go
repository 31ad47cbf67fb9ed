package server

import (
	"bytes"
	"errors"
	"io"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/conn"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/internal/wsframe"
)

// serveWebSocket upgrades requests for stream. The 101 response is held
// back and handed to the connection actor as its socket's preamble, so that a
// client that got it is subscribed, and one that cannot be gets a 503
// instead. The hijack handler runs for the connection's lifetime: it reads
// the client while the actor writes.
func (s *Server) serveWebSocket(stream wire.Stream) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		remote := ctx.RemoteAddr().String() // ctx must not be used once hijacked
		limit := s.clients.Load().readLimit
		o, ok := s.parseOptions(ctx)
		if !ok {
			return
		}
		var handshake []byte
		err := s.upgrader.Upgrade(ctx, func(ws *websocket.Conn) {
			defer s.filters.Release(o.filter)
			raw := rawConn(ws.NetConn())
			sock := conn.NewSocket(raw, handshake)
			handshake = nil // the socket holds it until written
			if err := s.session(sock, wire.WebSocket, stream, remote, &o, func() { readWebSocket(ws, sock, limit) }); err != nil {
				reject(raw, err)
			}
		})
		if err != nil {
			s.filters.Release(o.filter)
			return // the upgrader has answered with an error
		}
		handshake = bytes.Clone(ctx.Response.Header.Header())
		o.deflate = bytes.Contains(ctx.Response.Header.Peek("Sec-WebSocket-Extensions"), []byte("permessage-deflate"))
		ctx.HijackSetNoResponse(true)
	}
}

// readWebSocket reads the client until it leaves, closes, or the actor sets
// an expired read deadline. Control frames go to the actor (which alone
// writes); data messages are discarded, and one over limit makes the actor
// close with 1009. Reading goes on after that, so that the client's close
// reply is consumed within the actor's grace period.
func readWebSocket(ws *websocket.Conn, sock *conn.Socket, limit int64) {
	ws.SetPingHandler(func(data string) error { sock.PeerPing(data); return nil })
	ws.SetPongHandler(func(string) error { sock.Touch(); return nil })
	ws.SetCloseHandler(func(code int, _ string) error { sock.PeerClose(code); return nil })
	// No SetReadLimit: the library would write a close frame itself.
	tooBig := false
	for {
		_, r, err := ws.NextReader()
		if err != nil {
			return
		}
		sock.Touch()
		n, err := io.CopyN(io.Discard, r, limit+1)
		if n > limit && !tooBig {
			tooBig = true
			sock.Fail(wsframe.CloseTooBig, conn.ReasonTooBig)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return
		}
	}
}
