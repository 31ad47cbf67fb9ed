// Package feed runs the fake CT logs a load scenario publishes to: K
// generated logs (RFC 6962 and static-ct alternately, real certificates)
// on one in-process fakelog server, optionally also served on a fixed
// address so that a server under test can be configured to follow them.
// The logs keep the bodies of only their newest entries (Config.Retain), so
// that a long soak does not grow the harness's memory with every entry.
// With Config.Cadence, each log publishes once per period at a phase of its
// own, as real CT logs do, instead of as soon as entries are appended.
package feed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/fakelog"
)

// Config describes the logs.
type Config struct {
	// Logs is how many logs to run (default 4); even ones speak RFC 6962,
	// odd ones static-ct.
	Logs int
	// PrecertFraction is the share of precertificate entries (0..1).
	PrecertFraction float64
	// Listen, when set (e.g. "127.0.0.1:7000", port 0 for any), also serves
	// the logs and their log list on this address; every URL the feed hands
	// out then uses it.
	Listen string
	// Retain is how many of the newest entries the logs keep the bodies of,
	// in all, split evenly over the logs (fakelog.LogConfig.Retain): a
	// reader asking for an older entry gets a 400 or a 404. 0 takes
	// DefaultRetain; negative keeps every entry. Set it to at least the
	// largest backlog the node must read at once.
	Retain int
	// Cadence, when positive, makes each log publish once per Cadence,
	// log i at i/Logs of the period: Append only queues entries, and each
	// log publishes what is queued for it at its next turn (a new tree head
	// or checkpoint, timestamped then).
	Cadence time.Duration
}

// DefaultRetain is the Retain of a Config that leaves it 0. A node under
// test follows the logs from their head, so the only entries it reads far
// behind it are a backlog published at once: 200,000 covers twice the
// ingest scenario's default 100,000, however many logs share it, and 200 s
// of lag at the default 1,000 entries/s. Since the logs keep between Retain
// and 2×Retain bodies of about 1.1 KB, the harness holds at most about
// 450 MB of them however long it publishes (the tree's hashes, 64 bytes an
// entry, are all kept).
const DefaultRetain = 200_000

// perLog is the LogConfig.Retain of each of n logs for a feed's retain.
func perLog(retain, n int) int {
	switch {
	case retain < 0:
		return 0 // fakelog keeps everything
	case retain == 0:
		retain = DefaultRetain
	}
	return (retain + n - 1) / n
}

// Feed is the running logs.
type Feed struct {
	srv   *fakelog.Server
	logs  []*fakelog.Log
	base  string       // "http://host:port" of the URLs handed out
	extra *http.Server // the Listen server, if any
	next  int          // first log to get an Append's remainder

	// With a cadence: entries queued per log, the first error of a turn,
	// and the publishing goroutine's stop.
	mu      sync.Mutex
	pending []int
	err     error
	stop    chan struct{}
	stopped sync.WaitGroup
}

// Start creates the logs, empty.
func Start(cfg Config) (*Feed, error) {
	if cfg.Logs <= 0 {
		cfg.Logs = 4
	}
	srv, err := fakelog.NewServer()
	if err != nil {
		return nil, err
	}
	f := &Feed{srv: srv, base: srv.URL()}
	var ln net.Listener
	if cfg.Listen != "" {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			srv.Close()
			return nil, fmt.Errorf("feed: listen on %s: %w", cfg.Listen, err)
		}
		f.base = "http://" + ln.Addr().String()
	}
	for i := range cfg.Logs {
		lc := fakelog.LogConfig{Name: fmt.Sprintf("bench%d", i), Kind: fakelog.RFC6962, PrecertFraction: cfg.PrecertFraction,
			Retain: perLog(cfg.Retain, cfg.Logs)}
		if i%2 == 1 {
			lc.Kind = fakelog.StaticCT
		}
		if ln != nil { // the origin is the URL the log is followed at
			lc.Origin = strings.TrimPrefix(f.base, "http://") + "/logs/" + lc.Name
		}
		l, err := srv.AddLog(lc)
		if err != nil {
			srv.Close()
			if ln != nil {
				ln.Close()
			}
			return nil, err
		}
		f.logs = append(f.logs, l)
	}
	if ln != nil {
		f.extra = &http.Server{Handler: f.rewriteList(srv), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = f.extra.Serve(ln) }()
	}
	if cfg.Cadence > 0 {
		f.pending, f.stop = make([]int, len(f.logs)), make(chan struct{})
		f.stopped.Go(func() { f.publishEvery(cfg.Cadence) })
	}
	return f, nil
}

