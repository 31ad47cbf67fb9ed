// Package deltasink implements the Delta Lake archive actor: a child of the
// router that receives every published certificate through its bounded ring,
// buffers the rows and appends them to a Delta table with package delta.
//
// Flushing runs off the receive path, one batch at a time: at BatchSize rows,
// every FlushInterval when rows are waiting, and synchronously (bounded by
// ShutdownTimeout) when the actor stops or is sent Flush. A failed write keeps its rows and is
// retried with exponential backoff; while the table is failing and the
// buffer passes twice BatchSize, the oldest half is dropped and counted. A
// table that cannot be opened is retried the same way and never stops the
// node. Everything that must survive a restart lives in the state captured
// by the producer.
//
// Each commit also records, per log, the next index after the rows it
// archived (delta marks). After a crash the node resumes each log from its
// last saved cursor, which may be behind what was archived; rows below a
// log's mark are then left out as already archived, so the table holds each
// log entry once even across a SIGKILL.
package deltasink

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/delta"
	"github.com/certstream/certstream/internal/delta/certtable"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// Config configures the sink.
type Config struct {
	// TablePath is the Delta table's directory.
	TablePath string
	// BatchSize is the rows per commit (default 10000).
	BatchSize int
	// FlushInterval is the longest rows wait before a commit (default 30 s).
	FlushInterval time.Duration
	// Compression is the Parquet codec: zstd (default), snappy, gzip, none.
	Compression string
	// CheckpointInterval is the commits between checkpoints (default 10).
	CheckpointInterval int
	// SinkID is the txn appId that deduplicates retried batches; two nodes
	// writing one table need different ones (default DefaultSinkID).
	SinkID string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RetryMin and RetryMax bound the backoff between failed writes
	// (defaults 1 s and 60 s).
	RetryMin, RetryMax time.Duration
	// ShutdownTimeout bounds the final flush when the actor stops
	// (default 30 s).
	ShutdownTimeout time.Duration
	// FS is the table's storage (default: the directory TablePath).
	FS delta.FS
}

// DefaultSinkID returns "certstream-<host>-<hash of the absolute table
// path>": stable across restarts, distinct for two hosts or two tables.
func DefaultSinkID(tablePath string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	abs, err := filepath.Abs(tablePath)
	if err != nil {
		abs = tablePath
	}
	sum := sha256.Sum256([]byte(abs))
	return "certstream-" + host + "-" + hex.EncodeToString(sum[:4])
}

