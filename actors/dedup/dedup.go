// Package dedup implements the dedup actor: the cross-log duplicate filter
// between the fetchers and the router. The same certificate is logged in
// several logs; only its first sighting within the window is published.
package dedup

import (
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/recentset"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// Config configures the dedup actor.
type Config struct {
	Capacity int           // certificates remembered
	TTL      time.Duration // how long one is remembered
	Router   *actor.PID    // where new certificates go
	Now      func() time.Time
}

var (
	duplicates = metrics.NewCounter("certstream_duplicates_filtered")
	passed     = metrics.NewCounter("certstream_dedup_passed_total")
	size       = metrics.NewGauge("certstream_dedup_size", nil)
)

// memory is what dedup keeps across its restarts: the recent set and the
// totals.
type memory struct {
	cfg     Config
	seen    *recentset.Set
	started time.Time
	total   struct{ in, passed uint64 }
}

type dedup struct{ *memory }

// New returns the dedup actor's producer.
func New(cfg Config) actor.Producer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &memory{cfg: cfg, seen: recentset.New(cfg.Capacity, cfg.TTL.Milliseconds()),
		started: cfg.Now()}
	return func() actor.Receiver { return &dedup{m} }
}

// Receive filters each batch and forwards the new certificates in order,
// and answers Inspect.
func (d *dedup) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case messages.Batch:
		d.filter(c, msg)
	case messages.Inspect:
		c.Respond(messages.ActorInfo{PID: c.PID().String(), Kind: "dedup", Status: "running", Started: d.started,
			Details: map[string]any{"size": d.seen.Len(), "capacity": d.cfg.Capacity, "bytes": d.seen.Bytes(), "ttl_secs": d.cfg.TTL.Seconds(),
				"certificates_in": d.total.in, "passed": d.total.passed, "duplicates": d.total.in - d.total.passed}})
	}
}

// filter forwards b's first sightings and counts them in the batch's log's
// metrics (b.Published). The batch's
// Release goes along with them, so the fetcher's credit comes back only once
// the router has routed them: the fetchers' in-flight limit bounds the
// router's inbox, which hollywood would otherwise let grow without bound.
func (d *dedup) filter(c *actor.Context, b messages.Batch) {
	forwarded := false
	defer func() {
		if !forwarded && b.Release != nil {
			b.Release() // nothing went on to the router (or a panic): the credit is free
		}
	}()
	now := d.cfg.Now().UnixMilli()
	fresh := make([]*wire.Update, 0, len(b.Updates))
	for _, u := range b.Updates {
		var k recentset.Key
		copy(k[:], u.Leaf.SHA256[:])
		if d.seen.Add(k, now) {
			fresh = append(fresh, u)
		}
	}
	duplicates.Add(len(b.Updates) - len(fresh))
	passed.Add(len(fresh))
	d.total.in += uint64(len(b.Updates))
	d.total.passed += uint64(len(fresh))
	if b.Published != nil {
		b.Published(len(fresh))
	}
	size.Set(float64(d.seen.Len()))
	if len(fresh) > 0 {
		c.Send(d.cfg.Router, messages.Published{Updates: fresh, Release: b.Release})
		forwarded = true
	}
}
