package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/certstream/certstream/web/api"
)

// runValidate runs the subcommand in an empty working directory with no
// CERTSTREAM_* variables set except those given.
func runValidate(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(t.TempDir())
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "CERTSTREAM_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	code = runValidateConfig(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "certstream.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidateConfigDefaults(t *testing.T) {
	code, out, errOut := runValidate(t, nil)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"file: none, defaults", "[server]", "port = 8080", "[delta_sink]", `compression = "zstd"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestValidateConfigMasksSecrets(t *testing.T) {
	path := write(t, "[auth]\nenabled = true\ntokens = [\"alpha-token\", \"beta-token\"]\n[server]\nport = 9443\n")
	code, out, errOut := runValidate(t, map[string]string{
		"CERTSTREAM_ADMIN_ENABLED": "true",
		"CERTSTREAM_ADMIN_TOKEN":   "admin-secret",
	}, "--config", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	for _, secret := range []string{"alpha-token", "beta-token", "admin-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("output leaks %q", secret)
		}
	}
	for _, want := range []string{"file: " + path, "port = 9443", `tokens = ["***", "***"]`, `token = "***"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestValidateConfigReportsEveryProblem(t *testing.T) {
	path := write(t, `[server]
port = 0
colour = "blue"
[clients]
heartbeat_secs = 20
[[ct_log.custom_logs]]
name = "x"
url = "https://x.example/"
kind = "merkle"
key = "bm90IGEga2V5"
`)
	code, out, errOut := runValidate(t, map[string]string{"CERTSTREAM_CONFIG": path, "CERTSTREAM_DEDUP_TTL_SECS": "soon"})
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	want := []string{
		path + ":2: server.port: must be between 1 and 65535, got 0",
		path + ":3: server.colour: unknown key",
		path + ":5: clients.heartbeat_secs: must be between 1 and 14, got 20",
		path + `:9: ct_log.custom_logs[0].kind: must be one of ["rfc6962" "static-ct"], got "merkle"`,
		path + ":10: ct_log.custom_logs[0].key: not a PKIX public key",
		`env CERTSTREAM_DEDUP_TTL_SECS: dedup.ttl_secs: expected an integer, got "soon"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(want), errOut)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	fileLine := regexp.MustCompile(`^` + regexp.QuoteMeta(path) + `:\d+: \S+: .+`)
	for _, l := range lines[:5] {
		if !fileLine.MatchString(l) {
			t.Errorf("%q is not <file>:<line>: <key>: <problem>", l)
		}
	}
}

func TestValidateConfigSyntaxError(t *testing.T) {
	path := write(t, "[server]\nport = = 1\n")
	code, _, errOut := runValidate(t, nil, "--config", path)
	if code != 1 || !regexp.MustCompile(`^`+regexp.QuoteMeta(path)+`:2:\d+: .*syntax`).MatchString(errOut) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestValidateConfigMissingFile(t *testing.T) {
	code, out, errOut := runValidate(t, nil, "--config", "/nonexistent/certstream.toml")
	if code != 1 || out != "" || !strings.Contains(errOut, "/nonexistent/certstream.toml") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestValidateConfigUsage(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"extra-arg"}} {
		code, out, errOut := runValidate(t, nil, args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "certstream validate-config: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if code, _, _ := runValidate(t, nil, "-h"); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}

// Hostile or mistaken files that used to validate: each problem names the
// file, line and key.
func TestValidateConfigRefusesHostileFiles(t *testing.T) {
	logs := `[[ct_log.custom_logs]]
name = "a"
url = "https://ct.example/log"
kind = "rfc6962"
[[ct_log.custom_logs]]
name = "b"
url = "https://ct.example/log/"
kind = "rfc6962"
[[ct_log.custom_logs]]
name = "c"
url = "https://me:pw@ct2.example/"
kind = "rfc6962"
`
	for _, c := range []struct {
		name, doc, want string
	}{
		{"NaN rate", "[rate_limit]\nper_ip_per_sec = nan\n", ":2: rate_limit.per_ip_per_sec: must be a finite number"},
		{"NaN drop ratio", "[clients]\nmax_drop_ratio = nan\n", ":2: clients.max_drop_ratio: must be a finite number"},
		{"same log twice", logs, ":7: ct_log.custom_logs[1].url: same log as ct_log.custom_logs[0].url"},
		{"credentials", logs, ":11: ct_log.custom_logs[2].url: must not contain credentials"},
		{"admin token is a client token", "[auth]\ntokens = [\"t\"]\n[admin]\nenabled = true\ntoken = \"t\"\n",
			":5: admin.token: must differ from every auth.tokens entry"},
		{"state file is a directory", "[ct_log]\nstate_file = \"/\"\n", ":2: ct_log.state_file: is a directory"},
		{"nested arrays", "x = " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n", ":1: x: nested deeper than"},
		{"nested tables", "\n[" + strings.Repeat("t.", 2999) + "t]\n", ":2: t: nested deeper than"},
	} {
		path := write(t, c.doc)
		code, _, errOut := runValidate(t, nil, "--config", path)
		if code != 1 || !strings.Contains(errOut, path+c.want) {
			t.Errorf("%s: exit %d, want a line with %q in:\n%s", c.name, code, path+c.want, errOut)
		}
	}
}

// metrics.path may not take any route the node serves.
func TestValidateConfigMetricsPathNotARoute(t *testing.T) {
	for _, route := range []string{"/", "/full-stream", "/domains-only", "/sse", api.PathHealth, api.PathHealthDeep,
		api.PathStats, api.PathLogs, api.PathCertPrefix + "ab", api.PathExample, api.PathAdmin, api.PathAdminActors} {
		code, _, errOut := runValidate(t, map[string]string{"CERTSTREAM_METRICS_PATH": route})
		if code != 1 || !strings.Contains(errOut, "metrics.path: \""+route+"\" is the route of") {
			t.Errorf("metrics.path %q: exit %d, %s", route, code, errOut)
		}
	}
}
