// Package clustersub implements the consumer actor of an ingest or edge
// node: it reads the cluster's JetStream stream in sequence order and feeds
// the router with messages.Published runs, as dedup does on a standalone
// node.
//
// A reader goroutine owned by the actor does the waiting: it gathers the
// messages already delivered into a run, decodes them and sends the run to
// the router with at most inFlight runs unrouted, so a slow router slows the
// reading (JetStream keeps the backlog) instead of growing an inbox. The
// last routed sequence is saved to a small file every second and at stop;
// after a restart or an outage reading resumes right after it, or at the
// oldest message still retained, and the sequences skipped are counted as
// the gap.
//
// A stream deleted and created again numbers its messages from 1 anew. The
// consumer tells the new stream from the old one by its creation time (kept
// in the state file with the sequence) and by a last sequence below the
// one already read, checked whenever a reader starts and every second while
// one reads; it then tells the router the numbers start again
// (messages.SequenceReset) and reads the new stream from its oldest message.
package clustersub

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/clusterlink"
	"github.com/certstream/certstream/internal/clusterwire"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// Consumer metrics:
//
//	certstream_cluster_consumed_total       certificates read from the stream and routed
//	certstream_cluster_gap_messages_total   sequences skipped because the stream no longer had them
//	certstream_cluster_stream_resets_total  times the stream was found deleted and created again
//	certstream_cluster_bad_messages_total   messages that did not decode (skipped)
//	certstream_cluster_lag_messages         messages stored after the last one read
//	certstream_cluster_lag_seconds          age of the last message read while behind
//	certstream_cluster_link_up              1 while connected to a NATS server
var (
	consumedN = metrics.NewCounter("certstream_cluster_consumed_total")
	gapN      = metrics.NewCounter("certstream_cluster_gap_messages_total")
	resetsN   = metrics.NewCounter("certstream_cluster_stream_resets_total")
	badN      = metrics.NewCounter("certstream_cluster_bad_messages_total")
	lagMsgs   = metrics.NewGauge("certstream_cluster_lag_messages", nil)
	lagSecs   = metrics.NewGauge("certstream_cluster_lag_seconds", nil)
	linkUpG   = metrics.GetOrCreateGauge("certstream_cluster_link_up", nil) // shared with clusterpub
)

// Config configures the consumer.
type Config struct {
	Link      *clusterlink.Link
	Router    *actor.PID
	StateFile string // where the last routed sequence and the stream's creation time are kept
	Stream    string // the stream's name, recorded in the state file
	// MaxLag is the lag beyond which Status reports the edge behind.
	MaxLag time.Duration
}

// inFlight is how many runs may wait to be routed.
const inFlight = 8

// maxRun is the most certificates one run carries.
const maxRun = 256

// chainCerts is how many chain certificates the decoder keeps to share
// between updates: as many as the logs supervisor's cache holds on the ingest.
const chainCerts = 8192

// checkEvery is how often the stream is checked, while a reader is open,
// to be the one it reads.
const checkEvery = time.Second

// Status is the consumer's state, safe to read from any goroutine.
type Status struct {
	LinkUp     bool
	Reading    bool          // a reader of the stream is open
	LastSeq    uint64        // last sequence routed
	LagMsgs    uint64        // messages stored after the last one read
	LagSeconds float64       // how old the last message read was, while behind
	Gap        uint64        // sequences skipped, in total
	Resets     uint64        // times the stream was found deleted and created again
	Consumed   uint64        // certificates routed
	Bad        uint64        // messages that did not decode
	MaxLag     time.Duration // the configured threshold
}

// Healthy reports whether the link is up and the lag within MaxLag.
func (s Status) Healthy() bool {
	return s.LinkUp && (s.MaxLag <= 0 || s.LagSeconds <= s.MaxLag.Seconds())
}

// Consumer is the node's consumer of the stream: its producer and its status.
type Consumer struct {
	cfg      Config
	started  time.Time
	routed   atomic.Uint64 // last sequence routed
	created  atomic.Int64  // the stream's creation time, Unix ns; 0 when unknown
	saveMu   sync.Mutex    // held while saving (the actor's tick, the reader once positioned)
	saved    state         // what the state file holds
	next     atomic.Uint64 // sequence expected next; 0 when unknown
	gap      atomic.Uint64
	resets   atomic.Uint64
	consumed atomic.Uint64
	bad      atomic.Uint64
	lagMsgs  atomic.Uint64
	lagMilli atomic.Int64
	reading  atomic.Bool
	// absent is set once the stream was found not to exist before the
	// consumer had a position: it then starts at the stream's first message.
	absent     atomic.Bool
	positioned chan struct{} // closed once next is known
	position   sync.Once

	mu      sync.Mutex
	cancel  context.CancelFunc // stops the reader goroutine; nil when none runs
	done    chan struct{}
	ticker  actor.SendRepeater
	ticking bool
}

