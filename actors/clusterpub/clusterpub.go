// Package clusterpub implements the publisher actor of an ingest node: it
// drains the bounded ring the node fills with every certificate dedup
// published and publishes each to the cluster's JetStream stream,
// asynchronously, with the certificate's SHA-256 as the message id.
//
// The pipeline never waits for it: the ring drops its oldest certificate
// when the link cannot keep up (counted), and the actor itself never blocks
// on the network. It holds back at most one drained run while
// publish_max_pending publishes await an ack, and tries again shortly.
package clusterpub

import (
	"context"
	"log/slog"
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
)

// Counters are the publisher's outcomes, updated from the link's goroutine.
type Counters struct {
	Acked, Duplicates, Errors atomic.Uint64
}

// Ack and Error are clusterlink.Config's OnAck and OnError for c.
func (c *Counters) Ack(duplicate bool) {
	c.Acked.Add(1)
	ackedN.Inc()
	if duplicate {
		c.Duplicates.Add(1)
		duplicatesN.Inc()
	}
}

// Error counts a failed publish.
func (c *Counters) Error(err error) {
	if n := c.Errors.Add(1); n == 1 || n%1000 == 0 {
		slog.Warn("cluster: publish failed", "err", err, "failures", n)
	}
	errorsN.Inc()
}

// Config configures the publisher.
type Config struct {
	Link     *clusterlink.Link
	Ring     *mailbox.Ring[*wire.Update] // filled by the node, drained here
	Counters *Counters                   // the link's OnAck and OnError counts
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
	published   uint64
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
	case messages.Wake, tick:
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
		p.published++
		publishedN.Inc()
	}
	return len(updates), nil
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
			"link": link, "server": p.cfg.Link.Server(), "stream_ready": p.streamReady, "published": p.published,
			"acknowledged": k.Acked.Load(), "duplicates": k.Duplicates.Load(), "errors": k.Errors.Load(),
			"pending": p.cfg.Link.Pending(), "held": len(p.held),
		},
	}
}
