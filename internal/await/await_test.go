package await

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records a fatal failure instead of ending
// the goroutine, so the tests can check what True and Value report.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, _ ...any) {
	r.failed = format
	panic(r)
}

func run(f func(tb testing.TB)) (r *recorder) {
	r = &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
	}()
	f(r)
	return r
}

func TestTrueReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	go func() {
		time.Sleep(30 * time.Millisecond)
		n.Store(1)
	}()
	if r := run(func(tb testing.TB) { True(tb, 5*time.Second, "n", func() bool { return n.Load() == 1 }) }); r.failed != "" {
		t.Fatalf("failed: %s", r.failed)
	}
}

func TestTrueFailsAfterTheDeadlineAndRunsDiagnostics(t *testing.T) {
	diag := false
	r := run(func(tb testing.TB) {
		True(tb, 20*time.Millisecond, "never", func() bool { return false }, func() { diag = true })
	})
	if !strings.Contains(r.failed, "timed out") || !diag {
		t.Fatalf("failure %q, diagnostics ran %v", r.failed, diag)
	}
}

func TestValue(t *testing.T) {
	i := 0
	var got int
	r := run(func(tb testing.TB) {
		got = Value(tb, 5*time.Second, "three", func() (int, bool) { i++; return i, i == 3 })
	})
	if r.failed != "" || got != 3 {
		t.Fatalf("got %d, failure %q", got, r.failed)
	}
	r = run(func(tb testing.TB) { Value(tb, 20*time.Millisecond, "never", func() (int, bool) { return 7, false }) })
	if !strings.Contains(r.failed, "last seen") {
		t.Fatalf("failure %q", r.failed)
	}
}
