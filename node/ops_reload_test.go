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
	logsWith := func(token string) (int, int) {
		var out struct{ Logs []api.LogStatus }
		r := get(t, base(n)+"/api/logs?token="+token)
		if r.status == 200 {
			getJSON(t, base(n)+"/api/logs?token="+token, 200, &out)
		}
		return r.status, len(out.Logs)
	}
	if st, nlogs := logsWith("one"); st != 200 || nlogs != 2 {
		t.Fatalf("before reload: %d, %d logs", st, nlogs)
	}

	cfg.Auth.Tokens = []string{"two"}
	cfg.CTLog.CustomLogs = all
	cfg.ConnectionLimit.Enabled, cfg.ConnectionLimit.PerIP = true, 1
	writeConfig(t, path, cfg)
	waitFor(t, 10*time.Second, "the new token and logs", func() bool {
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
	waitFor(t, 20*time.Second, "the added logs to be healthy", func() bool {
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
		waitFor(t, 10*time.Second, "the invalid file to be rejected", func() bool {
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
	waitFor(t, 10*time.Second, "auth back to its default", func() bool {
		st, nlogs := logsWith("")
		return st == 200 && nlogs == 3
	})
}
