// Package scenario runs one load scenario against a certstream server and
// accounts for it. A run opens the scenario's clients at a ramp, proves
// each is subscribed by publishing probe entries until every client has
// one, waits for quiet, then publishes the scenario's entries through the
// fake logs in a measured window and waits for delivery. Because nothing
// is published outside the probe and the window, every client expects
// exactly the window's entries, and expected minus delivered is exactly
// what it lost. Churned connections, opened and closed during the window
// beside the clients, are accounted apart. Alongside, it reads the
// server's CPU time and memory from /proc and, for a soak, follows them
// over time.
//
// Named returns the scenarios (ingest, fanout, mixed, connections,
// slow, soak) with their targets as Checks.
package scenario

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/certstream/certstream/bench/client"
	"github.com/certstream/certstream/bench/procstat"
)

// HeadCounter is a Source that counts the tree heads and checkpoints its
// logs served, so that a run reports how often the server polls them.
type HeadCounter interface {
	HeadRequests() int64
	Logs() int
}

// Source publishes entries to the logs the server under test follows.
type Source interface {
	// Append publishes n new entries now.
	Append(n int) error
	// SetDown makes the logs unavailable (or available again), so that a
	// backlog can be published at once.
	SetDown(down bool) error
}

// Group is a set of identical clients.
type Group struct {
	Name      string
	Transport client.Transport
	Stream    client.Stream
	Count     int
	// SlowRate, when positive, makes each client read at most this many
	// messages per second.
	SlowRate float64
	// Filters, when set, gives the i-th client of the group the filter
	// Filters[i%len(Filters)]: it expects exactly the window's messages of
	// the reference group that the filter matches.
	Filters []Filter
	// Reference makes the group's clients record the names of every
	// message (domains-only stream, unfiltered): the first client is what
	// filtered clients are checked against.
	Reference bool
	// Compression makes the clients offer permessage-deflate.
	Compression bool
	// Reconnect, when positive, makes each client reconnect this often,
	// resuming after the last sequence number it received.
	Reconnect time.Duration
	// Target, when set, is the server the group connects to instead of
	// Env.Target (e.g. one edge of a cluster).
	Target string
}

// Spec is a scenario.
type Spec struct {
	Name   string
	Groups []Group
	// Rate is the entries per second published during Duration (0: the
	// window publishes nothing and just waits).
	Rate     float64
	Duration time.Duration
	// Backlog, when positive, replaces Rate: that many entries are
	// published while the logs are down, then the logs come up and the
	// window lasts until they are delivered.
	Backlog int
	// IdleBaseline, when positive, measures the server's CPU use for this
	// long before any client connects.
	IdleBaseline time.Duration
	// SampleEvery, when positive, records the server's RSS and goroutines
	// this often during the window; samples before Warmup are warm-up.
	SampleEvery time.Duration
	Warmup      time.Duration
	// Churn, when it has connections, opens and closes connections
	// besides the members during the window (not counted as members).
	Churn Churn
	// PerConnection reports the server's RSS growth per connected client.
	PerConnection bool
	// Logs is how many fake logs the scenario wants (0: the harness's
	// default), and Cadence, when positive, makes each publish once per
	// Cadence at a phase of its own (see feed.Config).
	Logs    int
	Cadence time.Duration
	// NodeEnv is configuration (CERTSTREAM_* variables) the scenario needs
	// when the harness starts the node itself.
	NodeEnv []string
	// Checks evaluates the scenario's targets.
	Checks func(*Result) []Check
}

// Env is where and how a scenario runs.
type Env struct {
	Target string // "ws://host:port" of the server under test
	Source Source
	// Pid is the server process to read from /proc (0: none).
	Pid int
	// MetricsURL serves the server's Prometheus metrics, read (when they
	// are there) for its goroutine count, certificates published and
	// messages dropped ("" or unreachable: not reported).
	MetricsURL string
	// ProfileURL, when set, is the server's net/http/pprof CPU profile
	// endpoint (.../debug/pprof/profile): the window is profiled into
	// ProfileFile.
	ProfileURL, ProfileFile string
	// Nodes are more server processes measured over the window (e.g. the
	// edges of a cluster); Result.Nodes has their figures.
	Nodes []Node
	// Progress receives a status line every ProgressEvery (nil: none).
	Progress      io.Writer
	ProgressEvery time.Duration
	Timing        Timing
}

