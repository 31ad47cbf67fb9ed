package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/certstream/certstream/bench/scenario"
)

func sample() *scenario.Result {
	return &scenario.Result{
		Scenario: "slow", Target: "ws://127.0.0.1:1", Published: 1000, PublishRate: 1000, WindowSecs: 1, MeasuredSecs: 1.2,
		Clients: 3, Connected: 3, Disconnects: map[string]int{"close 1008 too slow": 1},
		Groups: []scenario.GroupResult{
			{Name: "fast", Transport: "ws", Stream: "lite", Clients: 2, Connected: 2, Expected: 1000,
				Delivered: scenario.Summary{Min: 1000, Median: 1000, Max: 1000}},
			{Name: "slow", Transport: "ws", Stream: "lite", Slow: true, Clients: 1, Connected: 1, Expected: 1000,
				Delivered: scenario.Summary{Min: 400, Median: 400, Max: 400}, Lost: 600, LostClients: 1, Disconnected: 1,
				PerClient: []scenario.ClientResult{{Delivered: 400, Lost: 600, Reason: "close 1008 too slow",
					ServerDropped: 300, ServerPushed: 800, NotSent: 200, Discarded: 100}}},
		},
		Delivered: 2400, MsgsPerSec: 2000, Latency: scenario.LatencyResult{Samples: 2400, P50: 12, P99: 80, Max: 95},
		Server: &scenario.ServerResult{Pid: 42, CPUSecs: 0.5, GCCPUSecs: 0.12, CPUPerMillion: 208.3, PeakRSS: 100 << 20, Goroutines: -1,
			Published: 1000, Dropped: 400},
		Churn: &scenario.ChurnResult{Conns: 20, LifeSecs: 2, Sessions: 100, Served: 97, Failed: 1, Cut: 2, Interrupted: 3,
			Reasons: map[string]int{"sse lite: eof without close frame": 2, "ws full: connect: HTTP 503": 1}},
		Checks: []scenario.Check{{Name: "fast clients lose nothing", Want: "0", Got: "0", Pass: true}},
	}
}

func TestWriteDetailAndSummary(t *testing.T) {
	r := sample()
	var b bytes.Buffer
	if err := WriteDetail(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"== slow against ws://127.0.0.1:1",
		"published 1000 entries in 1.0 s",
		"slow #1: delivered 400, lost 600, ended: close 1008 too slow = 300 dropped by the server",
		"200 never sent after the close + 100 queued at the close",
		"disconnected: 1 × close 1008 too slow",
		"208.30 s per million messages; GC 0.12 s of it)",
		"100.0 MiB",
		"[PASS] fast clients lose nothing",
		"churn: 20 connections living 2.0 s beside the clients: 100 sessions, 97 served, 0 unserved, 1 failed, 2 cut (3 interrupted",
		"churn ended: 2 × sse lite: eof without close frame\n  churn ended: 1 × ws full: connect: HTTP 503",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("detail lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "goroutines") {
		t.Errorf("unknown goroutine count printed:\n%s", b.String())
	}
	b.Reset()
	if err := WriteSummary(&b, []*scenario.Result{r}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "400/1000/1000") || !strings.Contains(lines[1], "12/80/95") ||
		!strings.Contains(lines[1], "97/100") || !strings.Contains(lines[1], "1/1") {
		t.Errorf("summary:\n%s", b.String())
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, Document{Machine: Machine{CPUs: 2}, Results: []*scenario.Result{sample()}}); err != nil {
		t.Fatal(err)
	}
	var doc Document
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Results) != 1 || doc.Results[0].Groups[1].PerClient[0].Discarded != 100 || doc.Machine.CPUs != 2 ||
		doc.Results[0].Churn.Reasons["sse lite: eof without close frame"] != 2 || !strings.Contains(b.String(), `"churn": {`) {
		t.Errorf("round trip lost data: %+v", doc)
	}
}
