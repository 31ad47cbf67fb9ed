// Package node assembles the actor tree — logs supervisor and fetchers,
// dedup, router with its connection children, state — and the HTTP server
// in front of it, and shuts it all down in order.
package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/clusterpub"
	"github.com/certstream/certstream/actors/conn"
	"github.com/certstream/certstream/actors/dedup"
	"github.com/certstream/certstream/actors/logs"
	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/actors/state"
	"github.com/certstream/certstream/actors/supervise"
	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/cursorfile"
	"github.com/certstream/certstream/internal/filter"
	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/loglist"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/messages"
	"github.com/certstream/certstream/web/server"
)

// Options are what a node needs besides its configuration.
type Options struct {
	// Listener, when set, is served instead of listening on the configured address.
	Listener net.Listener
	// LogList overrides the embedded log list.
	LogList *loglist.List
	// ConfigPath is the file cfg was loaded from ("" for none); with
	// hot_reload.enabled it is watched, and reloaded with Environ's
	// CERTSTREAM_* overrides (as from os.Environ).
	ConfigPath string
	Environ    []string
}

// Node is a running certstream node.
type Node struct {
	Engine   *actor.Engine
	Logs     *actor.PID
	Dedup    *actor.PID
	Router   *actor.PID
	State    *actor.PID
	Fetchers *logs.Registry
	Server   *server.Server
	listener net.Listener
	served   chan error
	web      // metrics, API, admin, access control, hot reload (web.go)
	cluster  // the NATS link of an ingest or edge node (cluster.go)
}

// Start builds the actor tree and starts serving.
func Start(cfg *config.Config, opts Options) (*Node, error) {
	custom, err := customLogs(cfg.CTLog.CustomLogs)
	if err != nil {
		return nil, err
	}
	cursors, err := cursorfile.Load(cfg.CTLog.StateFile)
	if err != nil {
		return nil, fmt.Errorf("reading saved cursors: %w (move the file aside to start near each log's head)", err)
	}
	// Bind first: with the port taken, no fetcher has started.
	ln := opts.Listener
	if ln == nil {
		if ln, err = Listen(cfg.Server.Addr()); err != nil {
			return nil, fmt.Errorf("listening on %s: %w", cfg.Server.Addr(), err)
		}
	}
	engine, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		ln.Close()
		return nil, err
	}
	n := &Node{Engine: engine, served: make(chan error, 1), listener: ln}
	n.startTracking(engine) // before any other actor: it sees them start

	counters := clusterpub.NewCounters(cfg.Cluster.PublishMaxPending)
	if err := n.dialCluster(cfg, counters); err != nil {
		ln.Close()
		return nil, clusterErr(err)
	}
	if cfg.Cluster.Role == config.RoleIngest {
		n.spawnPublisher(cfg, counters)
	}
	n.State = spawn(engine, "state", state.New(state.Config{Path: cfg.CTLog.StateFile, Initial: cursors}), 1024)
	sink, sinkCapacity := deltaSink(cfg.DeltaSink)
	rcfg := router.Config{MailboxCapacity: cfg.Clients.MailboxCapacity,
		TickInterval: clientTick, OnPublish: n.Recent.Add, Clients: n.Clients, Sink: sink, SinkCapacity: sinkCapacity,
		Window: replayWindow(cfg.Clients)}
	if isClustered(cfg) {
		// A clustered node's clients are served from the stream, and its
		// certificates carry the stream's sequence, the same on every
		// node: clients resume by it on any of them.
		rcfg.Sequence = func([]*wire.Update) {}
	}
	n.Router = spawn(engine, "router", router.New(rcfg), 4096)
	if isClustered(cfg) {
		if err := n.spawnConsumer(cfg); err != nil {
			n.stopActors(context.Background())
			ln.Close()
			return nil, clusterErr(err)
		}
	}
	if isEdge(cfg) {
		n.Fetchers = &logs.Registry{} // an edge follows no log: the stream is its only source
	} else {
		n.awaitPositioned() // an ingest's own clients get all it publishes
		n.spawnFollowing(cfg, opts, custom, cursors)
	}

	n.Server = server.New(serverConfig(cfg), engine, n.Router)
	n.listener = n.mountWeb(cfg, opts, n.listener)
	go func() { n.served <- n.Server.Serve(n.listener) }()
	slog.Info("certstream node started", "addr", n.listener.Addr().String(),
		"follow_log_list", cfg.CTLog.FollowLogList, "custom_logs", len(custom))
	return n, nil
}

