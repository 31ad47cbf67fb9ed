// Package supervise gives actors a restart budget that hollywood v1.0.5 cannot
// provide safely: exceeding its WithMaxRestarts crashes the whole process, so
// actors are spawned with unlimited hollywood restarts and this package's
// middleware decides, per actor, whether a panic becomes a restart or a clean
// stop.
//
// The restart itself is immediate: the old incarnation gets Stopped, the new
// one Started, and the messages queued meanwhile reach it in order. The
// backoff is never slept on the actor's goroutine, where it would hold up
// Stop, Poison and Inspect (and hollywood cannot hold messages aside without
// reordering them). An actor whose restarts must be paced, because it works
// on something outside the process, waits for Budget.WaitBackoff before it
// starts that work, off its goroutine.
package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// Policy bounds restarts: at most Max restarts within Window, each delayed by
// an exponential backoff from MinBackoff to MaxBackoff.
type Policy struct {
	Max        int
	Window     time.Duration
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

// DefaultPolicy allows 10 restarts a minute, backing off from 100 ms to 5 s.
var DefaultPolicy = Policy{Max: 10, Window: time.Minute, MinBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}

// Budget is one actor's restart record. It outlives the actor's
// incarnations: create it with the actor's producer, not inside Receive.
type Budget struct {
	policy Policy
	name   string
	// OnRestart, if set, is called after each panic that leads to a restart
	// (for metrics); OnGiveUp when the budget is spent and the actor stops.
	OnRestart func(reason any)
	OnGiveUp  func(reason any)

	mu       sync.Mutex
	total    int         // restarts over the actor's life
	recent   []time.Time // restarts inside the window
	gaveUp   bool
	lastWhy  string
	lastWhen time.Time
	resume   time.Time // the end of the last restart's backoff
}

// NewBudget returns a budget for the actor called name.
func NewBudget(name string, p Policy) *Budget {
	return &Budget{policy: p, name: name}
}

// Restarts returns how many times the actor has been restarted.
func (b *Budget) Restarts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// LastFailure returns the last panic reason and its time (zero if none).
func (b *Budget) LastFailure() (string, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastWhy, b.lastWhen
}

// GaveUp reports whether the budget was spent and the actor stopped.
func (b *Budget) GaveUp() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gaveUp
}

// WaitBackoff waits until the backoff after the actor's last restart has
// passed, or ctx ends (returning its error). It does not wait before the
// first start. A nil budget never waits.
func (b *Budget) WaitBackoff(ctx context.Context) error {
	if b == nil {
		return ctx.Err()
	}
	b.mu.Lock()
	d := time.Until(b.resume)
	b.mu.Unlock()
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

// record notes a panic and returns the backoff before restarting, or
// ok=false when the budget is spent.
func (b *Budget) record(reason any, now time.Time) (backoff time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastWhy, b.lastWhen = fmt.Sprint(reason), now
	keep := b.recent[:0]
	for _, t := range b.recent {
		if now.Sub(t) < b.policy.Window {
			keep = append(keep, t)
		}
	}
	b.recent = keep
	if len(b.recent) >= b.policy.Max {
		b.gaveUp = true
		return 0, false
	}
	b.recent = append(b.recent, now)
	b.total++
	exp := math.Pow(2, float64(len(b.recent)-1))
	d := min(time.Duration(float64(b.policy.MinBackoff)*exp), b.policy.MaxBackoff)
	b.resume = now.Add(d)
	return d, true
}

// Middleware turns a panic in the actor's Receive into an immediate restart
// while the budget allows (the backoff is for WaitBackoff), and into a stop
// once it is spent. A panic while handling Stopped is logged and swallowed:
// there is nothing left to restart.
func (b *Budget) Middleware() actor.MiddlewareFunc {
	return func(next actor.ReceiveFunc) actor.ReceiveFunc {
		return func(c *actor.Context) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if _, stopping := c.Message().(actor.Stopped); stopping {
					slog.Error("actor panicked while stopping", "actor", b.name, "reason", v)
					return
				}
				backoff, ok := b.record(v, time.Now())
				if !ok {
					slog.Error("actor restart budget spent; stopping it", "actor", b.name, "reason", v,
						"max", b.policy.Max, "window", b.policy.Window)
					if b.OnGiveUp != nil {
						b.OnGiveUp(v)
					}
					c.Engine().Stop(c.PID())
					return
				}
				slog.Error("actor panicked; restarting", "actor", b.name, "reason", v, "backoff", backoff)
				if b.OnRestart != nil {
					b.OnRestart(v)
				}
				panic(v) // hollywood restarts the actor from its producer, now
			}()
			next(c)
		}
	}
}

// Opts returns the spawn options of a supervised actor: hollywood restarts
// unbounded and immediate (the budget bounds them; WaitBackoff paces the
// actor's work), the budget's middleware, and the given inbox size.
func (b *Budget) Opts(inboxSize int) []actor.OptFunc {
	return []actor.OptFunc{
		actor.WithMaxRestarts(math.MaxInt32),
		actor.WithRestartDelay(0),
		actor.WithInboxSize(inboxSize),
		actor.WithMiddleware(b.Middleware()),
	}
}