// withDefaults fills in the zero fields.
func (c Config) withDefaults() Config {
	if c.BatchSize <= 0 {
		c.BatchSize = 10000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 30 * time.Second
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = 10
	}
	if c.SinkID == "" {
		c.SinkID = DefaultSinkID(c.TablePath)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RetryMin <= 0 {
		c.RetryMin = time.Second
	}
	if c.RetryMax < c.RetryMin {
		c.RetryMax = max(60*time.Second, c.RetryMin)
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	return c
}

// writerOptions returns the delta writer options for the archive table.
func (c Config) writerOptions() delta.Options {
	return certtable.Table(delta.Options{Path: c.TablePath, FS: c.FS, AppID: c.SinkID, Compression: c.Compression,
		CheckpointInterval: c.CheckpointInterval, EngineInfo: "certstream-node", Now: c.Now})
}

// The sink's metrics, shared by every sink in the process.
var (
	recordsWritten  = metrics.NewCounter("certstream_delta_records_written")
	flushes         = metrics.NewCounter("certstream_delta_flushes")
	writeErrors     = metrics.NewCounter("certstream_delta_write_errors")
	bufferSize      = metrics.NewGauge("certstream_delta_buffer_size", nil)
	flushDuration   = metrics.NewPrometheusHistogram("certstream_delta_flush_duration_seconds")
	recordsDropped  = metrics.NewCounter("certstream_delta_records_dropped")
	commitConflicts = metrics.NewCounter("certstream_delta_commit_conflicts")
	alreadyArchived = metrics.NewCounter("certstream_delta_records_already_archived")
)

// Stats are one sink's counters, as Inspect reports them.
type Stats struct {
	RowsWritten  uint64    `json:"rows_written"`
	Archived     uint64    `json:"already_archived"` // rows left out: the table had them (replayed after a crash)
	Commits      uint64    `json:"commits"`
	WriteErrors  uint64    `json:"write_errors"`
	Dropped      uint64    `json:"records_dropped"` // every row lost: ring evictions, buffer drops, bad rows
	BadRows      uint64    `json:"bad_rows"`        // updates that cannot be stored
	Conflicts    uint64    `json:"commit_conflicts"`
	TableVersion int64     `json:"table_version"`
	LastFlush    time.Time `json:"last_flush"`
	LastError    string    `json:"last_error,omitempty"`
}

// state is everything the sink keeps across restarts.
type state struct {
	cfg    Config
	ring   *mailbox.Ring[*wire.Update]
	writer *delta.Writer // nil until opened, and while a flush owns it

	buf     []*wire.Update // drained rows not yet committed, oldest first
	pending int            // buf[:pending] is the batch being committed (fixed once formed)
	seq     int64          // its txn sequence; -1 until the table is opened

	job       *job
	failing   bool
	backoff   time.Duration
	retryAt   time.Time
	lastFlush time.Time // last commit, or start: the interval clock

	stats       Stats
	droppedSeen uint64 // ring drops already added to the metric
	started     time.Time
	engine      *actor.Engine
	pid         *actor.PID
}

// sink is the receiver; all state is in *state so it survives restarts.
type sink struct{ *state }

// New returns the producer factory the router calls with the sink's ring.
func New(cfg Config) func(ring *mailbox.Ring[*wire.Update]) actor.Producer {
	cfg = cfg.withDefaults()
	return func(ring *mailbox.Ring[*wire.Update]) actor.Producer {
		st := &state{cfg: cfg, ring: ring, seq: -1, stats: Stats{TableVersion: -1}}
		return func() actor.Receiver { return &sink{st} }
	}
}

// Flush asks the sink to archive everything it has received, now and
// synchronously (bounded by ShutdownTimeout), as it does when it stops. It
// answers with an error, nil when every row received before the request
// is committed.
type Flush struct{}

// flushed tells the actor that the running flush has a result (any later
// message would collect it too).
type flushed struct{}

// Receive handles the sink's messages.
func (s *sink) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Started:
		s.engine, s.pid = c.Engine(), c.PID()
		if s.started.IsZero() {
			s.started = s.cfg.Now()
			s.lastFlush = s.started
		}
		s.pump()
	case messages.Wake:
		s.pump()
	case messages.Tick:
		s.ring.Trim()
		s.pump()
	case flushed:
		s.pump()
	case messages.Inspect:
		c.Respond(s.inspect(c))
	case Flush:
		c.Respond(s.flushAll())
	case actor.Stopped:
		s.stopped()
	}
}

// stopped runs the final flush. hollywood also delivers Stopped outside any
// middleware before restarting a panicked actor, where a panic would end
// the process: it is contained here.
func (s *sink) stopped() {
	defer func() {
		if v := recover(); v != nil {
			slog.Error("delta sink: panic in the final flush", "table", s.cfg.TablePath, "reason", v)
		}
	}()
	if err := s.flushAll(); err != nil {
		slog.Error("delta sink: stopping with rows not archived", "table", s.cfg.TablePath, "err", err)
	}
}

// pump moves rows from the ring to the buffer and starts a flush when one
// is due.
func (s *sink) pump() {
	s.collect()
	s.drain(2 * s.cfg.BatchSize)
	if len(s.buf) >= 2*s.cfg.BatchSize && s.failing && s.job == nil {
		s.dropOldestHalf()
		s.drain(2 * s.cfg.BatchSize)
	}
	now := s.cfg.Now()
	if s.job == nil && len(s.buf) > 0 {
		due := len(s.buf) >= s.cfg.BatchSize || now.Sub(s.lastFlush) >= s.cfg.FlushInterval
		if s.failing {
			due = !now.Before(s.retryAt)
		}
		if due {
			s.start(true)
		}
	}
	s.publish()
}

// collect applies the result of a finished flush, if there is one.
func (s *sink) collect() {
	if s.job == nil {
		return
	}
	select {
	case r := <-s.job.done:
		s.finish(r)
	default:
	}
}

// drain moves queued rows into the buffer until it holds limit rows or the
// ring is empty (which re-arms the ring's wake-up). Rows that cannot be
// stored are reported lost at once.
func (s *sink) drain(limit int) {
	for len(s.buf) < limit {
		from := len(s.buf)
		s.buf = s.ring.Drain(s.buf, limit-len(s.buf))
		if len(s.buf) == from {
			return
		}
		keep, bad := from, 0
		var firstErr error
		for _, u := range s.buf[from:] {
			if err := certtable.Check(u); err != nil {
				bad++
				firstErr = err
				continue
			}
			s.buf[keep] = u
			keep++
		}
		if bad > 0 {
			clear(s.buf[keep:])
			s.buf = s.buf[:keep]
			s.ring.Done(0, bad)
			s.stats.BadRows += uint64(bad)
			slog.Warn("delta sink: skipping certificates it cannot store", "count", bad, "err", firstErr)
		}
	}
}

