// Package client is the harness's load client: one WebSocket or SSE
// connection to a certstream server that counts data messages, their bytes
// and heartbeats without decoding them, records the end-to-end latency of
// messages from their submission_timestamp, optionally reads slowly, and
// records why the connection ended.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certstream/certstream/bench/latency"
)

// Transport is how a client connects.
type Transport string

// Transports.
const (
	WebSocket Transport = "ws"
	SSE       Transport = "sse"
)

// Stream is the message stream a client asks for.
type Stream string

// Streams.
const (
	Lite    Stream = "lite"
	Full    Stream = "full"
	Domains Stream = "domains"
)

// URL returns the address of stream over transport on the server at base
// ("ws://host:port", "wss://...", "http://..." or "https://..."): for
// WebSocket "/", "/full-stream" or "/domains-only"; for SSE "/sse?stream=...".
func URL(base string, t Transport, s Stream) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("target %q: %w", base, err)
	}
	secure := u.Scheme == "wss" || u.Scheme == "https"
	if !secure && u.Scheme != "ws" && u.Scheme != "http" {
		return "", fmt.Errorf("target %q: scheme must be ws, wss, http or https", base)
	}
	prefix := strings.TrimRight(u.Path, "/")
	switch t {
	case WebSocket:
		u.Scheme = map[bool]string{false: "ws", true: "wss"}[secure]
		path, ok := map[Stream]string{Lite: "/", Full: "/full-stream", Domains: "/domains-only"}[s]
		if !ok {
			return "", fmt.Errorf("unknown stream %q", s)
		}
		u.Path = prefix + path
	case SSE:
		u.Scheme = map[bool]string{false: "http", true: "https"}[secure]
		if s != Lite && s != Full && s != Domains {
			return "", fmt.Errorf("unknown stream %q", s)
		}
		u.Path = prefix + "/sse"
		u.RawQuery = "stream=" + string(s)
	default:
		return "", fmt.Errorf("unknown transport %q", t)
	}
	return u.String(), nil
}

// Config is one client.
type Config struct {
	URL       string // from URL
	Transport Transport
	// Latency makes the client record the latency of data messages (those
	// carrying submission_timestamp: lite and full).
	Latency bool
	// Measure, when set, gates latency recording: only messages received
	// while it holds true are recorded.
	Measure *atomic.Bool
	// SampleEvery records the latency of every Nth data message (0 or 1: all).
	SampleEvery int64
	// SlowRate, when positive, caps reading at this many messages per
	// second, so the server has to queue or drop; CatchUp lifts the cap.
	SlowRate float64
	// DialTimeout bounds connecting and the handshake (default 10 s).
	DialTimeout time.Duration
	// ReadBuffer is the size of the read buffer (default 4 KiB; 64 KiB
	// suits a busy stream).
	ReadBuffer int
	// Compression makes a WebSocket client offer permessage-deflate.
	Compression bool
	// Record keeps the names of every data message received while Measure
	// holds (domains-only JSON: {"data":[...]}), for Records.
	Record bool
	// Reconnect, when positive, makes a WebSocket client close its
	// connection after this long and reconnect with ?since= its last
	// sequence number (it asks for them with seq=1), until Run's ctx ends.
	Reconnect time.Duration
}

// State is where a client is in its life.
type State int

// States.
const (
	Pending   State = iota // not connected yet
	Connected              // connected and reading
	Failed                 // could not connect
	Closed                 // the connection ended by the server or an error
	Stopped                // ended by the harness
)

// Snapshot is a client's counters at one moment.
type Snapshot struct {
	Messages   int64     // data messages
	Bytes      int64     // their payload bytes
	Heartbeats int64     // heartbeat messages or comments
	Last       time.Time // when the last data message arrived (zero if none)
	// First is when the first data message arrived while Measure held
	// (zero if none).
	First time.Time
	State State
	// Reason says why a Failed or Closed client ended, e.g.
	// "close 1008 too slow" or "eof without close frame".
	Reason string
	// ServerDropped and ServerPushed are the counts a server states in a
	// close reason of the form "... dropped D of P messages", else -1.
	ServerDropped, ServerPushed int64
	// Wire is the bytes read from the connection (frames, compressed or
	// not, and the handshake): WebSocket only.
	Wire int64
	// Sessions is the connections a reconnecting client opened; Repeated
	// and Skipped count the data messages whose sequence number was not
	// above the last one's, and the numbers skipped between two messages
	// (Reconnect only).
	Sessions, Repeated, Skipped int64
}

