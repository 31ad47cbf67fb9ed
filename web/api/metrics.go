package api

import (
	"fmt"
	"io"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/internal/buildinfo"
	"github.com/certstream/certstream/internal/follow"
)

// Every family is exposed with # HELP and # TYPE lines, so that Prometheus
// scrapes counters and histograms typed rather than untyped.
func init() { metrics.ExposeMetadata(true) }

// metrics writes every registered metric, the Go and process metrics (with
// the open file descriptors), and the values computed at scrape time from
// the node's state:
//
//	certstream_client_messages_dropped_total  messages dropped for clients (slow or gone), over the node's life
//	certstream_client_mailbox_depth_sum       messages queued for all clients now
//	certstream_client_mailbox_depth_max       the longest client queue now
//	certstream_ct_logs{health}                followed logs by health
//	certstream_recent_certificates            certificates held for /api/cert
//	certstream_uptime_seconds                 since the node started
//	certstream_build_info{version,commit,goversion}  1, labelled with the running build
func (src *Sources) metrics(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	w := ctx.Response.BodyWriter()
	metrics.WritePrometheus(w, true)
	metrics.WriteFDMetrics(w) // process_open_fds: each client holds one
	src.writeScraped(w)
}

func (src *Sources) writeScraped(w io.Writer) {
	t := src.Clients.Totals()
	metrics.WriteCounterUint64(w, "certstream_client_messages_dropped_total", t.Dropped)
	metrics.WriteGaugeUint64(w, "certstream_client_mailbox_depth_sum", uint64(t.QueuedSum))
	metrics.WriteGaugeUint64(w, "certstream_client_mailbox_depth_max", uint64(t.QueuedMax))
	byHealth := map[string]uint64{follow.Healthy: 0, follow.Degraded: 0, follow.Unhealthy: 0, follow.Starting: 0}
	for _, f := range src.Fetchers.Fetchers() {
		byHealth[f.Handle.Status().Health]++
	}
	metrics.WriteMetadataIfNeeded(w, "certstream_ct_logs", "gauge") // once for the family
	for _, h := range []string{follow.Healthy, follow.Degraded, follow.Unhealthy, follow.Starting} {
		fmt.Fprintf(w, "certstream_ct_logs{health=%q} %d\n", h, byHealth[h])
	}
	metrics.WriteGaugeUint64(w, "certstream_recent_certificates", uint64(src.Recent.Len()))
	metrics.WriteGaugeFloat64(w, "certstream_uptime_seconds", src.uptime())
	metrics.WriteGaugeUint64(w, fmt.Sprintf("certstream_build_info{version=%q,commit=%q,goversion=%q}",
		buildinfo.Version(), buildinfo.Commit(), buildinfo.GoVersion()), 1)
}
