package wsframe

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
)

func TestAppendHeaderLengths(t *testing.T) {
	tests := []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x81, 0}},
		{1, []byte{0x81, 1}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{127, []byte{0x81, 126, 0, 127}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{1 << 33, []byte{0x81, 127, 0, 0, 0, 2, 0, 0, 0, 0}},
		{-5, []byte{0x81, 0}},
	}
	for _, tc := range tests {
		got := AppendHeader([]byte("x"), OpText, tc.n)
		if !bytes.Equal(got[1:], tc.want) || got[0] != 'x' {
			t.Errorf("AppendHeader(%d) = % x, want x + % x", tc.n, got, tc.want)
		}
		if len(got)-1 > MaxHeaderLen {
			t.Errorf("header for %d longer than MaxHeaderLen", tc.n)
		}
	}
}

func TestControlFramesExactBytes(t *testing.T) {
	long := bytes.Repeat([]byte("p"), 200)
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"close", AppendClose(nil, CloseTooBig, "big"), []byte{0x88, 5, 0x03, 0xf1, 'b', 'i', 'g'}},
		{"close no reason", AppendClose(nil, CloseNormal, ""), []byte{0x88, 2, 0x03, 0xe8}},
		{"ping empty", AppendPing(nil, nil), []byte{0x89, 0}},
		{"ping", AppendPing(nil, []byte("hi")), []byte{0x89, 2, 'h', 'i'}},
		{"pong", AppendPong(nil, []byte("hi")), []byte{0x8a, 2, 'h', 'i'}},
		{"pong cut", AppendPong(nil, long), append([]byte{0x8a, 125}, long[:125]...)},
	}
	for _, tc := range tests {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: got % x, want % x", tc.name, tc.got, tc.want)
		}
	}
}

func TestCloseReasonTruncatedOnRuneBoundary(t *testing.T) {
	reason := strings.Repeat("é", 100) // 200 bytes, 2 per rune
	f := AppendClose(nil, ClosePolicyViolation, reason)
	if f[1] > MaxControlPayload {
		t.Fatalf("payload length %d > 125", f[1])
	}
	text := f[4:]
	if len(text) != 122 || !utf8.Valid(text) {
		t.Fatalf("reason %d bytes, valid UTF-8 %v; want 122 valid bytes", len(text), utf8.Valid(text))
	}
	ascii := AppendClose(nil, ClosePolicyViolation, strings.Repeat("a", 300))
	if got := len(ascii) - 4; got != 123 {
		t.Fatalf("ASCII reason cut to %d bytes, want 123", got)
	}
}

// TestFramesParsedByWebSocketClient writes frames built here to a real
// WebSocket client (github.com/fasthttp/websocket) over net.Pipe and checks
// what it reads back.
func TestFramesParsedByWebSocketClient(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
	var stream []byte
	for _, n := range sizes {
		stream = AppendText(stream, payloadOf(n))
	}
	stream = AppendPing(stream, []byte("ping-data"))
	stream = AppendPong(stream, []byte("pong-data"))
	stream = AppendText(stream, []byte("after control"))
	stream = AppendClose(stream, ClosePolicyViolation, "too slow: dropped 7 of 9")

	client := clientOver(t, stream)
	var pings, pongs []string
	client.SetPingHandler(func(s string) error { pings = append(pings, s); return nil })
	client.SetPongHandler(func(s string) error { pongs = append(pongs, s); return nil })
	client.SetCloseHandler(func(int, string) error { return nil })

	for _, n := range sizes {
		typ, p, err := client.ReadMessage()
		if err != nil {
			t.Fatalf("reading %d-byte message: %v", n, err)
		}
		if typ != websocket.TextMessage || !bytes.Equal(p, payloadOf(n)) {
			t.Fatalf("message of %d bytes: type %d, got %d bytes", n, typ, len(p))
		}
	}
	typ, p, err := client.ReadMessage()
	if err != nil || typ != websocket.TextMessage || string(p) != "after control" {
		t.Fatalf("after control frames: %d %q %v", typ, p, err)
	}
	if len(pings) != 1 || pings[0] != "ping-data" || len(pongs) != 1 || pongs[0] != "pong-data" {
		t.Fatalf("pings %q pongs %q", pings, pongs)
	}
	_, _, err = client.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != int(ClosePolicyViolation) || ce.Text != "too slow: dropped 7 of 9" {
		t.Fatalf("close: %v", err)
	}
}

func payloadOf(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return p
}

// clientOver returns a WebSocket client connected through net.Pipe to a
// minimal server that completes the handshake and then writes stream.
func clientOver(t *testing.T, stream []byte) *websocket.Conn {
	t.Helper()
	cli, srv := net.Pipe()
	t.Cleanup(func() { cli.Close(); srv.Close() })
	_ = srv.SetDeadline(time.Now().Add(10 * time.Second))
	_ = cli.SetDeadline(time.Now().Add(10 * time.Second))
	errc := make(chan error, 1)
	go func() { errc <- serveHandshake(srv, stream) }()
	u, _ := url.Parse("ws://pipe/")
	c, _, err := websocket.NewClient(cli, u, nil, 512, 512)
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	t.Cleanup(func() {
		if err := <-errc; err != nil {
			t.Errorf("server side: %v", err)
		}
	})
	return c
}

func serveHandshake(c net.Conn, stream []byte) error {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return err
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	resp := fmt.Sprintf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
	if _, err := c.Write([]byte(resp)); err != nil {
		return err
	}
	_, err = c.Write(stream)
	return err
}

func BenchmarkAppendText(b *testing.B) {
	payload := payloadOf(1500)
	dst := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendText(dst[:0], payload)
	}
}
