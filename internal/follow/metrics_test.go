package follow

import (
	"fmt"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"github.com/certstream/certstream/internal/ctclient"
)

// Every kind of failed request is counted under its own outcome (a DNS
// failure as "dns", not as a timeout).
func TestEveryKindHasAnOutcome(t *testing.T) {
	m := NewMetrics("outcomes test")
	for k := ctclient.RateLimited; k <= ctclient.DNS; k++ {
		c := metrics.GetOrCreateCounter(fmt.Sprintf(`certstream_ct_requests_total{log="outcomes test",outcome=%q}`, k))
		before := c.Get() // the registry is the process's: -count=N runs add up
		m.request(&ctclient.Error{Op: "get-sth", Kind: k})
		if n := c.Get() - before; n != 1 {
			t.Errorf("a %s failure counted %d times under outcome %q", k, n, k)
		}
	}
}
