package api

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/lifecycle"
	"github.com/certstream/certstream/messages"
)

// The admin page shows each actor's drops and restarts on its line, its
// details as fields (a connection's stream, transport and remote, not
// escaped JSON), and no zero time.
func TestAdminPage(t *testing.T) {
	tree := &lifecycle.View{PID: "node", Kind: "node", Status: "running", Children: []*lifecycle.View{
		{PID: "logs/fetcher-1", Kind: "fetcher", Status: "healthy", Restarts: 2,
			Details: map[string]any{"log": "Argon", "last_failure_at": time.Time{}, "cursor": 12, "lag_seconds": 0.019247999999999998}},
		{PID: "router/ws-1", Kind: "conn", Status: "running", Drops: 0, MailboxCapacity: 8,
			Details: map[string]any{"conn": messages.ConnStats{ID: "ws-1", Stream: "lite", Transport: "ws",
				Remote: "127.0.0.1:5000", Pushed: 9, Delivered: 9, Since: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}}},
		{PID: "router", Kind: "router", Status: "running",
			Details: map[string]any{"pushed": map[string]uint64{"lite": 712, "full": 0, "domains": 281}}},
	}}
	m := mux{}
	Register(m, Config{Admin: true}, Sources{Tree: func() *lifecycle.View { return tree }})
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	m[PathAdmin](&ctx)
	page := string(ctx.Response.Body())
	for _, want := range []string{"restarts 2", "drops 0", "last_failure_at</dt><dd>never", "lag_seconds</dt><dd>0.019<",
		"conn.stream</dt><dd>lite", "conn.transport</dt><dd>ws", "conn.remote</dt><dd>127.0.0.1:5000",
		"conn.since</dt><dd>2026-05-01T12:00:00Z", "pushed.lite</dt><dd>712", "pushed.domains</dt><dd>281"} {
		if !strings.Contains(page, want) {
			t.Errorf("admin page lacks %q", want)
		}
	}
	for _, absent := range []string{"0001-01-01", "&#34;", "{"} {
		if strings.Contains(page[strings.Index(page, "<body>"):], absent) {
			t.Errorf("admin page shows %q", absent)
		}
	}
}
