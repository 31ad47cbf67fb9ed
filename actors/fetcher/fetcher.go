// Package fetcher implements the fetcher actor: one per CT log, a thin
// supervised shell around a follow.Follower. The follower runs on its own
// goroutine; a panic there, or a follower that cannot be built, is turned
// into a panic of the actor, so the supervisor restarts it, and every
// incarnation resumes from the last cursor the previous one reported, after
// the restart's backoff.
package fetcher

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/supervise"
	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// Config configures one fetcher.
type Config struct {
	Log    follow.Log
	Follow follow.Config
	// Deps are the follower's resources; Deps.Metrics, the log's metrics,
	// also count what dedup publishes.
	Deps follow.Deps
	Key  string // the log's state key (its URL)
	// Start is the saved cursor; StartKnown is false when there is none.
	Start      uint64
	StartKnown bool
	Dedup      *actor.PID // where batches go
	State      *actor.PID // where cursors go
	// MaxInFlight bounds batches handed to dedup but not yet taken (default 8).
	MaxInFlight int
	// Budget is the fetcher's restart budget: a restarted fetcher waits its
	// backoff before asking the log anything (nil: no wait).
	Budget *supervise.Budget
}

// Handle is a fetcher as the rest of the node sees it: the part that
// outlives the actor's incarnations (the last reported cursor, the current
// follower, the batches in flight), readable from any goroutine.
type Handle struct {
	cfg      Config
	next     atomic.Uint64
	known    atomic.Bool
	follower atomic.Pointer[follow.Follower]
	failure  atomic.Pointer[startFailure]
	credit   chan struct{}

	// beforeDeliver, if set, is called with each run of updates before it is
	// delivered (tests).
	beforeDeliver func(ups []*wire.Update)
}

// startFailure is the last error building the follower, and how many times
// in a row it failed.
type startFailure struct {
	err   error
	at    time.Time
	count uint64
}

// Status returns the log's current status: the follower's, or unhealthy
// with the error when the follower could not be built, or starting.
func (h *Handle) Status() follow.Status {
	if f := h.follower.Load(); f != nil {
		return f.Status()
	}
	st := follow.Status{Health: follow.Starting, Next: h.next.Load(), CursorKnown: h.known.Load()}
	if sf := h.failure.Load(); sf != nil {
		st.Health = follow.Unhealthy
		st.Errors, st.ConsecutiveErrors = sf.count, int(sf.count)
		st.LastError, st.LastErrorAt = sf.err.Error(), sf.at
	}
	return st
}

// InFlight returns how many of this fetcher's batches dedup and the router
// have not routed yet, and the most it may have: at the most, the fetcher
// waits (the pipeline downstream is the bottleneck).
func (h *Handle) InFlight() (n, limit int) { return len(h.credit), cap(h.credit) }

// Log returns the log this fetcher follows.
func (h *Handle) Log() follow.Log { return h.cfg.Log }

// crashed carries a panic (or a start failure) from the follower goroutine
// into the actor.
type crashed struct{ reason any }

type fetcher struct {
	*Handle
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// New returns the fetcher's handle and its producer.
func New(cfg Config) (*Handle, actor.Producer) {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 8
	}
	h := &Handle{cfg: cfg, credit: make(chan struct{}, cfg.MaxInFlight)}
	h.next.Store(cfg.Start)
	h.known.Store(cfg.StartKnown)
	return h, func() actor.Receiver { return &fetcher{Handle: h} }
}

// Receive starts and stops the follower and re-raises its panics.
func (f *fetcher) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		f.start(c)
	case actor.Stopped:
		f.stop()
	case crashed:
		panic(fmt.Sprintf("fetcher %s: %v", f.cfg.Log.Name, msg.reason))
	}
}

// start runs the follower on its own goroutine, after the restart backoff.
func (f *fetcher) start(c *actor.Context) {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	engine, self := c.Engine(), c.PID()
	go func() {
		defer close(f.done)
		defer func() {
			if v := recover(); v != nil {
				engine.Send(self, crashed{reason: v})
			}
		}()
		if err := f.follow(ctx, engine); err != nil {
			engine.Send(self, crashed{reason: err})
		}
	}()
}

// follow builds the follower and runs it until ctx ends. It returns an error
// only when the follower cannot be built.
func (f *fetcher) follow(ctx context.Context, engine *actor.Engine) error {
	if f.cfg.Budget.WaitBackoff(ctx) != nil {
		return nil // stopped during the backoff
	}
	fl, err := follow.New(f.cfg.Log, f.cfg.Follow, f.cfg.Deps)
	if err != nil {
		sf := &startFailure{err: err, at: time.Now(), count: 1}
		if prev := f.failure.Load(); prev != nil {
			sf.count += prev.count
		}
		f.failure.Store(sf)
		slog.Error("fetcher cannot start", "log", f.cfg.Log.Name, "err", err)
		return err
	}
	f.failure.Store(nil)
	f.follower.Store(fl)
	fl.Run(ctx, f.next.Load(), f.known.Load(), func(ctx context.Context, ups []*wire.Update, next uint64) error {
		return f.deliver(ctx, engine, ups, next)
	})
	return nil
}

// deliver hands a batch to dedup (waiting for credit) and reports the cursor.
func (f *fetcher) deliver(ctx context.Context, engine *actor.Engine, ups []*wire.Update, next uint64) error {
	if f.beforeDeliver != nil {
		f.beforeDeliver(ups)
	}
	if len(ups) > 0 {
		select {
		case f.credit <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		b := messages.Batch{Updates: ups, Release: func() { <-f.credit }}
		if m := f.cfg.Deps.Metrics; m != nil {
			b.Published = m.Published
		}
		engine.Send(f.cfg.Dedup, b)
	}
	f.next.Store(next)
	f.known.Store(true)
	if f.cfg.State != nil {
		engine.Send(f.cfg.State, messages.Cursor{Log: f.cfg.Key, Next: next})
	}
	return nil
}

// stop cancels the follower and waits (bounded) for its goroutine. It is
// idempotent: hollywood may deliver Stopped twice.
func (f *fetcher) stop() {
	f.once.Do(func() {
		if f.cancel == nil {
			return
		}
		f.cancel()
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
			slog.Warn("fetcher did not stop within 10s", "log", f.cfg.Log.Name)
		}
	})
}
