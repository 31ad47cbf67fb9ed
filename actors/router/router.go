// Package router implements the router actor: it numbers each published
// certificate, serializes it once per stream type (and frame format) that
// has subscribers its filter lets it through to, and pushes the shared bytes
// into each subscriber's bounded drop-oldest ring. It keeps the recent
// certificates and their frames in a replay window, from which clients
// resume after a sequence number.
//
// The router owns its subscribers' rings and spawns their consumer actors as
// its children, so a restarted consumer keeps its queue, and a restarted
// router keeps its subscribers (its state lives outside the receiver).
package router

import (
	"compress/flate"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/supervise"
	"github.com/certstream/certstream/internal/filter"
	"github.com/certstream/certstream/internal/mailbox"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/internal/wsframe"
	"github.com/certstream/certstream/messages"
)

// Config configures the router.
type Config struct {
	// MailboxCapacity is each subscriber's ring capacity, in messages.
	MailboxCapacity int
	// TickInterval is how often the router ticks: every subscriber whose
	// TickAfter has come (or that has none) gets a messages.Tick (default 1 s).
	TickInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sink, when set, is spawned as the child "deltasink" with a ring of
	// SinkCapacity updates; it receives every published certificate, before
	// and regardless of any client's drop policy.
	Sink         func(ring *mailbox.Ring[*wire.Update]) actor.Producer
	SinkCapacity int
	// OnPublish, when set, is called with each run of published
	// certificates before they are serialized (the recent-certificates
	// index). It runs on the router's goroutine: it must be quick.
	OnPublish func(updates []*wire.Update)
	// Clients, when set, is kept up to date with the router's subscribers.
	Clients *Clients
	// Window bounds the replay window resuming clients are served from.
	Window WindowLimits
	// Sequence numbers each run of published certificates (wire.Update.Seq)
	// before anything else sees them. Default: Sequencer(Epoch).
	Sequence func(updates []*wire.Update)
	// Epoch is the first sequence number of this run: a client resuming
	// after a smaller one is told its numbers are from before a restart.
	// Default: the router's start time in Unix microseconds, so that no
	// number is used twice across restarts (while fewer than a million
	// certificates a second are published). 0 with Sequence set: unknown.
	Epoch uint64
}

// Router metrics, per stream type where it applies:
//
//	certstream_router_messages_in_total                 certificates received from dedup
//	certstream_router_messages_serialized_total{stream}  certificates serialized
//	certstream_router_messages_out_total{stream}        messages pushed into client rings
//	certstream_router_serialize_seconds{stream}         time to serialize one certificate (histogram)
//	certstream_filter_evaluations_total                 certificates matched against a distinct filter
//	certstream_client_filtered_out_total{stream}        certificates a client's filter kept from it
var (
	messagesIn    = metrics.NewCounter("certstream_router_messages_in_total")
	evaluations   = metrics.NewCounter("certstream_filter_evaluations_total")
	serializedN   [wire.NumStreams]*metrics.Counter
	messagesOut   [wire.NumStreams]*metrics.Counter
	filteredOut   [wire.NumStreams]*metrics.Counter
	serializeTime [wire.NumStreams]*metrics.PrometheusHistogram
)

// serializeBuckets spans 1 µs to about 16 ms.
var serializeBuckets = metrics.ExponentialBuckets(1e-6, 2, 15)

func init() {
	for s := range wire.Stream(wire.NumStreams) {
		label := fmt.Sprintf(`{stream=%q}`, s)
		serializedN[s] = metrics.NewCounter("certstream_router_messages_serialized_total" + label)
		messagesOut[s] = metrics.NewCounter("certstream_router_messages_out_total" + label)
		filteredOut[s] = metrics.NewCounter("certstream_client_filtered_out_total" + label)
		serializeTime[s] = metrics.NewPrometheusHistogramExt("certstream_router_serialize_seconds"+label, serializeBuckets)
	}
}

