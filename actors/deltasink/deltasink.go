// Package deltasink implements the Delta Lake archive actor: a child of the
// router that receives every published certificate through its bounded ring
// and hands it to an archive.Archive, which buffers the rows and commits
// them to the Delta table.
//
// The actor only delivers events: a wake-up or a tick has the Archive take
// rows and start a commit when one is due, the end of a commit has it
// collect the result, and Flush or stopping has it commit everything
// synchronously. The Archive lives in the producer, so a restarted sink
// keeps its buffer.
package deltasink

import (
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/archive"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// sink is the receiver. The producer returns the same sink after a
// restart, so its Archive and start time survive a panic.
type sink struct {
	ring    *mailbox.Ring[*wire.Update]
	archive *archive.Archive
	started time.Time
}

// New returns the producer factory the router calls with the sink's ring.
func New(cfg archive.Config) func(ring *mailbox.Ring[*wire.Update]) actor.Producer {
	return func(ring *mailbox.Ring[*wire.Update]) actor.Producer {
		s := &sink{ring: ring, archive: archive.New(cfg, ring)}
		return func() actor.Receiver { return s }
	}
}

// Flush asks the sink to archive everything it has received, now and
// synchronously (bounded by the archive's FlushTimeout), as it does when it
// stops. It answers with an error, nil when every row received before the
// request is committed.
type Flush struct{}

// flushed tells the actor that the running commit has a result (any later
// message would collect it too).
type flushed struct{}

// Receive handles the sink's messages.
func (s *sink) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Started:
		if s.started.IsZero() {
			s.started = s.archive.Config().Now()
		}
		s.pump(c)
	case messages.Wake, flushed:
		s.pump(c)
	case messages.Tick:
		s.ring.Trim()
		s.pump(c)
	case messages.Inspect:
		c.Respond(s.inspect(c))
	case Flush:
		c.Respond(s.archive.Flush())
	case actor.Stopped:
		s.stopped()
	}
}

// pump has the Archive take rows and start a commit when one is due; the
// commit sends the actor flushed when it ends.
func (s *sink) pump(c *actor.Context) {
	engine, pid := c.Engine(), c.PID()
	s.archive.Pump(func() { engine.Send(pid, flushed{}) })
}

// stopped runs the final flush. hollywood also delivers Stopped outside any
// middleware before restarting a panicked actor, where a panic would end
// the process: it is contained here.
func (s *sink) stopped() {
	table := s.archive.Config().TablePath
	defer func() {
		if v := recover(); v != nil {
			slog.Error("delta sink: panic in the final flush", "table", table, "reason", v)
		}
	}()
	if err := s.archive.Flush(); err != nil {
		slog.Error("delta sink: stopping with rows not archived", "table", table, "err", err)
	}
}

// inspect describes the sink for the admin view.
func (s *sink) inspect(c *actor.Context) messages.ActorInfo {
	rs := s.ring.Stats()
	cfg := s.archive.Config()
	retryAt, failing := s.archive.NextRetry()
	status := "running"
	if failing {
		status = "failing"
	}
	info := messages.ActorInfo{
		PID: c.PID().String(), Kind: "deltasink", Status: status, Started: s.started,
		MailboxDepth: rs.Queued, MailboxCapacity: rs.Capacity, Drops: rs.Dropped,
		Details: map[string]any{
			"table_path": cfg.TablePath, "sink_id": cfg.SinkID, "buffered": s.archive.Buffered(),
			"flushing": s.archive.Flushing(), "stats": s.archive.Stats(),
		},
	}
	if p := c.Parent(); p != nil {
		info.Parent = p.String()
	}
	if failing {
		info.Details["next_retry"] = retryAt
	}
	return info
}
