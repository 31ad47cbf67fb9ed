package scenario

import (
	"slices"
	"time"

	"github.com/certstream/certstream/bench/latency"
)

// Result is the accounting of one scenario run. Counts are over the
// measured window: from the first published entry to the end of delivery.
type Result struct {
	Scenario string    `json:"scenario"`
	Target   string    `json:"target"`
	Start    time.Time `json:"start"`
	// LoadStart and LoadEnd are the machine's 1/5/15-minute load averages.
	LoadStart [3]float64 `json:"load_start"`
	LoadEnd   [3]float64 `json:"load_end"`

	Rate         float64 `json:"rate"`          // requested entries/s
	Published    int64   `json:"published"`     // entries published in the window: what each client expects
	PublishRate  float64 `json:"publish_rate"`  // achieved entries/s over the window
	ProbeEntries int64   `json:"probe_entries"` // entries published before the window to prove subscriptions
	WindowSecs   float64 `json:"window_secs"`   // publishing time
	MeasuredSecs float64 `json:"measured_secs"` // window start to the last delivery
	// IngestRate is entries/s delivered to a client from a backlog (first to
	// last message): what the server decodes and publishes (ingest).
	IngestRate float64 `json:"ingest_rate,omitempty"`
	// ServerIngestRate is the same from the server's own count of
	// certificates published (its metrics), when it exports one.
	ServerIngestRate float64 `json:"server_ingest_rate,omitempty"`

	Clients      int            `json:"clients"`
	Connected    int            `json:"connected"`
	Unsubscribed int            `json:"unsubscribed"` // connected but never received a probe
	Disconnects  map[string]int `json:"disconnects"`  // connections that ended (or failed), by reason
	Groups       []GroupResult  `json:"groups"`

	Delivered  int64         `json:"delivered"` // data messages received by all clients
	Bytes      int64         `json:"bytes"`     // their payload bytes
	MsgsPerSec float64       `json:"msgs_per_sec"`
	MBPerSec   float64       `json:"mb_per_sec"`
	Latency    LatencyResult `json:"latency_ms"`
	// Delivery is the part of Latency after the server processed the
	// entry: receive time minus the message's "seen".
	Delivery LatencyResult `json:"delivery_ms"`
	// HeadsPerLogSec is the tree heads and checkpoints each log served per
	// second over the measured window (0 when the source does not count).
	HeadsPerLogSec float64 `json:"heads_per_log_sec,omitempty"`

	Server *ServerResult `json:"server,omitempty"`
	Nodes  []NodeResult  `json:"nodes,omitempty"` // Env.Nodes over the window
	// LinkBytesPerCert is what a certificate costs on a cluster's link
	// (set by the harness from the stream's state; 0: not measured).
	LinkBytesPerCert float64       `json:"link_bytes_per_cert,omitempty"`
	Harness          HarnessResult `json:"harness"`
	Soak             *SoakResult   `json:"soak,omitempty"`
	Churn            *ChurnResult  `json:"churn,omitempty"`
	Checks           []Check       `json:"checks"`
}

// GroupResult accounts for one group of identical clients.
type GroupResult struct {
	Name      string `json:"name"`
	Transport string `json:"transport"`
	Stream    string `json:"stream"`
	Slow      bool   `json:"slow"`
	Clients   int    `json:"clients"`
	Connected int    `json:"connected"`
	// Expected is the messages each client should receive (for a
	// filtered group, the sum over its clients); Delivered is what they
	// did (min/median/max over the group's clients).
	Expected  int64   `json:"expected"`
	Delivered Summary `json:"delivered"`
	// Lost sums expected minus delivered over clients that got fewer;
	// LostClients counts them. Excess sums deliveries beyond expected
	// (duplicates).
	Lost         int64 `json:"lost"`
	LostClients  int   `json:"lost_clients"`
	Excess       int64 `json:"excess"`
	Disconnected int   `json:"disconnected"`
	// Unmatched counts the messages filtered clients received that their
	// filter does not match.
	Unmatched int64 `json:"unmatched,omitempty"`
	// Wire is the bytes the group's WebSocket clients read from their
	// connections, frames and all (compressed when negotiated).
	Wire int64 `json:"wire_bytes,omitempty"`
	// Sessions, Repeated and Skipped sum the reconnecting clients'
	// connections, messages whose sequence number was not above the last
	// one's (duplicates) and numbers skipped (lost).
	Sessions   int64         `json:"sessions,omitempty"`
	Repeated   int64         `json:"repeated,omitempty"`
	Skipped    int64         `json:"skipped,omitempty"`
	Heartbeats Summary       `json:"heartbeats"`
	Latency    LatencyResult `json:"latency_ms"`
	Delivery   LatencyResult `json:"delivery_ms"`
	// PerClient details every client of a slow group.
	PerClient []ClientResult `json:"per_client,omitempty"`
}

// ClientResult is one client's accounting.
type ClientResult struct {
	Delivered int64  `json:"delivered"`
	Lost      int64  `json:"lost"`
	Reason    string `json:"reason,omitempty"` // why it ended, if it did
	// ServerDropped and ServerPushed are what the server reported in its
	// close frame ("dropped D of P"), -1 when it did not. Then Lost splits
	// into ServerDropped, NotSent (expected but never pushed: after the
	// close) and Discarded (pushed, not dropped, yet not received: queued
	// when the connection closed).
	ServerDropped int64 `json:"server_dropped"`
	ServerPushed  int64 `json:"server_pushed"`
	NotSent       int64 `json:"not_sent"`
	Discarded     int64 `json:"discarded"`
}

