// Package await is the tests' one way to wait for something that happens on
// another goroutine: poll a condition until it holds or a deadline passes.
package await

import (
	"testing"
	"time"
)

// pollEvery is how often a condition is checked.
const pollEvery = 10 * time.Millisecond

// True polls cond until it holds, failing the test after d with "timed out
// after d waiting for what". Each diag function runs before the failure, to
// log what the test can see.
func True(t testing.TB, d time.Duration, what string, cond func() bool, diag ...func()) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			for _, f := range diag {
				f()
			}
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(pollEvery)
	}
}

// Value polls get until its second result is true and returns the first,
// failing the test after d like True. The failure shows the last value seen.
func Value[T any](t testing.TB, d time.Duration, what string, get func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		v, ok := get()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last seen: %+v", d, what, v)
		}
		time.Sleep(pollEvery)
	}
}