// publishEvery gives each log its turn once per period, at its own phase,
// until Close.
func (f *Feed) publishEvery(period time.Duration) {
	k := len(f.logs)
	start := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for turn := 0; ; turn++ {
		i := turn % k
		due := start.Add(time.Duration(turn/k)*period + time.Duration(i)*period/time.Duration(k))
		t.Reset(time.Until(due))
		select {
		case <-f.stop:
			return
		case <-t.C:
		}
		f.mu.Lock()
		n := f.pending[i]
		f.pending[i] = 0
		f.mu.Unlock()
		if n == 0 {
			continue
		}
		if err := f.logs[i].Append(n); err != nil {
			f.mu.Lock()
			f.err = cmp.Or(f.err, err)
			f.mu.Unlock()
		}
	}
}

// rewriteList serves h, answering the log list with the fixed address in
// place of the fakelog server's own.
func (f *Feed) rewriteList(h *fakelog.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/log_list.json" {
			h.ServeHTTP(w, r)
			return
		}
		body, err := h.LogList()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(strings.ReplaceAll(string(body), h.URL(), f.base)))
	})
}

// Append publishes n new entries, spread evenly over the logs: now, or with
// a cadence at each log's next turn (it then returns the first error a turn
// met).
func (f *Feed) Append(n int) error {
	k := len(f.logs)
	if f.pending != nil {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.err != nil {
			return f.err
		}
	}
	for i := range k {
		c := n / k
		if (i-f.next+k)%k < n%k {
			c++
		}
		if f.pending != nil {
			f.pending[i] += c
			continue
		}
		if err := f.logs[i].Append(c); err != nil {
			return err
		}
	}
	f.next = (f.next + n%k) % k
	return nil
}

// SetDown makes every log answer 503 (down) or serve normally again.
func (f *Feed) SetDown(down bool) error {
	var errs []error
	for _, l := range f.logs {
		errs = append(errs, l.UpdateFaults(func(x *fakelog.Faults) { x.Down = down }))
	}
	return errors.Join(errs...)
}

// Size is the number of entries the logs hold.
func (f *Feed) Size() int64 {
	var n int64
	for _, l := range f.logs {
		n += l.Size()
	}
	return n
}

// HeadRequests is how many tree heads (get-sth) and checkpoints the logs
// have served in all.
func (f *Feed) HeadRequests() int64 {
	var n int64
	for _, l := range f.logs {
		st := l.Stats()
		n += st.Requests[fakelog.EndpointGetSTH] + st.Requests[fakelog.EndpointCheckpoint]
	}
	return n
}

// Logs is how many logs the feed runs.
func (f *Feed) Logs() int { return len(f.logs) }

// LogListURL is the Google v3-shaped list of the logs.
func (f *Feed) LogListURL() string { return f.base + "/log_list.json" }

// CustomLogs describes the logs as node configuration entries.
func (f *Feed) CustomLogs() []config.CustomLog {
	var out []config.CustomLog
	for _, l := range f.logs {
		kind := config.KindRFC6962
		if l.Kind() == fakelog.StaticCT {
			kind = config.KindStaticCT
		}
		out = append(out, config.CustomLog{Name: l.Description(), URL: f.base + "/logs/" + l.Name() + "/",
			Kind: kind, Key: l.PublicKeyBase64(), Operator: l.Operator()})
	}
	return out
}

// Close stops publishing (entries still queued are dropped) and serving.
func (f *Feed) Close() error {
	if f.stop != nil {
		close(f.stop)
		f.stopped.Wait()
		f.stop = nil
	}
	var errs []error
	if f.extra != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := f.extra.Shutdown(ctx); err != nil {
			errs = append(errs, f.extra.Close())
		}
	}
	errs = append(errs, f.srv.Close())
	return errors.Join(errs...)
}