// Summary is min, median and max over clients.
type Summary struct {
	Min    int64 `json:"min"`
	Median int64 `json:"median"`
	Max    int64 `json:"max"`
}

// summarize returns the summary of vs (zeros when empty).
func summarize(vs []int64) Summary {
	if len(vs) == 0 {
		return Summary{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	return Summary{Min: s[0], Median: s[len(s)/2], Max: s[len(s)-1]}
}

// LatencyResult is end-to-end latency in ms: client receive time minus the
// log's submission_timestamp.
type LatencyResult struct {
	Samples int64 `json:"samples"`
	P50     int64 `json:"p50"`
	P99     int64 `json:"p99"`
	Max     int64 `json:"max"`
}

func latencyOf(h *latency.Histogram) LatencyResult {
	return LatencyResult{Samples: h.Count(), P50: h.Quantile(0.5), P99: h.Quantile(0.99), Max: h.Max()}
}

// ServerResult is what /proc says about the server process.
type ServerResult struct {
	Pid           int     `json:"pid"`
	CPUSecs       float64 `json:"cpu_secs"`        // over the measured window
	GCCPUSecs     float64 `json:"gc_cpu_secs"`     // of which the Go GC's (from its metrics; -1 when not exported)
	CPUPerMillion float64 `json:"cpu_per_million"` // CPU seconds per million delivered messages
	CPUPercent    float64 `json:"cpu_percent"`     // of one core, over the measured window
	RSSBefore     int64   `json:"rss_before"`      // before the clients connected
	RSSEnd        int64   `json:"rss_end"`
	PeakRSS       int64   `json:"peak_rss"`
	Threads       int     `json:"threads"`
	Goroutines    int     `json:"goroutines"` // -1: not available
	// Published and Dropped are the server's own counts over the window
	// of certificates published and of messages dropped for slow clients
	// (from its metrics; -1 when not exported).
	Published int64 `json:"published"`
	Dropped   int64 `json:"dropped"`
	// FilterEvaluations is the server's count of filter evaluations over
	// the window (-1 when not exported).
	FilterEvaluations int64 `json:"filter_evaluations"`
	// Writes is the server's socket writes of queued messages over the
	// window (-1 when not exported); WritesPerClientSec divides it by the
	// connected clients and the measured seconds.
	Writes             int64   `json:"writes"`
	WritesPerClientSec float64 `json:"writes_per_client_sec,omitempty"`
	// MemPerConn is the RSS growth from before connecting to the end,
	// divided by the connected clients (scenarios measuring connections).
	MemPerConn float64 `json:"mem_per_conn,omitempty"`
	// IdleCPUPercent is the CPU use before any client connected (the
	// median of one-second slices); CPUPercent minus it is the cost of
	// keeping the clients when the window publishes nothing (heartbeats,
	// pings, ticks).
	IdleCPUPercent float64 `json:"idle_cpu_percent,omitempty"`
}

// HarnessResult is the harness's own CPU use over the window (clients and
// fake logs), to judge how much of the machine it took.
type HarnessResult struct {
	CPUSecs float64 `json:"cpu_secs"`
}

// SoakResult follows the server's memory and goroutines over the window.
// Warm and End sum up the first and the last third of the samples after
// warm-up: the median RSS, the least goroutine count.
type SoakResult struct {
	Samples       []SoakSample `json:"samples"`
	WarmupSecs    float64      `json:"warmup_secs"`
	WarmRSS       int64        `json:"warm_rss"`
	EndRSS        int64        `json:"end_rss"`
	RSSGrowthPct  float64      `json:"rss_growth_pct"`
	WarmGoroutine int          `json:"warm_goroutines"` // -1: not available
	EndGoroutine  int          `json:"end_goroutines"`
}

// ChurnResult accounts for the churned connections of the window: they
// are not clients, so none of the other figures counts them. Sessions =
// Served + Unserved + Failed + Cut.
type ChurnResult struct {
	Conns    int     `json:"conns"`     // kept open at once
	LifeSecs float64 `json:"life_secs"` // each one's life
	Sessions int     `json:"sessions"`  // opened and judged
	// Served connected and received a data message before the harness
	// closed them at the end of their life; Unserved connected but
	// received none.
	Served   int `json:"served"`
	Unserved int `json:"unserved"`
	Failed   int `json:"failed"` // never connected
	Cut      int `json:"cut"`    // closed by the server or an error before their life ended
	// Interrupted were still connecting or waiting for their first
	// message when the window ended: not judged, not in Sessions.
	Interrupted int `json:"interrupted"`
	// Reasons counts the Failed and Cut sessions by kind and reason,
	// e.g. "sse lite: eof without close frame".
	Reasons map[string]int `json:"reasons,omitempty"`
}

// SoakSample is one reading during a soak.
type SoakSample struct {
	Secs       float64 `json:"secs"` // since the window started
	RSS        int64   `json:"rss"`
	Threads    int     `json:"threads"`
	Goroutines int     `json:"goroutines"` // -1: not available
	// DedupSize is the server's duplicate filter size, when it exports it
	// (-1 otherwise): a bounded structure that fills for a while.
	DedupSize int64 `json:"dedup_size"`
	Delivered int64 `json:"delivered"`
}

// Check is one of the targets, evaluated.
type Check struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}
