package node

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/web/api"
)

// writeConfig writes cfg as a TOML file (secrets included), without the
// sections named in drop.
func writeConfig(t *testing.T, path string, cfg *config.Config, drop ...string) {
	t.Helper()
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	for _, section := range drop {
		re := regexp.MustCompile(`(?ms)^\[` + regexp.QuoteMeta(section) + `\]\n.*?(^\[|\z)`)
		out = re.ReplaceAll(out, []byte("$1"))
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// logsWith asks /api/logs with token: the status, and the number of logs
// followed when it is 200.
func logsWith(t *testing.T, n *Node, token string) (status, logs int) {
	t.Helper()
	var out struct{ Logs []api.LogStatus }
	r := get(t, base(n)+"/api/logs?token="+token)
	if r.status == 200 {
		getJSON(t, base(n)+"/api/logs?token="+token, 200, &out)
	}
	return r.status, len(out.Logs)
}

// TestHotReload changes the config file under a running node: tokens,
// connection limits and custom logs apply live; an invalid file is
// rejected (and counted) and the running configuration stays; a removed
// section returns to its defaults.
func TestHotReload(t *testing.T) {
	f := newFakeLogs(t)
	dir := t.TempDir()
	cfg := f.config(t, dir)
	all := cfg.CTLog.CustomLogs
	cfg.CTLog.CustomLogs = all[:2]
	cfg.Auth.Enabled, cfg.Auth.Tokens = true, []string{"one"}
	cfg.HotReload.Enabled, cfg.HotReload.PollIntervalSecs = true, 1
	path := filepath.Join(dir, "certstream.toml")
	writeConfig(t, path, cfg)
	loaded, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, loaded, Options{ConfigPath: path})
	defer shutdown(t, n)
	logsWith := func(token string) (int, int) { return logsWith(t, n, token) }
	if st, nlogs := logsWith("one"); st != 200 || nlogs != 2 {
		t.Fatalf("before reload: %d, %d logs", st, nlogs)
	}

	cfg.Auth.Tokens = []string{"two"}
	cfg.CTLog.CustomLogs = all
	cfg.ConnectionLimit.Enabled, cfg.ConnectionLimit.PerIP = true, 1
	writeConfig(t, path, cfg)
	await.True(t, 10*time.Second, "the new token and logs", func() bool {
		st, nlogs := logsWith("two")
		return st == 200 && nlogs == 4
	})
	if st, _ := logsWith("one"); st != 401 {
		t.Fatalf("the old token after reload: %d", st)
	}
	ws := "ws://" + n.Addr().String() + "/?token=two"
	if st, _ := dialStatus(t, websocket.DefaultDialer, ws, nil); st != 101 {
		t.Fatalf("first connection: %d", st)
	}
	if st, _ := dialStatus(t, websocket.DefaultDialer, ws, nil); st != 429 {
		t.Fatalf("second connection with per_ip = 1 reloaded: %d", st)
	}
	// The added logs are followed: their entries arrive.
	await.True(t, 20*time.Second, "the added logs to be healthy", func() bool {
		var h api.DeepHealth
		getJSON(t, base(n)+"/health/deep", 200, &h)
		return h.Logs["healthy"] == 4
	})

	rejected := `certstream_config_reloads{outcome="rejected"}`
	before := scrape(t, n, "Authorization", "Bearer two")[rejected]
	for _, bad := range []string{"[auth]\nenabled = maybe\n", "[rate_limit]\nper_ip_per_sec = -3.0\n", "not toml at all ]]]"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		await.True(t, 10*time.Second, "the invalid file to be rejected", func() bool {
			return scrape(t, n, "Authorization", "Bearer two")[rejected] > before
		})
		before++
		if st, nlogs := logsWith("two"); st != 200 || nlogs != 4 {
			t.Fatalf("after rejecting %q: %d, %d logs", bad, st, nlogs)
		}
	}

	// A valid file without [auth] and with one log fewer: auth returns to
	// its default (off), the log is dropped.
	cfg.CTLog.CustomLogs = all[:3]
	writeConfig(t, path, cfg, "auth")
	await.True(t, 10*time.Second, "auth back to its default", func() bool {
		st, nlogs := logsWith("")
		return st == 200 && nlogs == 3
	})
}

// TestHotReloadHalfWrittenFile: editors and cp pass through an empty file
// and a file cut short, both seen by a poll. Neither may open the API or
// stop the logs; a deliberate change turning auth off applies once the file
// is unchanged at the next check. The test drives the node's watcher by
// hand (its own poll is a day), so each check happens exactly when wanted.
func TestHotReloadHalfWrittenFile(t *testing.T) {
	f := newFakeLogs(t)
	dir := t.TempDir()
	cfg := f.config(t, dir)
	cfg.CTLog.CustomLogs = cfg.CTLog.CustomLogs[:2]
	cfg.Auth.Enabled, cfg.Auth.Tokens = true, []string{"one"}
	cfg.HotReload.Enabled, cfg.HotReload.PollIntervalSecs = true, 86400
	path := filepath.Join(dir, "certstream.toml")
	writeConfig(t, path, cfg)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(full, []byte("\n[auth]\n"))
	if at < 0 || !bytes.Contains(full[:at], []byte("[[ct_log.custom_logs]]")) {
		t.Fatalf("[auth] not after the custom logs:\n%s", full)
	}
	cut := full[:at+1]
	loaded, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, loaded, Options{ConfigPath: path})
	defer shutdown(t, n)
	secured := func(when string) {
		t.Helper()
		if st, _ := logsWith(t, n, ""); st != 401 {
			t.Fatalf("%s: /api/logs without a token: %d", when, st)
		}
		if st, nlogs := logsWith(t, n, "one"); st != 200 || nlogs != 2 {
			t.Fatalf("%s: /api/logs with the token: %d, %d logs", when, st, nlogs)
		}
	}
	// mtime moves forward at each write, as it would between polls.
	mtime := time.Now()
	write := func(content []byte) {
		t.Helper()
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		mtime = mtime.Add(time.Second)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	secured("at start")
	outcome := func(o string) float64 {
		return scrape(t, n, "Authorization", "Bearer one")[`certstream_config_reloads{outcome="`+o+`"}`]
	}
	rejected, deferred := outcome("rejected"), outcome("deferred")

	write(nil) // : > certstream.toml
	n.reloader.Check()
	secured("after an empty file")
	write(full)
	n.reloader.Check()

	write(cut)
	n.reloader.Check()
	secured("after a file cut before [auth]")
	write(full) // the writer finishes before the next poll
	n.reloader.Check()
	n.reloader.Check()
	secured("after the file was complete again")
	if d := outcome("rejected") - rejected; d != 1 {
		t.Errorf("rejected reloads: %v more, want 1 (the empty file)", d)
	}
	if d := outcome("deferred") - deferred; d != 1 {
		t.Errorf("deferred reloads: %v more, want 1 (the cut file)", d)
	}

	// Turning auth off on purpose: the same file at two polls.
	write(cut)
	n.reloader.Check()
	secured("at the first look at auth turned off")
	n.reloader.Check()
	if st, nlogs := logsWith(t, n, ""); st != 200 || nlogs != 2 {
		t.Fatalf("auth off, applied at the second look: %d, %d logs", st, nlogs)
	}
}