// dropOldestHalf sheds the oldest half of the buffer while the table is
// failing; the batch being retried is abandoned under its sequence number.
func (s *sink) dropOldestHalf() {
	k := len(s.buf) / 2
	if s.pending > 0 {
		s.pending = 0
		if s.seq >= 0 {
			s.seq++
		}
	}
	s.removeFront(k)
	s.ring.Done(0, k)
	slog.Warn("delta sink: table failing and buffer full; dropped the oldest rows", "dropped", k,
		"buffered", len(s.buf), "err", s.stats.LastError)
}

// removeFront forgets the first k buffered rows.
func (s *sink) removeFront(k int) {
	n := copy(s.buf, s.buf[k:])
	clear(s.buf[n:])
	s.buf = s.buf[:n]
}

// publish updates the gauges and the dropped counter.
func (s *sink) publish() {
	bufferSize.Set(float64(len(s.buf)))
	if d := s.ring.Stats().Dropped; d > s.droppedSeen {
		recordsDropped.Add(int(d - s.droppedSeen))
		s.droppedSeen = d
	}
	s.stats.Dropped = s.droppedSeen
}

// job is one flush running on its own goroutine. It owns the writer and
// reads buf[:pending], which the actor leaves alone until the job is done.
type job struct {
	done chan result
}

// result is what a flush reports back.
type result struct {
	writer *delta.Writer // nil if the table could not be opened (or the flush panicked)
	seq    int64         // the sequence used; -1 if the table was not opened
	known  int           // rows of the batch left out: the table already had them
	res    delta.Result
	err    error
	took   time.Duration
}

// start forms the batch if needed and commits it off the receive path;
// notify has the job send the actor a flushed message when it ends (a
// synchronous flush waits for the result instead).
func (s *sink) start(notify bool) {
	if s.pending == 0 {
		s.pending = min(len(s.buf), s.cfg.BatchSize)
	}
	rows := s.buf[:s.pending:s.pending]
	j := &job{done: make(chan result, 1)}
	s.job = j
	w, seq, opts := s.writer, s.seq, s.cfg.writerOptions()
	s.writer = nil
	engine, pid := s.engine, s.pid
	go func() {
		j.done <- flush(opts, w, seq, rows)
		if notify && engine != nil {
			engine.Send(pid, flushed{})
		}
	}()
}

// flush opens the table if needed and commits rows as batch seq (or, when
// seq is -1, as the batch after the last one this sink committed).
func flush(opts delta.Options, w *delta.Writer, seq int64, rows []*wire.Update) (r result) {
	began := time.Now()
	r.seq = seq
	defer func() {
		if v := recover(); v != nil {
			r.writer, r.err = nil, fmt.Errorf("delta sink: flush panicked: %v", v)
		}
		r.took = time.Since(began)
	}()
	if w == nil {
		var err error
		if w, err = delta.Open(opts); err != nil {
			r.err = err
			return r
		}
	}
	r.writer = w
	if r.seq < 0 {
		r.seq = w.LastTxn() + 1
	}
	rows, r.known = unarchived(rows, w.Marks())
	if len(rows) == 0 {
		r.res.Version = w.Version()
		return r
	}
	parts, err := certtable.Parts(rows)
	if err != nil {
		r.err = err
		return r
	}
	defer func() {
		for _, p := range parts {
			p.Record.Release()
		}
	}()
	r.res, r.err = w.Commit(r.seq, parts, marks(rows))
	return r
}

// unarchived returns rows without those the table already holds by its
// marks (rows of a log below its mark were archived before a crash and
// fetched again after it), and how many it left out. rows is not modified.
func unarchived(rows []*wire.Update, marks map[string]int64) ([]*wire.Update, int) {
	if len(marks) == 0 {
		return rows, 0
	}
	var out []*wire.Update
	for i, u := range rows {
		known := u.Source != nil && int64(u.Index) < marks[u.Source.URL]
		switch {
		case known && out == nil:
			out = append(make([]*wire.Update, 0, len(rows)), rows[:i]...)
		case !known && out != nil:
			out = append(out, u)
		}
	}
	if out == nil {
		return rows, 0
	}
	return out, len(rows) - len(out)
}

