package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/certstream/certstream/bench/client"
)

// window publishes the scenario's entries and waits for their delivery,
// measuring the server over that span.
func (r *run) window(ctx context.Context) error {
	for _, m := range r.members {
		m.base = m.c.Snapshot()
	}
	r.measure.Store(true)
	defer r.measure.Store(false)
	if r.spec.Backlog > 0 {
		if err := r.publishBacklog(ctx); err != nil {
			return err
		}
	}
	cpu0, self0, m0, heads0 := r.sample(), selfCPU(), scrape(r.env.MetricsURL), r.heads()
	nodes0 := sampleNodes(r.env.Nodes)
	if r.spec.Backlog > 0 {
		if err := r.env.Source.SetDown(false); err != nil {
			return err
		}
	}
	start := time.Now()
	if r.env.ProfileURL != "" {
		profiled := r.profileWindow()
		defer func() {
			if err := <-profiled; err != nil {
				r.logf(true, "profiling the window: %v", err)
			}
		}()
	}
	if r.spec.SampleEvery > 0 {
		r.res.Soak = &SoakResult{WarmupSecs: r.spec.Warmup.Seconds(), WarmGoroutine: -1, EndGoroutine: -1}
	}
	churn, err := startChurn(ctx, r.env.Target, r.spec.Churn)
	if err != nil {
		return err
	}
	r.churn = churn
	if r.spec.Backlog == 0 {
		err = r.publish(ctx, start)
	}
	end := time.Now()
	r.res.Churn, r.churn = churn.finish(), nil
	r.res.WindowSecs = end.Sub(start).Seconds()
	if r.spec.Backlog == 0 && r.res.WindowSecs > 0 {
		r.res.PublishRate = float64(r.res.Published) / r.res.WindowSecs
	}
	for _, m := range r.members {
		m.c.CatchUp() // slow clients now take what the server still holds
	}
	if err == nil {
		err = r.drain(ctx, m0)
	}
	last := start
	for _, m := range r.members {
		if s := m.c.Snapshot(); s.Last.After(last) && s.Messages > m.base.Messages {
			last = s.Last
		}
	}
	r.res.MeasuredSecs = max(last.Sub(start), end.Sub(start)).Seconds()
	cpu1, m1, heads1 := r.sample(), scrape(r.env.MetricsURL), r.heads()
	r.res.Nodes = nodeResults(r.env.Nodes, nodes0, sampleNodes(r.env.Nodes))
	if hc, ok := r.env.Source.(HeadCounter); ok && hc.Logs() > 0 && r.res.MeasuredSecs > 0 {
		r.res.HeadsPerLogSec = float64(heads1-heads0) / float64(hc.Logs()) / r.res.MeasuredSecs
	}
	r.res.Harness.CPUSecs = (selfCPU() - self0).Seconds()
	if srv := r.res.Server; srv != nil {
		srv.CPUSecs = (cpu1.CPU - cpu0.CPU).Seconds()
		srv.GCCPUSecs = deltaSecs(m0, m1, metricGCCPU)
		srv.CPUPercent = cpuPercent(cpu0, cpu1)
		srv.RSSEnd, srv.PeakRSS, srv.Threads = cpu1.RSS, cpu1.PeakRSS, cpu1.Threads
		srv.Goroutines = int(metric(m1, metricGoroutines))
		srv.Published, srv.Dropped = delta(m0, m1, metricRouterIn), delta(m0, m1, metricDropped)
		srv.FilterEvaluations = delta(m0, m1, metricFilterEval)
		srv.Writes = sumDelta(m0, m1, metricWrites)
	}
	return err
}

// heads is the head requests the source's logs have served, or 0 when it
// does not count them.
func (r *run) heads() int64 {
	if hc, ok := r.env.Source.(HeadCounter); ok {
		return hc.HeadRequests()
	}
	return 0
}

// backlogProfile is how long a backlog's window is profiled.
const backlogProfile = 10 * time.Second

// profileWindow fetches a CPU profile of the server as long as the window
// into ProfileFile; the channel reports the outcome.
func (r *run) profileWindow() <-chan error {
	d := r.spec.Duration
	if r.spec.Backlog > 0 {
		d = backlogProfile
	}
	secs := max(1, int((d+time.Second-1)/time.Second))
	out := make(chan error, 1)
	go func() {
		c := &http.Client{Timeout: time.Duration(secs)*time.Second + 30*time.Second}
		resp, err := c.Get(fmt.Sprintf("%s?seconds=%d", r.env.ProfileURL, secs))
		if err != nil {
			out <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			out <- fmt.Errorf("%s: HTTP %d", r.env.ProfileURL, resp.StatusCode)
			return
		}
		f, err := os.Create(r.env.ProfileFile)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			err = errors.Join(err, f.Close())
		}
		out <- err
	}()
	return out
}

