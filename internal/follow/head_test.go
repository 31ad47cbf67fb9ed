package follow

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/fakelog"
)

// unhealthy reports whether f has failed enough times in a row.
func unhealthy(f *Follower) func(*recorder) bool {
	return func(*recorder) bool { return f.Status().ConsecutiveErrors >= unhealthyAfter }
}

// TestCursorBeyondHeadIsReported resumes from a cursor past the log's head
// (a corrupt cursor, or a log that lost entries since): the log is reported
// unhealthy with the reason and counted, nothing is delivered, the cursor
// stays, and following carries on once the log is past it again.
func TestCursorBeyondHeadIsReported(t *testing.T) {
	for _, tc := range []struct {
		name           string
		cursor         uint64
		shrink         int
		recoverLogSize int
	}{
		{"corrupt cursor", math.MaxUint64, 0, 0},
		{"log lost entries", 1000, 500, 1010},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, l := newLog(t, fakelog.RFC6962, fakelog.Faults{ShrinkBy: tc.shrink}, 1000)
			f := follower(t, l, Config{})
			rec, _ := runFor(f, tc.cursor, true, 5*time.Second, unhealthy(f))
			s := f.Status()
			if s.Health != Unhealthy || !strings.Contains(s.LastError, "beyond") || s.Next != tc.cursor {
				t.Fatalf("health %s, cursor %d, last error %q", s.Health, s.Next, s.LastError)
			}
			if rec.calls != 0 {
				t.Fatalf("%d deliveries", rec.calls)
			}
			if requests(f, "inconsistent") == 0 {
				t.Error("not counted as an inconsistent answer")
			}
			if tc.recoverLogSize == 0 {
				return
			}
			if err := l.SetFaults(fakelog.Faults{}); err != nil {
				t.Fatal(err)
			}
			if err := l.Append(tc.recoverLogSize - 1000); err != nil {
				t.Fatal(err)
			}
			rec = run(t, f, tc.cursor, true, reached(uint64(tc.recoverLogSize)))
			if got, _ := rec.state(); got[0] != tc.cursor {
				t.Fatalf("resumed at %d, want %d", got[0], tc.cursor)
			}
			if s := f.Status(); s.Health != Healthy {
				t.Fatalf("status after recovery %+v", s)
			}
		})
	}
}

// TestShrinkingTreeIsAnError follows a log whose tree then shrinks: an
// error of the log, reported and counted, while the cursor stays.
func TestShrinkingTreeIsAnError(t *testing.T) {
	_, l := newLog(t, fakelog.RFC6962, fakelog.Faults{}, 1000)
	f := follower(t, l, Config{BatchSize: 100, Concurrency: 2})
	shrunk := false
	rec, _ := runFor(f, 900, true, 10*time.Second, func(r *recorder) bool {
		if _, next := r.state(); next == 1000 && !shrunk {
			shrunk = true
			if err := l.SetFaults(fakelog.Faults{ShrinkBy: 50}); err != nil {
				t.Error(err)
			}
		}
		return shrunk && f.Status().ConsecutiveErrors >= unhealthyAfter
	})
	s := f.Status()
	if _, next := rec.state(); next != 1000 || s.Next != 1000 {
		t.Fatalf("cursor %d (status %d), want 1000", next, s.Next)
	}
	if s.Health != Unhealthy || !strings.Contains(s.LastError, "shrank") {
		t.Fatalf("health %s, last error %q", s.Health, s.LastError)
	}
	if requests(f, "inconsistent") == 0 {
		t.Error("not counted as an inconsistent answer")
	}
}
