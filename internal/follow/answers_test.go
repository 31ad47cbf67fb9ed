package follow

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/fakelog"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loggedFollower is a follower of l whose log lines (Info and above) go to
// the returned buffer.
func loggedFollower(t *testing.T, l *fakelog.Log, cfg Config) (*Follower, *syncBuffer) {
	t.Helper()
	var buf syncBuffer
	cfg.PollInterval, cfg.RetryMin, cfg.RetryMax = 20*time.Millisecond, 5*time.Millisecond, 50*time.Millisecond
	f, err := New(Log{Name: t.Name(), URL: l.URL(), Kind: KindRFC6962}, cfg,
		Deps{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	return f, &buf
}

// TestErrorAnswersStayPrivate: what a log answers with an error status is
// neither in the follower's status (published by /api/logs) nor in its
// log lines above debug level.
func TestErrorAnswersStayPrivate(t *testing.T) {
	const secret = "internal-token-3f9a"
	_, l := newLog(t, fakelog.RFC6962, fakelog.Faults{Reject: http.StatusForbidden, RejectBody: secret + " denied"}, 10)
	f, logged := loggedFollower(t, l, Config{})
	runFor(f, 0, true, 5*time.Second, unhealthy(f))
	s := f.Status()
	if s.Health != Unhealthy || strings.Contains(s.LastError, secret) || !strings.Contains(s.LastError, "403") {
		t.Fatalf("health %s, last error %q", s.Health, s.LastError)
	}
	if strings.Contains(logged.String(), secret) {
		t.Fatalf("the answer's body is logged above debug level:\n%s", logged)
	}
}

// TestRedirectElsewhereIsRefused: a log answering 302 to another origin is
// not followed there; the answer is counted and reported.
func TestRedirectElsewhereIsRefused(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(other.Close)
	_, l := newLog(t, fakelog.RFC6962, fakelog.Faults{RedirectTo: other.URL}, 10)
	f, _ := loggedFollower(t, l, Config{})
	runFor(f, 0, true, 5*time.Second, unhealthy(f))
	s := f.Status()
	if s.Health != Unhealthy || !strings.Contains(s.LastError, "redirect") || strings.Contains(s.LastError, other.URL) {
		t.Fatalf("health %s, last error %q", s.Health, s.LastError)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the other server saw %d requests", n)
	}
	if requests(f, "redirect") == 0 {
		t.Error("redirect not counted")
	}
}

// TestOversizedPageKeepsItsPlace: a get-entries body larger than its
// entries can need is refused and counted, and the log becomes unhealthy
// (its get-sth answers do not hide that it makes no progress); the cursor
// stays and following carries on once the log answers sensibly.
func TestOversizedPageKeepsItsPlace(t *testing.T) {
	_, l := newLog(t, fakelog.RFC6962, fakelog.Faults{PadBody: 3 << 20}, 200)
	f := follower(t, l, Config{BatchSize: 4, Concurrency: 2})
	rec, _ := runFor(f, 100, true, 5*time.Second, unhealthy(f))
	if s := f.Status(); rec.calls != 0 || s.Next != 100 || s.Health != Unhealthy || !strings.Contains(s.LastError, "too_large") {
		t.Fatalf("%d deliveries, cursor %d, health %s, last error %q", rec.calls, s.Next, s.Health, s.LastError)
	}
	if requests(f, "too_large") == 0 {
		t.Error("oversized answers not counted")
	}
	if err := l.SetFaults(fakelog.Faults{}); err != nil {
		t.Fatal(err)
	}
	rec = run(t, f, 100, true, reached(200))
	if got, _ := rec.state(); len(got) != 100 || got[0] != 100 {
		t.Fatalf("delivered %d entries from %d, want 100..199", len(got), got[0])
	}
}

// A log that turns unhealthy is logged once when it does (not only at its
// first failure), and once more when it recovers.
func TestHealthChangesAreLogged(t *testing.T) {
	_, l := newLog(t, fakelog.RFC6962, fakelog.Faults{}, 10)
	f, logged := loggedFollower(t, l, Config{})
	phase := 0
	run(t, f, 0, true, func(*recorder) bool {
		switch s := f.Status(); {
		case phase == 0 && s.Health == Healthy:
			phase++
			l.UpdateFaults(func(fl *fakelog.Faults) { fl.Down = true })
		case phase == 1 && s.Health == Unhealthy:
			phase++
			l.UpdateFaults(func(fl *fakelog.Faults) { fl.Down = false })
		case phase == 2 && s.Health == Healthy:
			return true
		}
		return false
	})
	out := logged.String()
	if n := strings.Count(out, "log unhealthy"); n != 1 {
		t.Errorf("%d \"log unhealthy\" lines, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "log recovered"); n != 1 {
		t.Errorf("%d \"log recovered\" lines, want 1:\n%s", n, out)
	}
}