// publishBacklog publishes the backlog while the logs are down; the
// caller brings them up.
func (r *run) publishBacklog(ctx context.Context) error {
	if err := r.env.Source.SetDown(true); err != nil {
		return err
	}
	const chunk = 10000
	for done := 0; done < r.spec.Backlog; {
		n := min(chunk, r.spec.Backlog-done)
		if err := r.env.Source.Append(n); err != nil {
			return err
		}
		done += n
		r.res.Published = int64(done)
		r.logf(false, "publishing the backlog: %d of %d entries", done, r.spec.Backlog)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// publish appends entries at the rate for the duration, recording soak
// samples.
func (r *run) publish(ctx context.Context, start time.Time) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	nextSample := start
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		elapsed := min(time.Since(start), r.spec.Duration)
		if due := int64(r.spec.Rate*elapsed.Seconds()) - r.res.Published; due > 0 {
			if err := r.env.Source.Append(int(due)); err != nil {
				return fmt.Errorf("publishing: %w", err)
			}
			r.res.Published += due
		}
		if r.res.Soak != nil && !time.Now().Before(nextSample) {
			r.soakSample(start)
			nextSample = nextSample.Add(r.spec.SampleEvery)
		}
		r.logf(false, "window %.0fs/%.0fs: %d published", elapsed.Seconds(), r.spec.Duration.Seconds(), r.res.Published)
		if elapsed >= r.spec.Duration {
			if sk := r.res.Soak; sk != nil && time.Since(start).Seconds()-sk.Samples[len(sk.Samples)-1].Secs >= 1 {
				r.soakSample(start) // the end, unless just sampled
			}
			return nil
		}
	}
}

// soakSample records the server's memory and goroutines now.
func (r *run) soakSample(start time.Time) {
	s, m := r.sample(), scrape(r.env.MetricsURL)
	r.res.Soak.Samples = append(r.res.Soak.Samples, SoakSample{Secs: time.Since(start).Seconds(), RSS: s.RSS,
		Threads: s.Threads, Goroutines: int(metric(m, metricGoroutines)), DedupSize: metric(m, metricDedupSize),
		Delivered: r.totals().messages})
}

// drain waits until every connected client has all the window's messages,
// delivery stalls for DrainIdle (slow clients that lost some), or DrainMax
// passes. For a backlog it also follows the server's published count (m0
// is the metrics at the window's start) to time its ingest.
func (r *run) drain(ctx context.Context, m0 map[string]float64) error {
	begin := time.Now()
	last, changed := r.totals().messages, begin
	ingest := newIngestTimer(m0, r.spec.Backlog > 0)
	for {
		done := true
		for _, m := range r.members {
			s := m.c.Snapshot()
			if s.State == client.Connected && s.Messages-m.base.Messages < r.res.Published {
				done = false
				break
			}
		}
		tot := r.totals()
		if tot.messages != last {
			last, changed = tot.messages, time.Now()
		}
		if ingest.active() {
			ingest.observe(scrape(r.env.MetricsURL), r.res.Published)
		}
		r.logf(false, "delivering: %d of %d messages", tot.messages-r.baseTotal(), r.res.Published*int64(len(r.members)))
		if done && !ingest.active() || time.Since(changed) >= r.t.DrainIdle || time.Since(begin) >= r.t.DrainMax {
			break
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	if r.spec.Backlog > 0 {
		r.res.IngestRate = r.ingestRate()
		r.res.ServerIngestRate = ingest.rate()
	}
	return nil
}

// ingestTimer follows the server's count of published certificates while
// a backlog is processed.
type ingestTimer struct {
	base        int64 // count at the window's start, -1 when unknown
	first, last time.Time
	firstN      int64
	lastN       int64
	done        bool
}

// newIngestTimer follows the count from m0 if on is set and m0 has it.
func newIngestTimer(m0 map[string]float64, on bool) *ingestTimer {
	base := metric(m0, metricRouterIn)
	return &ingestTimer{base: base, done: !on || base < 0}
}

// active reports whether the server's count is still being followed.
func (t *ingestTimer) active() bool { return !t.done }

// observe records the count in m; it stops once want were published.
func (t *ingestTimer) observe(m map[string]float64, want int64) {
	n := metric(m, metricRouterIn) - t.base
	if n < 0 {
		t.done = true
		return
	}
	now := time.Now()
	if n > 0 && t.first.IsZero() {
		t.first, t.firstN = now, n
	}
	if n > t.lastN {
		t.last, t.lastN = now, n
	}
	t.done = n >= want
}

// rate is certificates per second between the first and last increase
// seen, or 0.
func (t *ingestTimer) rate() float64 {
	if d := t.last.Sub(t.first).Seconds(); d > 0 && t.lastN > t.firstN {
		return float64(t.lastN-t.firstN) / d
	}
	return 0
}

// ingestRate is the best delivery rate of a backlog to any client: its
// window messages over the time from its first to its last.
func (r *run) ingestRate() float64 {
	var best float64
	for _, m := range r.members {
		s := m.c.Snapshot()
		n := s.Messages - m.base.Messages
		if d := s.Last.Sub(s.First).Seconds(); n > 1 && d > 0 {
			best = max(best, float64(n-1)/d)
		}
	}
	return best
}
