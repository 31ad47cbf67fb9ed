// Command certstream-bench load-tests a certstream server and reports
// what it delivers and what it costs.
//
// By default it builds this project's node, and for each scenario starts
// fresh in-process fake CT logs and the node as a separate process
// following them, opens the scenario's clients, publishes entries and
// accounts for every message. With --target it measures any running
// certstream server instead (configured to follow the fake logs it prints;
// --pid names the process to read CPU and memory from).
//
// Usage:
//
//	certstream-bench [--scenario all|ingest,fanout,...] [flags]
//	certstream-bench --target ws://host:port [--pid N] [--logs-listen 127.0.0.1:7000] [flags]
//
// Scenarios: ingest (one client, a backlog of entries: how fast the node
// decodes and publishes), fanout (500 lite WebSocket clients at 1,000
// entries/s), mixed (50 full + 400 lite + 500 domains-only WebSocket + 50
// SSE), connections (10,000 idle domains-only clients: memory per
// connection and the cost of heartbeats), slow (10% slow clients: the fast
// ones must lose nothing), soak (RSS and goroutines over time, with
// connections opened and closed beside the clients: teardown must leak
// nothing and every churned session must be served), filters (1,000
// distinct domain and 100 distinct domain_regex filters: each client gets
// exactly its matches; CPU per certificate per filter), compression (lite,
// full and domains clients with and without permessage-deflate: wire bytes
// per message), resume (clients reconnecting every few seconds with
// ?since=: nothing lost or repeated), cluster (an ingest node with an
// embedded NATS server and three edges as separate processes, 150 lite
// clients per edge, then the same clients on one standalone node:
// throughput, CPU per message and latency per edge against it, and the
// link's bytes per certificate). It prints a
// detail block per scenario and a summary table, and writes JSON with --json.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/certstream/certstream/bench/procstat"
	"github.com/certstream/certstream/bench/scenario"
)

// profiledPackage is the node wrapper run under a CPU profile.
const profiledPackage = "github.com/certstream/certstream/bench/cmd/certstream-profiled"

