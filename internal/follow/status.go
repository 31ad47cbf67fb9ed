package follow

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/certstream/certstream/internal/wire"
)

// Health of a log as the node sees it.
const (
	Healthy   = "healthy"   // the last request succeeded, and the follower keeps up
	Degraded  = "degraded"  // the last request failed (retrying), or the follower falls behind
	Unhealthy = "unhealthy" // several requests in a row failed, or none ever succeeded
	Starting  = "starting"  // nothing tried yet
)

// unhealthyAfter is the number of consecutive failures that make a log unhealthy.
const unhealthyAfter = 3

// behindAfter is the number of heads in a row with a growing lag that make
// a follower count as falling behind (when the lag grew by more than a
// window's worth over them, so that noise does not).
const behindAfter = 5

// Status is a snapshot of a follower's progress and health.
type Status struct {
	Health            string
	TreeSize          uint64    // the log's size at the last head
	HeadKnown         bool      // false until the first head: TreeSize and the lag are unknown
	HeadTimestamp     time.Time // the last head's timestamp
	Next              uint64    // the next index to deliver
	CursorKnown       bool      // false until a saved cursor or the first head fixes Next
	LagEntries        uint64    // TreeSize - Next
	LagSeconds        float64   // age of the oldest undelivered entry (0 when caught up)
	Errors            uint64    // failed requests, in total
	ConsecutiveErrors int
	LastError         string
	LastErrorAt       time.Time
	LastSuccess       time.Time
}

// statusTracker guards a Status shared between the follower's goroutines
// and readers; it keeps the per-log gauges in step.
type statusTracker struct {
	mu       sync.Mutex
	s        Status
	lastTS   uint64   // log timestamp (ms) of the last delivered entry
	lags     []uint64 // the lag at the last behindAfter+1 heads, oldest first
	behind   bool     // the lag kept growing: the follower falls behind
	behindBy uint64   // the growth over the lags that counts as falling behind
	gauges   *Metrics
	logger   *slog.Logger // told when the log turns unhealthy and when it recovers
	down     bool         // the log was unhealthy and has not recovered
}

func (t *statusTracker) get() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.s
	s.Health = t.health()
	return s
}

func (t *statusTracker) health() string {
	switch {
	case t.s.ConsecutiveErrors >= unhealthyAfter, t.s.ConsecutiveErrors > 0 && t.s.LastSuccess.IsZero():
		return Unhealthy
	case t.s.ConsecutiveErrors > 0, t.behind:
		return Degraded
	case t.s.LastSuccess.IsZero():
		return Starting
	default:
		return Healthy
	}
}

func (t *statusTracker) setCursor(next uint64, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.Next, t.s.CursorKnown = next, known
	t.update(time.Now())
}

// setHead records a head. It does not end a streak of failures: a log
// that answers get-sth but fails every fetch makes no progress.
func (t *statusTracker) setHead(size, tsMillis uint64, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.TreeSize, t.s.HeadKnown = size, true
	t.s.HeadTimestamp = time.UnixMilli(int64(tsMillis))
	t.s.LastSuccess = now
	t.update(now)
	t.trackLag(now)
}

// trackLag records the lag at a head and decides whether the follower
// falls behind: the lag grew at each of the last behindAfter heads, and by
// more than behindBy in all. Called with mu held.
func (t *statusTracker) trackLag(now time.Time) {
	if !t.s.CursorKnown {
		return
	}
	t.lags = append(t.lags, t.s.LagEntries)
	if len(t.lags) > behindAfter+1 {
		t.lags = t.lags[1:]
	}
	growing := len(t.lags) == behindAfter+1 && t.lags[len(t.lags)-1]-t.lags[0] > t.behindBy
	for i := 1; growing && i < len(t.lags); i++ {
		growing = t.lags[i] > t.lags[i-1]
	}
	if growing && !t.behind {
		t.s.LastError = fmt.Sprintf("falling behind: the lag grew from %d to %d entries over the last %d polls",
			t.lags[0], t.s.LagEntries, behindAfter)
		t.s.LastErrorAt = now
	}
	t.behind = growing
	t.update(now)
}

func (t *statusTracker) succeeded(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.LastSuccess = now
	t.s.ConsecutiveErrors = 0
	t.update(now)
}

func (t *statusTracker) delivered(next uint64, ups []*wire.Update, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.Next = next
	if len(ups) > 0 {
		t.lastTS = ups[len(ups)-1].Timestamp
	}
	t.s.LastSuccess = now
	t.s.ConsecutiveErrors = 0
	t.update(now)
}

func (t *statusTracker) failed(err error, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.s.Errors++
	t.s.ConsecutiveErrors++
	t.s.LastError = err.Error()
	t.s.LastErrorAt = now
	t.update(now)
}

// logChange logs a log turning unhealthy, and turning healthy again after
// that. Called with mu held.
func (t *statusTracker) logChange() {
	if t.logger == nil {
		return
	}
	switch h := t.health(); {
	case h == Unhealthy && !t.down:
		t.down = true
		t.logger.Warn("log unhealthy", "consecutive_errors", t.s.ConsecutiveErrors, "last_error", t.s.LastError)
	case h == Healthy && t.down:
		t.down = false
		t.logger.Info("log recovered", "errors", t.s.Errors)
	}
}

// update recomputes derived fields and the gauges. Called with mu held.
func (t *statusTracker) update(now time.Time) {
	t.s.LagEntries = 0
	t.s.LagSeconds = 0
	if t.s.CursorKnown && t.s.TreeSize > t.s.Next {
		t.s.LagEntries = t.s.TreeSize - t.s.Next
		if t.lastTS > 0 {
			t.s.LagSeconds = max(0, now.Sub(time.UnixMilli(int64(t.lastTS))).Seconds())
		}
	}
	t.logChange()
	if g := t.gauges; g != nil {
		g.cursor.Set(float64(t.s.Next))
		g.treeSize.Set(float64(t.s.TreeSize))
		g.lagEntries.Set(float64(t.s.LagEntries))
		g.lagSeconds.Set(t.s.LagSeconds)
		h := 0.0
		if t.health() == Healthy {
			h = 1
		}
		g.healthy.Set(h)
	}
}
