// Package archive appends published certificates to the certstream Delta
// table: an Archive takes rows from a bounded ring, buffers them, and
// commits them in batches with package delta.
//
// Commits run off the caller's goroutine, one batch at a time: at BatchSize
// rows, every FlushInterval while rows are waiting, and synchronously
// (bounded by FlushTimeout) on Flush. A failed write keeps its rows and is
// retried with exponential backoff; while the table is failing and the
// buffer holds twice BatchSize, the oldest half is dropped and counted. A
// table that cannot be opened is retried the same way.
//
// Each commit also records, per log, the next index after the rows it
// archived (the table's marks). After a crash a node resumes each log from
// its last saved cursor, which may be behind what was archived; rows below
// a log's mark are then left out as already archived, so the table holds
// each log entry once even across a SIGKILL.
//
// Every timestamp comes from Config.Now. Only FlushTimeout, which bounds a
// wait for a running commit, is measured by a real timer.
package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/certstream/certstream/internal/delta"
	"github.com/certstream/certstream/internal/delta/certtable"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
)

// Config configures an Archive.
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
	// FlushTimeout bounds Flush (default 30 s).
	FlushTimeout time.Duration
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
	if c.FlushTimeout <= 0 {
		c.FlushTimeout = 30 * time.Second
	}
	return c
}

// writerOptions returns the delta writer options for the table.
func (c Config) writerOptions() delta.Options {
	return certtable.Table(delta.Options{Path: c.TablePath, FS: c.FS, AppID: c.SinkID, Compression: c.Compression,
		CheckpointInterval: c.CheckpointInterval, EngineInfo: "certstream-node", Now: c.Now})
}

// Stats are an Archive's counters.
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

// An Archive moves rows from its ring to the table. It is not safe for
// concurrent use: one goroutine (the sink actor's) calls its methods, while
// the commit it started runs on another.
type Archive struct {
	cfg    Config
	ring   *mailbox.Ring[*wire.Update]
	writer *delta.Writer // nil until opened, and while a commit owns it

	buf     []*wire.Update // rows taken from the ring and not yet committed, oldest first
	pending int            // buf[:pending] is the batch being committed (fixed once formed)
	seq     int64          // its txn sequence; -1 until the table is opened

	commit    *commit // the running commit, or nil
	failing   bool
	backoff   time.Duration
	retryAt   time.Time
	lastFlush time.Time // last commit, or New: the interval clock

	stats       Stats
	droppedSeen uint64 // ring drops already added to the metric
}

// New returns an Archive of the rows pushed into ring. The ring's
// accounting follows the rows: committed ones are reported delivered,
// dropped or unstorable ones lost.
func New(cfg Config, ring *mailbox.Ring[*wire.Update]) *Archive {
	cfg = cfg.withDefaults()
	return &Archive{cfg: cfg, ring: ring, seq: -1, lastFlush: cfg.Now(), stats: Stats{TableVersion: -1}}
}

// Config returns the configuration, defaults filled in.
func (a *Archive) Config() Config { return a.cfg }

// Stats returns the counters.
func (a *Archive) Stats() Stats { return a.stats }

// Buffered returns the rows taken from the ring and not yet committed.
func (a *Archive) Buffered() int { return len(a.buf) }

// Flushing reports whether a commit is running.
func (a *Archive) Flushing() bool { return a.commit != nil }

// NextRetry returns when the failing table is tried again, and false when
// the last write succeeded.
func (a *Archive) NextRetry() (time.Time, bool) { return a.retryAt, a.failing }

// Pump applies the result of a finished commit, takes rows from the ring,
// and starts a commit when one is due: at BatchSize rows, FlushInterval
// after the last commit, or, while failing, once the backoff has passed.
// notify, if not nil, is called on the commit's goroutine when it ends; the
// caller then calls Pump again to apply the result.
func (a *Archive) Pump(notify func()) {
	a.collect()
	a.take(2 * a.cfg.BatchSize)
	if len(a.buf) >= 2*a.cfg.BatchSize && a.failing && a.commit == nil {
		a.dropOldestHalf()
		a.take(2 * a.cfg.BatchSize)
	}
	now := a.cfg.Now()
	if a.commit == nil && len(a.buf) > 0 {
		due := len(a.buf) >= a.cfg.BatchSize || now.Sub(a.lastFlush) >= a.cfg.FlushInterval
		if a.failing {
			due = !now.Before(a.retryAt)
		}
		if due {
			a.start(notify)
		}
	}
	a.publish()
}

// Flush commits every row pushed into the ring so far, synchronously and
// within FlushTimeout, ignoring the retry backoff but stopping at the first
// failure: the error says how many rows are not archived. A second call
// with nothing new to commit does nothing.
func (a *Archive) Flush() error {
	timeout := time.NewTimer(a.cfg.FlushTimeout)
	defer timeout.Stop()
	defer a.publish()
	if !a.await(timeout.C) {
		return fmt.Errorf("delta sink: a flush is still running after %v; %d rows not archived", a.cfg.FlushTimeout, len(a.buf))
	}
	a.take(int(^uint(0) >> 1))
	for len(a.buf) > 0 {
		select {
		case <-timeout.C:
			return fmt.Errorf("delta sink: out of time after %v; %d rows not archived", a.cfg.FlushTimeout, len(a.buf))
		default:
		}
		a.start(nil)
		if !a.await(timeout.C) {
			return fmt.Errorf("delta sink: a flush is still running after %v; %d rows not archived", a.cfg.FlushTimeout, len(a.buf))
		}
		if a.failing {
			return fmt.Errorf("delta sink: %d rows not archived: %s", len(a.buf), a.stats.LastError)
		}
	}
	return nil
}

