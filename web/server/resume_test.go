package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/internal/wire"
)

// epoch is the first sequence number of the routers of these tests: the
// k-th certificate published (from 0) is epoch+k.
const epoch = 1000

// sse opens an SSE stream at path with the Last-Event-ID header when
// lastID is not "".
func (v *env) sse(path, lastID string) *bufio.Reader {
	v.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+v.addr+path, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		v.t.Fatalf("GET %s: %v %v", path, resp, err)
	}
	v.t.Cleanup(func() { resp.Body.Close() })
	return bufio.NewReader(resp.Body)
}

// expectEvents reads the events of sent[from:], numbered from epoch+from.
func expectEvents(t *testing.T, br *bufio.Reader, st wire.Stream, sent []*wire.Update, from int) {
	t.Helper()
	for k := from; k < len(sent); k++ {
		e := readEvent(t, br)
		if string(e["id"]) != strconv.Itoa(epoch+k) || !bytes.Equal(e["data"], message(st, sent[k])) {
			t.Fatalf("event for certificate %d: id %s, %.60q", k, e["id"], e["data"])
		}
	}
}

// expectMessages reads the WebSocket messages of sent[from:], with their
// sequence numbers when withSeq.
func expectMessages(t *testing.T, c *websocket.Conn, st wire.Stream, sent []*wire.Update, from int, withSeq bool) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for k := from; k < len(sent); k++ {
		want := message(st, sent[k])
		if withSeq {
			want = wire.AppendWithSeq(nil, want, uint64(epoch+k))
		}
		if _, p, err := c.ReadMessage(); err != nil || !bytes.Equal(p, want) {
			t.Fatalf("message for certificate %d: %.80q %v, want %.80q", k, p, err, want)
		}
	}
}

// TestResumeInsideTheWindow: clients that read part of the stream, leave
// while more is published, and come back with the last id they saw (SSE's
// Last-Event-ID, WebSocket's since) get exactly what followed, once, then
// the live stream.
func TestResumeInsideTheWindow(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{MailboxCapacity: 512, Epoch: epoch})
	br := v.sse("/sse?stream=full", "")
	ws := v.dial("/?seq=1", nil)
	plain := v.dial("/", nil) // no seq asked: today's bytes
	v.waitSubs("3 subscribers", activeCount(3))
	sent := updates("resume", 0, 30, 100)
	v.publish(sent...)
	expectEvents(t, br, wire.StreamFull, sent[:12], 0)
	expectMessages(t, ws, wire.StreamLite, sent[:17], 0, true)
	expectMessages(t, plain, wire.StreamLite, sent, 0, false)
	ws.Close()
	v.waitSubs("the websocket client gone", activeCount(2))

	sent = append(sent, updates("resume", 30, 60, 100)...)
	v.publish(sent[30:]...)
	br2 := v.sse("/sse?stream=full", strconv.Itoa(epoch+11))
	ws2 := v.dial(fmt.Sprintf("/?seq=1&since=%d", epoch+16), nil)
	plain2 := v.dial(fmt.Sprintf("/?since=%d", epoch+40), nil)
	v.waitSubs("3 more subscribers", activeCount(5))
	expectEvents(t, br2, wire.StreamFull, sent, 12)
	expectMessages(t, ws2, wire.StreamLite, sent, 17, true)
	expectMessages(t, plain2, wire.StreamLite, sent, 41, false)

	sent = append(sent, update("resume", 60, 100)) // live again
	v.publish(sent[60])
	expectEvents(t, br2, wire.StreamFull, sent, 60)
	expectMessages(t, ws2, wire.StreamLite, sent, 60, true)
	expectMessages(t, plain2, wire.StreamLite, sent, 60, false)
	expectMessages(t, plain, wire.StreamLite, sent, 30, false)
	for _, s := range v.subs() {
		checkAccounting(t, s)
		if s.Dropped != 0 {
			t.Fatalf("dropped: %+v", s)
		}
	}
}