// spawnFollowing starts dedup and the logs supervisor with its fetchers.
func (n *Node) spawnFollowing(cfg *config.Config, opts Options, custom []follow.Log, cursors map[string]uint64) {
	// Dedup sends what is new to the router, or on an ingest node to the
	// publisher: the node's clients then get it from the stream.
	next := n.Router
	if n.Publisher != nil {
		next = n.Publisher
	}
	n.Dedup = spawn(n.Engine, "dedup", dedup.New(dedup.Config{
		Capacity: cfg.Dedup.Capacity, TTL: cfg.Dedup.TTL(), Router: next}), 1024)
	list := opts.LogList
	if list == nil {
		list = loglist.Embedded()
	}
	var logsProducer actor.Producer
	n.Fetchers, logsProducer = logs.New(logs.Config{
		List:           list,
		FollowList:     cfg.CTLog.FollowLogList,
		ListURL:        cfg.CTLog.LogListURL,
		ListKey:        loglist.GooglePublicKey(),
		Custom:         custom,
		Follow:         followConfig(cfg.CTLog),
		UserAgent:      cfg.CTLog.UserAgent,
		OperatorRPS:    cfg.CTLog.OperatorRequestsPerSec,
		Cursors:        cursors,
		Dedup:          n.Dedup,
		State:          n.State,
		RequestTimeout: cfg.CTLog.RequestTimeout(),
	})
	n.Logs = spawn(n.Engine, "logs", logsProducer, 256)
}

// Addr is the address the node serves on.
func (n *Node) Addr() net.Addr { return n.listener.Addr() }

// Shutdown stops the node in order: stop fetching, drain dedup and the
// router, persist cursors, then close every client with a close frame. It
// returns when done or when ctx ends.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopReload()
	n.stopActors(ctx)
	err := n.Server.Shutdown(ctx)
	// Stopping the router stops its children; the Delta sink flushes then.
	select {
	case <-n.Engine.Poison(n.Router).Done():
	case <-ctx.Done():
	}
	return err
}

// stopActors stops the fetchers and drains the pipeline into the router,
// then saves the cursors.
func (n *Node) stopActors(ctx context.Context) {
	wait := func(c context.Context) {
		select {
		case <-c.Done():
		case <-ctx.Done():
		}
	}
	if n.Logs != nil {
		wait(n.Engine.Poison(n.Logs)) // poisons each fetcher first
	}
	if n.Dedup != nil {
		wait(n.Engine.Poison(n.Dedup)) // graceful: forwards what it holds
	}
	if n.Publisher != nil {
		n.drainPublisher(ctx)
		wait(n.Engine.Poison(n.Publisher))
		n.catchUp(ctx) // the node's own clients get what it published
	}
	if n.Consumer != nil {
		wait(n.Engine.Poison(n.Consumer)) // stops reading; what it sent is in the router's inbox
	}
	// The router handles its inbox in order: once it answers, everything
	// dedup forwarded is in the subscribers' rings, and the clients' close
	// (1001) is queued behind it.
	if _, err := n.Engine.Request(n.Router, messages.Inspect{}, 5*time.Second).Result(); err != nil {
		slog.Warn("router did not answer at shutdown", "err", err)
	}
	res, err := n.Engine.Request(n.State, messages.SaveCursors{}, 5*time.Second).Result()
	if err == nil {
		if e, ok := res.(error); ok && e != nil {
			err = e
		}
	}
	if err != nil {
		slog.Error("saving cursors at shutdown failed", "err", err)
	}
	wait(n.Engine.Poison(n.State))
	n.closeCluster()
}

