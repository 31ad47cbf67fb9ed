package follow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/fakelog"
)

// growing starts srv's logs growing at perSec entries a second until the
// test ends.
func growing(t *testing.T, srv *fakelog.Server, perSec float64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Run(ctx, perSec)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// TestAlignedPagesKeepUp follows a log that caps get-entries at 32 entries
// aligned to multiples of 32, as several real logs do, from an unaligned
// cursor while it grows: about one request per 32 entries, never a page
// size that collapses after a short page at a boundary.
func TestAlignedPagesKeepUp(t *testing.T) {
	const page, start, backlog = 32, 7, 2000
	srv, l := newLog(t, fakelog.RFC6962, fakelog.Faults{PageSize: page, AlignPages: true}, backlog)
	growing(t, srv, 200)
	f := follower(t, l, Config{BatchSize: 256, Concurrency: 4})
	f.cfg.PollInterval = time.Second // a poll gathers about 200 entries, as in production
	rec := run(t, f, start, true, reached(backlog+400))
	_, next := rec.state()
	st := l.Stats()
	got, polls := uint64(st.Requests[fakelog.EndpointGetEntries]), uint64(st.Requests[fakelog.EndpointGetSTH])
	// Each catch-up may split one page at its start. The windows asked
	// while the follower learns the pages (a few rounds of Concurrency)
	// may each touch a page more, and a round is in flight when the test
	// stops. Before page learning handled alignment: ~1100 requests.
	limit := (next-start)/page + polls + 6*uint64(f.cfg.Concurrency)
	t.Logf("%d get-entries requests for %d entries (%d polls)", got, next-start, polls)
	if got > limit {
		t.Errorf("%d get-entries requests for %d entries (%d polls), want at most %d", got, next-start, polls, limit)
	}
	if s := f.Status(); s.Health != Healthy {
		t.Errorf("status %+v", s)
	}
}

// TestFallingBehindIsReported follows a log that grows faster than it
// serves: the lag is reported as it is and the log is not healthy.
func TestFallingBehindIsReported(t *testing.T) {
	srv, l := newLog(t, fakelog.RFC6962, fakelog.Faults{PageSize: 8, AlignPages: true, Delay: 100 * time.Millisecond}, 100)
	growing(t, srv, 200) // it serves at most 8 entries per 100 ms
	f := follower(t, l, Config{BatchSize: 8, Concurrency: 1})
	runFor(f, 0, true, 60*time.Second, func(*recorder) bool {
		s := f.Status()
		return s.Health == Degraded || s.LagEntries > 1500
	})
	s := f.Status()
	if s.Health != Degraded || !strings.Contains(s.LastError, "behind") {
		t.Fatalf("health %s, last error %q, lag %d entries", s.Health, s.LastError, s.LagEntries)
	}
	if s.LagEntries == 0 || s.LagEntries != s.TreeSize-s.Next {
		t.Fatalf("lag %d entries, tree size %d, cursor %d", s.LagEntries, s.TreeSize, s.Next)
	}
}
