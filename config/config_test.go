package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const examplePath = "../certstream.example.toml"

func TestDefaultsValidate(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatalf("defaults do not validate:\n%v", err)
	}
	if !reflect.DeepEqual(*cfg, Default()) {
		t.Errorf("Load with no file and no env = %+v, want Default()", *cfg)
	}
}

// Every range tag must parse, or inRange would silently skip the check.
func TestRangeTagsParse(t *testing.T) {
	var walk func(rt reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if tag, ok := f.Tag.Lookup("range"); ok {
				lo, hi, err := parseRange(tag)
				if err != nil || lo == nil && hi == nil {
					t.Errorf("%s.%s: bad range tag %q: %v", rt.Name(), f.Name, tag, err)
				}
			}
			switch f.Type.Kind() {
			case reflect.Struct:
				walk(f.Type)
			case reflect.Slice:
				if f.Type.Elem().Kind() == reflect.Struct {
					walk(f.Type.Elem())
				}
			}
		}
	}
	walk(reflect.TypeFor[Config]())
}

func TestExampleValidatesAndEqualsDefaults(t *testing.T) {
	cfg, err := Load(examplePath, nil)
	if err != nil {
		t.Fatalf("example does not validate:\n%v", err)
	}
	if !reflect.DeepEqual(*cfg, Default()) {
		t.Errorf("example differs from Default():\n got %+v\nwant %+v", *cfg, Default())
	}
}

// leafKeys lists every scalar or list key of Config; fields of table arrays
// are spelled "array[].field".
func leafKeys() []string {
	var out []string
	var walk func(path string, rt reflect.Type)
	walk = func(path string, rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			key := join(path, tomlName(f))
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(key, f.Type)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				walk(key+"[]", f.Type.Elem())
			default:
				out = append(out, key)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return out
}

func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	lines := strings.Split(text, "\n")
	at := flatten(keyLines(text))
	keys := leafKeys()
	if len(keys) < 50 {
		t.Fatalf("only %d keys found; the walk is broken", len(keys))
	}
	for _, key := range keys {
		if base, field, ok := strings.Cut(key, "[]."); ok {
			// table arrays are documented in comments only
			if !strings.Contains(text, "#   "+field+" ") || !strings.Contains(text, "[["+base+"]]") {
				t.Errorf("%s: not documented in the example", key)
			}
			continue
		}
		n, ok := at[key]
		if !ok {
			t.Errorf("%s: missing from the example", key)
			continue
		}
		if n < 2 || !strings.HasPrefix(strings.TrimSpace(lines[n-2]), "#") {
			t.Errorf("%s (line %d): not preceded by a comment", key, n)
		}
	}
}

func TestEnvNamesUnique(t *testing.T) {
	cfg := Default()
	fields := envFields(reflect.ValueOf(&cfg).Elem())
	want := 0
	for _, k := range leafKeys() {
		if !strings.Contains(k, "[]") {
			want++
		}
	}
	if len(fields) != want {
		t.Errorf("%d env names for %d keys: some collide", len(fields), want)
	}
	for _, name := range []string{"CERTSTREAM_SERVER_PORT", "CERTSTREAM_DELTA_SINK_ENABLED",
		"CERTSTREAM_CT_LOG_BATCH_SIZE", "CERTSTREAM_STREAMS_DOMAINS_ONLY_ENABLED"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("no env variable %s", name)
		}
	}
}

