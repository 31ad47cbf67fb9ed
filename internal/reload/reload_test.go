package reload

import (
	"os"
	"path/filepath"
	"strings"
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

// load is the configuration a node started with path runs.
func load(t *testing.T, path string, environ []string) *config.Config {
	t.Helper()
	cfg, err := config.Load(path, environ)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCheckAppliesRejectsAndRestoresDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "certstream.toml")
	write(t, path, "[rate_limit]\nenabled = true\nper_ip_per_sec = 5.0\n")
	var got applied
	w := New(path, nil, load(t, path, nil), got.apply)
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

	// Removing the section returns it to its defaults, the file being
	// valid; turning rate limiting off so waits for a second look.
	write(t, path, "[auth]\nenabled = false\n")
	if out := w.Check(); out != Deferred {
		t.Fatalf("section removed: %q", out)
	}
	if out := w.Check(); out != Applied {
		t.Fatalf("section removed, second look: %q", out)
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
	env := []string{"CERTSTREAM_RATE_LIMIT_BURST=9"}
	w := New(path, env, load(t, path, env), got.apply)
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
	w := New(path, nil, load(t, path, nil), got.apply)
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
	w := New(path, nil, load(t, path, nil), got.apply)
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

// secured is a file with auth, limits and two custom logs; [auth] comes last,
// so cutting the file before it is a valid file without auth.
const secured = `[rate_limit]
enabled = true
[connection_limit]
enabled = true
[[ct_log.custom_logs]]
name = "a"
url = "https://a.example/"
kind = "rfc6962"
[[ct_log.custom_logs]]
name = "b"
url = "https://b.example/"
kind = "rfc6962"
[auth]
enabled = true
tokens = ["t"]
`

// A file half written by an editor or cp (empty, or cut short) must not
// lower security or drop logs: an empty file is rejected, a version that
// weakens is deferred until the same content is seen at the next check.
func TestWeakeningWaitsForAStableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "certstream.toml")
	write(t, path, secured)
	var got applied
	w := New(path, nil, load(t, path, nil), got.apply)
	deferred := outcomes[Deferred].Get()

	write(t, path, "")
	if out := w.Check(); out != Rejected {
		t.Fatalf("empty file: %q", out)
	}
	cut := secured[:strings.Index(secured, "[auth]")]
	for _, half := range []string{cut, secured[:strings.Index(secured, "[[ct_log")], "[auth]\nenabled = true\ntokens = [\"t\"]\n"} {
		write(t, path, half)
		if out := w.Check(); out != Deferred {
			t.Fatalf("file cut to %q: %q, want deferred", half, out)
		}
		write(t, path, secured) // the writer finishes
		if out := w.Check(); out != "" {
			t.Fatalf("file complete again: %q", out)
		}
	}
	if _, n := got.last(); n != 0 {
		t.Fatalf("%d versions applied, want none", n)
	}
	if d := outcomes[Deferred].Get() - deferred; d != 3 {
		t.Fatalf("deferrals counted %d, want 3", d)
	}

	// Deliberately turning auth off: applied at the second look.
	write(t, path, cut)
	if out := w.Check(); out != Deferred {
		t.Fatalf("auth off: %q", out)
	}
	if out := w.Check(); out != Applied {
		t.Fatalf("auth off, same file at the next check: %q", out)
	}
	if c, n := got.last(); n != 1 || c.Auth.Enabled || len(c.CTLog.CustomLogs) != 2 {
		t.Fatalf("applied %d, last %+v", n, c)
	}
	// From there, a change that weakens nothing applies at once.
	write(t, path, cut+"[auth]\nenabled = true\ntokens = [\"u\"]\n")
	if out := w.Check(); out != Applied {
		t.Fatalf("auth back on: %q", out)
	}
}

func TestWeakens(t *testing.T) {
	base := config.Default()
	base.Auth.Enabled, base.Auth.Tokens, base.Auth.PublicHealth, base.Auth.PublicMetrics = true, []string{"t"}, false, false
	base.RateLimit.Enabled, base.ConnectionLimit.Enabled = true, true
	base.CTLog.CustomLogs = []config.CustomLog{{Name: "a", URL: "https://a.example/", Kind: config.KindRFC6962}}
	for _, c := range []struct {
		key    string
		change func(*config.Config)
	}{
		{"auth.enabled", func(c *config.Config) { c.Auth.Enabled = false }},
		{"auth.public_health", func(c *config.Config) { c.Auth.PublicHealth = true }},
		{"auth.public_metrics", func(c *config.Config) { c.Auth.PublicMetrics = true }},
		{"rate_limit.enabled", func(c *config.Config) { c.RateLimit.Enabled = false }},
		{"connection_limit.enabled", func(c *config.Config) { c.ConnectionLimit.Enabled = false }},
		{"ct_log.custom_logs", func(c *config.Config) { c.CTLog.CustomLogs = nil }},
	} {
		next := base
		c.change(&next)
		if got := weakens(&base, &next); len(got) != 1 || !strings.HasPrefix(got[0], c.key) {
			t.Errorf("%s changed: %q", c.key, got)
		}
	}
	next := base
	next.Auth.Tokens = []string{"u", "v"}
	next.CTLog.CustomLogs = append(next.CTLog.CustomLogs, config.CustomLog{Name: "b", URL: "https://b.example/", Kind: config.KindRFC6962})
	next.RateLimit.Burst = 1
	if got := weakens(&base, &next); len(got) != 0 {
		t.Errorf("harmless change: %q", got)
	}
}
