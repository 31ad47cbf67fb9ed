package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/logs"
	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/internal/buildinfo"
	"github.com/certstream/certstream/internal/certindex"
)

// scrapeMetrics returns what /metrics answers for a node with no logs and
// no clients.
func scrapeMetrics(t *testing.T) string {
	t.Helper()
	src := Sources{Start: time.Now(), Fetchers: &logs.Registry{}, Clients: router.NewClients(), Recent: certindex.New(8)}
	var ctx fasthttp.RequestCtx
	src.metrics(&ctx)
	return string(ctx.Response.Body())
}

// TestMetricsAreTyped checks that counters, gauges and histograms scrape
// typed (# TYPE lines), each family's metadata written once, as Prometheus
// requires.
func TestMetricsAreTyped(t *testing.T) {
	body := scrapeMetrics(t)
	for _, want := range []string{
		"# TYPE certstream_router_messages_in_total counter",
		"# TYPE certstream_router_serialize_seconds histogram",
		"# TYPE certstream_client_messages_dropped_total counter",
		"# TYPE certstream_ct_logs gauge",
		"# TYPE certstream_build_info gauge",
		"# TYPE go_goroutines gauge",
		"# TYPE process_open_fds gauge",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("no %q line", want)
		}
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		family := strings.Fields(line)[2]
		if seen[family] {
			t.Errorf("second TYPE line for %s", family)
		}
		seen[family] = true
	}
}

func TestBuildInfoMetric(t *testing.T) {
	want := fmt.Sprintf("certstream_build_info{version=%q,commit=%q,goversion=%q} 1\n",
		buildinfo.Version(), buildinfo.Commit(), buildinfo.GoVersion())
	if body := scrapeMetrics(t); !strings.Contains(body, want) {
		t.Fatalf("no %q in:\n%s", want, body)
	}
}