// TestResumeBeyondTheWindow: a client resuming after a number the window no
// longer holds starts at the oldest held, after a notice with the exact
// count it missed; one resuming after a number from before the node's run
// is told so.
func TestResumeBeyondTheWindow(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet},
		router.Config{MailboxCapacity: 512, Epoch: epoch, Window: router.WindowLimits{Messages: 10}})
	sent := updates("beyond", 0, 30, 10)
	v.publish(sent...) // the window keeps epoch+20 to epoch+29
	v.waitSubs("published", func([]sub) bool { return true })

	ws := v.dial(fmt.Sprintf("/domains-only?notices=1&since=%d", epoch+5), nil)
	br := v.sse("/sse?stream=domains&notices=1", strconv.Itoa(epoch+7))
	old := v.dial("/domains-only?notices=1&since=5", nil)
	silent := v.dial(fmt.Sprintf("/domains-only?since=%d", epoch+5), nil) // no notices asked
	v.waitSubs("4 subscribers", activeCount(4))

	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	want := fmt.Sprintf(`{"message_type":"gap","reason":"resume","missed":14,"after":%d,"next":%d}`, epoch+5, epoch+20)
	if _, p, err := ws.ReadMessage(); err != nil || string(p) != want {
		t.Fatalf("websocket notice: %s %v, want %s", p, err, want)
	}
	expectMessages(t, ws, wire.StreamDomains, sent, 20, false)

	want = fmt.Sprintf(`{"message_type":"gap","reason":"resume","missed":12,"after":%d,"next":%d}`, epoch+7, epoch+20)
	if e := readEvent(t, br); string(e["data"]) != want || e["id"] != nil {
		t.Fatalf("SSE notice: %q, want data %s and no id", e, want)
	}
	expectEvents(t, br, wire.StreamDomains, sent, 20)

	_ = old.SetReadDeadline(time.Now().Add(5 * time.Second))
	want = fmt.Sprintf(`{"message_type":"gap","reason":"restart","after":5,"next":%d}`, epoch+20)
	if _, p, err := old.ReadMessage(); err != nil || string(p) != want {
		t.Fatalf("notice after a restart: %s %v, want %s", p, err, want)
	}
	expectMessages(t, old, wire.StreamDomains, sent, 20, false)
	expectMessages(t, silent, wire.StreamDomains, sent, 20, false)
}

// TestResumePacedByTheRing: a replay longer than the client's ring is fed
// as the ring empties, so nothing is dropped.
func TestResumePacedByTheRing(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet},
		router.Config{MailboxCapacity: 8, Epoch: epoch, TickInterval: 10 * time.Millisecond})
	sent := updates("paced", 0, 300, 10)
	v.publish(sent...)
	c := v.dial(fmt.Sprintf("/domains-only?since=%d", epoch), nil)
	expectMessages(t, c, wire.StreamDomains, sent, 1, false)
	for _, s := range v.waitSubs("all delivered", func(s []sub) bool { return len(s) == 1 && s[0].Delivered == 299 }) {
		if s.Dropped != 0 || s.Pushed != 299 {
			t.Fatalf("%+v", s)
		}
	}
}

// TestBadResumeOptionsAre400: a since, Last-Event-ID, seq or notices that
// does not parse is answered 400 before the upgrade.
func TestBadResumeOptionsAre400(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{})
	for _, tc := range []struct{ query, lastID, want string }{
		{"since=abc", "", `{"error":"bad since \"abc\": want a sequence number"}`},
		{"since=-1", "", `{"error":"bad since \"-1\": want a sequence number"}`},
		{"", "x1", `{"error":"bad since \"x1\": want a sequence number"}`},
		{"notices=maybe", "", `{"error":"bad notices \"maybe\": want 1 or 0"}`},
		{"seq=2", "", `{"error":"bad seq \"2\": want 1 or 0"}`},
	} {
		h := http.Header{}
		if tc.lastID != "" {
			h.Set("Last-Event-ID", tc.lastID)
		}
		_, resp, err := (&websocket.Dialer{}).Dial("ws://"+v.addr+"/?"+tc.query, h)
		if err == nil || resp == nil || resp.StatusCode != 400 {
			t.Fatalf("%s: %v %v", tc.query, err, resp)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.query, tc.lastID, body, tc.want)
		}
	}
	if n := len(v.subs()); n != 0 {
		t.Fatalf("%d subscribers", n)
	}
}

// TestResumeAfterRestartBeforeAnyPublication: a client resuming after a
// number from before the node's run is told so even when the node has
// published nothing yet.
func TestResumeAfterRestartBeforeAnyPublication(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{Epoch: epoch})
	c := v.dial("/domains-only?notices=1&since=5", nil)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	want := fmt.Sprintf(`{"message_type":"gap","reason":"restart","after":5,"next":%d}`, epoch)
	if _, p, err := c.ReadMessage(); err != nil || string(p) != want {
		t.Fatalf("notice: %s %v, want %s", p, err, want)
	}
	sent := updates("first", 0, 1, 0)
	v.publish(sent...)
	expectMessages(t, c, wire.StreamDomains, sent, 0, false)
}
