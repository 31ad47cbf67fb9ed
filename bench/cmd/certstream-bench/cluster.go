package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/certstream/certstream/bench/feed"
	"github.com/certstream/certstream/bench/nodeproc"
	"github.com/certstream/certstream/bench/report"
	"github.com/certstream/certstream/bench/scenario"
	"github.com/certstream/certstream/config"
)

// runCluster runs the cluster scenario twice with the same fake logs and
// clients: against one standalone node, then against an ingest node with
// an embedded NATS server and its edges, each edge serving one group. It
// prints both detail blocks and the comparison, and keeps both results.
func (b *bench) runCluster(ctx context.Context, spec scenario.Spec) error {
	env := scenario.Env{Progress: b.stderr, ProgressEvery: b.f.progress, Timing: b.f.timing}
	if b.f.progress <= 0 {
		env.Progress = nil
	}
	solo := spec
	solo.Name = "cluster-standalone"
	base, err := b.runOneNode(ctx, solo, env)
	if base != nil {
		b.keepResult(base)
	}
	if err != nil {
		return fmt.Errorf("standalone run: %w", err)
	}
	res, err := b.runEdges(ctx, spec, env)
	if res != nil {
		b.keepResult(res)
		writeCluster(b.stdout, base, res)
	}
	return err
}

// keepResult prints res's detail and keeps it for the summary.
func (b *bench) keepResult(res *scenario.Result) {
	b.results = append(b.results, res)
	_ = report.WriteDetail(b.stdout, res)
	fmt.Fprintln(b.stdout)
}

// runOneNode runs spec against a fresh standalone node.
func (b *bench) runOneNode(ctx context.Context, spec scenario.Spec, env scenario.Env) (*scenario.Result, error) {
	fd, err := b.startFeed()
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	node, err := b.startNode(ctx, spec.Name, fd, spec.NodeEnv)
	if err != nil {
		return nil, err
	}
	defer b.stopNode(spec.Name, node.Process)
	env.Target, env.Source, env.Pid = "ws://"+node.Addr(), fd, node.Pid()
	env.MetricsURL = "http://" + node.Addr() + "/metrics"
	fmt.Fprintf(b.stderr, "[%s] node pid %d at %s, output in %s\n", spec.Name, node.Pid(), node.Addr(), node.LogPath())
	return scenario.Run(ctx, spec, env)
}

// runEdges runs spec against an ingest node (measured as the server) and
// one edge per group (measured as Nodes), then reads the link's bytes per
// certificate from the stream.
func (b *bench) runEdges(ctx context.Context, spec scenario.Spec, env scenario.Env) (*scenario.Result, error) {
	fd, err := b.startFeed()
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	natsPort, err := nodeproc.FreePort()
	if err != nil {
		return nil, err
	}
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", natsPort)
	ingest, err := b.startClusterNode(ctx, "cluster-ingest", fd, func(c *config.ClusterConfig, dir string) {
		c.Role = config.RoleIngest
		c.NATS.Embedded, c.NATS.Listen = true, fmt.Sprintf("127.0.0.1:%d", natsPort)
		c.NATS.StoreDir, c.NATS.ClusterListen = filepath.Join(dir, "nats"), ""
		c.ConsumerStateFile = filepath.Join(dir, "consumer.json")
	})
	if err != nil {
		return nil, err
	}
	defer b.stopNode("cluster-ingest", ingest)
	for i := range spec.Groups {
		name := scenario.ClusterGroup(i)
		edge, err := b.startClusterNode(ctx, "cluster-"+name, nil, func(c *config.ClusterConfig, dir string) {
			c.Role, c.NATS.URLs = config.RoleEdge, []string{natsURL}
			c.ConsumerStateFile = filepath.Join(dir, "edge.json")
		})
		if err != nil {
			return nil, err
		}
		defer b.stopNode("cluster-"+name, edge)
		spec.Groups[i].Target = "ws://" + edge.Addr()
		env.Nodes = append(env.Nodes, scenario.Node{Name: name, Pid: edge.Pid()})
	}
	env.Target, env.Source, env.Pid = "ws://"+ingest.Addr(), fd, ingest.Pid()
	env.MetricsURL = "http://" + ingest.Addr() + "/metrics"
	res, err := scenario.Run(ctx, spec, env)
	if res != nil {
		perCert, lerr := linkBytesPerCert(ctx, natsURL, config.DefaultCluster().Stream)
		if lerr != nil {
			fmt.Fprintf(b.stderr, "[%s] reading the stream: %v\n", spec.Name, lerr)
		}
		res.LinkBytesPerCert = perCert
	}
	return res, err
}

