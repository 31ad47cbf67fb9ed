package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/fasthttp/websocket"
)

func TestURL(t *testing.T) {
	for _, c := range []struct {
		base string
		t    Transport
		s    Stream
		want string
	}{
		{"ws://127.0.0.1:8080", WebSocket, Lite, "ws://127.0.0.1:8080/"},
		{"ws://h:1/", WebSocket, Full, "ws://h:1/full-stream"},
		{"http://h:1", WebSocket, Domains, "ws://h:1/domains-only"},
		{"wss://h/prefix/", SSE, Domains, "https://h/prefix/sse?stream=domains"},
		{"ws://h:1", SSE, Lite, "http://h:1/sse?stream=lite"},
	} {
		got, err := URL(c.base, c.t, c.s)
		if err != nil || got != c.want {
			t.Errorf("URL(%q, %s, %s) = %q, %v; want %q", c.base, c.t, c.s, got, err, c.want)
		}
	}
	for _, bad := range []struct {
		base string
		t    Transport
		s    Stream
	}{{"ftp://h", WebSocket, Lite}, {"ws://h", WebSocket, "x"}, {"ws://h", "tcp", Lite}, {"ws://h", SSE, "x"}} {
		if _, err := URL(bad.base, bad.t, bad.s); err == nil {
			t.Errorf("URL(%q, %q, %q): no error", bad.base, bad.t, bad.s)
		}
	}
}

func TestTimestamp(t *testing.T) {
	for msg, want := range map[string]int64{
		`{"data":{"seen":1.5,"submission_timestamp":1779299687.576,"source":{}}}`: 1779299687576,
		`{"submission_timestamp": 1700000000.0}`:                                  1700000000000,
		`{"submission_timestamp":1700000000.12}`:                                  1700000000120,
		`{"submission_timestamp":1700000000.1239}`:                                1700000000123,
		`{"submission_timestamp":1700000000}`:                                     1700000000000,
		// A subject holding the key as text does not fool it.
		`{"subject":"\"submission_timestamp\":1","submission_timestamp":2.0}`: 2000,
	} {
		if got, ok := timestampMillis([]byte(msg), submissionKey); !ok || got != want {
			t.Errorf("%s: got %d %v, want %d", msg, got, ok, want)
		}
	}
	if got, ok := timestampMillis([]byte(`{"seen":1.25,"submission_timestamp":1.0}`), seenKey); !ok || got != 1250 {
		t.Errorf("seen: %d %v", got, ok)
	}
	for _, msg := range []string{`{"message_type":"dns_entries","data":["a"]}`, `{"submission_timestamp":"x"}`, `{"submission_timestamp":`} {
		if _, ok := timestampMillis([]byte(msg), submissionKey); ok {
			t.Errorf("%s: ok", msg)
		}
	}
}

func TestCloseReason(t *testing.T) {
	r, d, p := closeReason(&websocket.CloseError{Code: 1008, Text: "too slow: dropped 120 of 400 messages"})
	if r != "close 1008 too slow" || d != 120 || p != 400 {
		t.Errorf("got %q %d %d", r, d, p)
	}
	r, d, p = closeReason(&websocket.CloseError{Code: 1001, Text: "server shutdown"})
	if r != "close 1001 server shutdown" || d != -1 || p != -1 {
		t.Errorf("got %q %d %d", r, d, p)
	}
	if r, _, _ := closeReason(fmt.Errorf("read: %w", io.ErrUnexpectedEOF)); r != "eof without close frame" {
		t.Errorf("eof: %q", r)
	}
	if r, _, _ := closeReason(fmt.Errorf("read tcp 1.2.3.4:5: %w", syscall.ECONNRESET)); r != "connection reset" {
		t.Errorf("reset: %q", r)
	}
	if got := describe(errors.New("odd")); got != "odd" {
		t.Errorf("describe: %q", got)
	}
	if d, p := parseDropped("dropped x of 3"); d != -1 || p != -1 {
		t.Errorf("bad numbers parsed: %d %d", d, p)
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 100)
	br := bufio.NewReaderSize(strings.NewReader("data: a\r\n\n: hb\ndata: "+long+"\ntail"), 16)
	var scratch []byte
	var got []string
	for {
		line, err := readLine(br, &scratch)
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, string(line))
	}
	want := []string{"data: a", "", ": hb", "data: " + long}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", got, want)
	}
}

func TestHeartbeatDetection(t *testing.T) {
	if !isHeartbeat([]byte(`{"message_type":"heartbeat","timestamp":1.0}`)) ||
		!isHeartbeat([]byte(`{"message_type": "heartbeat"}`)) {
		t.Error("heartbeat not recognised")
	}
	if isHeartbeat([]byte(`{"message_type":"certificate_update","data":{"leaf_cert":{"subject":{"CN":"heartbeat"}}}}`)) {
		t.Error("certificate taken for a heartbeat")
	}
	if isHeartbeat([]byte(`{"message_type":"dns_entries","data":["heartbeat"]}`)) {
		t.Error("domains message taken for a heartbeat")
	}
}

func BenchmarkTimestamp(b *testing.B) {
	msg := []byte(`{"message_type":"certificate_update","data":{"update_type":"X509LogEntry","leaf_cert":{"subject":{"CN":"a.example.test","aggregated":"/CN=a.example.test"},"extensions":{"authorityInfoAccess":"URI:http://ocsp.example.test, URI:http://ca.example.test/int.der","subjectAltName":"DNS:a.example.test"}},"cert_index":12345,"cert_link":"http://127.0.0.1:1/logs/bench0/ct/v1/get-entries?start=12345&end=12345","seen":1779299687.576,"submission_timestamp":1779299687.5,"source":{"name":"Fakelog 'bench0'","url":"http://127.0.0.1:1/logs/bench0/"}}}`)
	for b.Loop() {
		_, ok1 := timestampMillis(msg, submissionKey)
		_, ok2 := timestampMillis(msg, seenKey)
		if !ok1 || !ok2 {
			b.Fatal("not found")
		}
	}
}

// timestampMillis extracts the timestamp after key (float seconds with up
// to millisecond precision) as Unix milliseconds. The keys sit near the end
// of a message, so they are searched backwards, colon by colon.
func timestampMillis(msg, key []byte) (int64, bool) {
	i := lastKey(msg, key)
	if i < 0 {
		return 0, false
	}
	ms := parseMillis(msg[i+len(key):])
	return ms, ms >= 0
}
