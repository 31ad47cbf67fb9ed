package scenario

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certstream/certstream/bench/client"
)

// Churn keeps connections coming and going during the window, beside the
// members, to prove that connecting and disconnecting leaks nothing in the
// server.
type Churn struct {
	// Conns connections are kept open at once (0: no churn). Each is
	// closed by the harness after Life and at once replaced by a new one,
	// of the next of churnKinds.
	Conns int
	Life  time.Duration
}

// check reports a churn that cannot run.
func (c Churn) check() error {
	if c.Conns > 0 && c.Life <= 0 {
		return fmt.Errorf("churn: a connection's life must be positive, not %v", c.Life)
	}
	return nil
}

// churnKinds are the kinds a churned connection cycles through, so that
// every transport's teardown path runs.
var churnKinds = []Group{
	{Name: "ws lite", Transport: client.WebSocket, Stream: client.Lite},
	{Name: "ws full", Transport: client.WebSocket, Stream: client.Full},
	{Name: "ws domains", Transport: client.WebSocket, Stream: client.Domains},
	{Name: "sse lite", Transport: client.SSE, Stream: client.Lite},
}

// errLifeOver ends a churned session whose life is over.
var errLifeOver = errors.New("churned session's life is over")

// churner runs the churned connections of one window.
type churner struct {
	spec   Churn
	urls   []string // of churnKinds
	opened atomic.Int64
	stop   context.CancelFunc
	wg     sync.WaitGroup

	mu  sync.Mutex
	res ChurnResult
}

// startChurn starts c's connections to target, spread over one life so
// that they end and are replaced at an even pace. It returns nil when c
// has no connections.
func startChurn(ctx context.Context, target string, c Churn) (*churner, error) {
	if err := c.check(); err != nil || c.Conns <= 0 {
		return nil, err
	}
	ch := &churner{spec: c, res: ChurnResult{Conns: c.Conns, LifeSecs: c.Life.Seconds(), Reasons: map[string]int{}}}
	for _, k := range churnKinds {
		u, err := client.URL(target, k.Transport, k.Stream)
		if err != nil {
			return nil, err
		}
		ch.urls = append(ch.urls, u)
	}
	cctx, stop := context.WithCancel(ctx)
	ch.stop = stop
	for i := range c.Conns {
		delay := time.Duration(i) * c.Life / time.Duration(c.Conns)
		ch.wg.Go(func() {
			if sleep(cctx, delay) != nil {
				return
			}
			for cctx.Err() == nil {
				ch.session(cctx)
			}
		})
	}
	return ch, nil
}

// session runs one churned connection for its life and records how it
// went. It holds its slot for the whole life however it ended, so that a
// server refusing connections is not hammered.
func (ch *churner) session(ctx context.Context) {
	n := ch.opened.Add(1) - 1
	k := int(n % int64(len(churnKinds)))
	kind := churnKinds[k]
	c := client.New(client.Config{URL: ch.urls[k], Transport: kind.Transport, ReadBuffer: readBuffer(kind.Stream)})
	sctx, cancel := context.WithTimeoutCause(ctx, ch.spec.Life, errLifeOver)
	defer cancel()
	c.Run(sctx)
	interrupted := sctx.Err() != nil && context.Cause(sctx) != errLifeOver
	ch.record(kind.Name, c.Snapshot(), interrupted)
	<-sctx.Done()
}

// record counts one session. interrupted is set when the window's end,
// not its life, stopped it: one still connecting or waiting for its first
// message then is not judged.
func (ch *churner) record(kind string, s client.Snapshot, interrupted bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	r := &ch.res
	switch {
	case s.State == client.Closed: // by the server or an error, never by the harness
		r.Cut++
		r.Reasons[kind+": "+s.Reason]++
	case s.State == client.Failed && !interrupted:
		r.Failed++
		r.Reasons[kind+": "+s.Reason]++
	case s.Messages > 0:
		r.Served++
	case interrupted:
		r.Interrupted++
		return
	default:
		r.Unserved++
	}
	r.Sessions++
}

// status is a progress note: the sessions so far.
func (ch *churner) status() string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	r := ch.res
	return fmt.Sprintf("churn %d sessions, %d served", r.Sessions, r.Served)
}

// finish stops the churned connections, waits for them and returns their
// accounting (nil without churn).
func (ch *churner) finish() *ChurnResult {
	if ch == nil {
		return nil
	}
	ch.stop()
	ch.wg.Wait()
	return &ch.res
}
