// Package clusterpub implements the publisher actor of an ingest node: it
// drains the bounded ring the node fills with every certificate dedup
// published and publishes each to the cluster's JetStream stream,
// asynchronously, with the certificate's SHA-256 as the message id.
//
// The pipeline never waits for it: the ring drops its oldest certificate
// when the link cannot keep up (counted), and the actor itself never blocks
// on the network. It holds back at most one drained run while
// publish_max_pending publishes await an ack, and tries again shortly.
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
	"github.com/certstream/certstream/internal/mailbox"
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
//	certstream_cluster_publish_dropped_total certificates dropped by the ring before publishing
//	certstream_cluster_publish_pending       publishes awaiting an ack
//	certstream_cluster_link_up               1 while connected to a NATS server
var (
	publishedN  = metrics.NewCounter("certstream_cluster_published_total")
	ackedN      = metrics.NewCounter("certstream_cluster_acknowledged_total")
	duplicatesN = metrics.NewCounter("certstream_cluster_duplicates_total")
	errorsN     = metrics.NewCounter("certstream_cluster_publish_errors_total")
	droppedN    = metrics.NewCounter("certstream_cluster_publish_dropped_total")
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
	Ring     *mailbox.Ring[*wire.Update] // filled by the node, drained here
	Counters *Counters                   // the link's OnAck and OnError counts
	// DuplicateWindow is the stream's: a failed publish is retried for
	// half of it.
	DuplicateWindow time.Duration
}

// retryAfter is how long the publisher waits when the link is full or the
// stream not yet created.
const retryAfter = 20 * time.Millisecond

// drainLimit is how many certificates one pump takes from the ring.
const drainLimit = 256

// memory survives the actor's restarts.
type memory struct {
	cfg         Config
	held        []*wire.Update // drained but not yet published
	started     time.Time
	streamReady bool
	lastDrops   uint64
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
	switch c.Message().(type) {
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

// pump publishes the held run and then what the ring holds, until the ring
// is empty or the link is full.
func (p *publisher) pump(c *actor.Context) {
	rs := p.cfg.Ring.Stats()
	droppedN.Add(int(rs.Dropped - p.lastDrops))
	p.lastDrops = rs.Dropped
	pendingG.Set(float64(p.cfg.Link.Pending()))
	if !p.streamReady {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := p.cfg.Link.EnsureStream(ctx)
		cancel()
		if err != nil {
			slog.Warn("cluster: cannot create the stream yet", "err", err)
			return // the next tick tries again; the ring keeps (and bounds) the backlog
		}
		p.streamReady = true
	}
	for {
		if len(p.held) == 0 {
			p.held = p.cfg.Ring.Drain(p.held[:0], drainLimit)
			if len(p.held) == 0 {
				return
			}
		}
		n, err := p.publish(p.held)
		p.cfg.Ring.Done(n, 0)
		p.held = append(p.held[:0], p.held[n:]...)
		if err != nil {
			p.retryLater(c)
			return
		}
	}
}

// publish publishes updates in order and returns how many went out; it
// stops at the first that the link refused.
func (p *publisher) publish(updates []*wire.Update) (int, error) {
	for i, u := range updates {
		var id string
		if u.Leaf != nil {
			id = clusterlink.MsgID(u.Leaf.SHA256)
		}
		if err := p.cfg.Link.Publish(clusterwire.Append(nil, u), id); err != nil {
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
	rs := p.cfg.Ring.Stats()
	k := p.cfg.Counters
	link := "down"
	if p.cfg.Link.Connected() {
		link = "up"
	}
	return messages.ActorInfo{
		PID: c.PID().String(), Kind: "clusterpub", Status: "running", Started: p.started,
		MailboxDepth: rs.Queued + len(p.held), MailboxCapacity: rs.Capacity, Drops: rs.Dropped,
		Details: map[string]any{
			"link": link, "server": p.cfg.Link.Server(), "stream_ready": p.streamReady, "published": k.Published.Load(),
			"acknowledged": k.Acked.Load(), "duplicates": k.Duplicates.Load(), "errors": k.Errors.Load(),
			"retried": k.Retried.Load(), "abandoned": k.Abandoned.Load(), "awaiting_retry": k.awaitingRetry(),
			"pending": p.cfg.Link.Pending(), "held": len(p.held),
		},
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
