package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/certstream/certstream/bench/feed"
	"github.com/certstream/certstream/bench/nodeproc"
	"github.com/certstream/certstream/bench/report"
	"github.com/certstream/certstream/bench/scenario"
)

// bench runs the scenarios and keeps their results.
type bench struct {
	f       *flags
	stdout  io.Writer
	stderr  io.Writer
	dir     string // temp dir: binaries, node configs and logs
	binary  string
	shared  *feed.Feed // with --target: the logs the target follows
	results []*scenario.Result
}

// runAll runs each scenario in turn; it returns the exit status.
func (b *bench) runAll(ctx context.Context, names []string) int {
	var err error
	if b.dir, err = os.MkdirTemp("", "certstream-bench-"); err != nil {
		fmt.Fprintln(b.stderr, "certstream-bench:", err)
		return 1
	}
	if err := b.prepare(ctx); err != nil {
		fmt.Fprintln(b.stderr, "certstream-bench:", err)
		return 1
	}
	code := 0
	for _, name := range names {
		if ctx.Err() != nil {
			return 130
		}
		res, err := b.runOne(ctx, name)
		if res != nil {
			b.results = append(b.results, res)
			_ = report.WriteDetail(b.stdout, res)
			fmt.Fprintln(b.stdout)
		}
		if err != nil {
			fmt.Fprintf(b.stderr, "certstream-bench: %s: %v\n", name, err)
			code = 1
		}
	}
	return code
}

// prepare builds the node (or the profiling wrapper) or, with --target,
// starts the shared fake logs and tells how to follow them.
func (b *bench) prepare(ctx context.Context) error {
	f := b.f
	if f.target != "" {
		listen := f.logsListen
		if listen == "" {
			listen = "127.0.0.1:0"
		}
		var err error
		if b.shared, err = feed.Start(feed.Config{Logs: f.logs, PrecertFraction: f.precerts, Listen: listen, Retain: retain(f.opts)}); err != nil {
			return err
		}
		fmt.Fprintf(b.stderr, "fake CT logs: log list %s\nfor this node, configure (no keys: they change every run):\n"+
			"[ct_log]\nfollow_log_list = false\npoll_interval_ms = 100\n\n%s", b.shared.LogListURL(), customLogsTOML(b.shared))
		return nil
	}
	switch {
	case f.cpuprofile != "":
		fmt.Fprintln(b.stderr, "building the profiling node wrapper...")
		return b.build(ctx, profiledPackage)
	case f.binary != "":
		b.binary = f.binary
		return nil
	}
	fmt.Fprintln(b.stderr, "building the node...")
	return b.build(ctx, nodeproc.NodePackage)
}

func (b *bench) build(ctx context.Context, pkg string) error {
	var err error
	b.binary, err = nodeproc.Build(ctx, b.dir, pkg)
	return err
}

// customLogsTOML renders the logs as [[ct_log.custom_logs]] tables,
// without their keys, so that the configuration outlives this run.
func customLogsTOML(f *feed.Feed) string {
	var sb strings.Builder
	for _, l := range f.CustomLogs() {
		fmt.Fprintf(&sb, "[[ct_log.custom_logs]]\nname = %q\nurl = %q\nkind = %q\noperator = %q\n\n",
			l.Name, l.URL, l.Kind, l.Operator)
	}
	return sb.String()
}

// retain is how many of their newest entries the fake logs keep (in all):
// the default, or more when the ingest backlog or five minutes at the
// scenarios' rate need it, so that a node never asks for a forgotten entry.
func retain(o scenario.Options) int {
	return max(feed.DefaultRetain, 2*o.IngestEntries, int(300*o.Rate))
}

