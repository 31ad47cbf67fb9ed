package lifecycle

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/messages"
)

// View is one actor in the admin tree: what the event stream recorded,
// merged with what the actor (or its parent) answered to messages.Inspect.
type View struct {
	PID             string         `json:"pid"`
	Kind            string         `json:"kind"`
	Parent          string         `json:"parent,omitempty"`
	Status          string         `json:"status"`
	Started         time.Time      `json:"started,omitzero"`
	UptimeSecs      float64        `json:"uptime_secs"` // since the latest (re)start
	Restarts        int            `json:"restarts"`
	LastRestart     string         `json:"last_restart,omitempty"`
	MailboxDepth    int            `json:"mailbox_depth"`
	MailboxCapacity int            `json:"mailbox_capacity"`
	Drops           uint64         `json:"drops"`
	Details         map[string]any `json:"details,omitempty"`
	Children        []*View        `json:"children,omitempty"`
}

// Tree asks each of roots to Inspect itself (in parallel, each within
// timeout) and returns the whole live tree under a synthetic "node" root.
// Every actor the event stream knows to be alive appears once, under its
// parent, with the inspect answer's details where one covered it; a root
// that did not answer in time has status "unresponsive". The root's details
// hold the recently stopped actors and the dead letters.
func (t *Tracker) Tree(e *actor.Engine, roots []*actor.PID, timeout time.Duration) *View {
	answers := inspectAll(e, roots, timeout)
	snap := t.Snapshot()
	now := t.now()

	views := map[string]*View{}
	for _, r := range snap.Live {
		v := &View{PID: r.PID, Kind: kindOf(r.PID), Parent: parentOf(r.PID), Status: "running",
			Started: r.Started, UptimeSecs: now.Sub(r.LastStart).Seconds(), Restarts: r.Restarts, LastRestart: r.LastRestart}
		views[r.PID] = v
	}
	for i, a := range answers {
		if a == nil {
			key := roots[i].String()
			if v, ok := views[key]; ok {
				v.Status = "unresponsive"
			}
			continue
		}
		merge(views, a, "")
	}

	root := &View{PID: "node", Kind: "node", Status: "running", Started: t.since, UptimeSecs: now.Sub(t.since).Seconds(),
		Details: map[string]any{"stopped_recently": snap.Stopped, "dead_letters": snap.DeadLetters,
			"recent_dead_letters": snap.RecentDead}}
	for _, v := range views {
		parent, ok := views[v.Parent]
		if !ok {
			parent = root
			v.Parent = root.PID
		}
		parent.Children = append(parent.Children, v)
	}
	sortTree(root)
	return root
}

// merge adds what info (and its children, recursively) says to views.
func merge(views map[string]*View, info *messages.ActorInfo, parent string) {
	v, ok := views[info.PID]
	if !ok { // answered for, but its start was not seen: still show it
		v = &View{PID: info.PID, Kind: info.Kind, Parent: cmpOr(info.Parent, parent, parentOf(info.PID)), Started: info.Started}
		views[info.PID] = v
	}
	if info.Kind != "" {
		v.Kind = info.Kind
	}
	if info.Status != "" {
		v.Status = info.Status
	}
	if v.Started.IsZero() {
		v.Started = info.Started
	}
	v.Restarts = max(v.Restarts, info.Restarts)
	v.MailboxDepth, v.MailboxCapacity, v.Drops, v.Details = info.MailboxDepth, info.MailboxCapacity, info.Drops, info.Details
	for i := range info.Children {
		merge(views, &info.Children[i], info.PID)
	}
}

// inspectAll asks every root at once and waits for all answers (nil when
// one did not answer within timeout).
func inspectAll(e *actor.Engine, roots []*actor.PID, timeout time.Duration) []*messages.ActorInfo {
	out := make([]*messages.ActorInfo, len(roots))
	var wg sync.WaitGroup
	for i, pid := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			res, err := e.Request(pid, messages.Inspect{}, timeout).Result()
			if info, ok := res.(messages.ActorInfo); ok && err == nil {
				if info.Details == nil {
					info.Details = map[string]any{}
				}
				// hollywood inboxes do not report their depth; how long the
				// answer took says how much was queued before it.
				info.Details["inspect_ms"] = time.Since(start).Seconds() * 1000
				out[i] = &info
			}
		}()
	}
	wg.Wait()
	return out
}

func sortTree(v *View) {
	sort.Slice(v.Children, func(i, j int) bool { return v.Children[i].PID < v.Children[j].PID })
	for _, c := range v.Children {
		sortTree(c)
	}
}

// hollywood PIDs read "<address>/<kind>/<id>" for a top-level actor and
// "<parent's PID>/<kind>/<id>" for a child.

// parentOf returns the PID of pid's parent ("" for a top-level actor).
func parentOf(pid string) string {
	parts := strings.Split(pid, "/")
	if len(parts) <= 3 { // address, kind, id
		return ""
	}
	return strings.Join(parts[:len(parts)-2], "/")
}

// kindOf returns the kind segment of pid.
func kindOf(pid string) string {
	parts := strings.Split(pid, "/")
	if len(parts) < 2 {
		return pid
	}
	return parts[len(parts)-2]
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
