// Package report renders scenario results: a table and a detail block per
// scenario for people, JSON for machines.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/certstream/certstream/bench/scenario"
)

// Document is the JSON report.
type Document struct {
	Machine Machine            `json:"machine"`
	Results []*scenario.Result `json:"results"`
}

// Machine describes where the figures were taken.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	Binary    string `json:"binary,omitempty"` // the node binary started, if any
	Command   string `json:"command"`
}

// WriteJSON writes doc, indented.
func WriteJSON(w io.Writer, doc Document) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// WriteSummary writes one table row per result.
func WriteSummary(w io.Writer, results []*scenario.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclients\tpublished\tdelivered/client min/med/max\tlost\tdisc\tmsg/s\tMB/s\tp50/p99/max ms\tCPU s/M\tpeak RSS\tRSS/conn\tchurn served\tchecks\t")
	for _, r := range results {
		var lo, med, hi, lost int64
		var disc int
		for i, g := range r.Groups {
			if i == 0 || g.Delivered.Min < lo {
				lo = g.Delivered.Min
			}
			med = max(med, g.Delivered.Median)
			hi = max(hi, g.Delivered.Max)
			lost += g.Lost
		}
		for _, n := range r.Disconnects {
			disc += n
		}
		cpu, peak, perConn := "-", "-", "-"
		if s := r.Server; s != nil {
			if s.CPUPerMillion > 0 {
				cpu = fmt.Sprintf("%.2f", s.CPUPerMillion)
			}
			peak = mib(s.PeakRSS)
			if s.MemPerConn != 0 {
				perConn = fmt.Sprintf("%.1f KiB", s.MemPerConn/1024)
			}
		}
		churn := "-"
		if c := r.Churn; c != nil {
			churn = fmt.Sprintf("%d/%d", c.Served, c.Sessions)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d/%d/%d\t%d\t%d\t%.0f\t%.1f\t%d/%d/%d\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Scenario, r.Connected, r.Published, lo, med, hi, lost, disc, r.MsgsPerSec, r.MBPerSec,
			r.Latency.P50, r.Latency.P99, r.Latency.Max, cpu, peak, perConn, churn, passed(r.Checks))
	}
	return tw.Flush()
}