// subscriber is one consumer child and its ring.
type subscriber struct {
	pid       *actor.PID
	ring      *mailbox.Ring[[]byte]
	stream    wire.Stream
	transport wire.Transport
	remote    string
	since     time.Time
	budget    *supervise.Budget
	tickAfter *atomic.Int64 // nil: tick every time
	group     *group        // nil: no filter
	filtered  uint64        // certificates the filter kept back
	format    format
	notices   bool   // wants gap notices
	noticed   uint64 // ring drops told so far
	next      uint64 // replaying: the next sequence number to push; 0 live
}

// due reports whether the subscriber wants a Tick at now (Unix ms).
func (s *subscriber) due(now int64) bool {
	return s.tickAfter == nil || now >= s.tickAfter.Load()
}

// stats returns the subscriber's delivery accounting.
func (s *subscriber) stats() messages.ConnStats {
	r := s.ring.Stats()
	return messages.ConnStats{
		ID: s.pid.ID, Stream: s.stream.String(), Transport: s.transport.String(), Remote: s.remote,
		Pushed: r.Pushed, Delivered: r.Delivered, Dropped: r.Dropped, Queued: r.Queued, InFlight: r.InFlight,
		Restarts: s.budget.Restarts(), Since: s.since, Filter: s.group.String(), FilteredOut: s.filtered,
	}
}

// group is a filter in use and, for the batch being published, which of
// its certificates it matches: evaluated once however many subscribers
// share the filter.
type group struct {
	filter *filter.Filter
	subs   int
	match  []bool
}

// String is the group's filter in query form; "" for no group.
func (g *group) String() string {
	if g == nil {
		return ""
	}
	return g.filter.String()
}

// subscriptions is everything the router keeps across restarts: its
// subscribers and their rings, the sink, and the accounting.
type subscriptions struct {
	cfg        Config
	subs       map[string]*subscriber // by PID id
	byKind     [wire.NumStreams][wire.NumTransports][]*subscriber
	scratch    []byte
	batch      []*entry // the batch being published
	seqScratch []byte
	deflater   *wsframe.Deflater
	window     window
	lastSeq    uint64 // the newest sequence number published
	stale      uint64 // after a SequenceReset, the old numbering's newest
	replaying  map[*subscriber]struct{}
	formats    [wire.NumStreams][numFormats]int // subscribers by stream and format
	groups     map[*filter.Filter]*group
	stats      Stats
	started    time.Time
	sink       *sinkChild
	closed     []messages.ConnStats // final accounting of the last maxClosed subscribers
}

// maxClosed is how many departed subscribers' final accounting is kept.
const maxClosed = 100

// sinkChild is the archive consumer and its ring.
type sinkChild struct {
	pid    *actor.PID
	ring   *mailbox.Ring[*wire.Update]
	budget *supervise.Budget
}

// Stats are the router's counters, per stream type.
type Stats struct {
	In         uint64                  // certificates received
	Serialized [wire.NumStreams]uint64 // certificates serialized per stream
	Pushed     [wire.NumStreams]uint64 // frames pushed into rings per stream
	// Evaluations counts certificates matched against a filter: one per
	// certificate per distinct filter in use, however many clients share it.
	Evaluations uint64
}

// router is the receiver; everything it keeps is in *subscriptions so it
// survives restarts.
type router struct {
	*subscriptions
	ticker actor.SendRepeater
	ticks  bool
}

// tick is the router's own timer message.
type tick struct{}

