package follow

import (
	"fmt"
	"strings"

	"github.com/VictoriaMetrics/metrics"

	"github.com/certstream/certstream/internal/ctclient"
)

// Metrics are one log's counters and gauges (label log="<name>"). They are
// registered once per log name and shared by the follower's incarnations.
type Metrics struct {
	fetched, parseFailures, missingIssuers *metrics.Counter
	published, restarts                    *metrics.Counter
	requests                               map[string]*metrics.Counter
	cursor, treeSize                       *metrics.Gauge
	lagEntries, lagSeconds, healthy        *metrics.Gauge
}

// outcomes are the values of the requests_total outcome label.
var outcomes = []string{"ok", ctclient.RateLimited.String(), ctclient.ServerError.String(),
	ctclient.Timeout.String(), ctclient.NotFound.String(), ctclient.BadRequest.String(),
	ctclient.Decode.String(), ctclient.BadSignature.String(), ctclient.Redirect.String(),
	ctclient.TooLarge.String(), ctclient.Inconsistent.String(), ctclient.DNS.String(), "other"}

// NewMetrics returns (creating on first use) the metrics of the log called name.
func NewMetrics(name string) *Metrics {
	label := fmt.Sprintf(`log=%q`, sanitize(name))
	counter := func(n string) *metrics.Counter {
		return metrics.GetOrCreateCounter(n + "{" + label + "}")
	}
	gauge := func(n string) *metrics.Gauge {
		return metrics.GetOrCreateGauge(n+"{"+label+"}", nil)
	}
	m := &Metrics{
		fetched:        counter("certstream_ct_entries_fetched_total"),
		parseFailures:  counter("certstream_ct_parse_failures_total"),
		missingIssuers: counter("certstream_ct_missing_issuers_total"),
		published:      counter("certstream_ct_entries_published_total"),
		restarts:       counter("certstream_ct_fetcher_restarts_total"),
		requests:       map[string]*metrics.Counter{},
		cursor:         gauge("certstream_ct_cursor"),
		treeSize:       gauge("certstream_ct_tree_size"),
		lagEntries:     gauge("certstream_ct_lag_entries"),
		lagSeconds:     gauge("certstream_ct_lag_seconds"),
		healthy:        gauge("certstream_ct_log_healthy"),
	}
	for _, o := range outcomes {
		m.requests[o] = metrics.GetOrCreateCounter(fmt.Sprintf(`certstream_ct_requests_total{%s,outcome=%q}`, label, o))
	}
	return m
}

// request counts one request by outcome.
func (m *Metrics) request(err error) {
	o := "ok"
	if err != nil {
		o = "other"
		if k, ok := ctclient.KindOf(err); ok {
			o = k.String()
		}
	}
	if c, ok := m.requests[o]; ok {
		c.Inc()
	}
}

// Published counts n of the log's certificates that passed dedup and went
// to the router.
func (m *Metrics) Published(n int) { m.published.Add(n) }

// Restarted counts one restart of the log's fetcher.
func (m *Metrics) Restarted() { m.restarts.Inc() }

// sanitize keeps a log name safe inside a quoted label value.
func sanitize(s string) string {
	return strings.NewReplacer(`"`, `'`, `\`, `/`, "\n", " ").Replace(s)
}
