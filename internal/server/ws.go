package server

import (
	"errors"
	"io"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/conn"
	"github.com/certstream/certstream/internal/wsframe"
	"github.com/certstream/certstream/messages"
)

// serveWebSocket upgrades requests for stream. The hijack handler runs for
// the connection's lifetime: it reads the client while the connection actor
// writes.
func (s *Server) serveWebSocket(stream messages.Stream) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		remote := ctx.RemoteAddr().String() // ctx must not be used once hijacked
		_ = s.upgrader.Upgrade(ctx, func(ws *websocket.Conn) {
			raw := rawConn(ws.NetConn())
			sock := conn.NewSocket(raw)
			rej := s.session(sock, messages.WebSocket, stream, remote, func() { readWebSocket(ws, sock, s.cfg.ReadLimit) })
			if rej != nil { // no actor was spawned: this goroutine may write
				_ = raw.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = raw.Write(wsframe.AppendClose(nil, rej.code, rej.reason))
			}
		})
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
