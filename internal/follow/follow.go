// Package follow follows one CT log: it polls the log's head, fetches the
// entries after its cursor (several windows in flight while behind), decodes
// them and delivers them in index order.
//
// It never skips a range because of an error and never jumps to the head
// after one: a failed request is retried, with backoff, from the same index.
// The only thing ever skipped is a leaf that cannot be decoded, which is
// counted and logged with its index.
package follow

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/ctclient"
	"github.com/certstream/certstream/internal/wire"
)

// The two kinds of CT log.
const (
	KindRFC6962  = "rfc6962"
	KindStaticCT = "static-ct"
)

// Log describes the CT log to follow.
type Log struct {
	Name      string // the log's description: "source.name" on the wire
	URL       string // the RFC 6962 log URL or static-ct monitoring prefix, verbatim
	Kind      string // KindRFC6962 or KindStaticCT
	Operator  string
	PublicKey crypto.PublicKey // optional; verifies STHs and checkpoints when set
}

// Config tunes fetching.
type Config struct {
	BatchSize    int           // entries asked per get-entries window
	Concurrency  int           // windows in flight while behind
	PollInterval time.Duration // head polling when caught up
	// InStep polls a caught-up log just after its next expected head,
	// learnt from the timestamps of the heads it served, when it publishes
	// on a steady cadence: on average no more often than PollInterval, and
	// a poll that came before the head is followed by one re-poll soon
	// after, at most one for every ten polls in step.
	InStep       bool
	RetryMin     time.Duration // first backoff after an error
	RetryMax     time.Duration // backoff ceiling
	StartOverlap uint64        // without a cursor, start this many entries before the head
}

// Deps are the resources a follower shares with others.
type Deps struct {
	HTTP      *http.Client // the operator's connection pool
	UserAgent string
	Limiter   *Limiter              // the operator's request budget (nil: none)
	Issuers   *ctclient.IssuerCache // static-ct issuers, shared by every follower
	Chains    *certfields.Cache     // parsed chain certificates, shared
	Now       func() time.Time      // clock (default time.Now)
	Metrics   *Metrics              // the log's metrics (nil: NewMetrics(log.Name))
	Logger    *slog.Logger          // default slog.Default()
}

// Deliver hands updates, in index order, to the pipeline and records that
// every entry before next has been handled. It may block (backpressure); it
// returns an error only when ctx ends.
type Deliver func(ctx context.Context, updates []*wire.Update, next uint64) error

// Follower follows one log. Create it with New and call Run once.
type Follower struct {
	log    Log
	cfg    Config
	deps   Deps
	src    source
	source *wire.Source
	status statusTracker
	m      *Metrics
	logger *slog.Logger
	// suspects are undecodable entries seen once: their range is fetched
	// again before they are skipped, in case the body was damaged in transit.
	// Only catchUp's goroutine touches it.
	suspects map[uint64]bool
	// largest is the largest tree size the log has shown. Only Run's
	// goroutine touches it.
	largest uint64
	// pace schedules the head requests of a caught-up follower. Only
	// Run's goroutine calls it.
	pace *cadence
}

// source is the protocol-specific half of a follower.
type source interface {
	// head asks the log for its current tree size and its timestamp (ms).
	// The caller counts the request.
	head(ctx context.Context) (size, timestamp uint64, err error)
	// window returns the end of the range to request starting at start.
	window(start, size uint64) uint64
	// fetch returns the decoded entries of a prefix [start, start+n) of
	// [start, end), n >= 1 unless err is set.
	fetch(ctx context.Context, start, end, size uint64) (fetched, error)
}

// fetched is a decoded run of n consecutive entries: the good ones as
// updates, the undecodable ones as bad (skipped, and counted only once the
// run is delivered, so a refetched run does not count them twice).
type fetched struct {
	ups []*wire.Update
	bad []badLeaf
	n   uint64
}

// badLeaf is an entry that could not be decoded.
type badLeaf struct {
	index uint64
	err   error
}