// passed is "n/m" checks passed, or "-".
func passed(cs []scenario.Check) string {
	if len(cs) == 0 {
		return "-"
	}
	n := 0
	for _, c := range cs {
		if c.Pass {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(cs))
}

// WriteDetail writes everything about one result: rates, groups,
// disconnects, churn, server, soak samples and checks.
func WriteDetail(w io.Writer, r *scenario.Result) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "== %s against %s (load %.2f → %.2f)\n", r.Scenario, r.Target, r.LoadStart[0], r.LoadEnd[0])
	if r.PublishRate > 0 || r.IngestRate == 0 {
		fmt.Fprintf(b, "published %d entries in %.1f s (%.0f/s; %d probe entries before); measured %.1f s\n",
			r.Published, r.WindowSecs, r.PublishRate, r.ProbeEntries, r.MeasuredSecs)
	} else {
		fmt.Fprintf(b, "published a backlog of %d entries (%d probe entries before); measured %.1f s\n",
			r.Published, r.ProbeEntries, r.MeasuredSecs)
	}
	if r.IngestRate > 0 || r.ServerIngestRate > 0 {
		fmt.Fprintf(b, "ingest: %.0f entries/s delivered to the client", r.IngestRate)
		if r.ServerIngestRate > 0 {
			fmt.Fprintf(b, "; %.0f entries/s decoded and published by the server's count", r.ServerIngestRate)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "clients: %d of %d connected, %d never got a probe entry\n", r.Connected, r.Clients, r.Unsubscribed)
	fmt.Fprintf(b, "delivered %d messages, %.0f msg/s, %.1f MB/s; latency p50 %d ms, p99 %d ms, max %d ms (%d samples)\n",
		r.Delivered, r.MsgsPerSec, r.MBPerSec, r.Latency.P50, r.Latency.P99, r.Latency.Max, r.Latency.Samples)
	if r.Delivery.Samples > 0 {
		fmt.Fprintf(b, "  of which after the server's \"seen\": p50 %d ms, p99 %d ms, max %d ms\n",
			r.Delivery.P50, r.Delivery.P99, r.Delivery.Max)
	}
	if r.HeadsPerLogSec > 0 {
		fmt.Fprintf(b, "head requests (get-sth and checkpoints): %.2f per log per second\n", r.HeadsPerLogSec)
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  group\tclients\texpected\tdelivered min/med/max\tlost (clients)\texcess\tdisc\theartbeats med\tp50/p99/max ms\t")
	for _, g := range r.Groups {
		name := fmt.Sprintf("%s (%s %s%s)", g.Name, g.Transport, g.Stream, map[bool]string{true: ", slow"}[g.Slow])
		fmt.Fprintf(tw, "  %s\t%d/%d\t%d\t%d/%d/%d\t%d (%d)\t%d\t%d\t%d\t%d/%d/%d\t\n", name, g.Connected, g.Clients,
			g.Expected, g.Delivered.Min, g.Delivered.Median, g.Delivered.Max, g.Lost, g.LostClients, g.Excess,
			g.Disconnected, g.Heartbeats.Median, g.Latency.P50, g.Latency.P99, g.Latency.Max)
	}
	tw.Flush()
	for _, g := range r.Groups {
		for i, c := range g.PerClient {
			fmt.Fprintf(b, "  %s #%d: delivered %d, lost %d", g.Name, i+1, c.Delivered, c.Lost)
			if c.Reason != "" {
				fmt.Fprintf(b, ", ended: %s", c.Reason)
			}
			if c.ServerPushed >= 0 {
				fmt.Fprintf(b, " = %d dropped by the server (it said: dropped %d of %d) + %d never sent after the close + %d queued at the close",
					c.ServerDropped, c.ServerDropped, c.ServerPushed, c.NotSent, c.Discarded)
			}
			b.WriteString("\n")
		}
	}
	for _, reason := range slices.Sorted(maps.Keys(r.Disconnects)) {
		fmt.Fprintf(b, "  disconnected: %d × %s\n", r.Disconnects[reason], reason)
	}
	if c := r.Churn; c != nil {
		fmt.Fprintf(b, "churn: %d connections living %.1f s beside the clients: %d sessions, %d served, %d unserved, %d failed, %d cut (%d interrupted by the window's end)\n",
			c.Conns, c.LifeSecs, c.Sessions, c.Served, c.Unserved, c.Failed, c.Cut, c.Interrupted)
		for _, reason := range slices.Sorted(maps.Keys(c.Reasons)) {
			fmt.Fprintf(b, "  churn ended: %d × %s\n", c.Reasons[reason], reason)
		}
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(b, "server pid %d: CPU %.1f s (%.0f%% of a core", s.Pid, s.CPUSecs, s.CPUPercent)
		if s.CPUPerMillion > 0 {
			fmt.Fprintf(b, ", %.2f s per million messages", s.CPUPerMillion)
		}
		if s.WritesPerClientSec > 0 {
			fmt.Fprintf(b, ", %.1f writes per client per second", s.WritesPerClientSec)
		}
		if s.GCCPUSecs >= 0 {
			fmt.Fprintf(b, "; GC %.2f s of it", s.GCCPUSecs)
		}
		fmt.Fprintf(b, "); RSS %s before clients, %s at end, peak %s", mib(s.RSSBefore), mib(s.RSSEnd), mib(s.PeakRSS))
		if s.MemPerConn != 0 {
			fmt.Fprintf(b, " (%.1f KiB per connection)", s.MemPerConn/1024)
		}
		fmt.Fprintf(b, "; %d threads", s.Threads)
		if s.Goroutines >= 0 {
			fmt.Fprintf(b, ", %d goroutines", s.Goroutines)
		}
		if s.Published >= 0 {
			fmt.Fprintf(b, "; it counted %d certificates published", s.Published)
		}
		if s.Dropped >= 0 {
			fmt.Fprintf(b, " and %d messages dropped for slow or departed clients", s.Dropped)
		}
		if s.IdleCPUPercent > 0 {
			fmt.Fprintf(b, "; idle before clients %.1f%% of a core", s.IdleCPUPercent)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "harness CPU %.1f s (clients and fake logs)\n", r.Harness.CPUSecs)
	if sk := r.Soak; sk != nil {
		for _, p := range sk.Samples {
			fmt.Fprintf(b, "  soak %5.0fs: RSS %s, %d threads, %d goroutines, dedup %d, %d delivered\n",
				p.Secs, mib(p.RSS), p.Threads, p.Goroutines, p.DedupSize, p.Delivered)
		}
		fmt.Fprintf(b, "  soak after %.0f s of warm-up, first third → last third: median RSS %s → %s (%+.1f%%), least goroutines %d → %d\n",
			sk.WarmupSecs, mib(sk.WarmRSS), mib(sk.EndRSS), sk.RSSGrowthPct, sk.WarmGoroutine, sk.EndGoroutine)
	}
	for _, c := range r.Checks {
		fmt.Fprintf(b, "  [%s] %s: %s (target %s)\n", map[bool]string{true: "PASS", false: "MISS"}[c.Pass], c.Name, c.Got, c.Want)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mib formats bytes in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