// marks returns, per log in rows, the next index after its rows there.
func marks(rows []*wire.Update) map[string]int64 {
	m := make(map[string]int64)
	for _, u := range rows {
		if u.Source != nil {
			m[u.Source.URL] = max(m[u.Source.URL], int64(u.Index)+1)
		}
	}
	return m
}

// finish applies a flush result.
func (s *sink) finish(r result) {
	now := s.cfg.Now()
	s.job = nil
	s.writer = r.writer
	flushDuration.Update(r.took.Seconds())
	if r.res.Conflicts > 0 {
		s.stats.Conflicts += uint64(r.res.Conflicts)
		commitConflicts.Add(r.res.Conflicts)
	}
	if r.err != nil {
		s.seq = r.seq
		s.stats.WriteErrors++
		writeErrors.Inc()
		s.stats.LastError = r.err.Error()
		s.backoff = min(max(2*s.backoff, s.cfg.RetryMin), s.cfg.RetryMax)
		s.retryAt = now.Add(s.backoff)
		if !s.failing {
			slog.Error("delta sink: write failed; keeping the rows and retrying", "table", s.cfg.TablePath,
				"rows", len(s.buf), "retry_in", s.backoff, "err", r.err)
		}
		s.failing = true
		return
	}
	if s.failing {
		slog.Info("delta sink: writes resumed", "table", s.cfg.TablePath, "version", r.res.Version)
	}
	k := s.pending
	s.removeFront(k)
	s.pending, s.seq = 0, r.seq+1
	s.ring.Done(k, 0)
	s.failing, s.backoff, s.lastFlush = false, 0, now
	written := k - r.known
	s.stats.RowsWritten += uint64(written)
	s.stats.Archived += uint64(r.known)
	s.stats.TableVersion = r.res.Version
	s.stats.LastFlush = now
	recordsWritten.Add(written)
	alreadyArchived.Add(r.known)
	if written > 0 {
		s.stats.Commits++
		flushes.Inc()
	}
	if r.known > 0 {
		slog.Info("delta sink: left out rows the table already holds (replayed after a restart)", "rows", r.known)
	}
	if r.res.CheckpointErr != nil {
		slog.Warn("delta sink: checkpoint failed (the table stays valid)", "table", s.cfg.TablePath, "err", r.res.CheckpointErr)
	}
}

// flushAll commits everything received, synchronously and within
// ShutdownTimeout, ignoring the retry backoff but stopping at the first
// failure. It is idempotent: a second call (Stopped can come twice) finds
// nothing to do.
func (s *sink) flushAll() error {
	deadline := time.Now().Add(s.cfg.ShutdownTimeout)
	defer s.publish()
	if !s.await(deadline) {
		return fmt.Errorf("delta sink: a flush is still running after %v; %d rows not archived", s.cfg.ShutdownTimeout, len(s.buf))
	}
	s.drain(int(^uint(0) >> 1))
	for len(s.buf) > 0 {
		if !time.Now().Before(deadline) {
			return fmt.Errorf("delta sink: out of time after %v; %d rows not archived", s.cfg.ShutdownTimeout, len(s.buf))
		}
		s.start(false)
		if !s.await(deadline) {
			return fmt.Errorf("delta sink: a flush is still running after %v; %d rows not archived", s.cfg.ShutdownTimeout, len(s.buf))
		}
		if s.failing {
			return fmt.Errorf("delta sink: %d rows not archived: %s", len(s.buf), s.stats.LastError)
		}
	}
	return nil
}

// await waits for the running flush, if any, until deadline; false if it
// is still running then.
func (s *sink) await(deadline time.Time) bool {
	if s.job == nil {
		return true
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case r := <-s.job.done:
		s.finish(r)
		return true
	case <-timer.C:
		return false
	}
}

// inspect describes the sink for the admin view.
func (s *sink) inspect(c *actor.Context) messages.ActorInfo {
	rs := s.ring.Stats()
	status := "running"
	if s.failing {
		status = "failing"
	}
	info := messages.ActorInfo{
		PID: c.PID().String(), Kind: "deltasink", Status: status, Started: s.started,
		MailboxDepth: rs.Queued, MailboxCapacity: rs.Capacity, Drops: rs.Dropped,
		Details: map[string]any{
			"table_path": s.cfg.TablePath, "sink_id": s.cfg.SinkID, "buffered": len(s.buf),
			"flushing": s.job != nil, "stats": s.stats,
		},
	}
	if p := c.Parent(); p != nil {
		info.Parent = p.String()
	}
	if s.failing {
		info.Details["next_retry"] = s.retryAt
	}
	return info
}