// New returns the consumer; its state file is read now, so a broken file
// fails the node's start.
func New(cfg Config) (*Consumer, error) {
	c := &Consumer{cfg: cfg, started: time.Now(), positioned: make(chan struct{})}
	st, err := loadState(cfg.StateFile, cfg.Stream)
	if err != nil {
		return nil, err
	}
	c.routed.Store(st.LastSeq)
	c.created.Store(nanos(st.Created))
	c.saved = st
	if st.LastSeq > 0 || !st.Created.IsZero() {
		c.setNext(st.LastSeq + 1) // a position in a known stream
	}
	return c, nil
}

// Positioned is closed once the consumer knows where in the stream it
// reads from: at once with a saved position, otherwise when it first
// reaches the stream. A consumer without a saved position reads what the
// stream stores from then on (all of it, when the stream did not exist
// yet): an ingest node starts following the logs only then, so that its
// own clients get every certificate it publishes.
func (c *Consumer) Positioned() <-chan struct{} { return c.positioned }

// setNext sets the sequence expected next.
func (c *Consumer) setNext(seq uint64) {
	c.next.Store(seq)
	c.position.Do(func() { close(c.positioned) })
}

// Producer is the consumer actor's producer; the Consumer outlives restarts.
func (c *Consumer) Producer() actor.Producer {
	return func() actor.Receiver { return (*receiver)(c) }
}

// Status returns the consumer's state now.
func (c *Consumer) Status() Status {
	return Status{
		LinkUp: c.cfg.Link.Connected(), Reading: c.reading.Load(), LastSeq: c.routed.Load(), LagMsgs: c.lagMsgs.Load(),
		LagSeconds: float64(c.lagMilli.Load()) / 1000, Gap: c.gap.Load(), Resets: c.resets.Load(),
		Consumed: c.consumed.Load(), Bad: c.bad.Load(), MaxLag: c.cfg.MaxLag,
	}
}

type receiver Consumer

// tick is the consumer's clock: save the sequence, update the gauges.
type tick struct{}

// Receive handles the consumer's messages.
func (r *receiver) Receive(ctx *actor.Context) {
	c := (*Consumer)(r)
	switch ctx.Message().(type) {
	case actor.Started:
		c.start(ctx.Engine())
		if !c.ticking {
			c.ticker, c.ticking = ctx.Engine().SendRepeat(ctx.PID(), tick{}, time.Second), true
		}
	case tick:
		c.save()
		st := c.Status()
		lagMsgs.Set(float64(st.LagMsgs))
		lagSecs.Set(st.LagSeconds)
		linkUpG.Set(b2f(st.LinkUp))
	case messages.Inspect:
		ctx.Respond(c.inspect(ctx))
	case actor.Stopped:
		if c.ticking {
			c.ticker.Stop()
			c.ticking = false
		}
		c.stop()
		c.save()
	}
}

// start runs the reader goroutine unless it runs already.
func (c *Consumer) start(e *actor.Engine) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go c.read(ctx, e, c.done)
}

