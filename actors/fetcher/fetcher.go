// Package fetcher implements the fetcher actor: one per CT log, a thin
// supervised shell around a follow.Follower. The follower runs on its own
// goroutine; a panic there is turned into a panic of the actor, so the
// supervisor restarts it, and every incarnation resumes from the last cursor
// the previous one reported.
package fetcher

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// Config configures one fetcher.
type Config struct {
	Log    follow.Log
	Follow follow.Config
	Deps   follow.Deps
	Key    string // the log's state key (its URL)
	// Start is the saved cursor; StartKnown is false when there is none.
	Start      uint64
	StartKnown bool
	Dedup      *actor.PID // where batches go
	State      *actor.PID // where cursors go
	// MaxInFlight bounds batches handed to dedup but not yet taken (default 8).
	MaxInFlight int
}

// Handle is a fetcher as the rest of the node sees it: the part that
// outlives the actor's incarnations (the last reported cursor, the current
// follower, the batches in flight), readable from any goroutine.
type Handle struct {
	cfg      Config
	next     atomic.Uint64
	known    atomic.Bool
	follower atomic.Pointer[follow.Follower]
	credit   chan struct{}
	metrics  *follow.Metrics
}

// Status returns the log's current status (zero before the first start).
func (s *Handle) Status() follow.Status {
	if f := s.follower.Load(); f != nil {
		return f.Status()
	}
	return follow.Status{Health: follow.Starting, Next: s.next.Load(), CursorKnown: s.known.Load()}
}

// InFlight returns how many of this fetcher's batches dedup and the router
// have not routed yet, and the most it may have: at the most, the fetcher
// waits (the pipeline downstream is the bottleneck).
func (s *Handle) InFlight() (n, limit int) { return len(s.credit), cap(s.credit) }

// Log returns the log this fetcher follows.
func (s *Handle) Log() follow.Log { return s.cfg.Log }

// crashed carries a panic from the follower goroutine into the actor.
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
	s := &Handle{cfg: cfg, credit: make(chan struct{}, cfg.MaxInFlight), metrics: follow.NewMetrics(cfg.Log.Name)}
	s.next.Store(cfg.Start)
	s.known.Store(cfg.StartKnown)
	return s, func() actor.Receiver { return &fetcher{Handle: s} }
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

func (f *fetcher) start(c *actor.Context) {
	deps := f.cfg.Deps
	deps.Metrics = f.metrics
	fl, err := follow.New(f.cfg.Log, f.cfg.Follow, deps)
	if err != nil {
		slog.Error("fetcher cannot start", "log", f.cfg.Log.Name, "err", err)
		return
	}
	f.follower.Store(fl)
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
		fl.Run(ctx, f.next.Load(), f.known.Load(), func(ctx context.Context, ups []*wire.Update, next uint64) error {
			return f.deliver(ctx, engine, ups, next)
		})
	}()
}

// deliver hands a batch to dedup (waiting for credit) and reports the cursor.
func (f *fetcher) deliver(ctx context.Context, engine *actor.Engine, ups []*wire.Update, next uint64) error {
	if len(ups) > 0 {
		select {
		case f.credit <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		engine.Send(f.cfg.Dedup, messages.Batch{Updates: ups, Release: func() { <-f.credit }})
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
