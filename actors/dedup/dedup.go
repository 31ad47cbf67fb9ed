// Package dedup implements the dedup actor: the cross-log duplicate filter
// between the fetchers and the router. The same certificate is logged in
// several logs; only its first sighting within the window is published.
package dedup

import (
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/recentset"
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

// state survives restarts of the actor.
type state struct {
	cfg  Config
	seen *recentset.Set
}

type dedup struct{ *state }

// New returns the dedup actor's producer.
func New(cfg Config) actor.Producer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st := &state{cfg: cfg, seen: recentset.New(cfg.Capacity, cfg.TTL.Milliseconds())}
	return func() actor.Receiver { return &dedup{st} }
}

// Receive filters each batch and forwards the new certificates in order.
func (d *dedup) Receive(c *actor.Context) {
	b, ok := c.Message().(messages.Batch)
	if !ok {
		return
	}
	if b.Release != nil {
		defer b.Release()
	}
	now := d.cfg.Now().UnixMilli()
	fresh := make([]*messages.Update, 0, len(b.Updates))
	for _, u := range b.Updates {
		var k recentset.Key
		copy(k[:], u.Leaf.SHA256[:])
		if d.seen.Add(k, now) {
			fresh = append(fresh, u)
		}
	}
	duplicates.Add(len(b.Updates) - len(fresh))
	passed.Add(len(fresh))
	size.Set(float64(d.seen.Len()))
	if len(fresh) > 0 {
		c.Send(d.cfg.Router, messages.Published{Updates: fresh})
	}
}
