package scenario

import (
	"testing"
	"time"

	"github.com/certstream/certstream/bench/procstat"
)

func TestClusterSpecSpreadsClientsOverEdges(t *testing.T) {
	o := DefaultOptions()
	o.ClusterEdges, o.ClusterClients = 3, 7
	s, err := Named("cluster", o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Groups) != 3 {
		t.Fatalf("%d groups, want 3", len(s.Groups))
	}
	for i, g := range s.Groups {
		if g.Name != ClusterGroup(i) || g.Count != 7 {
			t.Errorf("group %d: %s with %d clients, want %s with 7", i, g.Name, g.Count, ClusterGroup(i))
		}
	}
}

func TestCompareCluster(t *testing.T) {
	standalone := &Result{Server: &ServerResult{CPUPerMillion: 2}, Latency: LatencyResult{P50: 10, P99: 40}}
	cluster := &Result{MeasuredSecs: 10,
		Groups: []GroupResult{
			{Name: "edge-1", Clients: 2, Expected: 1000, Lost: 10, Latency: LatencyResult{P50: 13, P99: 45}},
			{Name: "edge-2", Clients: 2, Expected: 1000, Lost: 10, Excess: 10, Latency: LatencyResult{P50: 9, P99: 50}},
		},
		Nodes: []NodeResult{{Name: "edge-2", CPUSecs: 0.004}, {Name: "edge-1", CPUSecs: 0.00199}},
	}
	got := CompareCluster(standalone, cluster)
	want := []EdgeFigures{
		{Name: "edge-1", Delivered: 1990, MsgsPerSec: 199, CPUPerMillion: 1, StandaloneCPUPerMillion: 2, P50: 13, P99: 45, AddedP50: 3, AddedP99: 5},
		{Name: "edge-2", Delivered: 2000, MsgsPerSec: 200, CPUPerMillion: 2, StandaloneCPUPerMillion: 2, P50: 9, P99: 50, AddedP50: -1, AddedP99: 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d edges, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("edge %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestNodeResults(t *testing.T) {
	at := time.Now()
	a := []procstat.Sample{{At: at, CPU: time.Second}}
	b := []procstat.Sample{{At: at.Add(2 * time.Second), CPU: 2 * time.Second, RSS: 42}}
	got := nodeResults([]Node{{Name: "edge-1", Pid: 7}}, a, b)
	want := NodeResult{Name: "edge-1", Pid: 7, CPUSecs: 1, CPUPercent: 50, RSSEnd: 42}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v, want [%+v]", got, want)
	}
}
