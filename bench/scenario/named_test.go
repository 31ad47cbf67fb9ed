package scenario

import (
	"strings"
	"testing"
	"time"
)

func TestNamedScenariosFollowTheOptions(t *testing.T) {
	o := DefaultOptions()
	for _, name := range Names {
		s, err := Named(name, o)
		if err != nil || s.Name != name || len(s.Groups) == 0 || s.Checks == nil {
			t.Errorf("%s: %+v %v", name, s, err)
		}
	}
	if _, err := Named("nope", o); err == nil || !strings.Contains(err.Error(), "fanout") {
		t.Errorf("unknown scenario: %v", err)
	}
	o.SlowClients, o.SlowFraction, o.SlowRate = 20, 0.25, 7
	s, _ := Named("slow", o)
	if s.Groups[0].Count != 15 || s.Groups[1].Count != 5 || s.Groups[1].SlowRate != 7 || s.Groups[0].SlowRate != 0 {
		t.Errorf("slow groups %+v", s.Groups)
	}
	s, _ = Named("ingest", o)
	if s.Backlog != o.IngestEntries || len(s.NodeEnv) != 1 || !strings.Contains(s.NodeEnv[0], "MAILBOX_CAPACITY=101024") {
		t.Errorf("ingest %+v", s)
	}
	s, _ = Named("mixed", o)
	total := 0
	for _, g := range s.Groups {
		total += g.Count
	}
	if total != 1000 || s.Groups[3].Transport != "sse" {
		t.Errorf("mixed groups %+v", s.Groups)
	}
	s, _ = Named("realistic", o)
	if s.Logs != 40 || s.Cadence != time.Second || s.Rate != 1500 || len(s.Groups) != 3 || s.Groups[1].Count != 2000 ||
		len(s.NodeEnv) != 1 || !strings.Contains(s.NodeEnv[0], "POLL_INTERVAL_MS=1000") {
		t.Errorf("realistic %+v", s)
	}
	o.RealisticFull = 0
	if s, _ = Named("realistic", o); len(s.Groups) != 2 {
		t.Errorf("realistic without full clients: groups %+v", s.Groups)
	}
	s, _ = Named("soak", o)
	if s.Churn != (Churn{Conns: o.SoakChurn, Life: o.SoakChurnLife}) || s.Churn.Conns == 0 || s.Churn.check() != nil {
		t.Errorf("soak churn %+v, want %d connections living %v", s.Churn, o.SoakChurn, o.SoakChurnLife)
	}
	if err := (Churn{Conns: 1}).check(); err == nil {
		t.Error("churn without a life accepted")
	}
}

func TestSlowChecksCompareDropsWithTheServer(t *testing.T) {
	r := &Result{Published: 100, Server: &ServerResult{Dropped: 70}, Groups: []GroupResult{
		{Name: "fast"},
		{Name: "slow", Slow: true, PerClient: []ClientResult{
			{Lost: 40, NotSent: -1, ServerPushed: -1}, // caught up: lost = dropped
			{Lost: 80, Reason: "close 1008 too slow", ServerDropped: 25, ServerPushed: 50, NotSent: 50, Discarded: 5},
		}},
	}}
	cs := slowChecks(r)
	if len(cs) != 2 || !cs[0].Pass || !cs[1].Pass {
		t.Fatalf("checks %+v", cs)
	}
	r.Server.Dropped = 71
	if cs := slowChecks(r); cs[1].Pass || !strings.Contains(cs[1].Got, "70 seen by the clients, 71") {
		t.Errorf("mismatch not reported: %+v", cs[1])
	}
	r.Groups[1].PerClient[1].NotSent = -1
	if cs := slowChecks(r); cs[1].Pass || !strings.Contains(cs[1].Got, "unknown") {
		t.Errorf("unknown counts not reported: %+v", cs[1])
	}
	r.Server = nil
	if cs := slowChecks(r); cs[1].Pass {
		t.Errorf("no server count yet passed: %+v", cs[1])
	}
}

func TestConnectionChecksChargeTheClientsAboveTheIdleServer(t *testing.T) {
	cost := func(with, without float64) bool {
		r := &Result{Connected: 10, Server: &ServerResult{MemPerConn: 1024, CPUPercent: with, IdleCPUPercent: without}}
		return connectionChecks(r)[1].Pass
	}
	if !cost(6, 2) {
		t.Error("4% of a core for the clients must pass")
	}
	if cost(8, 2) {
		t.Error("6% of a core for the clients must miss")
	}
	if cost(2, 9) {
		t.Error("a baseline above the measured window is a disturbed measurement, not a pass")
	}
}