// stop ends the reader goroutine and waits for it; runs it sent stay
// with the router.
func (c *Consumer) stop() {
	c.mu.Lock()
	cancel, done := c.cancel, c.done
	c.cancel = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// read reads the stream until ctx ends, starting again after any error.
func (c *Consumer) read(ctx context.Context, e *actor.Engine, done chan struct{}) {
	defer close(done)
	credits := make(chan struct{}, inFlight)
	for ctx.Err() == nil {
		r, err := c.open(ctx, e, credits)
		if err != nil {
			if ctx.Err() == nil {
				slog.Warn("cluster: cannot read the stream yet", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		stopped := context.AfterFunc(ctx, r.Stop)
		watching, endWatch := context.WithCancel(ctx)
		reset := make(chan bool, 1)
		go func() { reset <- c.watch(watching, r) }()
		c.reading.Store(true)
		err = c.run(ctx, e, r, credits)
		c.reading.Store(false)
		endWatch()
		stopped()
		r.Stop()
		if <-reset {
			continue // open starts over on the new stream
		}
		if ctx.Err() == nil {
			slog.Warn("cluster: reading the stream stopped; starting again", "err", err)
			sleep(ctx, 250*time.Millisecond)
		}
	}
}

// open starts a reader where the consumer is; when the stream turns out to
// have been deleted and created again, at the new stream's oldest message.
func (c *Consumer) open(ctx context.Context, e *actor.Engine, credits chan struct{}) (*clusterlink.Reader, error) {
	next := c.next.Load()
	st, err := c.cfg.Link.State(ctx)
	if errors.Is(err, clusterlink.ErrNoStream) && next == 0 {
		c.absent.Store(true) // whatever it will hold is new to this consumer
	}
	if err != nil {
		return nil, err
	}
	if next == 0 {
		next = st.Last + 1 // what the stream holds was stored before this consumer started
		if c.absent.Load() {
			next = max(st.First, 1)
		}
		c.routed.Store(next - 1) // nothing before next is due
		c.created.Store(nanos(st.Created))
		c.setNext(next)
		c.save() // now: killed before its first periodic save, it resumes here
	}
	if c.wasReset(st, next) && !c.reset(ctx, e, st, credits) {
		return nil, ctx.Err()
	}
	if !st.Created.IsZero() {
		c.created.Store(nanos(st.Created))
	}
	return c.cfg.Link.Read(ctx, c.next.Load())
}

// run reads r and routes its messages in runs until r fails.
func (c *Consumer) run(ctx context.Context, e *actor.Engine, r *clusterlink.Reader, credits chan struct{}) error {
	decoder := clusterwire.NewDecoder(chainCerts)
	for {
		var updates []*wire.Update
		var last uint64
		for len(updates) < maxRun {
			m, err := r.Next()
			if err != nil {
				if len(updates) > 0 {
					c.send(ctx, e, updates, last, credits)
				}
				return err
			}
			c.account(m)
			last = m.Seq
			if u, err := decoder.Decode(m.Data); err != nil {
				if c.bad.Add(1) == 1 {
					slog.Error("cluster: a message does not decode; skipped", "seq", m.Seq, "err", err)
				}
				badN.Inc()
			} else {
				u.Seq = m.Seq // the stream's sequence is the certificate's global number
				updates = append(updates, u)
			}
			if m.Pending == 0 {
				break // nothing more is waiting: route what we have
			}
		}
		if !c.send(ctx, e, updates, last, credits) {
			return ctx.Err()
		}
	}
}

// account checks m's sequence against the expected one, counting a gap,
// and records the lag.
func (c *Consumer) account(m clusterlink.Message) {
	if want := c.next.Load(); want != 0 && m.Seq > want {
		n := m.Seq - want
		c.gap.Add(n)
		gapN.Add(int(n))
		slog.Warn("cluster: the stream no longer had messages this edge had not read; resuming at the oldest retained",
			"missing", n, "from_seq", want, "resumed_at", m.Seq)
	}
	c.next.Store(m.Seq + 1)
	c.lagMsgs.Store(m.Pending)
	if m.Pending > 0 {
		c.lagMilli.Store(time.Since(m.Stored).Milliseconds())
	} else {
		c.lagMilli.Store(0)
	}
}

// send routes a run once a credit is free; the credit comes back, and the
// run's last sequence counts as routed, when the router has handled it.
// It reports false when ctx ended first.
func (c *Consumer) send(ctx context.Context, e *actor.Engine, updates []*wire.Update, last uint64, credits chan struct{}) bool {
	select {
	case credits <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	n := len(updates)
	release := func() {
		c.routed.Store(last)
		c.consumed.Add(uint64(n))
		consumedN.Add(n)
		<-credits
	}
	if n == 0 {
		release() // only undecodable messages
		return true
	}
	e.Send(c.cfg.Router, messages.Published{Updates: updates, Release: release})
	return true
}

// save writes the last routed sequence and the stream's creation time when
// they changed. A consumer that has routed nothing yet (and reset nothing)
// has no position to keep: started again, it starts at the newest again.
func (c *Consumer) save() {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	st := state{Stream: c.cfg.Stream, LastSeq: c.routed.Load()}
	if ns := c.created.Load(); ns != 0 {
		st.Created = time.Unix(0, ns).UTC()
	}
	if st.LastSeq == c.saved.LastSeq && st.Created.Equal(c.saved.Created) || c.next.Load() == 0 {
		return // unchanged, or no position yet
	}
	if err := saveState(c.cfg.StateFile, st); err != nil {
		slog.Error("cluster: saving the consumed sequence failed", "file", c.cfg.StateFile, "err", err)
		return
	}
	c.saved = st
}

// inspect describes the consumer for the admin view.
func (c *Consumer) inspect(ctx *actor.Context) messages.ActorInfo {
	st := c.Status()
	link := "down"
	if st.LinkUp {
		link = "up"
	}
	return messages.ActorInfo{
		PID: ctx.PID().String(), Kind: "clustersub", Status: "running", Started: c.started,
		Details: map[string]any{
			"link": link, "server": c.cfg.Link.Server(), "last_seq": st.LastSeq, "lag_messages": st.LagMsgs, "lag_secs": st.LagSeconds,
			"gap_messages": st.Gap, "stream_resets": st.Resets, "consumed": st.Consumed, "bad_messages": st.Bad, "state_file": c.cfg.StateFile,
		},
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
