package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testKey returns a fresh base64 SubjectPublicKeyInfo.
func testKey(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v (%T) is not *Problems", err, err)
	}
	return ps.List
}

// want is an expected problem: where, which key, and part of the message.
type want struct {
	file string
	line int
	key  string
	msg  string
}

// checkProblems requires exactly the wanted problems, in any order.
func checkProblems(t *testing.T, got []Problem, wants []want) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range wants {
		found := false
		for i, p := range got {
			if !used[i] && p.File == w.file && p.Line == w.line && p.Key == w.key && strings.Contains(p.Msg, w.msg) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing problem %s:%d: %s: ...%s...", w.file, w.line, w.key, w.msg)
		}
	}
	for i, p := range got {
		if !used[i] {
			t.Errorf("unexpected problem %s", p)
		}
	}
}

func TestBrokenFileReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	key := testKey(t)
	path := writeFile(t, dir, "broken.toml", `[server]
port = 70000
hots = "x"
trusted_proxies = [
  "10.0.0.0/8",
  "not-a-cidr",
]
tls_cert = "`+filepath.Join(dir, "missing.pem")+`"

[clients]
heartbeat_secs = "ten"
max_drop_ratio = 1.5

[[ct_log.custom_logs]]
name = "a"
url = "https://a.example/"
kind = "tiles"
key = "%%%"

[[ct_log.custom_logs]]
name = "b"
url = "ftp://b.example/"
kind = "static-ct"
key = "aGVsbG8="

[[ct_log.custom_logs]]
name = "a"
url = "https://c.example/"
kind = "rfc6962"
key = "`+key+`"
extra = true

[admin]
enabled = true

[bogus]
x = 1

[streams]
full = { enabled = "yes" }
`)
	_, err := Load(path, nil)
	if err == nil {
		t.Fatal("broken file loaded without error")
	}
	got := problemsOf(t, err)
	checkProblems(t, got, []want{
		{path, 2, "server.port", "between 1 and 65535, got 70000"},
		{path, 3, "server.hots", `unknown key (did you mean "host"?)`},
		{path, 6, "server.trusted_proxies[1]", `not a CIDR or IP address: "not-a-cidr"`},
		{path, 8, "server.tls_cert", "no such file"},
		{path, 8, "server.tls_key", "required when server.tls_cert is set"},
		{path, 11, "clients.heartbeat_secs", `expected an integer, got string "ten"`},
		{path, 12, "clients.max_drop_ratio", "between 0 and 1, got 1.5"},
		{path, 17, "ct_log.custom_logs[0].kind", `must be one of ["rfc6962" "static-ct"], got "tiles"`},
		{path, 18, "ct_log.custom_logs[0].key", "not valid base64"},
		{path, 22, "ct_log.custom_logs[1].url", "scheme must be http or https"},
		{path, 24, "ct_log.custom_logs[1].key", "not a PKIX public key"},
		{path, 27, "ct_log.custom_logs[2].name", `duplicate of ct_log.custom_logs[0].name "a"`},
		{path, 31, "ct_log.custom_logs[2].extra", "unknown key"},
		{path, 34, "admin.token", "required when admin.enabled is true"},
		{path, 36, "bogus", "unknown key"},
		{path, 40, "streams.full.enabled", `expected a boolean, got string "yes"`},
	})
	// Sorted by line, and each formatted as <file>:<line>: <key>: <problem>.
	for i, p := range got {
		if i > 0 && p.Line < got[i-1].Line {
			t.Errorf("problem %d (line %d) after line %d: not sorted", i, p.Line, got[i-1].Line)
		}
		if prefix := fmt.Sprintf("%s:%d: %s: ", path, p.Line, p.Key); !strings.HasPrefix(p.String(), prefix) {
			t.Errorf("%q does not start with %q", p.String(), prefix)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(got) {
		t.Errorf("Error() has %d lines for %d problems", n, len(got))
	}
}

func TestSyntaxErrorHasLineAndColumn(t *testing.T) {
	path := writeFile(t, t.TempDir(), "syntax.toml", "[server]\nport = 8080\nhost = \"unterminated\n")
	_, err := Load(path, nil)
	got := problemsOf(t, err)
	if len(got) != 1 {
		t.Fatalf("want 1 problem, got %v", got)
	}
	p := got[0]
	if p.File != path || p.Line != 3 || p.Col == 0 || !strings.Contains(p.Msg, "syntax") {
		t.Errorf("syntax problem = %+v", p)
	}
	if !strings.HasPrefix(p.String(), fmt.Sprintf("%s:3:%d: ", path, p.Col)) {
		t.Errorf("String() = %q", p.String())
	}
}

func TestUnreadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	got := problemsOf(t, func() error { _, err := Load(path, nil); return err }())
	if len(got) != 1 || got[0].File != path || !strings.Contains(got[0].Msg, "no such file") {
		t.Errorf("problems = %v", got)
	}
}

