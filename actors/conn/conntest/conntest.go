// Package conntest is a stand-in for the router in tests of connection
// actors and the HTTP server. Like the router it owns one bounded ring per
// subscriber, spawns the subscriber's actor as its child under a restart
// budget, pushes published frames into the rings (waking a child when the
// ring asks for it), ticks every child whose TickAfter has come, and on
// Unsubscribe closes the ring and poisons the child. It also answers
// GetStats with every subscriber's ring statistics, kept after the
// subscriber is gone.
package conntest

import (
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/supervise"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// Config sizes the stand-in router. Zero fields take the defaults noted.
type Config struct {
	RingCapacity int              // per subscriber; default 256
	TickEvery    time.Duration    // period of messages.Tick; default 1 s
	InboxSize    int              // children's hollywood inbox; default 8
	Restart      supervise.Policy // children's budget; default 10/min, 20 ms backoff
	// SubscribeDelay makes the router handle each Subscribe that much later
	// (publishing goes on meanwhile), to expose clients that think they are
	// subscribed too early.
	SubscribeDelay time.Duration
}

// Publish fans Frames out to every active subscriber of Stream.
type Publish struct {
	Stream wire.Stream
	Frames wire.Frames
}

// GetStats asks for every subscriber's Sub; the answer is a []Sub in
// subscription order.
type GetStats struct{}

// Sub is one subscriber as the stand-in router sees it.
type Sub struct {
	Name      string
	Stream    wire.Stream
	Transport wire.Transport
	PID       *actor.PID
	Active    bool // not yet unsubscribed
	Restarts  int
	Stats     mailbox.Stats
}

// New returns the producer of the stand-in router.
func New(cfg Config) actor.Producer {
	if cfg.RingCapacity <= 0 {
		cfg.RingCapacity = 256
	}
	if cfg.TickEvery <= 0 {
		cfg.TickEvery = time.Second
	}
	if cfg.InboxSize <= 0 {
		cfg.InboxSize = 8
	}
	if cfg.Restart.Max == 0 {
		cfg.Restart = supervise.Policy{Max: 10, Window: time.Minute, MinBackoff: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	}
	return func() actor.Receiver { return &router{cfg: cfg, byID: map[string]*sub{}} }
}

// Stats asks the stand-in router at pid for its subscribers.
func Stats(e *actor.Engine, pid *actor.PID) ([]Sub, error) {
	res, err := e.Request(pid, GetStats{}, 5*time.Second).Result()
	if err != nil {
		return nil, err
	}
	return res.([]Sub), nil
}

type sub struct {
	Sub
	ring      *mailbox.Ring[[]byte]
	budget    *supervise.Budget
	tickAfter *atomic.Int64
}

type tick struct{}

// delayed is a Subscribe handled after Config.SubscribeDelay.
type delayed struct{ messages.Subscribe }

type router struct {
	cfg    Config
	subs   []*sub
	byID   map[string]*sub
	ticker actor.SendRepeater
}

func (r *router) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		r.ticker = c.Engine().SendRepeat(c.PID(), tick{}, r.cfg.TickEvery)
	case actor.Stopped:
		r.ticker.Stop()
	case messages.Subscribe:
		if d := r.cfg.SubscribeDelay; d > 0 {
			e, self, sender := c.Engine(), c.PID(), c.Sender()
			time.AfterFunc(d, func() { e.SendWithSender(self, delayed{m}, sender) })
			return
		}
		r.subscribe(c, m)
	case delayed:
		r.subscribe(c, m.Subscribe)
	case messages.Unsubscribe:
		if s := r.byID[m.PID.ID]; s != nil && s.Active {
			s.Active = false
			s.ring.Close()
			c.Engine().Poison(s.PID)
		}
	case Publish:
		for _, s := range r.subs {
			b := m.Frames.For(s.Transport)
			if s.Active && s.Stream == m.Stream && b != nil && s.ring.Push(b) {
				c.Send(s.PID, messages.Wake{})
			}
		}
	case tick:
		now := time.Now().UnixMilli()
		for _, s := range r.subs {
			if s.Active && (s.tickAfter == nil || now >= s.tickAfter.Load()) {
				c.Send(s.PID, messages.Tick{Now: now})
			}
		}
	case GetStats:
		out := make([]Sub, len(r.subs))
		for i, s := range r.subs {
			out[i] = s.Sub
			out[i].Restarts = s.budget.Restarts()
			out[i].Stats = s.ring.Stats()
		}
		c.Respond(out)
	}
}

func (r *router) subscribe(c *actor.Context, m messages.Subscribe) {
	s := &sub{Sub: Sub{Name: m.Name, Stream: m.Stream, Transport: m.Transport, Active: true},
		ring: mailbox.New[[]byte](r.cfg.RingCapacity), budget: supervise.NewBudget(m.Name, r.cfg.Restart),
		tickAfter: m.TickAfter}
	opts := append(s.budget.Opts(r.cfg.InboxSize), actor.WithID(m.Name))
	s.PID = c.SpawnChild(m.Producer(s.ring), "conn", opts...)
	r.subs = append(r.subs, s)
	r.byID[s.PID.ID] = s
	c.Respond(s.PID)
}
