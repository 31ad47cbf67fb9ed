// Package lifecycle follows the actor engine's event stream — actors
// started, restarted and stopped, and dead letters — in a small subscriber
// actor, and keeps a record of every live actor that any goroutine can read.
// hollywood has no API that lists live actors; together with the answers to
// messages.Inspect (see Tree) this record is the admin view of the tree.
package lifecycle

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// Record is what the event stream told about one actor.
type Record struct {
	PID         string    `json:"pid"`
	Started     time.Time `json:"started"`      // first start
	LastStart   time.Time `json:"last_start"`   // latest (re)start
	Restarts    int       `json:"restarts"`     // restarts seen
	LastRestart string    `json:"last_restart"` // the panic that caused the latest restart
	Stopped     time.Time `json:"stopped,omitzero"`
}

// DeadLetter is a message sent to an actor that no longer exists.
type DeadLetter struct {
	Target  string    `json:"target"`
	Message string    `json:"message"` // its Go type
	At      time.Time `json:"at"`
}

// Bounds of what is kept about the past.
const (
	keepStopped     = 100
	keepDeadLetters = 20
)

// Tracker is the record, shared by the subscriber actor (writer) and readers.
type Tracker struct {
	mu          sync.Mutex
	live        map[string]*Record // by PID string
	gone        []Record           // stopped actors, most recent last
	deadLetters uint64
	recentDead  []DeadLetter
	now         func() time.Time
	since       time.Time // when the tracker started: the node's age
}

// Start spawns the subscriber actor on e, named "lifecycle". Spawn it before
// the actors it should see: it subscribes while it starts, and events from
// before that are not replayed.
func Start(e *actor.Engine) (*Tracker, *actor.PID) {
	t := &Tracker{live: map[string]*Record{}, now: time.Now, since: time.Now()}
	pid := e.Spawn(func() actor.Receiver { return &subscriber{t} }, "lifecycle", actor.WithID("0"), actor.WithInboxSize(1024))
	return t, pid
}

type subscriber struct{ t *Tracker }

// Receive subscribes at start and records each event.
func (s *subscriber) Receive(c *actor.Context) {
	switch ev := c.Message().(type) {
	case actor.Started:
		c.Engine().Subscribe(c.PID())
		s.t.started(c.PID(), time.Now())
	case actor.Stopped:
		c.Engine().Unsubscribe(c.PID())
	case actor.ActorStartedEvent:
		s.t.started(ev.PID, ev.Timestamp)
	case actor.ActorRestartedEvent:
		s.t.restarted(ev.PID, ev.Reason, ev.Timestamp)
	case actor.ActorStoppedEvent:
		s.t.stopped(ev.PID, ev.Timestamp)
	case actor.DeadLetterEvent:
		s.t.deadLetter(ev.Target, ev.Message)
	}
}

func (t *Tracker) started(pid *actor.PID, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.record(pid, at).LastStart = at
}

func (t *Tracker) restarted(pid *actor.PID, reason any, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.record(pid, at)
	r.Restarts++
	r.LastRestart = fmt.Sprint(reason)
}

// record returns pid's live record, creating it as started at at if it is
// not known yet; t.mu must be held.
func (t *Tracker) record(pid *actor.PID, at time.Time) *Record {
	key := pid.String()
	r, ok := t.live[key]
	if !ok {
		r = &Record{PID: key, Started: at, LastStart: at}
		t.live[key] = r
	}
	return r
}

func (t *Tracker) stopped(pid *actor.PID, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := pid.String()
	r, ok := t.live[key]
	if !ok {
		return // stopped twice (hollywood may say so), or before we subscribed
	}
	delete(t.live, key)
	r.Stopped = at
	if len(t.gone) == keepStopped {
		t.gone = append(t.gone[:0], t.gone[1:]...)
	}
	t.gone = append(t.gone, *r)
}

func (t *Tracker) deadLetter(target *actor.PID, msg any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.deadLetters++
	d := DeadLetter{Message: fmt.Sprintf("%T", msg), At: t.now()}
	if target != nil {
		d.Target = target.String()
	}
	if len(t.recentDead) == keepDeadLetters {
		t.recentDead = append(t.recentDead[:0], t.recentDead[1:]...)
	}
	t.recentDead = append(t.recentDead, d)
}

// Snapshot is a consistent copy of the record.
type Snapshot struct {
	Live        []Record     // sorted by PID
	Stopped     []Record     // the last ones to stop, oldest first
	DeadLetters uint64       // in total
	RecentDead  []DeadLetter // the last ones, oldest first
}

// Snapshot copies the record.
func (t *Tracker) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Snapshot{Stopped: append([]Record{}, t.gone...), DeadLetters: t.deadLetters,
		RecentDead: append([]DeadLetter{}, t.recentDead...)}
	for _, r := range t.live {
		s.Live = append(s.Live, *r)
	}
	sort.Slice(s.Live, func(i, j int) bool { return s.Live[i].PID < s.Live[j].PID })
	return s
}