// spawn starts a supervised top-level actor.
func spawn(e *actor.Engine, name string, p actor.Producer, inbox int) *actor.PID {
	b := supervise.NewBudget(name, supervise.DefaultPolicy)
	return e.Spawn(p, name, append(b.Opts(inbox), actor.WithID("0"))...)
}

func followConfig(c config.CTLogConfig) follow.Config {
	return follow.Config{
		BatchSize:    c.BatchSize,
		Concurrency:  c.FetchConcurrency,
		PollInterval: c.PollInterval(),
		InStep:       c.PollInStep,
		RetryMin:     c.RetryInitial(),
		RetryMax:     c.RetryMax(),
		StartOverlap: uint64(c.StartOverlap),
	}
}

// customLogs converts the configured custom logs.
func customLogs(in []config.CustomLog) ([]follow.Log, error) {
	var out []follow.Log
	for _, c := range in {
		l := follow.Log{Name: c.Name, URL: c.URL, Kind: c.Kind, Operator: c.Operator}
		if l.Operator == "" {
			l.Operator = c.URL
		}
		var err error
		if l.PublicKey, err = c.PublicKey(); err != nil {
			return nil, fmt.Errorf("custom log %q: key: %w", c.Name, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// clientTick is how often the router looks for connections that need a
// tick (a heartbeat, a ping or a pong deadline is due) and ticks them. Only
// those get a message, so a short period costs little and keeps the
// heartbeat close to the configured interval (it is written 1.5 ticks
// early).
const clientTick = 500 * time.Millisecond

// replayWindow maps the [clients] replay window onto the router's.
func replayWindow(c config.ClientsConfig) router.WindowLimits {
	w := router.WindowLimits{Messages: c.ReplayWindowMessages, Bytes: int64(c.ReplayWindowMiB) << 20,
		MaxAge: int64(c.ReplayWindowSecs) * 1000}
	if w.Messages == 0 {
		w.Messages = -1 // no window
	}
	return w
}

// coalesceWindow is the connections' coalescing window: coalesce_ms, or
// negative (off) when it is 0.
func coalesceWindow(c config.ClientsConfig) time.Duration {
	if w := c.CoalesceWindow(); w > 0 {
		return w
	}
	return -1
}

// serverConfig maps the configuration onto the HTTP server's.
func serverConfig(cfg *config.Config) server.Config {
	var streams [wire.NumStreams]bool
	streams[wire.StreamLite] = cfg.Streams.Lite.Enabled
	streams[wire.StreamFull] = cfg.Streams.Full.Enabled
	streams[wire.StreamDomains] = cfg.Streams.DomainsOnly.Enabled
	return server.Config{
		Streams: streams,
		Client: conn.Policy{
			TickPeriod:        clientTick,
			HeartbeatInterval: cfg.Clients.Heartbeat(),
			PingInterval:      cfg.Clients.PingInterval(),
			PongTimeout:       cfg.Clients.PongTimeout(),
			WriteTimeout:      cfg.Clients.WriteTimeout(),
			MaxDropRatio:      cfg.Clients.MaxDropRatio,
			CoalesceWindow:    coalesceWindow(cfg.Clients),
			BatchLimit:        cfg.Clients.CoalesceMaxMessages,
		},
		ReadLimit:   int64(cfg.Clients.MaxMessageBytes),
		Compression: cfg.Clients.Compression,
		Filters: filter.NewSet(filter.Limits{MaxValues: cfg.Clients.FilterMaxValues,
			MaxRegexes: cfg.Clients.FilterMaxRegexes, MaxRegexLen: cfg.Clients.FilterMaxRegexLength}),
		TLSCertFile: cfg.Server.TLSCert,
		TLSKeyFile:  cfg.Server.TLSKey,
	}
}
