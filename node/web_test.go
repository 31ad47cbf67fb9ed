package node

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/certstream/certstream/actors/lifecycle"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/fakelog"
	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/messages"
	"github.com/certstream/certstream/web/api"
)

// TestMetricsMoveAsEntriesFlow scrapes /metrics before and after entries
// flow to two clients and checks the per-log, router and client metrics
// moved by exactly what flowed.
func TestMetricsMoveAsEntriesFlow(t *testing.T) {
	f := newFakeLogs(t)
	f.holdNavigli(t)
	n := startNode(t, f.config(t, t.TempDir()), Options{})
	defer shutdown(t, n)
	alpha := f.logs[0]
	a := logLabel(alpha.Description())
	before := scrape(t, n)
	full := dialWS(t, n.Addr(), "/full-stream")
	sse := dialSSE(t, n.Addr(), "lite")
	grow(t, f, 300, 2)
	want := f.expect(t)
	await.True(t, 60*time.Second, "every entry", func() bool { return full.count() >= want.total && sse.count() >= want.total })
	var after map[string]float64
	// A connection counts a write once the write call returns, which can be
	// just after its client has read the bytes.
	await.True(t, 10*time.Second, "alpha's gauges and the messages sent", func() bool {
		after = scrape(t, n)
		return after["certstream_ct_cursor"+a] == float64(alpha.Size()) &&
			after["certstream_messages_sent"]-before["certstream_messages_sent"] >= float64(2*want.total)
	})
	delta := func(name string) float64 { return after[name] - before[name] }

	for name, want := range map[string]float64{
		"certstream_ct_entries_fetched_total" + a:                            float64(alpha.Size()),
		"certstream_ct_entries_published_total" + a:                          float64(alpha.Size()),
		"certstream_router_messages_in_total":                                float64(want.total),
		`certstream_router_messages_serialized_total{stream="full"}`:         float64(want.total),
		`certstream_router_messages_out_total{stream="full"}`:                float64(want.total),
		`certstream_router_messages_out_total{stream="lite"}`:                float64(want.total),
		`certstream_router_serialize_seconds_count{stream="lite"}`:           float64(want.total),
		"certstream_ws_connections_total":                                    1,
		`certstream_client_connections_total{transport="sse",stream="lite"}`: 1,
	} {
		if got := delta(name); got != want {
			t.Errorf("%s moved by %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]float64{
		"certstream_ct_tree_size" + a:                                                  float64(alpha.Size()),
		"certstream_ct_lag_entries" + a:                                                0,
		`certstream_ct_logs{health="healthy"}`:                                         4,
		`certstream_client_connections{transport="ws",stream="full"}`:                  1,
		"certstream_client_mailbox_depth_sum":                                          0,
		"certstream_client_messages_dropped_total":                                     0,
		`certstream_ct_requests_total{log="` + alpha.Description() + `",outcome="ok"}`: after[`certstream_ct_requests_total{log="`+alpha.Description()+`",outcome="ok"}`],
	} {
		if got, ok := after[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if after[`certstream_ct_requests_total{log="`+alpha.Description()+`",outcome="ok"}`] == 0 {
		t.Error("no successful request counted for alpha")
	}
	if got := delta("certstream_messages_sent"); got < float64(2*want.total) {
		t.Errorf("certstream_messages_sent moved by %v, want at least %d", got, 2*want.total)
	}
	for _, name := range []string{
		`certstream_router_serialize_seconds_bucket{stream="full",le="+Inf"}`, "certstream_duplicates_filtered",
		"certstream_dedup_size", "certstream_ct_fetcher_restarts_total" + a, "certstream_client_mailbox_depth_max",
		"go_goroutines", "process_resident_memory_bytes", "certstream_uptime_seconds",
	} {
		if _, ok := after[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	for name := range after {
		if strings.Contains(name, "ws-") || strings.Contains(name, "127.0.0.1") {
			t.Errorf("per-connection label in %s", name)
		}
	}
}

// TestHealthEndpoints: /health is a plain OK; /health/deep reports the
// logs and connections, and turns 503 when more than half the logs are down.
func TestHealthEndpoints(t *testing.T) {
	f := newFakeLogs(t)
	n := startNode(t, f.config(t, t.TempDir()), Options{})
	defer shutdown(t, n)
	if r := get(t, base(n)+"/health"); r.status != 200 || string(r.body) != "OK" {
		t.Fatalf("/health: %d %q", r.status, r.body)
	}
	dialWS(t, n.Addr(), "/")
	dialSSE(t, n.Addr(), "full")
	var h api.DeepHealth
	await.True(t, 20*time.Second, "a healthy node with two clients", func() bool {
		getJSON(t, base(n)+"/health/deep", 200, &h)
		return h.Status == api.StatusHealthy && h.Connections == 2 && h.Logs[follow.Healthy] == 4
	}, func() { t.Logf("%+v", h) })
	if h.Logs["total"] != 4 || h.Logs[follow.Healthy] != 4 || h.UptimeSecs <= 0 {
		t.Fatalf("deep health %+v", h)
	}

	// One log down: degraded, still 200.
	if err := f.logs[0].SetFaults(fakelog.Faults{Down: true}); err != nil {
		t.Fatal(err)
	}
	await.True(t, 20*time.Second, "degraded", func() bool {
		getJSON(t, base(n)+"/health/deep", 200, &h)
		return h.Status == api.StatusDegraded
	}, func() { t.Logf("%+v", h) })
	// Three of four down: unhealthy, 503.
	for _, l := range f.logs[1:] {
		if err := l.SetFaults(fakelog.Faults{Down: true}); err != nil {
			t.Fatal(err)
		}
	}
	await.True(t, 30*time.Second, "unhealthy", func() bool {
		r := get(t, base(n)+"/health/deep")
		_ = json.Unmarshal(r.body, &h)
		return r.status == 503 && h.Status == api.StatusUnhealthy
	}, func() { t.Logf("%+v", h) })
	if h.Logs[follow.Unhealthy] < 3 {
		t.Fatalf("unhealthy with %+v", h.Logs)
	}
}

// TestAPILogsLagMatchesHead has alpha hold back its entries from 200 on:
// /api/logs shows the fake log's head as its tree size and the lag as what
// remains, then zero once the log lets them go.
func TestAPILogsLagMatchesHead(t *testing.T) {
	f := newFakeLogs(t)
	alpha := f.logs[0]
	if err := alpha.Append(500); err != nil {
		t.Fatal(err)
	}
	release := func() {
		if err := alpha.UpdateFaults(func(fl *fakelog.Faults) { fl.HoldFrom = 0 }); err != nil {
			t.Fatal(err)
		}
	}
	if err := alpha.UpdateFaults(func(fl *fakelog.Faults) { fl.HoldFrom = 200 }); err != nil {
		t.Fatal(err)
	}
	defer release()
	n := startNode(t, f.config(t, t.TempDir()), Options{})
	defer shutdown(t, n)
	held := func() bool { return alpha.Stats().Faults[fakelog.FaultHold] > 0 }

	find := func() api.LogStatus {
		var out struct{ Logs []api.LogStatus }
		getJSON(t, base(n)+"/api/logs", 200, &out)
		if len(out.Logs) != 4 {
			t.Fatalf("/api/logs lists %d logs, want 4", len(out.Logs))
		}
		for _, l := range out.Logs {
			if l.URL == alpha.URL() {
				return l
			}
		}
		t.Fatal("alpha missing from /api/logs")
		return api.LogStatus{}
	}
	var st api.LogStatus
	// known reports whether the cursor, tree size and lag are known (not null).
	known := func() bool {
		return st.Cursor != nil && st.TreeSize != nil && st.LagEntries != nil && st.LagSecs != nil
	}
	await.True(t, 20*time.Second, "alpha held mid-log", func() bool {
		st = find()
		return held() && known() && *st.TreeSize == uint64(alpha.Size()) && *st.Cursor > 0 && *st.Cursor < 200
	}, func() { t.Logf("%+v", st) })
	time.Sleep(300 * time.Millisecond)
	st = find()
	if !known() || *st.LagEntries != uint64(alpha.Size())-*st.Cursor || *st.LagEntries == 0 {
		t.Fatalf("lag %v entries with tree size %v (fake head %d) and cursor %v", st.LagEntries, st.TreeSize, alpha.Size(), st.Cursor)
	}
	if st.Name != alpha.Description() || st.Kind != follow.KindRFC6962 || st.Operator != alpha.Operator() ||
		st.Status != follow.Healthy || st.LastSuccess == nil {
		t.Fatalf("alpha's entry: %+v", st)
	}
	release()
	await.True(t, 20*time.Second, "alpha caught up", func() bool {
		st = find()
		return known() && *st.Cursor == uint64(alpha.Size()) && *st.LagEntries == 0 && *st.LagSecs == 0
	}, func() { t.Logf("%+v", st) })
}

// TestCertLookupStatsAndExample checks /api/cert in every hash form,
// /api/stats against what the clients got, and /example.json before and
// after the first certificate.
func TestCertLookupStatsAndExample(t *testing.T) {
	f := newFakeLogs(t)
	cfg := f.config(t, t.TempDir())
	cfg.CTLog.CustomLogs = cfg.CTLog.CustomLogs[:1] // alpha only: nothing until it grows
	n := startNode(t, cfg, Options{})
	defer shutdown(t, n)

	r := get(t, base(n)+"/example.json")
	if r.status != 200 || !strings.Contains(string(r.body), `"name":"Sample (no certificate received yet)"`) {
		t.Fatalf("example before any certificate: %d %s", r.status, r.body)
	}
	if r := get(t, base(n)+"/example.json?stream=domains"); string(r.body) != `{"message_type":"dns_entries","data":["example.com","www.example.com"]}` {
		t.Fatalf("domains example: %s", r.body)
	}
	if r := get(t, base(n)+"/example.json?stream=bogus"); r.status != 400 {
		t.Fatalf("bad stream: %d", r.status)
	}

	full := dialWS(t, n.Addr(), "/full-stream")
	lite := dialWS(t, n.Addr(), "/")
	dom := dialSSE(t, n.Addr(), "domains")
	var stats api.Stats
	await.True(t, 10*time.Second, "three clients", func() bool {
		getJSON(t, base(n)+"/api/stats", 200, &stats)
		return stats.Connections.Total == 3
	})
	if stats.Connections.ByStream["full"]["ws"] != 1 || stats.Connections.ByStream["lite"]["ws"] != 1 ||
		stats.Connections.ByStream["domains"]["sse"] != 1 || stats.Connections.ByStream["lite"]["sse"] != 0 {
		t.Fatalf("connections %+v", stats.Connections)
	}
	sentBefore := stats.MessagesSent
	if err := f.logs[0].Append(120); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{full, lite, dom} {
		await.True(t, 30*time.Second, c.name+" to get every entry", func() bool { return c.count() >= 120 })
	}
	// A connection counts a write once the write call returns, which can be
	// just after its client has read the bytes.
	await.True(t, 10*time.Second, "the stats to count every message sent", func() bool {
		getJSON(t, base(n)+"/api/stats", 200, &stats)
		return stats.MessagesSent-sentBefore >= 360
	})
	if stats.CertificatesProcessed != 120 || stats.MessagesDropped != 0 ||
		stats.BytesSent == 0 || stats.UptimeSecs <= 0 {
		t.Fatalf("stats after 120 certificates to 3 clients: %+v (messages sent before %d)", stats, sentBefore)
	}

	msgs := full.snapshot()
	var m struct {
		Data struct {
			LeafCert struct{ SHA1, SHA256, Fingerprint string } `json:"leaf_cert"`
		}
	}
	target := msgs[37]
	if err := json.Unmarshal([]byte(target), &m); err != nil {
		t.Fatal(err)
	}
	lc := m.Data.LeafCert
	for _, h := range []string{lc.SHA256, lc.SHA1, lc.Fingerprint, strings.ToLower(lc.SHA256),
		strings.ReplaceAll(lc.SHA256, ":", ""), strings.ToLower(strings.ReplaceAll(lc.SHA1, ":", ""))} {
		r := get(t, base(n)+"/api/cert/"+h)
		if r.status != 200 || string(r.body) != target {
			t.Fatalf("/api/cert/%s: %d %.200s\nwant %.200s", h, r.status, r.body, target)
		}
	}
	var e struct{ Error string }
	getJSON(t, base(n)+"/api/cert/"+strings.Repeat("ab", 32), 404, &e)
	getJSON(t, base(n)+"/api/cert/not-a-hash", 400, &e)
	if e.Error == "" {
		t.Fatal("400 without an error message")
	}

	for stream, c := range map[string]*client{"full": full, "lite": lite, "domains": dom} {
		r := get(t, base(n)+"/example.json?stream="+stream)
		msgs := c.snapshot()
		if r.status != 200 || string(r.body) != msgs[len(msgs)-1] {
			t.Fatalf("example %s is not the latest message:\n%.200s\n%.200s", stream, r.body, msgs[len(msgs)-1])
		}
	}
}

// TestAdminTree checks the admin view: the supervisor, one fetcher per
// log, dedup, router, state and one connection actor per client. (Restart
// counts are tested where the restarts can be caused: a fetcher's in
// actors/logs, a connection actor's in actors/conn.)
func TestAdminTree(t *testing.T) {
	f := newFakeLogs(t)
	cfg := f.config(t, t.TempDir())
	cfg.Admin.Enabled, cfg.Admin.Token = true, "admin-secret"
	n := startNode(t, cfg, Options{})
	defer shutdown(t, n)
	c1 := dialWS(t, n.Addr(), "/full-stream")
	dialSSE(t, n.Addr(), "lite")
	grow(t, f, 60, 1)
	await.True(t, 30*time.Second, "the entries", func() bool { return c1.count() >= 60 })

	url := base(n) + api.PathAdminActors
	if r := get(t, url); r.status != 401 {
		t.Fatalf("admin without a token: %d", r.status)
	}
	if r := get(t, url+"?token=wrong"); r.status != 401 {
		t.Fatalf("admin with a wrong token: %d", r.status)
	}
	var tree lifecycle.View
	getJSON(t, url, 200, &tree, "Authorization", "Bearer admin-secret")
	for kind, count := range map[string]int{"logs": 1, "fetcher": 4, "dedup": 1, "router": 1, "state": 1, "conn": 2, "lifecycle": 1} {
		if got := len(findKind(&tree, kind)); got != count {
			t.Errorf("%d actors of kind %s, want %d", got, kind, count)
		}
	}
	supervisor := findKind(&tree, "logs")[0]
	for _, fe := range findKind(&tree, "fetcher") {
		if fe.Parent != supervisor.PID {
			t.Errorf("fetcher %s under %s, not the supervisor", fe.PID, fe.Parent)
		}
		if fe.Details["log"] == nil || fe.Details["cursor"] == nil || fe.Details["health"] == nil {
			t.Errorf("fetcher details %v", fe.Details)
		}
		if fe.Restarts != 0 {
			t.Errorf("fetcher %v restarted %d times, want 0", fe.Details["log"], fe.Restarts)
		}
	}
	router := findKind(&tree, "router")[0]
	conns := findKind(&tree, "conn")
	for _, c := range conns {
		cs := connStats(t, c)
		if c.Parent != router.PID || cs.Stream == "" || cs.Transport == "" || cs.Remote == "" || c.MailboxCapacity == 0 {
			t.Errorf("connection %s: parent %s, details %v", c.PID, c.Parent, c.Details)
		}
	}

	r := get(t, base(n)+api.PathAdmin+"?token=admin-secret")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("/admin: %d %q", r.status, r.header.Get("Content-Type"))
	}
	for _, s := range []string{"fetcher", "router", "dedup", "state", "conn", "restarts 0"} {
		if !strings.Contains(string(r.body), s) {
			t.Errorf("/admin page lacks %q", s)
		}
	}
}

// connStats reads a connection's details.conn from the admin JSON as the
// messages.ConnStats the router reports, and fails unless the object has
// exactly ConnStats' fields.
func connStats(t *testing.T, v *lifecycle.View) messages.ConnStats {
	t.Helper()
	raw, err := json.Marshal(v.Details["conn"])
	if err != nil {
		t.Fatal(err)
	}
	var cs messages.ConnStats
	var got, want map[string]any
	if err := json.Unmarshal(raw, &cs); err != nil {
		t.Fatalf("connection %s: details.conn %s: %v", v.PID, raw, err)
	}
	typed, _ := json.Marshal(cs)
	_ = json.Unmarshal(raw, &got)
	_ = json.Unmarshal(typed, &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("connection %s: details.conn %s is not a ConnStats (%s)", v.PID, raw, typed)
	}
	return cs
}
