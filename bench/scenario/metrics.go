package scenario

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metrics this node exports (other servers may not): used when present.
const (
	metricGoroutines = "go_goroutines"
	metricRouterIn   = "certstream_router_messages_in_total"      // certificates decoded and published
	metricDropped    = "certstream_client_messages_dropped_total" // messages dropped for slow clients, or queued for one that left
	metricDedupSize  = "certstream_dedup_size"                    // entries held by the duplicate filter
	metricGCCPU      = "go_gc_cpu_seconds_total"                  // the Go runtime's estimate of its GC's CPU time
	metricFilterEval = "certstream_filter_evaluations_total"      // distinct filters evaluated, once per certificate each
	metricWrites     = "certstream_client_writes_total"           // socket writes of queued messages to clients
)

// metricsClient scrapes the server under test, which is local.
var metricsClient = &http.Client{Timeout: 2 * time.Second}

// scrape reads Prometheus text from url into a map from series
// (`name{labels}`) to value. It returns nil when url is empty or does not
// answer 200.
func scrape(url string) map[string]float64 {
	if url == "" {
		return nil
	}
	resp, err := metricsClient.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	return parseMetrics(bufio.NewScanner(resp.Body))
}

// parseMetrics parses Prometheus text lines "series value [timestamp]".
func parseMetrics(sc *bufio.Scanner) map[string]float64 {
	out := map[string]float64{}
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// Label values may hold spaces; the value follows the series'
		// closing brace, or its name when it has no labels.
		at := strings.LastIndexByte(line, '}') + 1
		if at == 0 {
			at = strings.IndexByte(line, ' ')
		}
		if at <= 0 {
			continue
		}
		fields := strings.Fields(line[at:])
		if len(fields) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
			out[line[:at]] = v
		}
	}
	return out
}

// metric returns a series' value, or -1 when m lacks it.
func metric(m map[string]float64, series string) int64 {
	v, ok := m[series]
	if !ok {
		return -1
	}
	return int64(v)
}

// delta returns b's series minus a's, or -1 when either lacks it.
func delta(a, b map[string]float64, series string) int64 {
	x, y := metric(a, series), metric(b, series)
	if x < 0 || y < 0 {
		return -1
	}
	return y - x
}

// deltaSecs is delta for a series in seconds, unrounded.
func deltaSecs(a, b map[string]float64, series string) float64 {
	x, okA := a[series]
	y, okB := b[series]
	if !okA || !okB {
		return -1
	}
	return y - x
}

// sumDelta is delta summed over every series of the metric name (any
// labels), or -1 when b has none.
func sumDelta(a, b map[string]float64, name string) int64 {
	var sum float64
	found := false
	for series, y := range b {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		found = true
		sum += y - a[series]
	}
	if !found {
		return -1
	}
	return int64(sum)
}
