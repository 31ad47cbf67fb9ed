package reload

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certstream/certstream/config"
)

// mtime is the last modification time write set.
var mtime = time.Now()

// write replaces the file's content and moves its mtime forward, so that
// a rewrite within the filesystem's timestamp granularity is still seen.
func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime = mtime.Add(time.Second)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

type applied struct {
	mu   sync.Mutex
	cfgs []*config.Config
}

func (a *applied) apply(c *config.Config) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfgs = append(a.cfgs, c)
}

func (a *applied) last() (*config.Config, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cfgs) == 0 {
		return nil, 0
	}
	return a.cfgs[len(a.cfgs)-1], len(a.cfgs)
}

func TestCheckAppliesRejectsAndRestoresDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "certstream.toml")
	write(t, path, "[rate_limit]\nenabled = true\nper_ip_per_sec = 5.0\n")
	var got applied
	w := New(path, nil, got.apply)
	if out := w.Check(); out != "" {
		t.Fatalf("unchanged file: %q", out)
	}

	write(t, path, "[rate_limit]\nenabled = true\nper_ip_per_sec = 7.0\n")
	if out := w.Check(); out != Applied {
		t.Fatalf("changed file: %q", out)
	}
	if c, n := got.last(); n != 1 || c.RateLimit.PerIPPerSec != 7 {
		t.Fatalf("applied %d configs, last %+v", n, c)
	}

	rejectedBefore := outcomes[Rejected].Get()
	write(t, path, "[rate_limit]\nenabled = true\nper_ip_per_sec = -1.0\n")
	if out := w.Check(); out != Rejected {
		t.Fatalf("invalid value: %q", out)
	}
	write(t, path, "[rate_limit\nbroken")
	if out := w.Check(); out != Rejected {
		t.Fatalf("syntax error: %q", out)
	}
	if out := w.Check(); out != "" {
		t.Fatalf("the same bad file again: %q (must not be reported twice)", out)
	}
	if _, n := got.last(); n != 1 {
		t.Fatalf("a rejected file was applied")
	}
	if d := outcomes[Rejected].Get() - rejectedBefore; d != 2 {
		t.Fatalf("rejections counted %d, want 2", d)
	}

	// Removing the section returns it to its defaults, the file being valid.
	write(t, path, "[auth]\nenabled = false\n")
	if out := w.Check(); out != Applied {
		t.Fatalf("section removed: %q", out)
	}
	def := config.Default()
	if c, _ := got.last(); c.RateLimit != def.RateLimit {
		t.Fatalf("rate_limit after removal %+v, want defaults %+v", c.RateLimit, def.RateLimit)
	}

	// Touched without a change: nothing.
	write(t, path, "[auth]\nenabled = false\n")
	if out := w.Check(); out != "" {
		t.Fatalf("same content: %q", out)
	}
}

func TestEnvironmentOverridesStillApply(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	write(t, path, "[rate_limit]\nburst = 3\n")
	var got applied
	w := New(path, []string{"CERTSTREAM_RATE_LIMIT_BURST=9"}, got.apply)
	write(t, path, "[rate_limit]\nburst = 4\n")
	if w.Check() != Applied {
		t.Fatal("not applied")
	}
	if c, _ := got.last(); c.RateLimit.Burst != 9 {
		t.Fatalf("burst %d, want the environment's 9", c.RateLimit.Burst)
	}
}

func TestMissingFileReportedOnceThenRecovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	write(t, path, "")
	var got applied
	w := New(path, nil, got.apply)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if out := w.Check(); out != Rejected {
		t.Fatalf("missing file: %q", out)
	}
	if out := w.Check(); out != "" {
		t.Fatalf("missing file again: %q", out)
	}
	write(t, path, "[api]\nenabled = false\n")
	if out := w.Check(); out != Applied {
		t.Fatalf("file back: %q", out)
	}
}

func TestRunPollsUntilStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	write(t, path, "")
	var got applied
	w := New(path, nil, got.apply)
	go w.Run(20 * time.Millisecond)
	write(t, path, "[api]\nenabled = false\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, _ := got.last(); c != nil {
			if c.API.Enabled {
				t.Fatal("wrong config applied")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change was not picked up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.Stop()
}