// New returns the router's producer.
func New(cfg Config) actor.Producer {
	if cfg.MailboxCapacity <= 0 {
		cfg.MailboxCapacity = 1024
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sequence == nil {
		if cfg.Epoch == 0 {
			cfg.Epoch = uint64(cfg.Now().UnixMicro())
		}
		cfg.Sequence = Sequencer(cfg.Epoch)
	}
	st := &subscriptions{cfg: cfg, subs: make(map[string]*subscriber), groups: map[*filter.Filter]*group{},
		replaying: map[*subscriber]struct{}{}, window: window{lim: cfg.Window.withDefaults()}}
	st.deflater, _ = wsframe.NewDeflater(flate.BestSpeed) // a valid level: no error
	return func() actor.Receiver { return &router{subscriptions: st} }
}

// Receive handles the router's messages.
func (r *router) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		r.ticker = c.Engine().SendRepeat(c.PID(), tick{}, r.cfg.TickInterval)
		r.ticks = true
		if r.started.IsZero() {
			r.started = r.cfg.Now()
		}
		if r.cfg.Sink != nil && r.sink == nil {
			r.spawnSink(c)
		}
	case actor.Stopped:
		if r.ticks {
			r.ticker.Stop()
			r.ticks = false
		}
	case messages.Published:
		if msg.Release != nil {
			defer msg.Release() // even if publishing panics: the fetcher's credit
		}
		r.publish(c, msg.Updates)
	case messages.SequenceReset:
		r.reset(c, msg)
	case messages.Subscribe:
		c.Respond(r.subscribe(c, msg))
	case messages.Unsubscribe:
		r.unsubscribe(c, msg.PID)
	case messages.Inspect:
		c.Respond(r.inspect(c))
	case tick:
		now := r.cfg.Now().UnixMilli()
		r.window.evict(now)
		r.replayAll(c)
		var t any = messages.Tick{Now: now} // boxed once for every send
		for i := range r.byKind {
			for _, list := range r.byKind[i] {
				for _, s := range list {
					if s.due(now) {
						c.Send(s.pid, t)
					}
				}
			}
		}
		if r.sink != nil {
			c.Send(r.sink.pid, t)
		}
	}
}

// subscribe creates the consumer's ring and spawns it as a child.
func (r *router) subscribe(c *actor.Context, msg messages.Subscribe) *actor.PID {
	ring := mailbox.New[[]byte](r.cfg.MailboxCapacity)
	budget := supervise.NewBudget("conn/"+msg.Name, supervise.DefaultPolicy)
	budget.OnGiveUp = func(any) { ring.Close() } // tells the consumer's Stopped it is for good
	opts := append(budget.Opts(8), actor.WithID(msg.Name))
	pid := c.SpawnChild(msg.Producer(ring), "conn", opts...)
	s := &subscriber{pid: pid, ring: ring, stream: msg.Stream, transport: msg.Transport,
		remote: msg.Remote, since: r.cfg.Now(), budget: budget, tickAfter: msg.TickAfter,
		format: formatOf(msg.Transport, msg.Seq, msg.Deflate), notices: msg.Notices}
	r.formats[s.stream][s.format]++
	if f := msg.Filter; f != nil {
		g := r.groups[f]
		if g == nil {
			g = &group{filter: f}
			r.groups[f] = g
		}
		g.subs++
		s.group = g
	}
	r.subs[pid.ID] = s
	list := &r.byKind[s.stream][s.transport]
	*list = append(*list, s)
	r.cfg.Clients.add(ring, s.stream, s.transport)
	if msg.Resume {
		r.resume(c, s, msg.Since)
	}
	return pid
}

// spawnSink starts the archive consumer as a child.
func (r *router) spawnSink(c *actor.Context) {
	ring := mailbox.New[*wire.Update](max(r.cfg.SinkCapacity, 1))
	budget := supervise.NewBudget("deltasink", supervise.DefaultPolicy)
	pid := c.SpawnChild(r.cfg.Sink(ring), "deltasink", append(budget.Opts(8), actor.WithID("0"))...)
	r.sink = &sinkChild{pid: pid, ring: ring, budget: budget}
}

