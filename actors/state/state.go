// Package state implements the state actor: it collects every fetcher's
// cursor and persists them atomically to the state file every few seconds,
// on request, and when it stops.
package state

import (
	"log/slog"
	"maps"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/cursorfile"
	"github.com/certstream/certstream/messages"
)

// Config configures the state actor.
type Config struct {
	Path     string        // the state file; "" keeps cursors in memory only
	Interval time.Duration // how often dirty cursors are saved (default 5 s)
	Initial  map[string]uint64
}

var saveErrors = metrics.NewCounter("certstream_state_save_errors_total")

type store struct {
	cfg     Config
	cursors map[string]uint64
	dirty   bool
	started time.Time
	saves   uint64
	lastErr string
}

type stateActor struct {
	*store
	ticker  actor.SendRepeater
	running bool
}

type saveTick struct{}

// New returns the state actor's producer.
func New(cfg Config) actor.Producer {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	st := &store{cfg: cfg, cursors: maps.Clone(cfg.Initial), started: time.Now()}
	if st.cursors == nil {
		st.cursors = map[string]uint64{}
	}
	return func() actor.Receiver { return &stateActor{store: st} }
}

// Receive records cursors and saves them.
func (s *stateActor) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		s.ticker = c.Engine().SendRepeat(c.PID(), saveTick{}, s.cfg.Interval)
		s.running = true
	case actor.Stopped:
		if s.running {
			s.ticker.Stop()
			s.running = false
		}
		s.save()
	case messages.Cursor:
		if old, ok := s.cursors[msg.Log]; !ok || old != msg.Next {
			s.cursors[msg.Log] = msg.Next
			s.dirty = true
		}
	case saveTick:
		s.save()
	case messages.SaveCursors:
		s.dirty = true
		c.Respond(s.save())
	case messages.Inspect:
		c.Respond(messages.ActorInfo{PID: c.PID().String(), Kind: "state", Status: "running", Started: s.started,
			Details: map[string]any{"path": s.cfg.Path, "cursors": len(s.cursors), "dirty": s.dirty,
				"saves": s.saves, "last_error": s.lastErr}})
	}
}

// save writes the cursors when they changed since the last save.
func (s *store) save() error {
	if !s.dirty || s.cfg.Path == "" {
		return nil
	}
	if err := cursorfile.Save(s.cfg.Path, s.cursors); err != nil {
		saveErrors.Inc()
		s.lastErr = err.Error()
		slog.Error("saving cursors failed; will retry", "path", s.cfg.Path, "err", err)
		return err
	}
	s.dirty = false
	s.saves++
	s.lastErr = ""
	return nil
}