// New returns a follower for log.
func New(log Log, cfg Config, deps Deps) (*Follower, error) {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Chains == nil {
		deps.Chains = certfields.NewCache(4096)
	}
	if deps.Issuers == nil {
		deps.Issuers = ctclient.NewIssuerCache(4096)
	}
	if deps.HTTP == nil {
		deps.HTTP = http.DefaultClient
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	cfg.BatchSize = max(cfg.BatchSize, 1)
	cfg.Concurrency = max(cfg.Concurrency, 1)
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 500 * time.Millisecond
	}
	cfg.RetryMax = max(cfg.RetryMax, cfg.RetryMin)
	f := &Follower{
		log:    log,
		cfg:    cfg,
		deps:   deps,
		source: &wire.Source{Name: log.Name, URL: log.URL},
		m:      deps.Metrics,
		logger: deps.Logger.With("log", log.Name, "url", log.URL),
		pace:   newCadence(cfg.PollInterval),
	}
	if f.m == nil {
		f.m = NewMetrics(log.Name)
	}
	f.status.gauges = f.m
	f.status.logger = f.logger
	f.status.behindBy = uint64(cfg.BatchSize)
	switch log.Kind {
	case KindRFC6962, "":
		f.src = &rfc6962Source{f: f, c: &ctclient.RFC6962{BaseURL: log.URL, HTTP: deps.HTTP,
			UserAgent: deps.UserAgent, PublicKey: log.PublicKey}, pages: newPager(cfg.BatchSize)}
	case KindStaticCT:
		f.src = &staticSource{f: f, c: &ctclient.StaticCT{MonitoringURL: log.URL, HTTP: deps.HTTP,
			UserAgent: deps.UserAgent, PublicKey: log.PublicKey}}
	default:
		return nil, fmt.Errorf("follow: log %q: unknown kind %q", log.Name, log.Kind)
	}
	return f, nil
}

// Status returns the follower's current status.
func (f *Follower) Status() Status { return f.status.get() }

// Run follows the log until ctx ends. With known set, it starts at next;
// otherwise it starts StartOverlap entries before the first head it sees.
func (f *Follower) Run(ctx context.Context, next uint64, known bool, deliver Deliver) error {
	f.status.setCursor(next, known)
	var failures int
	for ctx.Err() == nil {
		size, ts, err := f.head(ctx, next, known)
		if err != nil {
			if ctx.Err() != nil {
				break // stopped: not a failure of the log
			}
			failures++
			f.sleep(ctx, f.failed(err, failures))
			continue
		}
		f.status.setHead(size, ts, f.deps.Now())
		if f.cfg.InStep {
			f.pace.observe(ts)
		}
		if !known {
			next = size - min(size, f.cfg.StartOverlap)
			known = true
			f.status.setCursor(next, true)
			f.logger.Info("no saved cursor; starting near the head", "start", next, "tree_size", size)
		}
		if next == size {
			failures = 0
			f.status.succeeded(f.deps.Now())
			f.sleep(ctx, f.pollWait())
			continue
		}
		var err2 error
		next, err2 = f.catchUp(ctx, next, size, deliver)
		if err2 != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			f.sleep(ctx, f.failed(err2, failures))
			continue
		}
		failures = 0
		if next == size && f.cfg.InStep && f.pace.inStep() {
			// Caught up with a log on a cadence: its next head is not due
			// before its next publication.
			f.sleep(ctx, f.pollWait())
		}
	}
	return ctx.Err()
}

// pollWait is how long a caught-up follower waits before asking for the
// head again: PollInterval, or until just after the log's next expected
// publication when it polls in step.
func (f *Follower) pollWait() time.Duration {
	if !f.cfg.InStep {
		return f.cfg.PollInterval
	}
	return f.pace.wait(f.deps.Now())
}

// head asks the log for its head and checks it against what the follower
// knows: a tree smaller than one the log showed before, or than the cursor,
// fails the request as Inconsistent. The follower then waits, its cursor
// unchanged, as after any failure.
func (f *Follower) head(ctx context.Context, next uint64, known bool) (size, ts uint64, err error) {
	err = f.request(ctx, func() (err error) {
		if size, ts, err = f.src.head(ctx); err != nil {
			return err
		}
		switch {
		case size < f.largest:
			err = fmt.Errorf("the log's tree shrank from %d to %d entries; waiting, nothing skipped", f.largest, size)
		case known && next > size:
			err = fmt.Errorf("cursor %d is beyond the log's tree size %d (the log lost entries, or the saved cursor is wrong); waiting, nothing skipped", next, size)
		default:
			f.largest = size
			return nil
		}
		return &ctclient.Error{Op: "head", URL: f.log.URL, Kind: ctclient.Inconsistent, Err: err}
	})
	return size, ts, err
}

// headRefresh bounds one catch-up to this many poll intervals of issuing
// windows, so that the head, and the lag, are read again while far behind.
const headRefresh = 10

// result is one fetched window.
type result struct {
	fetched
	start, end uint64
	err        error
	panic      any // a panic in the window's goroutine, re-raised by catchUp
}