// Timing bounds each phase. Zero fields take the defaults noted.
type Timing struct {
	Ramp           float64       // connections opened per second (1000)
	ConnectTimeout time.Duration // for every client to connect or fail (60 s)
	ProbeEvery     time.Duration // between probe entries (200 ms)
	ProbeTimeout   time.Duration // for every client to receive a probe (30 s)
	Quiet          time.Duration // without any message before the window (1 s)
	DrainIdle      time.Duration // without progress ends delivery (3 s)
	DrainMax       time.Duration // longest wait for delivery after the window (30 s)
	SampleLatency  int64         // record every Nth message's latency per client (1)
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if t.Ramp <= 0 {
		t.Ramp = 1000
	}
	def(&t.ConnectTimeout, time.Minute)
	def(&t.ProbeEvery, 200*time.Millisecond)
	def(&t.ProbeTimeout, 30*time.Second)
	def(&t.Quiet, time.Second)
	def(&t.DrainIdle, 3*time.Second)
	def(&t.DrainMax, 30*time.Second)
	if t.SampleLatency <= 0 {
		t.SampleLatency = 1
	}
	return t
}

// member is one client of a run.
type member struct {
	c      *client.Client
	group  int
	filter *Filter
	base   client.Snapshot // at the window's start
}

// run is the state of one scenario run.
type run struct {
	spec    Spec
	env     Env
	t       Timing
	res     *Result
	members []*member
	measure atomic.Bool
	churn   *churner // during the window, when the spec churns
	lastLog time.Time
	lastSum totals
}

// Run runs spec in env. It returns the result so far with an error when
// ctx ends or the source fails.
func Run(ctx context.Context, spec Spec, env Env) (*Result, error) {
	r := &run{spec: spec, env: env, t: env.Timing.withDefaults(),
		res: &Result{Scenario: spec.Name, Target: env.Target, Start: time.Now(), Rate: spec.Rate, Disconnects: map[string]int{}}}
	r.res.LoadStart, _ = procstat.LoadAvg()
	if env.Pid > 0 {
		r.res.Server = &ServerResult{Pid: env.Pid, Goroutines: -1, Published: -1, Dropped: -1, Writes: -1, GCCPUSecs: -1, FilterEvaluations: -1}
	}
	cctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	err := r.phases(ctx, cctx, &wg)
	r.account()
	r.res.LoadEnd, _ = procstat.LoadAvg()
	if spec.Checks != nil {
		r.res.Checks = spec.Checks(r.res)
	}
	return r.res, err
}

// idleSettle is waited before measuring an idle server, so that the work
// of its start does not count.
const idleSettle = 2 * time.Second

// phases runs the scenario up to the end of delivery.
func (r *run) phases(ctx, cctx context.Context, wg *sync.WaitGroup) error {
	if err := r.spec.Churn.check(); err != nil {
		return err
	}
	if r.spec.IdleBaseline > 0 && r.res.Server != nil {
		r.logf(true, "measuring the idle server for %v", r.spec.IdleBaseline)
		if err := sleep(ctx, idleSettle); err != nil { // past its start-up work
			return err
		}
		idle, err := r.idleCPU(ctx, r.spec.IdleBaseline)
		if err != nil {
			return err
		}
		r.res.Server.IdleCPUPercent = idle
	}
	if r.res.Server != nil {
		r.res.Server.RSSBefore = r.sample().RSS
	}
	if err := r.connect(ctx, cctx, wg); err != nil {
		return err
	}
	if err := r.probe(ctx); err != nil {
		return err
	}
	return r.window(ctx)
}

// idleCPU measures the server's CPU use, in % of a core, over d as the
// median of one-second slices: a burst of leftover start-up work (or a GC
// cycle) in one slice does not count, so the baseline is the server's
// steady idle cost and what is charged to the clients errs high.
func (r *run) idleCPU(ctx context.Context, d time.Duration) (float64, error) {
	var parts []float64
	prev := r.sample()
	for end := time.Now().Add(d); time.Now().Before(end); {
		if err := sleep(ctx, min(time.Second, time.Until(end))); err != nil {
			return 0, err
		}
		cur := r.sample()
		parts = append(parts, cpuPercent(prev, cur))
		prev = cur
	}
	if len(parts) == 0 {
		return 0, nil
	}
	slices.Sort(parts)
	return parts[len(parts)/2], nil
}

