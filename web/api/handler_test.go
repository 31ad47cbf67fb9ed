package api

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"

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