// startFeed starts fresh fake logs as the other scenarios do.
func (b *bench) startFeed() (*feed.Feed, error) {
	return feed.Start(feed.Config{Logs: b.f.logs, PrecertFraction: b.f.precerts, Listen: b.f.logsListen,
		Retain: retain(b.f.opts)})
}

// startClusterNode starts a node named name following fd (none when nil)
// with its [cluster] section set by set.
func (b *bench) startClusterNode(ctx context.Context, name string, fd *feed.Feed, set func(*config.ClusterConfig, string)) (*nodeproc.Process, error) {
	dir := filepath.Join(b.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := nodeproc.FreePort()
	if err != nil {
		return nil, err
	}
	var logs []config.CustomLog
	if fd != nil {
		logs = fd.CustomLogs()
	}
	cfg := nodeproc.Config(logs, port, dir)
	set(&cfg.Cluster, dir)
	p, err := nodeproc.Start(ctx, cfg, nodeproc.Options{Binary: b.binary, Dir: dir, Env: b.f.nodeEnv})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(b.stderr, "[cluster] %s pid %d at %s, output in %s\n", name, p.Pid(), p.Addr(), p.LogPath())
	return p, nil
}

// stopNode stops p, telling why when it did not stop cleanly.
func (b *bench) stopNode(name string, p *nodeproc.Process) {
	if err := p.Stop(30 * time.Second); err != nil {
		fmt.Fprintf(b.stderr, "[%s] %v; node output ends:\n%s\n", name, err, p.Tail(20))
	}
}

// linkBytesPerCert is the stream's stored bytes per message: what a
// certificate costs on the link, headers and subject included.
func linkBytesPerCert(ctx context.Context, url, stream string) (float64, error) {
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second))
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	if info.State.Msgs == 0 {
		return 0, errors.New("the stream holds no message")
	}
	return float64(info.State.Bytes) / float64(info.State.Msgs), nil
}

// writeCluster prints each edge against the standalone node.
func writeCluster(w io.Writer, standalone, cluster *scenario.Result) {
	fmt.Fprintln(w, "== cluster: each edge vs one standalone node serving all the clients")
	if standalone != nil {
		fmt.Fprintf(w, "standalone: %d clients, %.0f msg/s, CPU %.2f s per million messages, latency p50/p99 %d/%d ms\n",
			standalone.Connected, standalone.MsgsPerSec, cpuPerMillion(standalone), standalone.Latency.P50, standalone.Latency.P99)
	}
	if s := cluster.Server; s != nil {
		fmt.Fprintf(w, "ingest (with the embedded NATS server): CPU %.1f s over the window (%.0f%% of a core)\n", s.CPUSecs, s.CPUPercent)
	}
	if cluster.LinkBytesPerCert > 0 {
		fmt.Fprintf(w, "link: %.0f bytes per certificate stored in the stream\n", cluster.LinkBytesPerCert)
	}
	if standalone == nil {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "edge\tdelivered\tmsg/s\tCPU s/M\tvs standalone\tp50/p99 ms\tadded p50/p99 ms\t")
	for _, e := range scenario.CompareCluster(standalone, cluster) {
		ratio := "-"
		if e.StandaloneCPUPerMillion > 0 {
			ratio = fmt.Sprintf("%.2fx", e.CPUPerMillion/e.StandaloneCPUPerMillion)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t%s\t%d/%d\t%+d/%+d\t\n", e.Name, e.Delivered, e.MsgsPerSec,
			e.CPUPerMillion, ratio, e.P50, e.P99, e.AddedP50, e.AddedP99)
	}
	_ = tw.Flush()
}

// cpuPerMillion is the server's CPU per million messages, or 0.
func cpuPerMillion(r *scenario.Result) float64 {
	if r.Server == nil {
		return 0
	}
	return r.Server.CPUPerMillion
}