// catchUp fetches [next, size) with up to Concurrency windows in flight and
// delivers in index order. It stops issuing windows after headRefresh poll
// intervals, and returns the new cursor once the issued ones are delivered;
// on an error it stops issuing, delivers what is contiguous, and returns the
// cursor with the error.
func (f *Follower) catchUp(ctx context.Context, next, size uint64, deliver Deliver) (uint64, error) {
	until := f.deps.Now().Add(headRefresh * f.cfg.PollInterval)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan result, f.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()

	done := map[uint64]result{} // finished windows by start, not yet delivered
	var gaps []result           // ranges to (re)request before new ones
	issued := next              // everything below issued has been requested
	inflight := 0
	var firstErr error

	launch := func(start, end uint64) {
		inflight++
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := result{start: start, end: end}
			defer func() {
				r.panic = recover()
				results <- r
			}()
			r.fetched, r.err = f.src.fetch(ctx, start, end, size)
		}()
	}
	for {
		for firstErr == nil && inflight < f.cfg.Concurrency && len(done) < 2*f.cfg.Concurrency {
			if len(gaps) > 0 {
				g := gaps[0]
				gaps = gaps[1:]
				launch(g.start, g.end)
				continue
			}
			if issued >= size || !f.deps.Now().Before(until) {
				break
			}
			end := f.src.window(issued, size)
			launch(issued, end)
			issued = end
		}
		if inflight == 0 {
			return next, firstErr
		}
		r := <-results
		inflight--
		if r.panic != nil {
			cancel()
			wg.Wait()
			panic(r.panic) // to Run's caller, whose supervisor restarts it
		}
		if r.err == nil {
			r.err = f.firstSighting(r.bad)
		}
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
			}
			continue
		}
		if r.n < r.end-r.start {
			// A short page: ask again for the rest, before anything new.
			gaps = append(gaps, result{start: r.start + r.n, end: r.end})
			r.end = r.start + r.n
		}
		done[r.start] = r
		for {
			d, ok := done[next]
			if !ok {
				break
			}
			delete(done, next)
			f.m.fetched.Add(int(d.n))
			for _, b := range d.bad {
				f.badLeaf(b.index, b.err)
			}
			if err := deliver(ctx, d.ups, d.end); err != nil {
				return next, err
			}
			next = d.end
			f.status.delivered(next, d.ups, f.deps.Now())
		}
	}
}

// firstSighting returns an error when an undecodable entry in bad has not
// been seen before, so its range is fetched once more before it is skipped.
func (f *Follower) firstSighting(bad []badLeaf) error {
	var fresh []uint64
	for _, b := range bad {
		if !f.suspects[b.index] {
			if f.suspects == nil {
				f.suspects = map[uint64]bool{}
			}
			f.suspects[b.index] = true
			fresh = append(fresh, b.index)
		}
	}
	if len(fresh) == 0 {
		for _, b := range bad {
			delete(f.suspects, b.index)
		}
		return nil
	}
	return &ctclient.Error{Op: "decode", URL: f.log.URL, Kind: ctclient.Decode,
		Err: fmt.Errorf("undecodable entries %v (%v); fetching them again before skipping", fresh, bad[0].err)}
}

// failed records an error and returns how long to wait before retrying.
func (f *Follower) failed(err error, failures int) time.Duration {
	f.status.failed(err, f.deps.Now())
	backoff := f.cfg.RetryMin << min(failures-1, 16)
	backoff = min(backoff, f.cfg.RetryMax)
	var ce *ctclient.Error
	if errors.As(err, &ce) && ce.RetryAfter > backoff {
		backoff = min(ce.RetryAfter, 10*f.cfg.RetryMax)
	}
	level := slog.LevelWarn
	if failures > 1 && failures%10 != 0 {
		level = slog.LevelDebug // one line per streak, then every tenth
	}
	f.logger.Log(context.Background(), level, "fetch failed; retrying the same range", "err", err,
		"failures", failures, "backoff", backoff, "cursor", f.status.get().Next)
	if ce != nil && ce.Detail != "" {
		// The log's own words: only for whoever debugs it.
		f.logger.Debug("the log's answer", "op", ce.Op, "status", ce.Status, "answer", ce.Detail)
	}
	return backoff
}

// sleep waits d or until ctx ends.
func (f *Follower) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// request waits for the operator's budget, then counts the outcome of do.
func (f *Follower) request(ctx context.Context, do func() error) error {
	if err := f.deps.Limiter.Wait(ctx); err != nil {
		return err
	}
	err := do()
	f.m.request(err)
	return err
}

// update wraps a decoded entry with where and when it was seen.
func (f *Follower) update(e *wire.Entry, link string) *wire.Update {
	return &wire.Update{Entry: *e, Source: f.source, CertLink: link, Seen: f.deps.Now().UnixMilli()}
}

// badLeaf counts and logs an entry that cannot be decoded; it is skipped.
func (f *Follower) badLeaf(index uint64, err error) {
	f.m.parseFailures.Inc()
	f.logger.Warn("skipping undecodable entry", "index", index, "err", err)
}