// connect opens every client at the ramp and waits until each is connected
// or has failed.
func (r *run) connect(ctx, cctx context.Context, wg *sync.WaitGroup) error {
	for gi, g := range r.spec.Groups {
		target := r.env.Target
		if g.Target != "" {
			target = g.Target
		}
		u, err := client.URL(target, g.Transport, g.Stream)
		if err != nil {
			return err
		}
		for i := range g.Count {
			m := &member{group: gi}
			cu := u
			if len(g.Filters) > 0 {
				m.filter = &g.Filters[i%len(g.Filters)]
				cu += map[bool]string{false: "?", true: "&"}[strings.Contains(u, "?")] + m.filter.Query
			}
			m.c = client.New(client.Config{
				URL: cu, Transport: g.Transport, Latency: g.Stream != client.Domains, Measure: &r.measure,
				SampleEvery: r.t.SampleLatency, SlowRate: g.SlowRate, ReadBuffer: readBuffer(g.Stream),
				Compression: g.Compression, Record: g.Reference || m.filter != nil, Reconnect: g.Reconnect})
			r.members = append(r.members, m)
		}
	}
	r.res.Clients = len(r.members)
	var started atomic.Int64
	wg.Go(func() {
		begin := time.Now()
		for i, m := range r.members {
			due := begin.Add(time.Duration(float64(i) / r.t.Ramp * float64(time.Second)))
			if sleep(cctx, time.Until(due)) != nil {
				return
			}
			wg.Go(func() { m.c.Run(cctx) })
			started.Add(1)
		}
	})
	deadline := time.Now().Add(r.t.ConnectTimeout)
	for {
		pending := len(r.members) - int(started.Load())
		for _, m := range r.members[:started.Load()] {
			if m.c.Snapshot().State == client.Pending {
				pending++
			}
		}
		r.logf(false, "connecting: %d of %d opened", len(r.members)-pending, len(r.members))
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			r.logf(true, "%d clients still connecting after %v; going on", pending, r.t.ConnectTimeout)
			return nil
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// readBuffer sizes a client's read buffer: large for the certificate
// streams, small for domains-only, which is light and may have ten thousand
// clients.
func readBuffer(s client.Stream) int {
	if s == client.Domains {
		return 4 << 10
	}
	return 64 << 10
}

// probe publishes one entry at a time until every connected client has
// received a message, then waits for quiet.
func (r *run) probe(ctx context.Context) error {
	deadline := time.Now().Add(r.t.ProbeTimeout)
	for {
		waiting := 0
		for _, m := range r.members {
			// A filtered client may match no probe: the unfiltered ones,
			// connected last, prove the earlier subscriptions.
			if s := m.c.Snapshot(); m.filter == nil && s.State == client.Connected && s.Messages == 0 {
				waiting++
			}
		}
		r.res.Unsubscribed = waiting
		r.logf(false, "probing: %d clients without a message after %d probe entries", waiting, r.res.ProbeEntries)
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			r.logf(true, "%d clients received no probe entry within %v; going on", waiting, r.t.ProbeTimeout)
			break
		}
		if err := r.env.Source.Append(1); err != nil {
			return fmt.Errorf("publishing a probe entry: %w", err)
		}
		r.res.ProbeEntries++
		if err := sleep(ctx, r.t.ProbeEvery); err != nil {
			return err
		}
	}
	last, changed := r.totals().messages, time.Now()
	for end := time.Now().Add(r.t.Quiet + 10*time.Second); time.Since(changed) < r.t.Quiet && time.Now().Before(end); {
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
		if n := r.totals().messages; n != last {
			last, changed = n, time.Now()
		}
	}
	return nil
}

// logf writes a progress line: always when force is set, else at most every
// ProgressEvery, with the clients' delivery rate and the server's figures.
func (r *run) logf(force bool, format string, args ...any) {
	if r.env.Progress == nil || (!force && (r.env.ProgressEvery <= 0 || time.Since(r.lastLog) < r.env.ProgressEvery)) {
		return
	}
	now, t := time.Now(), r.totals()
	line := fmt.Sprintf("[%s] %s | clients %d up, %d gone | %d msgs", r.spec.Name, fmt.Sprintf(format, args...),
		t.connected, t.gone, t.messages)
	if dt := now.Sub(r.lastLog).Seconds(); !r.lastLog.IsZero() && dt > 0 {
		line += fmt.Sprintf(" (%.0f/s, %.1f MB/s)", float64(t.messages-r.lastSum.messages)/dt, float64(t.bytes-r.lastSum.bytes)/dt/1e6)
	}
	if r.churn != nil {
		line += " | " + r.churn.status()
	}
	if r.env.Pid > 0 {
		if s, err := procstat.Read(r.env.Pid); err == nil {
			line += fmt.Sprintf(" | server rss %.0f MiB", float64(s.RSS)/(1<<20))
		}
	}
	fmt.Fprintln(r.env.Progress, line)
	r.lastLog, r.lastSum = now, t
}

// sample reads the server process (zero when there is none or it is gone).
func (r *run) sample() procstat.Sample {
	if r.env.Pid <= 0 {
		return procstat.Sample{At: time.Now()}
	}
	s, err := procstat.Read(r.env.Pid)
	if err != nil {
		return procstat.Sample{At: time.Now()}
	}
	return s
}

// cpuPercent is the CPU use between two samples, in % of one core.
func cpuPercent(a, b procstat.Sample) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return 100 * float64(b.CPU-a.CPU) / float64(wall)
}

// selfCPU is the harness's own user + system time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