// runOne runs scenario name against the target or a fresh node.
func (b *bench) runOne(ctx context.Context, name string) (*scenario.Result, error) {
	spec, err := scenario.Named(name, b.f.opts)
	if err != nil {
		return nil, err
	}
	env := scenario.Env{Progress: b.stderr, ProgressEvery: b.f.progress, Timing: b.f.timing}
	if b.f.progress <= 0 {
		env.Progress = nil
	}
	if name == "cluster" && b.shared == nil {
		return nil, b.runCluster(ctx, spec) // keeps and prints its two results
	}
	if b.shared != nil {
		env.Target, env.Source, env.Pid = b.f.target, b.shared, b.f.pid
		env.Timing.ProbeTimeout = b.f.targetWait
		env.MetricsURL = strings.Replace(strings.Replace(b.f.target, "wss://", "https://", 1), "ws://", "http://", 1) + "/metrics"
		return scenario.Run(ctx, spec, env)
	}
	logs := cmp.Or(spec.Logs, b.f.logs)
	fd, err := feed.Start(feed.Config{Logs: logs, PrecertFraction: b.f.precerts, Listen: b.f.logsListen,
		Retain: retain(b.f.opts), Cadence: spec.Cadence})
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	node, err := b.startNode(ctx, name, fd, spec.NodeEnv)
	if err != nil {
		return nil, err
	}
	env.Target, env.Source, env.Pid = "ws://"+node.Addr(), fd, node.Pid()
	env.MetricsURL = "http://" + node.Addr() + "/metrics"
	if node.pprof != "" {
		env.ProfileURL, env.ProfileFile = node.pprof+"profile", node.profile
		fmt.Fprintf(b.stderr, "[%s] node pprof at %s; the window's CPU profile goes to %s\n", name, node.pprof, node.profile)
	}
	fmt.Fprintf(b.stderr, "[%s] node pid %d at %s, output in %s\n", name, node.Pid(), node.Addr(), node.LogPath())
	res, err := scenario.Run(ctx, spec, env)
	if stopErr := node.Stop(30 * time.Second); stopErr != nil {
		fmt.Fprintf(b.stderr, "[%s] %v; node output ends:\n%s\n", name, stopErr, node.Tail(20))
	}
	if node.profile != "" {
		fmt.Fprintf(b.stderr, "[%s] CPU profile of the window: go tool pprof -top %s %s\n", name, b.binary, node.profile)
	}
	return res, err
}

// startedNode is a node process and where its profile goes.
type startedNode struct {
	*nodeproc.Process
	pprof   string // net/http/pprof base URL, when profiling
	profile string // where the window's CPU profile goes
}

// startNode starts the node for scenario name following fd, with the
// scenario's configuration variables before the user's.
func (b *bench) startNode(ctx context.Context, name string, fd *feed.Feed, env []string) (*startedNode, error) {
	dir := filepath.Join(b.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	port, err := nodeproc.FreePort()
	if err != nil {
		return nil, err
	}
	n := &startedNode{}
	var args []string
	if b.f.cpuprofile != "" {
		pport, err := nodeproc.FreePort()
		if err != nil {
			return nil, err
		}
		n.pprof = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", pport)
		n.profile = b.f.cpuprofile + "." + name
		args = []string{"--pprof", fmt.Sprintf("127.0.0.1:%d", pport)}
	}
	if len(env) > 0 {
		fmt.Fprintf(b.stderr, "[%s] node configuration for this scenario: %s\n", name, strings.Join(env, " "))
	}
	n.Process, err = nodeproc.Start(ctx, nodeproc.Config(fd.CustomLogs(), port, dir),
		nodeproc.Options{Binary: b.binary, Args: args, Dir: dir, Env: append(env, b.f.nodeEnv...)})
	return n, err
}

// finish prints the summary, writes the JSON and removes the temp dir.
func (b *bench) finish() error {
	if b.shared != nil {
		b.shared.Close()
	}
	if b.dir != "" {
		if b.f.keep {
			fmt.Fprintln(b.stderr, "kept", b.dir)
		} else {
			os.RemoveAll(b.dir)
		}
	}
	if len(b.results) == 0 {
		return nil
	}
	fmt.Fprintln(b.stdout, "== summary")
	if err := report.WriteSummary(b.stdout, b.results); err != nil {
		return err
	}
	if b.f.jsonPath == "" {
		return nil
	}
	doc := report.Document{Results: b.results, Machine: report.Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Binary: b.binary, Command: strings.Join(os.Args, " ")}}
	if b.f.jsonPath == "-" {
		return report.WriteJSON(b.stdout, doc)
	}
	out, err := os.Create(b.f.jsonPath)
	if err != nil {
		return err
	}
	if err := report.WriteJSON(out, doc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
