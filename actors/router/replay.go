package router

import (
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
)

// resume starts subscriber s right after sequence number since: from the
// replay window when it holds what comes next, otherwise from the oldest
// it holds (or live), with a gap notice of what s cannot get when it asked
// for notices. Numbers from before this run (below cfg.Epoch), or from
// before a sequence reset (above the new numbers, up to the old ones'
// newest), cannot be counted: their notice says "restart".
func (r *router) resume(c *actor.Context, s *subscriber, since uint64) {
	next := since + 1
	restart := r.cfg.Epoch != 0 && since < r.cfg.Epoch || since > r.lastSeq && since <= r.stale
	if !restart && since >= r.lastSeq {
		return // nothing published after it: live
	}
	oldest := r.window.oldest()
	if r.window.len() == 0 {
		oldest = max(r.lastSeq+1, r.cfg.Epoch)
	}
	switch {
	case restart:
		r.notice(c, s, wire.Gap{Reason: "restart", After: since, Next: oldest})
	case next < oldest:
		r.notice(c, s, wire.Gap{Reason: "resume", Missed: oldest - next, After: since, Next: oldest})
	default:
		oldest = next
	}
	if oldest <= r.lastSeq {
		s.next = oldest
		r.replaying[s] = struct{}{}
		r.replay(c, s)
	}
}

// reset starts the numbering again at msg.Next: the cluster's stream was
// created anew. The window lets the old numbers' certificates go; every
// subscriber that asked for notices is told "restart" (after the last
// number it got), and a replaying one goes live.
func (r *router) reset(c *actor.Context, msg messages.SequenceReset) {
	next := max(msg.Next, 1)
	last := max(r.lastSeq, msg.Last)
	for _, s := range r.subs {
		after := last
		if s.next != 0 {
			after, s.next = s.next-1, 0
		}
		r.notice(c, s, wire.Gap{Reason: "restart", After: after, Next: next})
	}
	clear(r.replaying)
	r.window.reset()
	r.lastSeq, r.stale = next-1, max(r.stale, last) // every older numbering's too
}

// replayAll moves every replaying subscriber on.
func (r *router) replayAll(c *actor.Context) {
	for s := range r.replaying {
		r.replay(c, s)
	}
}

// replay pushes to s the window's entries from s.next on, as many as its
// ring has room for; once it reaches the newest, s is live. When the window
// has let go of entries s had not got yet, s is told how many (with
// notices) and goes on from the oldest held.
func (r *router) replay(c *actor.Context, s *subscriber) {
	oldest := r.window.oldest()
	if r.window.len() == 0 {
		oldest = r.lastSeq + 1
	}
	if s.next < oldest {
		r.notice(c, s, wire.Gap{Reason: "resume", Missed: oldest - s.next, After: s.next - 1, Next: oldest})
		s.next = oldest
	}
	room := r.cfg.MailboxCapacity - s.ring.Len()
	wake, pushed, filtered := false, 0, 0
	i := r.window.from(s.next)
	for ; i < r.window.len() && room > 0; i++ {
		e := r.window.at(i)
		if s.group != nil && !s.group.filter.Match(e.u) {
			filtered++
			continue
		}
		wake = s.ring.Push(r.frame(e, s.stream, s.format)) || wake
		pushed++
		room--
	}
	if i < r.window.len() {
		s.next = r.window.at(i).u.Seq
	} else {
		s.next = 0
		delete(r.replaying, s)
	}
	s.filtered += uint64(filtered)
	messagesOut[s.stream].Add(pushed)
	filteredOut[s.stream].Add(filtered)
	r.stats.Pushed[s.stream] += uint64(pushed)
	if wake {
		c.Send(s.pid, messages.Wake{})
	}
}

// notice pushes a gap notice to s, when it asked for notices.
func (r *router) notice(c *actor.Context, s *subscriber, g wire.Gap) {
	if s.notices && s.ring.Push(gapFrame(s.transport, g)) {
		c.Send(s.pid, messages.Wake{})
	}
}

// noticeDrops pushes to s, when it asked for notices, a notice of what its
// ring dropped since the last one, and reports whether s needs a wake.
func (r *router) noticeDrops(s *subscriber) bool {
	if !s.notices {
		return false
	}
	dropped := s.ring.Stats().Dropped
	if dropped <= s.noticed {
		return false
	}
	g := wire.Gap{Reason: "dropped", Missed: dropped - s.noticed, DroppedTotal: dropped}
	s.noticed = dropped
	return s.ring.Push(gapFrame(s.transport, g))
}

// gapFrame is the notice g framed for transport t (an SSE notice has no
// id: a reconnecting client resumes after the last certificate it got).
func gapFrame(t wire.Transport, g wire.Gap) []byte {
	return wire.AppendFrame(nil, t, wire.AppendGap(nil, g))
}