// unsubscribe forgets a consumer, discards its queue and stops it.
func (r *router) unsubscribe(c *actor.Context, pid *actor.PID) {
	if pid == nil {
		return
	}
	s, ok := r.subs[pid.ID]
	if !ok {
		return
	}
	delete(r.subs, pid.ID)
	delete(r.replaying, s)
	r.formats[s.stream][s.format]--
	if g := s.group; g != nil {
		if g.subs--; g.subs == 0 {
			delete(r.groups, g.filter)
		}
	}
	list := &r.byKind[s.stream][s.transport]
	for i, x := range *list {
		if x == s {
			last := len(*list) - 1
			(*list)[i] = (*list)[last]
			(*list)[last] = nil
			*list = (*list)[:last]
			break
		}
	}
	s.ring.Close()
	r.cfg.Clients.remove(s.ring, s.ring.Stats())
	c.Engine().Poison(s.pid)
	if len(r.closed) == maxClosed {
		r.closed = append(r.closed[:0], r.closed[1:]...)
	}
	r.closed = append(r.closed, s.stats())
}

// publish numbers the updates, adds them to the replay window, and pushes
// each to the live subscribers of every stream its filter lets it through
// to, serializing it once per stream and format that has such subscribers.
// Then replaying subscribers get what their rings have room for.
func (r *router) publish(c *actor.Context, updates []*wire.Update) {
	r.cfg.Sequence(updates)
	if n := len(updates); n > 0 {
		r.lastSeq = max(r.lastSeq, updates[n-1].Seq)
	}
	if r.cfg.OnPublish != nil {
		r.cfg.OnPublish(updates)
	}
	messagesIn.Add(len(updates))
	r.cfg.Clients.received(len(updates))
	r.stats.In += uint64(len(updates))
	if r.sink != nil {
		wake := false
		for _, u := range updates {
			wake = r.sink.ring.Push(u) || wake
		}
		if wake {
			c.Send(r.sink.pid, messages.Wake{})
		}
	}
	now := r.cfg.Now().UnixMilli()
	r.batch = r.batch[:0]
	for _, u := range updates {
		r.batch = append(r.batch, r.window.add(u, now))
	}
	r.match(updates)
	for s := wire.Stream(0); s < wire.NumStreams; s++ {
		var pushed, filtered int
		for _, list := range r.byKind[s] {
			for _, sub := range list {
				if sub.next == 0 {
					p, f := r.push(c, sub)
					pushed += p
					filtered += f
				}
			}
		}
		messagesOut[s].Add(pushed)
		filteredOut[s].Add(filtered)
		r.stats.Pushed[s] += uint64(pushed)
	}
	clear(r.batch) // do not pin the entries once the window lets them go
	r.window.evict(now)
	r.replayAll(c)
}

// match evaluates each filter in use once for each of updates.
func (r *router) match(updates []*wire.Update) {
	for f, g := range r.groups {
		g.match = g.match[:0]
		for _, u := range updates {
			g.match = append(g.match, f.Match(u))
		}
	}
	n := len(r.groups) * len(updates)
	evaluations.Add(n)
	r.stats.Evaluations += uint64(n)
}

// push hands the batch's frames to a live subscriber's ring (those its
// filter matches), after a notice of what its ring dropped since the last
// one when it asked for notices, waking it at most once. It returns how
// many it pushed and how many the filter kept back.
func (r *router) push(c *actor.Context, s *subscriber) (pushed, filtered int) {
	wake := r.noticeDrops(s)
	st, f, g := s.stream, s.format, s.group
	for i, e := range r.batch {
		if g != nil && !g.match[i] {
			filtered++
			continue
		}
		b := e.frames[st][f]
		if b == nil {
			b = r.frame(e, st, f)
		}
		wake = s.ring.Push(b) || wake
		pushed++
	}
	s.filtered += uint64(filtered)
	if wake {
		c.Send(s.pid, messages.Wake{})
	}
	return pushed, filtered
}

