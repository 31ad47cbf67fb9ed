package server

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/internal/wire"
)

// TestCompressedClientsReadEveryMessage: with compression on, clients of
// an independent WebSocket library that offer permessage-deflate read every
// message (with and without seq=1), and a client that does not offer it
// gets today's uncompressed frames.
func TestCompressedClientsReadEveryMessage(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet, Compression: true}, router.Config{MailboxCapacity: 512, Epoch: epoch})
	dial := func(path string, compress bool) (*websocket.Conn, http.Header) {
		c, resp, err := (&websocket.Dialer{EnableCompression: compress}).Dial("ws://"+v.addr+path, nil)
		if err != nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		t.Cleanup(func() { c.Close() })
		return c, resp.Header
	}
	lite, h1 := dial("/", true)
	full, h2 := dial("/full-stream?seq=1", true)
	plain, h3 := dial("/", false)
	for i, h := range []http.Header{h1, h2, h3} {
		ext := h.Get("Sec-WebSocket-Extensions")
		if negotiated := strings.Contains(ext, "permessage-deflate; server_no_context_takeover"); negotiated != (i < 2) {
			t.Fatalf("client %d: extensions %q", i, ext)
		}
	}
	v.waitSubs("3 subscribers", activeCount(3))
	sent := updates("deflate", 0, 50, 300)
	v.publish(sent...)
	expectMessages(t, lite, wire.StreamLite, sent, 0, false)
	expectMessages(t, full, wire.StreamFull, sent, 0, true)
	expectMessages(t, plain, wire.StreamLite, sent, 0, false)
}

// TestCompressedFramesOnTheWire reads the raw frames of a client that
// offered permessage-deflate: RSV1 set, fewer bytes, inflating to the
// message; and those of one that did not: today's exact frames.
func TestCompressedFramesOnTheWire(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet, Compression: true}, router.Config{MailboxCapacity: 512})
	compressed := rawDial(t, v.addr, "permessage-deflate; client_max_window_bits")
	plain := rawDial(t, v.addr, "")
	v.waitSubs("2 subscribers", activeCount(2))
	sent := updates("raw", 0, 5, 500)
	v.publish(sent...)
	for i, u := range sent {
		msg := message(wire.StreamLite, u)
		b0, payload := readFrame(t, compressed)
		if b0 != 0xC1 || len(payload) >= len(msg)/2 {
			t.Fatalf("compressed frame %d: first byte %#x, %d bytes for a %d-byte message", i, b0, len(payload), len(msg))
		}
		got, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(payload),
			bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("compressed frame %d inflates to %.60q %v", i, got, err)
		}
		want := wire.AppendFrame(nil, wire.WebSocket, msg)
		got = make([]byte, len(want))
		if _, err := io.ReadFull(plain, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("uncompressed frame %d differs: %v", i, err)
		}
	}
}

// rawDial opens a WebSocket on / by hand, offering ext when not empty, and
// returns the stream after the 101 response, which it checks.
func rawDial(t *testing.T, addr, ext string) *bufio.Reader {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if ext != "" {
		req += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Extensions"); (got != "") != (ext != "") {
		t.Fatalf("offered %q, answered %q", ext, got)
	}
	return br
}

// readFrame reads one unmasked server frame: its first byte and payload.
func readFrame(t *testing.T, br *bufio.Reader) (byte, []byte) {
	t.Helper()
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatal(err)
	}
	n := uint64(hdr[1] & 0x7f)
	switch n {
	case 126:
		ext := make([]byte, 2)
		_, _ = io.ReadFull(br, ext)
		n = uint64(binary.BigEndian.Uint16(ext))
	case 127:
		ext := make([]byte, 8)
		_, _ = io.ReadFull(br, ext)
		n = binary.BigEndian.Uint64(ext)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(fmt.Errorf("payload: %w", err))
	}
	return hdr[0], p
}
