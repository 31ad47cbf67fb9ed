package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/logs"
	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/wire"
)

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		healthy, degraded, unhealthy, starting int
		want                                   string
	}{
		{4, 0, 0, 0, StatusHealthy},
		{3, 0, 0, 1, StatusHealthy},
		{3, 1, 0, 0, StatusDegraded},
		{3, 0, 1, 0, StatusDegraded},
		{2, 0, 2, 0, StatusDegraded}, // exactly half: not more than half
		{1, 0, 3, 0, StatusUnhealthy},
		{0, 0, 1, 0, StatusUnhealthy},
		{0, 0, 0, 0, StatusDegraded}, // no log followed
	} {
		counts := map[string]int{follow.Healthy: tc.healthy, follow.Degraded: tc.degraded,
			follow.Unhealthy: tc.unhealthy, follow.Starting: tc.starting,
			"total": tc.healthy + tc.degraded + tc.unhealthy + tc.starting}
		if got := Judge(counts); got != tc.want {
			t.Errorf("%v: %s, want %s", counts, got, tc.want)
		}
	}
}

func TestSampleIsAValidMessageOfEachStream(t *testing.T) {
	for name, encode := range encoders {
		var v map[string]any
		if err := json.Unmarshal(encode(nil, Sample), &v); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if v["message_type"] == nil || v["data"] == nil {
			t.Fatalf("%q: %v", name, v)
		}
	}
	if string(wire.AppendDomainsOnly(nil, Sample)) != `{"message_type":"dns_entries","data":["example.com","www.example.com"]}` {
		t.Fatal("sample domains changed; update the README")
	}
}

func TestGetOnly(t *testing.T) {
	called := false
	h := getOnly(func(*fasthttp.RequestCtx) { called = true })
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(m)
		h(&ctx)
		if ctx.Response.StatusCode() != 405 || called {
			t.Fatalf("%s: %d, handler called %v", m, ctx.Response.StatusCode(), called)
		}
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	h(&ctx)
	if !called {
		t.Fatal("GET not handled")
	}
}

// mux records the handlers Register adds.
type mux map[string]fasthttp.RequestHandler

func (m mux) Handle(path string, h fasthttp.RequestHandler)         { m[path] = h }
func (m mux) HandlePrefix(prefix string, h fasthttp.RequestHandler) { m[prefix+"*"] = h }
func (m mux) SetPage(h fasthttp.RequestHandler)                     { m["page"] = h }

// /health answers GET and HEAD; every other method is a 405 (README).
func TestHealthMethods(t *testing.T) {
	m := mux{}
	Register(m, Config{}, Sources{})
	h := m[PathHealth]
	if h == nil {
		t.Fatal("/health not registered")
	}
	for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "TRACE", "OPTIONS", "CONNECT"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		h(&ctx)
		want := 405
		if method == "GET" || method == "HEAD" {
			want = 200
		}
		if got := ctx.Response.StatusCode(); got != want {
			t.Errorf("%s /health: %d, want %d", method, got, want)
		}
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	h(&ctx)
	if string(ctx.Response.Body()) != "OK" {
		t.Errorf("GET /health body %q", ctx.Response.Body())
	}
}

// An edge follows no log: /health/deep judges it by its cluster link.
func TestDeepHealthOfAnEdge(t *testing.T) {
	for _, tc := range []struct {
		healthy, ok      bool
		wantStatus, link string
	}{
		{true, true, StatusHealthy, StatusHealthy},
		{false, true, StatusDegraded, StatusDegraded},
		{true, false, StatusDegraded, ""}, // no link and no log: degraded as before
	} {
		m := mux{}
		Register(m, Config{}, Sources{Fetchers: &logs.Registry{}, Clients: router.NewClients(),
			Link: func() (bool, bool) { return tc.healthy, tc.ok }})
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("GET")
		m[PathHealthDeep](&ctx)
		var h DeepHealth
		if err := json.Unmarshal(ctx.Response.Body(), &h); err != nil {
			t.Fatal(err)
		}
		if h.Status != tc.wantStatus || h.Link != tc.link {
			t.Errorf("link healthy %v, ok %v: status %q, link %q; want %q, %q", tc.healthy, tc.ok, h.Status, h.Link, tc.wantStatus, tc.link)
		}
	}
}

// A log never reached has no cursor, tree size or lag yet: null, not 0
// (which would read as caught up). Once known they are numbers.
func TestLogStatusUnknownIsNull(t *testing.T) {
	l := follow.Log{Name: "Down", URL: "https://down.example/", Kind: "rfc6962"}
	for _, tc := range []struct {
		st   follow.Status
		want string
	}{
		{follow.Status{Health: follow.Unhealthy, Errors: 3},
			`"cursor":null,"tree_size":null,"lag_entries":null,"lag_seconds":null`},
		{follow.Status{Health: follow.Unhealthy, Next: 42, CursorKnown: true},
			`"cursor":42,"tree_size":null,"lag_entries":null,"lag_seconds":null`},
		{follow.Status{Health: follow.Healthy, Next: 42, CursorKnown: true, TreeSize: 50, HeadKnown: true, LagEntries: 8, LagSeconds: 1.5},
			`"cursor":42,"tree_size":50,"lag_entries":8,"lag_seconds":1.5`},
	} {
		body, err := json.Marshal(logStatus(l, tc.st))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), tc.want) {
			t.Errorf("%+v: %s, want %s", tc.st, body, tc.want)
		}
	}
}