// flags are the command line.
type flags struct {
	scenarios  string
	target     string
	pid        int
	binary     string
	cpuprofile string
	nodeEnv    multi
	logs       int
	precerts   float64
	logsListen string
	targetWait time.Duration
	jsonPath   string
	progress   time.Duration
	keep       bool
	selfProf   string
	timing     scenario.Timing
	opts       scenario.Options
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{opts: scenario.DefaultOptions()}
	fs := flag.NewFlagSet("certstream-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &f.opts
	fs.StringVar(&f.scenarios, "scenario", "all", "scenarios to run, comma-separated: all or "+strings.Join(scenario.Names, ","))
	fs.StringVar(&f.target, "target", "", "measure the certstream server at ws://host:port instead of starting the node")
	fs.IntVar(&f.pid, "pid", 0, "with --target: the server's process id, to read its CPU and memory from /proc")
	fs.StringVar(&f.binary, "binary", "", "node binary to start (default: go build ./cmd/certstream into a temp dir)")
	fs.StringVar(&f.cpuprofile, "cpuprofile", "", "profile the node's CPU over each scenario's window into FILE.<scenario> (runs bench/cmd/certstream-profiled, the node with net/http/pprof)")
	fs.Var(&f.nodeEnv, "node-env", "NAME=VALUE environment for the node, e.g. CERTSTREAM_CLIENTS_MAILBOX_CAPACITY=4096 (repeatable)")
	fs.IntVar(&f.logs, "logs", 4, "fake CT logs (alternately RFC 6962 and static-ct)")
	fs.Float64Var(&f.precerts, "precert-fraction", 0.5, "share of precertificate entries")
	fs.StringVar(&f.logsListen, "logs-listen", "", "also serve the fake logs on this address (default with --target: 127.0.0.1:0)")
	fs.DurationVar(&f.targetWait, "target-wait", 2*time.Minute, "with --target: how long to wait for the server to deliver the first probe entry")
	fs.StringVar(&f.jsonPath, "json", "", "write the JSON report to this file (- for stdout)")
	fs.DurationVar(&f.progress, "progress", 2*time.Second, "progress line interval on stderr (0: none)")
	fs.BoolVar(&f.keep, "keep", false, "keep the temp directory (node configs and logs)")
	fs.StringVar(&f.selfProf, "harness-cpuprofile", "", "write a CPU profile of the harness itself (clients, fake logs) to this file")

	fs.Float64Var(&f.timing.Ramp, "ramp", 1000, "connections opened per second")
	fs.Int64Var(&f.timing.SampleLatency, "sample", 1, "record the latency of every Nth message per client")
	fs.DurationVar(&f.timing.DrainMax, "drain-max", 30*time.Second, "longest wait for delivery after publishing")

	fs.Float64Var(&o.Rate, "rate", o.Rate, "entries/s for fanout, mixed, slow and soak")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "publishing window of fanout, mixed and slow")
	fs.IntVar(&o.IngestEntries, "ingest-entries", o.IngestEntries, "ingest: entries published at once")
	fs.IntVar(&o.FanoutClients, "fanout-clients", o.FanoutClients, "fanout: lite WebSocket clients")
	fs.IntVar(&o.MixedFull, "mixed-full", o.MixedFull, "mixed: full-stream WebSocket clients")
	fs.IntVar(&o.MixedLite, "mixed-lite", o.MixedLite, "mixed: lite WebSocket clients")
	fs.IntVar(&o.MixedDomains, "mixed-domains", o.MixedDomains, "mixed: domains-only WebSocket clients")
	fs.IntVar(&o.MixedSSE, "mixed-sse", o.MixedSSE, "mixed: lite SSE clients")
	fs.IntVar(&o.Connections, "connections", o.Connections, "connections: domains-only clients")
	fs.Float64Var(&o.ConnectionsRate, "connections-rate", o.ConnectionsRate, "connections: entries/s while measuring (0: idle)")
	fs.DurationVar(&o.ConnectionsIdle, "connections-idle", o.ConnectionsIdle, "connections: measuring window")
	fs.DurationVar(&o.ConnectionsBaseline, "connections-baseline", o.ConnectionsBaseline, "connections: idle measurement before connecting")
	fs.IntVar(&o.SlowClients, "slow-clients", o.SlowClients, "slow: lite clients in all")
	fs.Float64Var(&o.SlowFraction, "slow-fraction", o.SlowFraction, "slow: share of slow clients")
	fs.Float64Var(&o.SlowRate, "slow-rate", o.SlowRate, "slow: messages/s a slow client reads")
	fs.IntVar(&o.SoakClients, "soak-clients", o.SoakClients, "soak: lite clients")
	fs.DurationVar(&o.SoakDuration, "soak-duration", o.SoakDuration, "soak: publishing window (the issue's target: 10m)")
	fs.DurationVar(&o.SoakSample, "soak-sample", o.SoakSample, "soak: sampling interval")
	fs.DurationVar(&o.SoakWarmup, "soak-warmup", 0, "soak: warm-up (default a quarter of the window)")
	fs.IntVar(&o.SoakChurn, "soak-churn", o.SoakChurn, "soak: churned connections kept open beside the clients, each closed after --soak-churn-life and replaced, cycling through ws lite, full, domains and sse lite (0: none)")
	fs.DurationVar(&o.SoakChurnLife, "soak-churn-life", o.SoakChurnLife, "soak: life of each churned connection")
	fs.IntVar(&o.FiltersDomain, "filters-domain", o.FiltersDomain, "filters: clients with distinct domain filters")
	fs.IntVar(&o.FiltersRegex, "filters-regex", o.FiltersRegex, "filters: clients with distinct domain_regex filters")
	fs.IntVar(&o.CompressionClients, "compression-clients", o.CompressionClients, "compression: clients per stream (lite, full, domains) with and per stream without permessage-deflate")
	fs.IntVar(&o.ResumeClients, "resume-clients", o.ResumeClients, "resume: lite clients reconnecting with ?since=")
	fs.DurationVar(&o.ResumeEvery, "resume-every", o.ResumeEvery, "resume: how often each client reconnects")
	fs.IntVar(&o.ClusterEdges, "cluster-edges", o.ClusterEdges, "cluster: edge nodes of the ingest node")
	fs.IntVar(&o.ClusterClients, "cluster-clients", o.ClusterClients, "cluster: lite clients per edge")
	fs.IntVar(&o.RealisticLogs, "realistic-logs", o.RealisticLogs, "realistic: fake logs, half RFC 6962 and half static-ct")
	fs.Float64Var(&o.RealisticRate, "realistic-rate", o.RealisticRate, "realistic: entries/s over all logs")
	fs.DurationVar(&o.RealisticCadence, "realistic-cadence", o.RealisticCadence, "realistic: each log publishes once per this period, at its own phase")
	fs.IntVar(&o.RealisticLite, "realistic-lite", o.RealisticLite, "realistic: lite WebSocket clients")
	fs.IntVar(&o.RealisticDomains, "realistic-domains", o.RealisticDomains, "realistic: domains-only WebSocket clients")
	fs.IntVar(&o.RealisticFull, "realistic-full", o.RealisticFull, "realistic: full-stream WebSocket clients")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return f, nil
}

// names expands --scenario.
func (f *flags) names() ([]string, error) {
	if f.scenarios == "all" {
		return scenario.Names, nil
	}
	var out []string
	for _, n := range strings.Split(f.scenarios, ",") {
		if _, err := scenario.Named(strings.TrimSpace(n), f.opts); err != nil {
			return nil, err
		}
		out = append(out, strings.TrimSpace(n))
	}
	return out, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, "certstream-bench:", err)
		return 2
	}
	names, err := f.names()
	if err != nil {
		fmt.Fprintln(stderr, "certstream-bench:", err)
		return 2
	}
	if limit, err := procstat.RaiseFDLimit(); err != nil {
		fmt.Fprintln(stderr, "certstream-bench: raising the open-file limit:", err)
	} else {
		fmt.Fprintf(stderr, "open-file limit %d (the node inherits it)\n", limit)
	}
	if f.selfProf != "" {
		stopProfile, err := profileSelf(f.selfProf)
		if err != nil {
			fmt.Fprintln(stderr, "certstream-bench:", err)
			return 1
		}
		defer stopProfile()
	}
	b := &bench{f: f, stdout: stdout, stderr: stderr}
	code := b.runAll(ctx, names)
	if err := b.finish(); err != nil {
		fmt.Fprintln(stderr, "certstream-bench:", err)
		return 1
	}
	return code
}

// profileSelf starts a CPU profile of this process into path.
func profileSelf(path string) (stop func(), err error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}, nil
}