func TestEnvOverrides(t *testing.T) {
	file := writeFile(t, t.TempDir(), "c.toml", "[server]\nport = 9000\n[ct_log]\nbatch_size = 100\n")
	cases := []struct {
		env  string
		get  func(*Config) any
		want any
	}{
		{"CERTSTREAM_SERVER_PORT=9100", func(c *Config) any { return c.Server.Port }, 9100},
		{"CERTSTREAM_CT_LOG_BATCH_SIZE=512", func(c *Config) any { return c.CTLog.BatchSize }, 512},
		{"CERTSTREAM_DELTA_SINK_ENABLED=true", func(c *Config) any { return c.DeltaSink.Enabled }, true},
		{"CERTSTREAM_STREAMS_FULL_ENABLED=false", func(c *Config) any { return c.Streams.Full.Enabled }, false},
		{"CERTSTREAM_CT_LOG_USER_AGENT=probe/2 (+mailto:x@example.com)", func(c *Config) any { return c.CTLog.UserAgent }, "probe/2 (+mailto:x@example.com)"},
		{"CERTSTREAM_CLIENTS_MAX_DROP_RATIO=0.25", func(c *Config) any { return c.Clients.MaxDropRatio }, 0.25},
		{"CERTSTREAM_SERVER_TRUSTED_PROXIES=10.0.0.0/8, 192.0.2.1", func(c *Config) any { return c.Server.TrustedProxies }, []string{"10.0.0.0/8", "192.0.2.1"}},
		{"CERTSTREAM_AUTH_TOKENS=", func(c *Config) any { return c.Auth.Tokens }, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.env, func(t *testing.T) {
			cfg, err := Load(file, []string{"HOME=/x", tc.env})
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(cfg); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
	// The file still applies where the environment says nothing.
	cfg, err := Load(file, []string{"CERTSTREAM_CT_LOG_BATCH_SIZE=512"})
	if err != nil || cfg.Server.Port != 9000 {
		t.Errorf("file value lost: %v %v", cfg, err)
	}
}

func TestEnvProblems(t *testing.T) {
	file := writeFile(t, t.TempDir(), "c.toml", "[clients]\nheartbeat_secs = 12\n")
	_, err := Load(file, []string{
		"CERTSTREAM_SERVER_PORT=eighty",
		"CERTSTREAM_AUTH_ENABLED=maybe",
		"CERTSTREAM_CLIENTS_MAX_DROP_RATIO=half",
		"CERTSTREAM_CLIENTS_HEARTBEAT_SECS=15",
		"CERTSTREAM_SERVER_PROT=1",
		"CERTSTREAM_CONFIG=/ignored/here",
		"OTHER_VAR=1",
	})
	checkProblems(t, problemsOf(t, err), []want{
		{"env CERTSTREAM_SERVER_PORT", 0, "server.port", `expected an integer, got "eighty"`},
		{"env CERTSTREAM_AUTH_ENABLED", 0, "auth.enabled", `expected a boolean (true or false), got "maybe"`},
		{"env CERTSTREAM_CLIENTS_MAX_DROP_RATIO", 0, "clients.max_drop_ratio", `expected a number, got "half"`},
		{"env CERTSTREAM_CLIENTS_HEARTBEAT_SECS", 0, "clients.heartbeat_secs", "between 1 and 14, got 15"},
		{"env CERTSTREAM_SERVER_PROT", 0, "", "unknown configuration variable"},
	})
}

// A requirement on a key left at its default points at the key that set it up.
func TestDependentProblemsFromEnv(t *testing.T) {
	_, err := Load("", []string{"CERTSTREAM_AUTH_ENABLED=true", "CERTSTREAM_ADMIN_ENABLED=1"})
	checkProblems(t, problemsOf(t, err), []want{
		{"env CERTSTREAM_AUTH_ENABLED", 0, "auth.tokens", "at least one token"},
		{"env CERTSTREAM_ADMIN_ENABLED", 0, "admin.token", "required when admin.enabled is true"},
	})
}

func TestMoreValidation(t *testing.T) {
	dir := t.TempDir()
	cert := writeFile(t, dir, "cert.pem", "x")
	path := writeFile(t, dir, "v.toml", `[server]
host = "bad host!"
tls_cert = "`+cert+`"
tls_key = "`+dir+`"
[ct_log]
log_list_url = "https://"
retry_initial_ms = 5000
retry_max_ms = 1000
user_agent = " "
[[ct_log.custom_logs]]
url = "https://x.example/"
kind = "rfc6962"
[connection_limit]
max_connections = 10
per_ip = 11
[metrics]
path = "metrics"
[delta_sink]
compression = "lz4"
`)
	_, err := Load(path, []string{"CERTSTREAM_AUTH_TOKENS=good, "})
	checkProblems(t, problemsOf(t, err), []want{
		{path, 2, "server.host", `not an IP address or host name: "bad host!"`},
		{path, 4, "server.tls_key", "is a directory"},
		{path, 6, "ct_log.log_list_url", "URL has no host"},
		{path, 8, "ct_log.retry_max_ms", "at least ct_log.retry_initial_ms (5000), got 1000"},
		{path, 9, "ct_log.user_agent", "must not be empty"},
		{path, 10, "ct_log.custom_logs[0].name", "required"},
		{path, 15, "connection_limit.per_ip", "must not exceed connection_limit.max_connections (10), got 11"},
		{path, 17, "metrics.path", "absolute URL path"},
		{path, 19, "delta_sink.compression", `must be one of ["zstd" "snappy" "gzip" "none"], got "lz4"`},
		{"env CERTSTREAM_AUTH_TOKENS", 0, "auth.tokens[1]", "non-empty"},
	})
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"port", "port", 0}, {"prot", "port", 2}, {"compresion", "compression", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestFindFileOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(EnvConfigFile, "")
	flagFile := writeFile(t, dir, "flag.toml", "")
	envFile := writeFile(t, dir, "env.toml", "")
	missing := filepath.Join(dir, "missing.toml")

	check := func(name, flagPath, envPath, wantPath string, wantErr bool) {
		t.Helper()
		got, err := findFile(flagPath, envPath)
		if got != wantPath || (err != nil) != wantErr {
			t.Errorf("%s: findFile(%q) with $%s=%q = %q, %v; want %q, error %v",
				name, flagPath, EnvConfigFile, envPath, got, err, wantPath, wantErr)
		}
	}
	check("nothing", "", "", "", false)
	writeFile(t, dir, DefaultFile, "")
	check("working directory", "", "", DefaultFile, false)
	check("env over cwd", "", envFile, envFile, false)
	check("flag over env", flagFile, envFile, flagFile, false)
	check("missing flag file", missing, envFile, "", true)
	check("missing env file", "", missing, "", true)
	check("directory", dir, "", "", true)
}

func TestLoadNamed(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := writeFile(t, dir, "n.toml", "[server]\nport = 7000\n")
	cfg, used, err := LoadNamed("", []string{EnvConfigFile + "=" + file})
	if err != nil || used != file || cfg.Server.Port != 7000 {
		t.Errorf("LoadNamed via env = %v, %q, %v", cfg, used, err)
	}
	cfg, used, err = LoadNamed("", nil)
	if err != nil || used != "" || !reflect.DeepEqual(*cfg, Default()) {
		t.Errorf("LoadNamed with nothing = %v, %q, %v", cfg, used, err)
	}
	_, _, err = LoadNamed(filepath.Join(dir, "absent.toml"), nil)
	if got := problemsOf(t, err); len(got) != 1 || !strings.Contains(got[0].Msg, "--config") {
		t.Errorf("missing file problems = %v", got)
	}
}
