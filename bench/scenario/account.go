package scenario

import (
	"github.com/certstream/certstream/bench/client"
	"github.com/certstream/certstream/bench/latency"
)

// account fills the result's client figures from the clients' counters.
func (r *run) account() {
	res := r.res
	groups := make([]GroupResult, len(r.spec.Groups))
	hists := make([]latency.Histogram, len(r.spec.Groups))
	deliv := make([]latency.Histogram, len(r.spec.Groups))
	delivered := make([][]int64, len(groups))
	heartbeats := make([][]int64, len(groups))
	var all, allDeliv latency.Histogram
	for gi, g := range r.spec.Groups {
		groups[gi] = GroupResult{Name: g.Name, Transport: string(g.Transport), Stream: string(g.Stream),
			Slow: g.SlowRate > 0, Clients: g.Count, Expected: res.Published}
	}
	expect := r.expectations()
	for gi, g := range r.spec.Groups {
		if len(g.Filters) > 0 {
			groups[gi].Expected = 0
		}
	}
	for _, m := range r.members {
		s := m.c.Snapshot()
		g := &groups[m.group]
		want := res.Published
		if m.filter != nil {
			want = expect(m.filter)
			g.Expected += want
			g.Unmatched += m.filter.unmatched(m.c.Records())
		}
		g.Wire += s.Wire - m.base.Wire
		g.Repeated += s.Repeated - m.base.Repeated
		g.Skipped += s.Skipped - m.base.Skipped
		g.Sessions += s.Sessions - m.base.Sessions
		if s.State != client.Pending && s.State != client.Failed {
			g.Connected++
			res.Connected++
		}
		if s.State == client.Failed || s.State == client.Closed {
			res.Disconnects[s.Reason]++
			g.Disconnected++
		}
		d := s.Messages - m.base.Messages
		if s.State == client.Failed {
			d = 0
		}
		delivered[m.group] = append(delivered[m.group], d)
		heartbeats[m.group] = append(heartbeats[m.group], s.Heartbeats-m.base.Heartbeats)
		res.Delivered += d
		res.Bytes += s.Bytes - m.base.Bytes
		lost := max(want-d, 0)
		if lost > 0 {
			g.Lost += lost
			g.LostClients++
		}
		g.Excess += max(d-want, 0)
		hists[m.group].Merge(m.c.Latency())
		deliv[m.group].Merge(m.c.Delivery())
		if g.Slow {
			g.PerClient = append(g.PerClient, clientResult(d, lost, res.Published, m.base.Messages, s))
		}
	}
	for gi := range groups {
		groups[gi].Delivered = summarize(delivered[gi])
		groups[gi].Heartbeats = summarize(heartbeats[gi])
		groups[gi].Latency = latencyOf(&hists[gi])
		groups[gi].Delivery = latencyOf(&deliv[gi])
		all.Merge(&hists[gi])
		allDeliv.Merge(&deliv[gi])
	}
	res.Groups = groups
	res.Latency, res.Delivery = latencyOf(&all), latencyOf(&allDeliv)
	if res.MeasuredSecs > 0 {
		res.MsgsPerSec = float64(res.Delivered) / res.MeasuredSecs
		res.MBPerSec = float64(res.Bytes) / res.MeasuredSecs / 1e6
	}
	if srv := res.Server; srv != nil {
		if res.Delivered > 0 {
			srv.CPUPerMillion = srv.CPUSecs / (float64(res.Delivered) / 1e6)
		}
		if srv.Writes > 0 && res.Connected > 0 && res.MeasuredSecs > 0 {
			srv.WritesPerClientSec = float64(srv.Writes) / float64(res.Connected) / res.MeasuredSecs
		}
		if r.spec.PerConnection && res.Connected > 0 && srv.RSSEnd > 0 {
			srv.MemPerConn = float64(srv.RSSEnd-srv.RSSBefore) / float64(res.Connected)
		}
	}
	if res.Soak != nil {
		res.Soak.summarize()
	}
}

// summarize compares the start and the end of the soak after warm-up,
// over the first and the last third of the samples taken after it: the
// median RSS (one sample caught before a collection does not decide) and
// the least goroutine count (busy actors add goroutines for a moment; a
// leak raises the floor).
func (sk *SoakResult) summarize() {
	var after []SoakSample
	for _, s := range sk.Samples {
		if s.Secs >= sk.WarmupSecs {
			after = append(after, s)
		}
	}
	if len(after) == 0 {
		return
	}
	third := max(1, len(after)/3)
	early, late := after[:third], after[len(after)-third:]
	rss := func(s SoakSample) int64 { return s.RSS }
	g := func(s SoakSample) int64 { return int64(s.Goroutines) }
	sk.WarmRSS, sk.EndRSS = summarizeBy(early, rss).Median, summarizeBy(late, rss).Median
	sk.WarmGoroutine, sk.EndGoroutine = int(summarizeBy(early, g).Min), int(summarizeBy(late, g).Min)
	if sk.WarmRSS > 0 {
		sk.RSSGrowthPct = 100 * float64(sk.EndRSS-sk.WarmRSS) / float64(sk.WarmRSS)
	}
}

// summarizeBy summarizes f over samples.
func summarizeBy(samples []SoakSample, f func(SoakSample) int64) Summary {
	vs := make([]int64, len(samples))
	for i, s := range samples {
		vs[i] = f(s)
	}
	return summarize(vs)
}

// clientResult details one client; when the server stated its counts on
// closing (over the connection's life, so including the before messages
// the client received ahead of the window), the loss is split by cause.
func clientResult(delivered, lost, expected, before int64, s client.Snapshot) ClientResult {
	c := ClientResult{Delivered: delivered, Lost: lost, Reason: s.Reason, ServerDropped: s.ServerDropped,
		ServerPushed: s.ServerPushed, NotSent: -1, Discarded: -1}
	if s.ServerPushed >= 0 {
		c.NotSent = max(expected-(s.ServerPushed-before), 0)
		c.Discarded = max(lost-c.NotSent-s.ServerDropped, 0)
	}
	return c
}

// totals sums the clients' counters.
type totals struct {
	messages, bytes int64
	connected, gone int
}

func (r *run) totals() totals {
	var t totals
	for _, m := range r.members {
		s := m.c.Snapshot()
		t.messages += s.Messages
		t.bytes += s.Bytes
		switch s.State {
		case client.Connected:
			t.connected++
		case client.Closed, client.Failed:
			t.gone++
		}
	}
	return t
}

// baseTotal sums the clients' messages at the window's start.
func (r *run) baseTotal() int64 {
	var n int64
	for _, m := range r.members {
		n += m.base.Messages
	}
	return n
}
