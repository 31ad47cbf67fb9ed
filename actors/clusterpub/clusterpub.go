// Package clusterpub implements the publisher actor of an ingest node: dedup
// sends it every new certificate (messages.Published, as it would to a
// router) and it publishes each to the cluster's JetStream stream,
// asynchronously, with the certificate's SHA-256 as the message id. The
// node's own clients are served from the stream, like an edge's, so every
// node numbers a certificate by its stream sequence.
//
// The actor never blocks on the network: it keeps the runs it could not
// hand to the link yet (publish_max_pending publishes await an ack) and
// tries again shortly. A run's Release — the fetcher's credit — is called
// only once the whole run is handed to the link, so while the stream
// cannot take more the fetchers wait, keeping their place in their logs,
// instead of certificates being dropped.
//
// A publish the stream does not acknowledge (no ack in time, a stream
// without a leader yet) is published again every second under the same
// message id, so the stream stores it once however many attempts reach
// it. Retries are bounded: at most publish_max_pending certificates await
// one, and each is retried for half the duplicate window only (past it a
// retry could store a second copy); the others are counted as abandoned.
// A retried certificate may land after later ones in the stream.
package clusterpub

import (
	"context"
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

// Publisher metrics:
//
//	certstream_cluster_published_total       certificates handed to the link
//	certstream_cluster_acknowledged_total    publishes the stream acknowledged (duplicates included)
//	certstream_cluster_duplicates_total      acknowledged as already stored (another ingest node)
//	certstream_cluster_publish_errors_total  publishes that failed (no ack in time, link closed)
//	certstream_cluster_publish_retries_total failed publishes published again
//	certstream_cluster_publish_abandoned_total failed publishes given up (too old, too many)
//	certstream_cluster_publish_pending       publishes awaiting an ack
//	certstream_cluster_link_up               1 while connected to a NATS server
var (
	publishedN  = metrics.NewCounter("certstream_cluster_published_total")
	ackedN      = metrics.NewCounter("certstream_cluster_acknowledged_total")
	duplicatesN = metrics.NewCounter("certstream_cluster_duplicates_total")
	errorsN     = metrics.NewCounter("certstream_cluster_publish_errors_total")
	pendingG    = metrics.NewGauge("certstream_cluster_publish_pending", nil)
	retriesN    = metrics.NewCounter("certstream_cluster_publish_retries_total")
	abandonedN  = metrics.NewCounter("certstream_cluster_publish_abandoned_total")
	linkUpG     = metrics.GetOrCreateGauge("certstream_cluster_link_up", nil) // shared with clustersub
)

// Counters are the publisher's outcomes, updated from the link's
// goroutines, and the failed publishes awaiting a retry.
type Counters struct {
	Published, Acked, Duplicates, Errors, Retried, Abandoned atomic.Uint64

	mu     sync.Mutex
	failed []clusterlink.Failed // oldest first, at most limit
	limit  int
}

// NewCounters returns counters keeping at most limit failed publishes for
// a retry.
func NewCounters(limit int) *Counters { return &Counters{limit: max(limit, 1)} }

// Ack and Error are clusterlink.Config's OnAck and OnError for c.
func (c *Counters) Ack(duplicate bool) {
	c.Acked.Add(1)
	ackedN.Inc()
	if duplicate {
		c.Duplicates.Add(1)
		duplicatesN.Inc()
	}
}

// Error counts a failed publish and keeps it for a retry.
func (c *Counters) Error(f clusterlink.Failed, err error) {
	if n := c.Errors.Add(1); n == 1 || n%1000 == 0 {
		slog.Warn("cluster: publish failed; retrying", "err", err, "failures", n)
	}
	errorsN.Inc()
	if f.ID == "" {
		c.abandon(1) // without a message id a retry could store it twice
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failed) >= c.limit {
		c.abandon(1)
		c.failed = c.failed[1:]
	}
	c.failed = append(c.failed, f)
}

// abandon counts n failed publishes given up.
func (c *Counters) abandon(n int) {
	if c.Abandoned.Add(uint64(n)) == uint64(n) {
		slog.Error("cluster: a failed publish is given up; edges will miss it")
	}
	abandonedN.Add(n)
}

// takeFailed returns the failed publishes awaiting a retry and forgets them.
func (c *Counters) takeFailed() []clusterlink.Failed {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.failed
	c.failed = nil
	return f
}

// requeue puts back failed publishes not retried yet, ahead of newer ones.
func (c *Counters) requeue(f []clusterlink.Failed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = append(f, c.failed...)
	if over := len(c.failed) - c.limit; over > 0 {
		c.abandon(over)
		c.failed = c.failed[over:]
	}
}

// awaitingRetry is how many failed publishes await a retry.
func (c *Counters) awaitingRetry() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.failed)
}

// Config configures the publisher.
type Config struct {
	Link     *clusterlink.Link
	Counters *Counters // the link's OnAck and OnError counts
	// DuplicateWindow is the stream's: a failed publish is retried for
	// half of it.
	DuplicateWindow time.Duration
}

// retryAfter is how long the publisher waits when the link is full or the
// stream not yet created.
const retryAfter = 20 * time.Millisecond