// Client is one connection. Start it with Run; read it with Snapshot and
// Latency from any goroutine.
type Client struct {
	cfg        Config
	messages   atomic.Int64
	bytes      atomic.Int64
	heartbeats atomic.Int64
	last       atomic.Int64      // Unix ns
	first      atomic.Int64      // Unix ns, while measuring
	lat        latency.Histogram // receive - submission_timestamp
	delivery   latency.Histogram // receive - seen
	started    time.Time         // when reading began (for SlowRate)
	catchUp    atomic.Bool
	wire       atomic.Int64
	sessions   atomic.Int64
	lastSeq    atomic.Int64 // of the last data message (Reconnect)
	repeated   atomic.Int64
	skipped    atomic.Int64

	recMu   sync.Mutex
	records [][]string

	mu      sync.Mutex
	state   State
	reason  string
	dropped int64
	pushed  int64
}

// New returns a client that connects when Run is called.
func New(cfg Config) *Client {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.ReadBuffer <= 0 {
		cfg.ReadBuffer = 4 << 10
	}
	return &Client{cfg: cfg, dropped: -1, pushed: -1}
}

// Run connects and reads until the connection ends or ctx is done.
func (c *Client) Run(ctx context.Context) {
	var err error
	switch c.cfg.Transport {
	case WebSocket:
		err = c.runWebSocket(ctx)
	case SSE:
		err = c.runSSE(ctx)
	default:
		err = fmt.Errorf("unknown transport %q", c.cfg.Transport)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.state == Pending:
		c.state, c.reason = Failed, "connect: "+describe(err)
	case ctx.Err() != nil:
		c.state = Stopped
	default:
		c.state = Closed
		c.reason, c.dropped, c.pushed = closeReason(err)
	}
}

// connected marks the start of reading.
func (c *Client) connected() {
	c.mu.Lock()
	c.state = Connected
	c.started = time.Now()
	c.mu.Unlock()
}

// Snapshot returns the counters and state.
func (c *Client) Snapshot() Snapshot {
	s := Snapshot{Messages: c.messages.Load(), Bytes: c.bytes.Load(), Heartbeats: c.heartbeats.Load()}
	if ns := c.last.Load(); ns != 0 {
		s.Last = time.Unix(0, ns)
	}
	if ns := c.first.Load(); ns != 0 {
		s.First = time.Unix(0, ns)
	}
	s.Wire, s.Sessions, s.Repeated, s.Skipped = c.wire.Load(), c.sessions.Load(), c.repeated.Load(), c.skipped.Load()
	c.mu.Lock()
	s.State, s.Reason, s.ServerDropped, s.ServerPushed = c.state, c.reason, c.dropped, c.pushed
	c.mu.Unlock()
	return s
}

// Records returns the names of the data messages recorded (Config.Record),
// in order of arrival.
func (c *Client) Records() [][]string {
	c.recMu.Lock()
	defer c.recMu.Unlock()
	return c.records
}

// Latency is the histogram of end-to-end latencies in ms: receive time
// minus the log's submission_timestamp.
func (c *Client) Latency() *latency.Histogram { return &c.lat }

// Delivery is the histogram of delivery latencies in ms: receive time minus
// the server's "seen" (when it processed the entry), for servers that send
// one.
func (c *Client) Delivery() *latency.Histogram { return &c.delivery }

// typeKey starts the message type, which heartbeats put first.
var typeKey = []byte(`"message_type"`)

// handle counts one message payload (the JSON document) and, when asked,
// records its latency and slows down.
func (c *Client) handle(ctx context.Context, payload []byte) {
	if isHeartbeat(payload) {
		c.heartbeats.Add(1)
		return
	}
	now := time.Now()
	n := c.messages.Add(1)
	c.bytes.Add(int64(len(payload)))
	c.last.Store(now.UnixNano())
	measuring := c.cfg.Measure == nil || c.cfg.Measure.Load()
	if measuring && c.first.Load() == 0 {
		c.first.Store(now.UnixNano())
	}
	if measuring && c.cfg.Latency && (c.cfg.SampleEvery <= 1 || n%c.cfg.SampleEvery == 0) {
		c.recordLatency(payload, now.UnixMilli())
	}
	if measuring && c.cfg.Record {
		c.record(payload)
	}
	if c.cfg.Reconnect > 0 {
		c.sequence(payload)
	}
	if c.cfg.SlowRate > 0 && !c.catchUp.Load() {
		c.throttle(ctx, n)
	}
}

