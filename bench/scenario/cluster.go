package scenario

import (
	"fmt"

	"github.com/certstream/certstream/bench/client"
	"github.com/certstream/certstream/bench/procstat"
)

// Node is a server process measured over the window besides Env.Pid.
type Node struct {
	Name string
	Pid  int
}

// NodeResult is what /proc says about a Node over the window.
type NodeResult struct {
	Name       string  `json:"name"`
	Pid        int     `json:"pid"`
	CPUSecs    float64 `json:"cpu_secs"`
	CPUPercent float64 `json:"cpu_percent"` // of one core
	RSSEnd     int64   `json:"rss_end"`
}

// sampleNodes reads each node (a zero sample for one that is gone).
func sampleNodes(nodes []Node) []procstat.Sample {
	out := make([]procstat.Sample, len(nodes))
	for i, n := range nodes {
		out[i], _ = procstat.Read(n.Pid)
	}
	return out
}

// nodeResults are the nodes' figures between samples a and b.
func nodeResults(nodes []Node, a, b []procstat.Sample) []NodeResult {
	var out []NodeResult
	for i, n := range nodes {
		out = append(out, NodeResult{Name: n.Name, Pid: n.Pid, CPUSecs: (b[i].CPU - a[i].CPU).Seconds(),
			CPUPercent: cpuPercent(a[i], b[i]), RSSEnd: b[i].RSS})
	}
	return out
}

// ClusterGroup names the group of clients of the i-th edge (from 0).
func ClusterGroup(i int) string { return fmt.Sprintf("edge-%d", i+1) }

// clusterSpec spreads the clients over the edges, a group per edge; the
// harness points each group at its edge (Group.Target) and runs the same
// groups against one standalone node for comparison.
func clusterSpec(o Options) Spec {
	s := Spec{Name: "cluster", Rate: o.Rate, Duration: o.Duration, Checks: lossless}
	for i := range o.ClusterEdges {
		s.Groups = append(s.Groups, Group{Name: ClusterGroup(i), Transport: client.WebSocket, Stream: client.Lite, Count: o.ClusterClients})
	}
	return s
}

// EdgeFigures compares one edge of a cluster run with the standalone run
// of the same clients.
type EdgeFigures struct {
	Name       string
	Delivered  int64   // messages to the edge's clients
	MsgsPerSec float64 // over the cluster run's measured time
	// CPUPerMillion is the edge's CPU seconds per million delivered
	// messages; StandaloneCPUPerMillion the standalone node's over all
	// its clients.
	CPUPerMillion, StandaloneCPUPerMillion float64
	// P50 and P99 are the edge's clients' end-to-end latency (ms); Added*
	// subtract the standalone run's.
	P50, P99, AddedP50, AddedP99 int64
}

// CompareCluster returns the figures of each edge of cluster (whose
// Nodes are the edges, named after their groups) against standalone.
func CompareCluster(standalone, cluster *Result) []EdgeFigures {
	var out []EdgeFigures
	var baseCPU float64
	if s := standalone.Server; s != nil {
		baseCPU = s.CPUPerMillion
	}
	for _, g := range cluster.Groups {
		e := EdgeFigures{Name: g.Name, Delivered: groupDelivered(g), StandaloneCPUPerMillion: baseCPU,
			P50: g.Latency.P50, P99: g.Latency.P99,
			AddedP50: g.Latency.P50 - standalone.Latency.P50, AddedP99: g.Latency.P99 - standalone.Latency.P99}
		if cluster.MeasuredSecs > 0 {
			e.MsgsPerSec = float64(e.Delivered) / cluster.MeasuredSecs
		}
		for _, n := range cluster.Nodes {
			if n.Name == g.Name && e.Delivered > 0 {
				e.CPUPerMillion = n.CPUSecs / (float64(e.Delivered) / 1e6)
			}
		}
		out = append(out, e)
	}
	return out
}

// groupDelivered is the messages a group of unfiltered clients received.
func groupDelivered(g GroupResult) int64 {
	return g.Expected*int64(g.Clients) - g.Lost + g.Excess
}
