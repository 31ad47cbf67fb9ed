package scenario

import (
	"bufio"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
certstream_client_messages_dropped_total 7 1700000000000
certstream_router_messages_out_total{stream="lite"} 1.5e+06
odd{label="a b} c"} 3
broken
`
	m := parseMetrics(bufio.NewScanner(strings.NewReader(text)))
	for series, want := range map[string]int64{
		metricGoroutines: 42, metricDropped: 7, `certstream_router_messages_out_total{stream="lite"}`: 1500000,
		`odd{label="a b} c"}`: 3, metricRouterIn: -1,
	} {
		if got := metric(m, series); got != want {
			t.Errorf("%s = %d, want %d", series, got, want)
		}
	}
	if len(m) != 4 {
		t.Errorf("parsed %d series: %v", len(m), m)
	}
	later := map[string]float64{metricDropped: 10}
	if delta(m, later, metricDropped) != 3 || delta(m, later, metricGoroutines) != -1 {
		t.Error("delta")
	}
	if scrape("") != nil {
		t.Error("scrape of no URL")
	}
}
