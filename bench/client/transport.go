package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
)

// errSessionOver ends a reconnecting client's session whose time is up.
var errSessionOver = errors.New("session over: reconnecting")

// runWebSocket connects and counts messages until the connection ends or
// ctx is done; then it sends a normal close frame. With Reconnect it
// closes each session after that long and resumes after the last
// sequence number it received.
func (c *Client) runWebSocket(ctx context.Context) error {
	if c.cfg.Reconnect <= 0 {
		return c.session(ctx, c.cfg.URL)
	}
	for {
		u, err := resumeURL(c.cfg.URL, c.lastSeq.Load())
		if err != nil {
			return err
		}
		sctx, cancel := context.WithTimeoutCause(ctx, c.cfg.Reconnect, errSessionOver)
		err = c.session(sctx, u)
		over := context.Cause(sctx) == errSessionOver
		cancel()
		if !over || ctx.Err() != nil {
			return err
		}
	}
}

// resumeURL adds seq=1 and, after the first message, since=last to u.
func resumeURL(u string, last int64) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	q := p.Query()
	q.Set("seq", "1")
	if last > 0 {
		q.Set("since", strconv.FormatInt(last, 10))
	}
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// session is one WebSocket connection to u, read until it ends or ctx is
// done.
func (c *Client) session(ctx context.Context, u string) error {
	// A big read buffer for streams that carry a lot (fewer read calls),
	// a small one otherwise: the harness may run ten thousand clients.
	nd := &net.Dialer{Timeout: c.cfg.DialTimeout}
	d := websocket.Dialer{ReadBufferSize: c.cfg.ReadBuffer, WriteBufferSize: 256, HandshakeTimeout: c.cfg.DialTimeout,
		EnableCompression: c.cfg.Compression,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: conn, n: &c.wire}, nil
		}}
	ws, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return err
	}
	defer ws.Close()
	c.sessions.Add(1)
	c.connected()
	stop := context.AfterFunc(ctx, func() {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = ws.NetConn().SetReadDeadline(time.Now())
	})
	defer stop()
	buf := make([]byte, 0, 512)
	for {
		_, r, err := ws.NextReader() // answers pings and close frames itself
		if err != nil {
			return err
		}
		if buf, err = readAll(r, buf[:0]); err != nil {
			return err
		}
		c.handle(ctx, buf)
	}
}

// countingConn adds the bytes read to n.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// readAll appends everything r holds to b, growing it as needed.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// sseTransport is shared by every SSE client; each stream holds its own
// connection.
var sseTransport = &http.Transport{
	Proxy:              nil,
	DisableCompression: true,
	DialContext:        (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
}

// runSSE requests the event stream and counts its data lines until the
// stream ends or ctx is done.
func (c *Client) runSSE(ctx context.Context) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, c.cfg.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	timer := time.AfterFunc(c.cfg.DialTimeout, cancel) // bounds waiting for the headers
	resp, err := sseTransport.RoundTrip(req)
	if !timer.Stop() && ctx.Err() == nil { // the wait for the headers timed out
		if err == nil {
			resp.Body.Close()
		}
		return context.DeadlineExceeded
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return errNotStreaming
	}
	c.connected()
	br := bufio.NewReaderSize(resp.Body, c.cfg.ReadBuffer)
	var long []byte
	for {
		line, err := readLine(br, &long)
		if err != nil {
			return err
		}
		switch {
		case bytes.HasPrefix(line, []byte("data:")):
			c.handle(ctx, bytes.TrimPrefix(line[5:], []byte(" ")))
		case len(line) > 0 && line[0] == ':':
			c.heartbeats.Add(1) // a comment keeps the stream alive
		}
	}
}

// readLine returns the next line without its end of line. The result is
// valid until the next call; lines longer than br's buffer go into *long.
func readLine(br *bufio.Reader, long *[]byte) ([]byte, error) {
	part, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append((*long)[:0], part...)
		for err == bufio.ErrBufferFull {
			part, err = br.ReadSlice('\n')
			buf = append(buf, part...)
		}
		*long, part = buf, buf
	}
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(part, "\r\n"), nil
}

// closeReason says why a connection that was reading ended, in a form that
// groups well, and extracts the drop counts a server put in a close reason.
func closeReason(err error) (reason string, dropped, pushed int64) {
	dropped, pushed = -1, -1
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		short, _, _ := strings.Cut(ce.Text, ":")
		dropped, pushed = parseDropped(ce.Text)
		return strings.TrimSpace(fmt.Sprintf("close %d %s", ce.Code, short)), dropped, pushed
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "eof without close frame", dropped, pushed
	}
	return describe(err), dropped, pushed
}

// describe names an error by its kind rather than its addresses, so that
// many clients' errors group.
func describe(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "no error"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no free local port"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, websocket.ErrBadHandshake):
		return "bad handshake"
	}
	return err.Error()
}

// parseDropped finds "dropped D of P" in a close reason.
func parseDropped(text string) (dropped, pushed int64) {
	_, rest, ok := strings.Cut(text, "dropped ")
	if !ok {
		return -1, -1
	}
	d, rest, ok1 := strings.Cut(rest, " of ")
	p, _, _ := strings.Cut(rest, " ")
	dn, err1 := strconv.ParseInt(d, 10, 64)
	pn, err2 := strconv.ParseInt(p, 10, 64)
	if !ok1 || err1 != nil || err2 != nil {
		return -1, -1
	}
	return dn, pn
}
