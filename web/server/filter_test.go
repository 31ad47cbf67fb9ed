package server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/filter"
	"github.com/certstream/certstream/internal/wire"
)

// TestFilteredClientsGetExactlyTheMatches: a WebSocket and an SSE client
// filtering on a domain suffix get exactly the matching certificates, in
// order, as the bytes an unfiltered client gets; the admin view shows the
// filter and what it kept back.
func TestFilteredClientsGetExactlyTheMatches(t *testing.T) {
	v := start(t, Config{Streams: allStreams, Client: quiet}, router.Config{MailboxCapacity: 512})
	ws := v.dial("/?domain=*.KEEP.example", nil)
	resp, err := http.Get("http://" + v.addr + "/sse?stream=domains&domain=*.keep.example")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	v.waitSubs("2 subscribers", activeCount(2))
	var sent, kept []*wire.Update
	for n := range 60 {
		u := update("drop", n, 0)
		if n%3 == 0 {
			u.Leaf.AllDomains = []string{"other.example", "x.keep.example"}
			kept = append(kept, u)
		}
		sent = append(sent, u)
	}
	v.publish(sent...)
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, u := range kept {
		if _, p, err := ws.ReadMessage(); err != nil || !bytes.Equal(p, message(wire.StreamLite, u)) {
			t.Fatalf("websocket message %d: %.60q %v", i, p, err)
		}
	}
	br := bufio.NewReader(resp.Body)
	for i, u := range kept {
		event := readEvent(t, br)
		if !bytes.Equal(event["data"], message(wire.StreamDomains, u)) {
			t.Fatalf("SSE event %d: %q", i, event)
		}
	}
	// Nothing more: the next message either client gets is the next match.
	last := update("keep", 99, 0)
	last.Leaf.AllDomains = []string{"last.keep.example"}
	v.publish(update("drop", 100, 0), last)
	if _, p, err := ws.ReadMessage(); err != nil || !bytes.Equal(p, message(wire.StreamLite, last)) {
		t.Fatalf("websocket after the run: %.60q %v", p, err)
	}
	if e := readEvent(t, br); !bytes.Equal(e["data"], message(wire.StreamDomains, last)) {
		t.Fatalf("SSE after the run: %q", e)
	}
	for _, s := range v.subs() {
		if s.Filter != "domain=*.keep.example" || s.FilteredOut != 41 || s.Pushed != 21 {
			t.Fatalf("admin view: %+v", s)
		}
	}
}

// readEvent reads one server-sent event: its fields by name.
func readEvent(t *testing.T, br *bufio.Reader) map[string][]byte {
	t.Helper()
	event := map[string][]byte{}
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			t.Fatalf("reading an event: %v (%q so far)", err, event)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(line) == 0 {
			if len(event) > 0 {
				return event
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		event[string(name)] = bytes.TrimPrefix(value, []byte(" "))
	}
}

// TestBadFilterIs400BeforeUpgrade: every malformed or over-limit filter is
// answered 400 with the reason, on WebSocket (no upgrade) and SSE, and no
// client is subscribed.
func TestBadFilterIs400BeforeUpgrade(t *testing.T) {
	set := filter.NewSet(filter.Limits{MaxValues: 4, MaxRegexLen: 16, MaxRegexes: 1})
	v := start(t, Config{Streams: allStreams, Client: quiet, Filters: set}, router.Config{})
	held := v.dial("/?domain_regex=^a", nil) // holds the node's only regex
	v.waitSubs("the regex client", activeCount(1))
	for _, tc := range []struct{ query, reason string }{
		{"domain=", "domain: empty value"},
		{"domain=a.*.com", `domain \"a.*.com\": a wildcard is allowed only as a leading \"*.\"`},
		{"type=cert", `type \"cert\": want x509 or precert`},
		{"domain_regex=(x", `domain_regex \"(x\": missing closing )`},
		{"domain_regex=" + strings.Repeat("a", 17), "domain_regex: longer than 16 bytes"},
		{"domain=a,b,c&log=d,e", "more than 4 filter values"},
		{"domain_regex=^b", "too many distinct domain_regex filters on this node (limit 1)"},
	} {
		want := `{"error":"bad filter: ` + tc.reason
		_, resp, err := (&websocket.Dialer{}).Dial("ws://"+v.addr+"/?"+tc.query, nil)
		if err == nil || resp == nil || resp.StatusCode != 400 {
			t.Fatalf("websocket %s: %v %v", tc.query, err, resp)
		}
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), want) {
			t.Errorf("websocket %s: %s, want %s…", tc.query, body, want)
		}
		resp, err = http.Get("http://" + v.addr + "/sse?" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), want) {
			t.Errorf("SSE %s: %d %s, want 400 %s…", tc.query, resp.StatusCode, body, want)
		}
	}
	if n := len(v.subs()); n != 1 {
		t.Fatalf("%d subscribers, want only the first", n)
	}
	held.Close()
	v.waitSubs("the regex client gone", activeCount(0))
	await.True(t, 5*time.Second, "the departed client's filter released", func() bool { return set.Len() == 0 })
	v.dial("/?domain_regex=^b", nil) // its regex is free again
	v.waitSubs("a new regex client", activeCount(1))
}
