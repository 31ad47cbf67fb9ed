package node

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/clusterpub"
	"github.com/certstream/certstream/actors/clustersub"
	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/clusterlink"
	"github.com/certstream/certstream/messages"
	"github.com/certstream/certstream/web/api"
)

// cluster is what a node in the ingest or edge role has on top of a
// standalone one; all nil for a standalone node.
type cluster struct {
	NATS      *clusterlink.Server // the embedded server, when this node runs one
	Link      *clusterlink.Link
	Publisher *actor.PID           // ingest: dedup's destination
	Consumer  *actor.PID           // ingest and edge: the router's source
	consumer  *clustersub.Consumer // ingest and edge
	counters  *clusterpub.Counters // ingest
	role      string
}

// isEdge reports whether the node follows no log and serves the stream.
func isEdge(cfg *config.Config) bool { return cfg.Cluster.Role == config.RoleEdge }

// isClustered reports whether the node's clients are served from the
// stream (ingest and edge) rather than straight from dedup (standalone).
func isClustered(cfg *config.Config) bool { return cfg.Cluster.Role != config.RoleStandalone }

// dialCluster starts the embedded server when the node runs one and
// connects to the cluster; a standalone node does neither.
func (n *Node) dialCluster(cfg *config.Config, counters *clusterpub.Counters) error {
	c := cfg.Cluster
	if c.Role == config.RoleStandalone {
		return nil
	}
	n.role = c.Role
	urls := c.NATS.URLs
	if c.Embedded() {
		s, err := clusterlink.StartServer(clusterlink.ServerConfig{
			Name: c.NATS.ServerName, Listen: c.NATS.Listen, StoreDir: c.NATS.StoreDir,
			ClusterName: c.NATS.ClusterName, ClusterListen: c.NATS.ClusterListen, Routes: c.NATS.Routes,
			User: c.NATS.User, Password: c.NATS.Password, TLSCert: c.NATS.TLSCert, TLSKey: c.NATS.TLSKey,
			TLSCA: c.NATS.TLSCA,
		})
		if err != nil {
			return err
		}
		n.NATS = s
	}
	lc := clusterlink.Config{
		URLs: urls, Name: "certstream-" + c.Role, Credentials: c.NATS.Credentials, User: c.NATS.User,
		Password: c.NATS.Password, TLSCA: c.NATS.TLSCA, Stream: c.Stream, Retention: c.Retention(),
		RetentionBytes: int64(c.RetentionBytes), DuplicateWindow: c.DuplicateWindow(), Replicas: c.Replicas,
		MaxPending: c.PublishMaxPending,
	}
	if n.NATS != nil && len(urls) == 0 {
		lc.InProcess = n.NATS // its own server: no socket, no TLS name to match
	}
	if counters != nil {
		lc.OnAck, lc.OnError = counters.Ack, counters.Error
	}
	link, err := clusterlink.Dial(lc)
	if err != nil {
		n.closeCluster()
		return err
	}
	n.Link = link
	return nil
}

// spawnPublisher starts an ingest node's publisher, to which dedup sends
// every new certificate.
func (n *Node) spawnPublisher(cfg *config.Config, counters *clusterpub.Counters) {
	n.counters = counters
	n.Publisher = spawn(n.Engine, "clusterpub", clusterpub.New(clusterpub.Config{
		Link: n.Link, Counters: counters, DuplicateWindow: cfg.Cluster.DuplicateWindow()}), 1024)
}

// spawnConsumer starts the consumer of an ingest or edge node, which feeds
// the router from the stream.
func (n *Node) spawnConsumer(cfg *config.Config) error {
	c, err := clustersub.New(clustersub.Config{Link: n.Link, Router: n.Router, StateFile: cfg.Cluster.ConsumerStateFile,
		Stream: cfg.Cluster.Stream, MaxLag: cfg.Cluster.MaxLag()})
	if err != nil {
		return err
	}
	n.consumer = c
	n.Consumer = spawn(n.Engine, "clustersub", c.Producer(), 64)
	return nil
}

// positionWait bounds how long an ingest node waits, at start, for its
// consumer to reach the stream before it follows the logs.
const positionWait = 10 * time.Second

// awaitPositioned waits (bounded) until the consumer knows where it reads
// from, so that the node publishes nothing before it: on an ingest node,
// its own clients then get every certificate it publishes.
func (n *Node) awaitPositioned() {
	if n.consumer == nil {
		return
	}
	select {
	case <-n.consumer.Positioned():
	case <-time.After(positionWait):
		slog.Warn("cluster: the stream is not reachable yet; following the logs anyway "+
			"(this node's own clients may miss what it publishes before its consumer reaches the stream)",
			"waited", positionWait)
	}
}

// drainPublisher waits (bounded by ctx and a few seconds) until the
// publisher has published everything it was given and the stream has
// acknowledged it.
func (n *Node) drainPublisher(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		n.Engine.Send(n.Publisher, messages.Wake{})
		res, err := n.Engine.Request(n.Publisher, messages.Inspect{}, time.Second).Result()
		if info, ok := res.(messages.ActorInfo); err == nil && ok && info.MailboxDepth == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-n.Link.Drained():
	case <-ctx.Done():
		slog.Warn("cluster: stopping with publishes not acknowledged", "pending", n.Link.Pending())
	}
}

// catchUp waits (bounded by ctx and a few seconds) until the consumer has
// routed everything the stream holds: at shutdown, after the publisher
// drained, the node's own clients then get what it published.
func (n *Node) catchUp(ctx context.Context) {
	if n.consumer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, last, err := n.Link.FirstSeq(ctx)
	for err == nil && ctx.Err() == nil && n.consumer.Status().LastSeq < last {
		time.Sleep(20 * time.Millisecond)
	}
}

// closeCluster closes the link and stops the embedded server.
func (n *Node) closeCluster() {
	if n.Link != nil {
		n.Link.Close()
	}
	if n.NATS != nil {
		n.NATS.Shutdown()
	}
}

// clusterStatus is the consumer's status; ok is false on a standalone node.
func (n *Node) clusterStatus() (st clustersub.Status, ok bool) {
	if n.consumer == nil {
		return clustersub.Status{}, false
	}
	return n.consumer.Status(), true
}

// clusterStats is /api/stats' cluster object; nil on a standalone node.
func (n *Node) clusterStats() *api.ClusterStats {
	if n.Link == nil {
		return nil
	}
	s := &api.ClusterStats{Role: n.role, Link: "down", Server: n.Link.Server()}
	if n.Link.Connected() {
		s.Link = "up"
	}
	if k := n.counters; k != nil {
		s.Publisher = &api.PublisherStats{Published: k.Published.Load(), Acknowledged: k.Acked.Load(),
			Duplicates: k.Duplicates.Load(), Pending: n.Link.Pending(), Errors: k.Errors.Load(),
			Retried: k.Retried.Load(), Abandoned: k.Abandoned.Load()}
	}
	if st, ok := n.clusterStatus(); ok {
		s.Consumer = &api.ConsumerStats{Consumed: st.Consumed, LastSeq: st.LastSeq, LagMessages: st.LagMsgs,
			LagSecs: st.LagSeconds, GapMessages: st.Gap, StreamResets: st.Resets, BadMessages: st.Bad}
	}
	return s
}

// linkHealth is the health of the link for /health/deep; ok is false on a
// standalone node.
func (n *Node) linkHealth() (healthy, ok bool) {
	st, ok := n.clusterStatus()
	return st.Healthy(), ok
}

// clusterErr wraps a cluster start error.
func clusterErr(err error) error { return fmt.Errorf("cluster: %w", err) }