// frame returns e framed for stream st in format f, building it (and the
// other formats live subscribers of st use) the first time it is asked for;
// a cold entry's frame is built every time and not kept.
func (r *router) frame(e *entry, st wire.Stream, f format) []byte {
	if b := e.frames[st][f]; b != nil {
		return b
	}
	start := time.Now()
	json := r.scratch[:0]
	switch st {
	case wire.StreamFull:
		json = wire.AppendFull(json, e.u)
	case wire.StreamLite:
		json = wire.AppendLite(json, e.u)
	case wire.StreamDomains:
		json = wire.AppendDomainsOnly(json, e.u)
	}
	r.scratch = json
	serializeTime[st].UpdateDuration(start)
	serializedN[st].Inc()
	r.stats.Serialized[st]++
	if e.cold {
		return r.build(json, e.u.Seq, f) // for this replay only
	}
	for g := range numFormats {
		if g != f && (r.formats[st][g] == 0 || e.frames[st][g] != nil) {
			continue
		}
		b := r.build(json, e.u.Seq, g)
		e.frames[st][g] = b
		e.bytes += len(b)
		r.window.grew(len(b))
	}
	return e.frames[st][f]
}

// build frames the message json (whose sequence number is seq) in format f.
func (r *router) build(json []byte, seq uint64, f format) []byte {
	if f == fmtSSE {
		return wire.AppendEvent(make([]byte, 0, len(json)+32), seq, json)
	}
	msg := json
	if f == fmtWSSeq || f == fmtWSSeqDeflate {
		r.seqScratch = wire.AppendWithSeq(r.seqScratch[:0], json, seq)
		msg = r.seqScratch
	}
	if f == fmtWSDeflate || f == fmtWSSeqDeflate {
		return r.deflater.AppendText(nil, msg)
	}
	return wire.AppendFrame(make([]byte, 0, len(msg)+wsframe.MaxHeaderLen), wire.WebSocket, msg)
}

// perStream labels per-stream counts with the streams' names.
func perStream(n [wire.NumStreams]uint64) map[string]uint64 {
	m := make(map[string]uint64, wire.NumStreams)
	for st, v := range n {
		m[wire.Stream(st).String()] = v
	}
	return m
}

// inspect describes the router and each subscriber.
func (r *router) inspect(c *actor.Context) messages.ActorInfo {
	info := messages.ActorInfo{
		PID: c.PID().String(), Kind: "router", Status: "running", Started: r.started,
		Details: map[string]any{"certificates_in": r.stats.In, "serialized": perStream(r.stats.Serialized), "pushed": perStream(r.stats.Pushed),
			"filters": len(r.groups), "filter_evaluations": r.stats.Evaluations,
			"window": map[string]any{"messages": r.window.len(), "bytes": r.window.bytes,
				"oldest_seq": r.window.oldest(), "newest_seq": r.window.newest()},
			"closed": append([]messages.ConnStats(nil), r.closed...)},
	}
	for _, s := range r.subs {
		st := s.stats()
		status := "running"
		if s.budget.GaveUp() {
			status = "failed"
		}
		info.Children = append(info.Children, messages.ActorInfo{
			PID: s.pid.String(), Kind: "conn", Parent: info.PID, Status: status, Started: s.since,
			Restarts: st.Restarts, MailboxDepth: st.Queued, MailboxCapacity: s.ring.Stats().Capacity,
			Drops: st.Dropped, Details: map[string]any{"conn": st},
		})
	}
	if k := r.sink; k != nil {
		st := k.ring.Stats()
		info.Children = append(info.Children, messages.ActorInfo{
			PID: k.pid.String(), Kind: "deltasink", Parent: info.PID, Status: "running", Started: r.started,
			Restarts: k.budget.Restarts(), MailboxDepth: st.Queued, MailboxCapacity: st.Capacity, Drops: st.Dropped,
			Details: map[string]any{"pushed": st.Pushed, "delivered": st.Delivered, "in_flight": st.InFlight},
		})
	}
	sort.Slice(info.Children, func(i, j int) bool { return info.Children[i].PID < info.Children[j].PID })
	return info
}