// collect applies the result of a finished commit, if there is one.
func (a *Archive) collect() {
	if a.commit == nil {
		return
	}
	select {
	case r := <-a.commit.done:
		a.finish(r)
	default:
	}
}

// await waits for the running commit, if any, until timeout fires; false
// if it is still running then.
func (a *Archive) await(timeout <-chan time.Time) bool {
	if a.commit == nil {
		return true
	}
	select {
	case r := <-a.commit.done:
		a.finish(r)
		return true
	case <-timeout:
		return false
	}
}

// take moves queued rows into the buffer until it holds limit rows or the
// ring is empty (which re-arms the ring's wake-up). Rows that cannot be
// stored are reported lost at once.
func (a *Archive) take(limit int) {
	for len(a.buf) < limit {
		from := len(a.buf)
		a.buf = a.ring.Drain(a.buf, limit-len(a.buf))
		if len(a.buf) == from {
			return
		}
		keep, bad := from, 0
		var firstErr error
		for _, u := range a.buf[from:] {
			if err := certtable.Check(u); err != nil {
				bad++
				firstErr = err
				continue
			}
			a.buf[keep] = u
			keep++
		}
		if bad > 0 {
			clear(a.buf[keep:])
			a.buf = a.buf[:keep]
			a.ring.Done(0, bad)
			a.stats.BadRows += uint64(bad)
			slog.Warn("delta sink: skipping certificates it cannot store", "count", bad, "err", firstErr)
		}
	}
}

// dropOldestHalf sheds the oldest half of the buffer while the table is
// failing; the batch being retried is abandoned under its sequence number.
func (a *Archive) dropOldestHalf() {
	k := len(a.buf) / 2
	if a.pending > 0 {
		a.pending = 0
		if a.seq >= 0 {
			a.seq++
		}
	}
	a.removeFront(k)
	a.ring.Done(0, k)
	slog.Warn("delta sink: table failing and buffer full; dropped the oldest rows", "dropped", k,
		"buffered", len(a.buf), "err", a.stats.LastError)
}

// removeFront forgets the first k buffered rows.
func (a *Archive) removeFront(k int) {
	n := copy(a.buf, a.buf[k:])
	clear(a.buf[n:])
	a.buf = a.buf[:n]
}

// publish updates the gauges and the dropped counter.
func (a *Archive) publish() {
	bufferSize.Set(float64(len(a.buf)))
	if d := a.ring.Stats().Dropped; d > a.droppedSeen {
		recordsDropped.Add(int(d - a.droppedSeen))
		a.droppedSeen = d
	}
	a.stats.Dropped = a.droppedSeen
}

// finish applies a commit's result.
func (a *Archive) finish(r result) {
	now := a.cfg.Now()
	a.commit = nil
	a.writer = r.writer
	flushDuration.Update(r.took.Seconds())
	if r.res.Conflicts > 0 {
		a.stats.Conflicts += uint64(r.res.Conflicts)
		commitConflicts.Add(r.res.Conflicts)
	}
	if r.err != nil {
		a.seq = r.seq
		a.stats.WriteErrors++
		writeErrors.Inc()
		a.stats.LastError = r.err.Error()
		a.backoff = min(max(2*a.backoff, a.cfg.RetryMin), a.cfg.RetryMax)
		a.retryAt = now.Add(a.backoff)
		if !a.failing {
			slog.Error("delta sink: write failed; keeping the rows and retrying", "table", a.cfg.TablePath,
				"rows", len(a.buf), "retry_in", a.backoff, "err", r.err)
		}
		a.failing = true
		return
	}
	if a.failing {
		slog.Info("delta sink: writes resumed", "table", a.cfg.TablePath, "version", r.res.Version)
	}
	k := a.pending
	a.removeFront(k)
	a.pending, a.seq = 0, r.seq+1
	a.ring.Done(k, 0)
	a.failing, a.backoff, a.lastFlush = false, 0, now
	written := k - r.known
	a.stats.RowsWritten += uint64(written)
	a.stats.Archived += uint64(r.known)
	a.stats.TableVersion = r.res.Version
	a.stats.LastFlush = now
	recordsWritten.Add(written)
	alreadyArchived.Add(r.known)
	if written > 0 {
		a.stats.Commits++
		flushes.Inc()
	}
	if r.known > 0 {
		slog.Info("delta sink: left out rows the table already holds (replayed after a restart)", "rows", r.known)
	}
	if r.res.CheckpointErr != nil {
		slog.Warn("delta sink: checkpoint failed (the table stays valid)", "table", a.cfg.TablePath, "err", r.res.CheckpointErr)
	}
}
