package lifecycle

import (
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/supervise"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/messages"
)

type boom struct{}

// parent spawns one child and answers Inspect for itself and it.
type parent struct{ child *actor.PID }

func (p *parent) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Started:
		b := supervise.NewBudget("child", supervise.Policy{Max: 5, Window: time.Minute})
		p.child = c.SpawnChild(func() actor.Receiver { return &child{} }, "child", append(b.Opts(8), actor.WithID("c1"))...)
	case messages.Inspect:
		c.Respond(messages.ActorInfo{PID: c.PID().String(), Kind: "parent", Status: "running",
			Children: []messages.ActorInfo{{PID: p.child.String(), Kind: "child", Parent: c.PID().String(),
				Status: "busy", MailboxDepth: 3, MailboxCapacity: 8, Details: map[string]any{"x": 1}}}})
	}
}

type child struct{}

func (*child) Receive(c *actor.Context) {
	if _, ok := c.Message().(boom); ok {
		panic("injected")
	}
}

// mute never answers Inspect.
type mute struct{}

func (mute) Receive(*actor.Context) {}

func find(v *View, pid string) *View {
	if v.PID == pid {
		return v
	}
	for _, c := range v.Children {
		if f := find(c, pid); f != nil {
			return f
		}
	}
	return nil
}

func TestTreeFromEventsAndInspect(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	tr, self := Start(e)
	pp := &parent{}
	p := e.Spawn(func() actor.Receiver { return pp }, "parent", actor.WithID("0"))
	m := e.Spawn(func() actor.Receiver { return mute{} }, "mute", actor.WithID("0"))
	await.True(t, 5*time.Second, "the child to start", func() bool { return len(tr.Snapshot().Live) == 4 })
	childPID := pp.child.String()

	e.Send(pp.child, boom{})
	await.True(t, 5*time.Second, "the restart to be recorded", func() bool {
		for _, r := range tr.Snapshot().Live {
			if r.PID == childPID && r.Restarts == 1 {
				return true
			}
		}
		return false
	})

	root := tr.Tree(e, []*actor.PID{p, m}, 300*time.Millisecond)
	if root.Kind != "node" {
		t.Fatalf("root %+v", root)
	}
	pv, cv, mv, sv := find(root, p.String()), find(root, childPID), find(root, m.String()), find(root, self.String())
	if pv == nil || cv == nil || mv == nil || sv == nil {
		t.Fatalf("missing actors in the tree: parent %v child %v mute %v tracker %v", pv != nil, cv != nil, mv != nil, sv != nil)
	}
	if len(root.Children) != 3 || find(pv, childPID) == nil || cv.Parent != p.String() {
		t.Fatalf("wrong shape: %d top-level, child under parent %v, child's parent %q", len(root.Children), find(pv, childPID) != nil, cv.Parent)
	}
	if cv.Restarts != 1 || cv.LastRestart != "injected" || cv.Status != "busy" || cv.MailboxDepth != 3 ||
		cv.MailboxCapacity != 8 || cv.Details["x"] != 1 || cv.Kind != "child" {
		t.Fatalf("child view %+v", cv)
	}
	if mv.Status != "unresponsive" {
		t.Fatalf("an actor that did not answer: status %q", mv.Status)
	}
	if pv.Started.IsZero() || pv.UptimeSecs < 0 {
		t.Fatalf("parent times: %+v", pv)
	}

	<-e.Poison(pp.child).Done()
	await.True(t, 5*time.Second, "the stop to be recorded", func() bool {
		s := tr.Snapshot()
		return len(s.Stopped) == 1 && s.Stopped[0].PID == childPID
	})
	e.Send(pp.child, boom{}) // to a stopped actor: a dead letter
	await.True(t, 5*time.Second, "the dead letter", func() bool {
		s := tr.Snapshot()
		return s.DeadLetters == 1 && s.RecentDead[0].Target == childPID
	})
	root = tr.Tree(e, []*actor.PID{p}, 300*time.Millisecond)
	// The parent still answers for its (stale) child: inspect-only entries
	// are shown, but the event stream no longer has it as started.
	if v := find(root, childPID); v != nil && v.Restarts != 0 {
		t.Fatalf("a stopped actor kept its live record: %+v", v)
	}
}

func TestParentAndKindOfPIDs(t *testing.T) {
	for _, tc := range []struct{ pid, parent, kind string }{
		{"/router/0", "", "router"},
		{"/router/0/conn/ws-1", "/router/0", "conn"},
		{"host:4000/logs/0/fetcher/alpha-abc", "host:4000/logs/0", "fetcher"},
		{"odd", "", "odd"},
	} {
		if got := parentOf(tc.pid); got != tc.parent {
			t.Errorf("parentOf(%q) = %q, want %q", tc.pid, got, tc.parent)
		}
		if got := kindOf(tc.pid); got != tc.kind {
			t.Errorf("kindOf(%q) = %q, want %q", tc.pid, got, tc.kind)
		}
	}
}
