package follow

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/fakelog"
	"github.com/certstream/certstream/internal/wire"
)

// recorder is a Deliver that records what it is handed.
type recorder struct {
	mu      sync.Mutex
	indices []uint64
	next    uint64
	calls   int
}

func (r *recorder) deliver(_ context.Context, ups []*wire.Update, next uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range ups {
		r.indices = append(r.indices, u.Index)
	}
	r.next = next
	r.calls++
	return nil
}

func (r *recorder) state() ([]uint64, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.indices...), r.next
}

func newLog(t *testing.T, kind fakelog.Kind, faults fakelog.Faults, size int) (*fakelog.Server, *fakelog.Log) {
	t.Helper()
	srv, err := fakelog.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	l, err := srv.AddLog(fakelog.LogConfig{Name: "x", Kind: kind, PrecertFraction: 0.5, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	if size > 0 {
		if err := l.Append(size); err != nil {
			t.Fatal(err)
		}
	}
	return srv, l
}

func follower(t *testing.T, l *fakelog.Log, cfg Config) *Follower {
	t.Helper()
	kind := KindRFC6962
	if l.Kind() == fakelog.StaticCT {
		kind = KindStaticCT
	}
	cfg.PollInterval, cfg.RetryMin, cfg.RetryMax = 20*time.Millisecond, 5*time.Millisecond, 50*time.Millisecond
	f, err := New(Log{Name: t.Name(), URL: l.URL(), Kind: kind, PublicKey: l.PublicKey()}, cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// run follows until the condition holds, failing the test after 90 s.
func run(t *testing.T, f *Follower, start uint64, known bool, until func(*recorder) bool) *recorder {
	t.Helper()
	rec, ok := runFor(f, start, known, 90*time.Second, until)
	if !ok {
		t.Fatalf("timed out: status %+v", f.Status())
	}
	return rec
}

// runFor follows until the condition holds (true) or d passes (false).
func runFor(f *Follower, start uint64, known bool, d time.Duration, until func(*recorder) bool) (*recorder, bool) {
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx, start, known, rec.deliver)
	}()
	ok := true
	for !until(rec) {
		if ctx.Err() != nil {
			ok = false
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	return rec, ok
}

// requests returns how many requests of f's log had the outcome.
func requests(f *Follower, outcome string) uint64 {
	if c, ok := f.m.requests[outcome]; ok {
		return c.Get()
	}
	return 0
}

func reached(n uint64) func(*recorder) bool {
	return func(r *recorder) bool { _, next := r.state(); return next >= n }
}

// TestNothingSkippedDespiteFaults fetches through short pages, 429s, 500s,
// truncated bodies and garbage leaves: every index is delivered once, in
// order, except the garbage ones, which are counted.
func TestNothingSkippedDespiteFaults(t *testing.T) {
	for _, kind := range []fakelog.Kind{fakelog.RFC6962, fakelog.StaticCT} {
		t.Run(kind.String(), func(t *testing.T) {
			_, l := newLog(t, kind, fakelog.Faults{PageSize: 13, RateLimitEvery: 7, OmitRetryAfter: true, ServerErrorEvery: 5,
				TruncateEvery: 9, GarbageLeafEvery: 17, GzipTiles: true}, 700)
			f := follower(t, l, Config{BatchSize: 64, Concurrency: 4})
			failedBefore := f.m.parseFailures.Get() // the registry is the process's: -count=N runs add up
			rec := run(t, f, 0, true, reached(700))
			got, next := rec.state()
			if next != 700 {
				t.Fatalf("cursor %d, want 700", next)
			}
			i := 0
			for idx := uint64(0); idx < 700; idx++ {
				if e, _ := l.Entry(int64(idx)); e.Garbage {
					continue
				}
				if i >= len(got) || got[i] != idx {
					t.Fatalf("delivery %d: got %v, want index %d", i, got[i:min(i+5, len(got))], idx)
				}
				i++
			}
			if i != len(got) {
				t.Fatalf("%d extra deliveries", len(got)-i)
			}
			if garbage, n := 700/17, f.m.parseFailures.Get()-failedBefore; n != uint64(garbage) {
				t.Fatalf("parse failures %d, want %d", n, garbage)
			}
			if f.Status().Errors == 0 {
				t.Fatal("no request failed: the faults did not fire")
			}
		})
	}
}

// TestStartsNearHeadWithoutCursor starts StartOverlap entries before the
// head when there is no saved cursor, never at 0.
func TestStartsNearHeadWithoutCursor(t *testing.T) {
	_, l := newLog(t, fakelog.RFC6962, fakelog.Faults{}, 500)
	f := follower(t, l, Config{BatchSize: 100, Concurrency: 2, StartOverlap: 10})
	rec := run(t, f, 0, false, reached(500))
	got, _ := rec.state()
	if len(got) != 10 || got[0] != 490 {
		t.Fatalf("delivered %v, want 490..499", got)
	}
}

// TestResumesAtSavedCursorAndFollowsGrowth resumes exactly at a saved
// cursor and keeps up as the log grows.
func TestResumesAtSavedCursorAndFollowsGrowth(t *testing.T) {
	_, l := newLog(t, fakelog.StaticCT, fakelog.Faults{}, 300)
	f := follower(t, l, Config{Concurrency: 3})
	go func() {
		time.Sleep(100 * time.Millisecond)
		l.Append(400)
	}()
	rec := run(t, f, 123, true, reached(700))
	got, _ := rec.state()
	if len(got) != 700-123 || got[0] != 123 || got[len(got)-1] != 699 {
		t.Fatalf("delivered %d entries from %d to %d", len(got), got[0], got[len(got)-1])
	}
	if s := f.Status(); s.Health != Healthy || s.LagEntries != 0 || s.TreeSize != 700 {
		t.Fatalf("status %+v", s)
	}
}

// TestUnreachableLogBacksOffAndKeepsItsPlace never moves the cursor while
// the log is down and reports it unhealthy.
func TestUnreachableLogBacksOffAndKeepsItsPlace(t *testing.T) {
	_, l := newLog(t, fakelog.RFC6962, fakelog.Faults{Down: true}, 100)
	f := follower(t, l, Config{})
	rec := run(t, f, 42, true, func(*recorder) bool { return f.Status().ConsecutiveErrors >= unhealthyAfter })
	if _, next := rec.state(); rec.calls != 0 || next != 0 {
		t.Fatalf("delivered while the log was down: %d calls", rec.calls)
	}
	if s := f.Status(); s.Health != Unhealthy || s.Next != 42 {
		t.Fatalf("status %+v", s)
	}
}