func TestRenderMasksSecretsAndRoundTrips(t *testing.T) {
	cfg := Default()
	cfg.Auth.Enabled = true
	cfg.Auth.Tokens = []string{"tok-one", "tok-two"}
	cfg.Admin.Enabled = true
	cfg.Admin.Token = "adm1n-secret"
	cfg.Server.TrustedProxies = []string{"10.0.0.0/8"}
	cfg.CTLog.CustomLogs = []CustomLog{{Name: "x", URL: "https://x.example/", Kind: KindStaticCT, Key: testKey(t)}}

	out, err := cfg.TOML()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, secret := range []string{"tok-one", "tok-two", "adm1n-secret"} {
		if strings.Contains(text, secret) {
			t.Errorf("rendered config leaks %q:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, `tokens = ["***", "***"]`) || !strings.Contains(text, `token = "***"`) {
		t.Errorf("secrets not shown as ***:\n%s", text)
	}
	if cfg.Auth.Tokens[0] != "tok-one" || cfg.Admin.Token != "adm1n-secret" {
		t.Errorf("masking changed the original: %v %q", cfg.Auth.Tokens, cfg.Admin.Token)
	}

	path := filepath.Join(t.TempDir(), "rendered.toml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path, nil)
	if err != nil {
		t.Fatalf("rendered config does not load:\n%v\n%s", err, text)
	}
	if want := cfg.Masked(); !reflect.DeepEqual(*back, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *back, want)
	}
}

func TestMaskLeavesEmptySecrets(t *testing.T) {
	m := Default().Masked()
	if m.Admin.Token != "" || len(m.Auth.Tokens) != 0 {
		t.Errorf("empty secrets became %q %v", m.Admin.Token, m.Auth.Tokens)
	}
}

func TestHelpers(t *testing.T) {
	cfg := Default()
	if got := cfg.CTLog.PollInterval().Milliseconds(); got != int64(cfg.CTLog.PollIntervalMS) {
		t.Errorf("PollInterval = %dms", got)
	}
	if got := cfg.Clients.Heartbeat().Seconds(); got != float64(cfg.Clients.HeartbeatSecs) {
		t.Errorf("Heartbeat = %vs", got)
	}
	if got := cfg.Clients.CoalesceWindow().Milliseconds(); got != int64(cfg.Clients.CoalesceMS) || got == 0 {
		t.Errorf("CoalesceWindow = %dms", got)
	}
	cfg.Server.Host, cfg.Server.Port = "::1", 9000
	if got := cfg.Server.Addr(); got != "[::1]:9000" {
		t.Errorf("Addr = %q", got)
	}
	cfg.Server.TrustedProxies = []string{"10.1.2.3/8", "192.0.2.7", "bad"}
	got := cfg.Server.TrustedProxyPrefixes()
	if len(got) != 2 || got[0].String() != "10.0.0.0/8" || got[1].String() != "192.0.2.7/32" {
		t.Errorf("TrustedProxyPrefixes = %v", got)
	}
}

func TestCustomLogPublicKey(t *testing.T) {
	if pub, err := (CustomLog{Key: testKey(t)}).PublicKey(); err != nil || pub == nil {
		t.Errorf("PublicKey = %v, %v", pub, err)
	}
	if pub, err := (CustomLog{}).PublicKey(); err != nil || pub != nil {
		t.Errorf("no key: PublicKey = %v, %v", pub, err)
	}
	for _, bad := range []string{"!!", "AAEC"} {
		if _, err := (CustomLog{Key: bad}).PublicKey(); err == nil {
			t.Errorf("PublicKey(%q) succeeded", bad)
		}
	}
}

func TestCoalescingAndPollingKeys(t *testing.T) {
	cfg, err := Load("", []string{"CERTSTREAM_CLIENTS_COALESCE_MS=0", "CERTSTREAM_CLIENTS_COALESCE_MAX_MESSAGES=32",
		"CERTSTREAM_CT_LOG_POLL_IN_STEP=false"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Clients.CoalesceWindow() != 0 || cfg.Clients.CoalesceMaxMessages != 32 || cfg.CTLog.PollInStep {
		t.Errorf("clients %+v, poll_in_step %v", cfg.Clients, cfg.CTLog.PollInStep)
	}
	for _, env := range []string{"CERTSTREAM_CLIENTS_COALESCE_MS=1001", "CERTSTREAM_CLIENTS_COALESCE_MS=-1",
		"CERTSTREAM_CLIENTS_COALESCE_MAX_MESSAGES=0"} {
		if _, err := Load("", []string{env}); err == nil {
			t.Errorf("%s validated", env)
		}
	}
}