// memory survives the actor's restarts.
type memory struct {
	cfg         Config
	held        []messages.Published // runs not yet wholly handed to the link, oldest first
	sent        int                  // of held[0]'s updates, how many are handed already
	queued      int                  // updates held and not yet handed
	started     time.Time
	streamReady atomic.Bool // the stream exists (created or found)
	ensuring    atomic.Bool // a goroutine is creating it
	retrying    atomic.Bool // a retry wake is scheduled
	ticker      actor.SendRepeater
	ticking     bool
}

type publisher struct{ *memory }

// New returns the publisher's producer.
func New(cfg Config) actor.Producer {
	m := &memory{cfg: cfg}
	return func() actor.Receiver { return &publisher{m} }
}

// tick is the publisher's periodic clock (stream creation retries, gauges).
type tick struct{}

// Receive handles the publisher's messages.
func (p *publisher) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		if p.started.IsZero() {
			p.started = time.Now()
		}
		if !p.ticking {
			p.ticker, p.ticking = c.Engine().SendRepeat(c.PID(), tick{}, time.Second), true
		}
		p.pump(c)
	case actor.Stopped:
		if p.ticking {
			p.ticker.Stop()
			p.ticking = false
		}
	case messages.Published:
		p.held = append(p.held, msg)
		p.queued += len(msg.Updates)
		p.pump(c)
	case tick:
		linkUpG.Set(b2f(p.cfg.Link.Connected()))
		p.retry()
		p.pump(c)
	case messages.Wake:
		p.pump(c)
	case messages.Inspect:
		c.Respond(p.inspect(c))
	}
}

// pump hands the held runs to the link in order, releasing each run once
// it is wholly handed, until none is held or the link is full.
func (p *publisher) pump(c *actor.Context) {
	pendingG.Set(float64(p.cfg.Link.Pending()))
	if !p.streamReady.Load() {
		p.ensureStream(c)
		return // the fetchers wait for their credits meanwhile
	}
	for len(p.held) > 0 {
		run := p.held[0]
		n, err := p.publish(run.Updates[p.sent:])
		p.sent += n
		p.queued -= n
		if err != nil {
			p.retryLater(c)
			return
		}
		if run.Release != nil {
			run.Release()
		}
		p.held[0] = messages.Published{}
		p.held, p.sent = p.held[1:], 0
	}
	p.held = nil // let the backing array go once drained
}

// ensureStream creates the stream, or finds it, on a goroutine of its own
// (one at a time) and wakes the actor when done: the actor never waits on
// the network. A failure is logged and tried again on the next tick.
func (p *publisher) ensureStream(c *actor.Context) {
	if !p.ensuring.CompareAndSwap(false, true) {
		return
	}
	engine, pid := c.Engine(), c.PID()
	go func() {
		defer p.ensuring.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := p.cfg.Link.EnsureStream(ctx); err != nil {
			slog.Warn("cluster: cannot create the stream yet", "err", err)
			return
		}
		p.streamReady.Store(true)
		engine.Send(pid, messages.Wake{})
	}()
}

// publish publishes updates in order and returns how many went out; it
// stops at the first that the link refused.
func (p *publisher) publish(updates []*wire.Update) (int, error) {
	for i, u := range updates {
		var id string
		if u.Leaf != nil {
			id = clusterlink.MsgID(u.Leaf.SHA256)
		}
		if err := p.cfg.Link.Publish(clusterwire.Encode(u), id); err != nil {
			return i, err
		}
		p.cfg.Counters.Published.Add(1)
		publishedN.Inc()
	}
	return len(updates), nil
}

// retry publishes again the publishes that failed, while the stream's
// duplicate window makes it safe.
func (p *publisher) retry() {
	k := p.cfg.Counters
	failed := k.takeFailed()
	for i, f := range failed {
		if time.Since(f.Since) > p.cfg.DuplicateWindow/2 {
			k.abandon(1)
			continue
		}
		if err := p.cfg.Link.Republish(f); err != nil {
			k.requeue(failed[i:])
			return
		}
		k.Retried.Add(1)
		retriesN.Inc()
	}
}

// retryLater wakes the actor after retryAfter, once.
func (p *publisher) retryLater(c *actor.Context) {
	if !p.retrying.CompareAndSwap(false, true) {
		return
	}
	engine, pid := c.Engine(), c.PID()
	time.AfterFunc(retryAfter, func() {
		p.retrying.Store(false)
		engine.Send(pid, messages.Wake{})
	})
}

// inspect describes the publisher for the admin view.
func (p *publisher) inspect(c *actor.Context) messages.ActorInfo {
	k := p.cfg.Counters
	link := "down"
	if p.cfg.Link.Connected() {
		link = "up"
	}
	return messages.ActorInfo{
		PID: c.PID().String(), Kind: "clusterpub", Status: "running", Started: p.started,
		MailboxDepth: p.queued,
		Details: map[string]any{
			"link": link, "server": p.cfg.Link.Server(), "stream_ready": p.streamReady.Load(), "published": k.Published.Load(),
			"acknowledged": k.Acked.Load(), "duplicates": k.Duplicates.Load(), "errors": k.Errors.Load(),
			"retried": k.Retried.Load(), "abandoned": k.Abandoned.Load(), "awaiting_retry": k.awaitingRetry(),
			"pending": p.cfg.Link.Pending(), "held_runs": len(p.held),
		},
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
