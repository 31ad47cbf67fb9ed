package follow

import (
	"context"
	"sync"
	"time"
)

// Limiter is a token bucket shared by the logs of one operator: the
// per-operator request budget that keeps the node polite.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second; <= 0 means unlimited
	burst  float64
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter allowing perSec requests a second on average
// and bursts of burst. perSec <= 0 disables limiting.
func NewLimiter(perSec float64, burst int) *Limiter {
	b := float64(max(burst, 1))
	return &Limiter{rate: perSec, burst: b, tokens: b, last: time.Now()}
}

// Wait blocks until a request may be made or ctx ends.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil || l.rate <= 0 {
		return ctx.Err()
	}
	for {
		d := l.reserve(time.Now())
		if d == 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// reserve takes a token if one is available (returning 0), else returns how
// long until one will be.
func (l *Limiter) reserve(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return 0
	}
	return time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
}

// Limiters hands out one shared Limiter per operator name.
type Limiters struct {
	mu     sync.Mutex
	perSec float64
	burst  int
	by     map[string]*Limiter
}

// NewLimiters returns a registry whose limiters allow perSec requests a
// second with bursts of burst.
func NewLimiters(perSec float64, burst int) *Limiters {
	return &Limiters{perSec: perSec, burst: burst, by: map[string]*Limiter{}}
}

// For returns the operator's limiter, creating it on first use.
func (ls *Limiters) For(operator string) *Limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l, ok := ls.by[operator]
	if !ok {
		l = NewLimiter(ls.perSec, ls.burst)
		ls.by[operator] = l
	}
	return l
}