// record keeps the names of a domains-only message.
func (c *Client) record(payload []byte) {
	var m struct {
		Data []string `json:"data"`
	}
	_ = json.Unmarshal(payload, &m) // a message without names records none
	c.recMu.Lock()
	c.records = append(c.records, m.Data)
	c.recMu.Unlock()
}

// seqKey is the key of the sequence number a message ends with (seq=1).
var seqKey = []byte(`"seq":`)

// sequence follows the sequence numbers of a reconnecting client's data
// messages.
func (c *Client) sequence(payload []byte) {
	i := lastKey(payload, seqKey)
	if i < 0 {
		return
	}
	p := bytes.TrimLeft(payload[i+len(seqKey):], " ")
	j := 0
	for j < len(p) && p[j] >= '0' && p[j] <= '9' {
		j++
	}
	seq, err := strconv.ParseInt(string(p[:j]), 10, 64)
	if err != nil {
		return
	}
	switch last := c.lastSeq.Load(); {
	case last == 0:
	case seq <= last:
		c.repeated.Add(1)
		return
	case seq > last+1:
		c.skipped.Add(seq - last - 1)
	}
	c.lastSeq.Store(seq)
}

// CatchUp makes a slow client read as fast as it can from now on, so that
// what the server still holds for it arrives and only what it dropped is
// missing.
func (c *Client) CatchUp() { c.catchUp.Store(true) }

// recordLatency records the end-to-end and delivery latencies of payload,
// received at ms.
func (c *Client) recordLatency(payload []byte, ms int64) {
	rest := payload
	if i := lastKey(payload, submissionKey); i >= 0 {
		if ts := parseMillis(payload[i+len(submissionKey):]); ts >= 0 {
			c.lat.Record(ms - ts)
		}
		rest = payload[:i] // "seen" comes before
	}
	if i := lastKey(rest, seenKey); i >= 0 {
		if ts := parseMillis(rest[i+len(seenKey):]); ts >= 0 {
			c.delivery.Record(ms - ts)
		}
	}
}

// isHeartbeat reports whether payload is a heartbeat message: its
// message_type, near the start, is "heartbeat" (whatever the spacing).
func isHeartbeat(payload []byte) bool {
	head := payload[:min(len(payload), 64)]
	i := bytes.Index(head, typeKey)
	if i < 0 {
		return false
	}
	rest := bytes.TrimLeft(head[i+len(typeKey):], " :")
	return bytes.HasPrefix(rest, []byte(`"heartbeat"`))
}

// throttle sleeps until n messages are due at SlowRate since the start.
func (c *Client) throttle(ctx context.Context, n int64) {
	due := c.started.Add(time.Duration(float64(n) / c.cfg.SlowRate * float64(time.Second)))
	if d := time.Until(due); d > 5*time.Millisecond {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// Keys of the timestamps in lite and full messages. They cannot occur
// inside a JSON string, where quotes are escaped, so their last occurrence
// is the key.
var (
	submissionKey = []byte(`"submission_timestamp":`) // the log's timestamp of the entry
	seenKey       = []byte(`"seen":`)                 // when the server processed it
)

// parseMillis parses the number of seconds at the start of p (after
// optional spaces) as milliseconds, or returns -1.
func parseMillis(p []byte) int64 {
	for len(p) > 0 && p[0] == ' ' {
		p = p[1:]
	}
	var sec, frac, scale int64 = 0, 0, 1000
	digits := 0
	for len(p) > 0 && p[0] >= '0' && p[0] <= '9' {
		sec = sec*10 + int64(p[0]-'0')
		p, digits = p[1:], digits+1
	}
	if digits == 0 || digits > 12 {
		return -1
	}
	if len(p) > 0 && p[0] == '.' {
		p = p[1:]
		for len(p) > 0 && p[0] >= '0' && p[0] <= '9' {
			if scale > 1 {
				scale /= 10
				frac += int64(p[0]-'0') * scale
			}
			p = p[1:]
		}
	}
	return sec*1000 + frac
}

// lastKey returns the index of the last occurrence of key, which ends with
// ':', in msg, or -1. Colons are rare in JSON, so checking each one from
// the end is quicker than a general search.
func lastKey(msg, key []byte) int {
	for end := len(msg); ; {
		c := bytes.LastIndexByte(msg[:end], ':')
		if c < 0 {
			return -1
		}
		if start := c + 1 - len(key); start >= 0 && bytes.Equal(msg[start:c+1], key) {
			return start
		}
		end = c
	}
}

// errNotStreaming is returned when an SSE request is answered with something
// other than an event stream.
var errNotStreaming = errors.New("not an event stream")
