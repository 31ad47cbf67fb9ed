package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/fixtures"
)

// binary is the certstream binary built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "certstream-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "certstream")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBinary runs the built binary with stdin and returns stdout, stderr and the exit code.
func runBinary(t *testing.T, stdin []byte, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func fourEntries(t *testing.T) []byte {
	data, err := os.ReadFile(fixtures.Path(t, "rfc6962", "ctgo_scanner_FourEntries.get-entries.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type message struct {
	MessageType string `json:"message_type"`
	Data        struct {
		UpdateType string          `json:"update_type"`
		CertIndex  uint64          `json:"cert_index"`
		CertLink   string          `json:"cert_link"`
		Seen       json.RawMessage `json:"seen"`
		Source     struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"source"`
		LeafCert struct {
			AsDER      string   `json:"as_der"`
			AllDomains []string `json:"all_domains"`
		} `json:"leaf_cert"`
		Chain []json.RawMessage `json:"chain"`
	} `json:"data"`
}

func TestDecodeCommandFull(t *testing.T) {
	stdout, stderr, code := runBinary(t, fourEntries(t), nil, "decode", "--format", "full",
		"--log-name", "Test Log", "--log-url", "https://ct.example/log/", "--start", "1000", "--seen", "1700000000.5")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4:\n%s", len(lines), stdout)
	}
	for i, line := range lines {
		var m message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		idx := uint64(1000 + i)
		if m.MessageType != "certificate_update" || m.Data.CertIndex != idx {
			t.Errorf("line %d: type %q index %d", i, m.MessageType, m.Data.CertIndex)
		}
		wantLink := "https://ct.example/log/ct/v1/get-entries?start=" + itoa(idx) + "&end=" + itoa(idx)
		if m.Data.CertLink != wantLink {
			t.Errorf("line %d: cert_link %q, want %q", i, m.Data.CertLink, wantLink)
		}
		if m.Data.Source.Name != "Test Log" || m.Data.Source.URL != "https://ct.example/log/" {
			t.Errorf("line %d: source %+v", i, m.Data.Source)
		}
		if string(m.Data.Seen) != "1700000000.5" {
			t.Errorf("line %d: seen %s", i, m.Data.Seen)
		}
		if m.Data.LeafCert.AsDER == "" || m.Data.Chain == nil {
			t.Errorf("line %d: full format must carry as_der and chain", i)
		}
	}
}

func TestDecodeCommandLinkJoinsWithOneSlash(t *testing.T) {
	for _, url := range []string{"https://ct.example/log", "https://ct.example/log/"} {
		stdout, _, code := runBinary(t, fourEntries(t), nil, "decode", "--format", "lite",
			"--log-name", "L", "--log-url", url, "--start", "0", "--seen", "1")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		var m message
		json.Unmarshal([]byte(strings.SplitN(stdout, "\n", 2)[0]), &m)
		if m.Data.CertLink != "https://ct.example/log/ct/v1/get-entries?start=0&end=0" {
			t.Errorf("url %q: cert_link %q", url, m.Data.CertLink)
		}
		if m.Data.Source.URL != url {
			t.Errorf("source.url must be verbatim: %q", m.Data.Source.URL)
		}
		if m.Data.LeafCert.AsDER != "" || m.Data.Chain != nil {
			t.Errorf("lite format must not carry as_der or chain")
		}
	}
}

func TestDecodeCommandDomains(t *testing.T) {
	stdout, _, code := runBinary(t, fourEntries(t), nil, "decode", "--format", "domains",
		"--log-name", "L", "--log-url", "https://x/", "--start", "0")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if !strings.HasPrefix(line, `{"message_type":"dns_entries","data":[`) {
			t.Fatalf("not a dns_entries message: %s", line)
		}
	}
}

func TestDecodeCommandBadEntry(t *testing.T) {
	var resp map[string][]map[string]string
	if err := json.Unmarshal(fourEntries(t), &resp); err != nil {
		t.Fatal(err)
	}
	resp["entries"][2]["leaf_input"] = "AAAA" // valid base64, garbage MerkleTreeLeaf
	in, _ := json.Marshal(resp)
	stdout, stderr, code := runBinary(t, in, nil, "decode", "--log-name", "L", "--log-url", "https://x/", "--start", "50")
	if code == 0 {
		t.Fatal("a bad entry must give a non-zero exit status")
	}
	if !strings.Contains(stderr, "52") {
		t.Fatalf("stderr must name the bad entry's index 52: %q", stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 3 {
		t.Fatalf("the other 3 entries must still print, got %d lines", n)
	}
	for _, idx := range []string{`"cert_index":50,`, `"cert_index":51,`, `"cert_index":53,`} {
		if !strings.Contains(stdout, idx) {
			t.Errorf("missing %s", idx)
		}
	}
}

func TestDecodeCommandUsageErrors(t *testing.T) {
	if _, _, code := runBinary(t, nil, nil, "decode", "--format", "xml", "--log-name", "L", "--log-url", "u"); code != 2 {
		t.Errorf("bad format: exit %d, want 2", code)
	}
	if _, _, code := runBinary(t, nil, nil, "decode", "--format", "full"); code != 2 {
		t.Errorf("missing log name/url: exit %d, want 2", code)
	}
	if _, stderr, code := runBinary(t, []byte("{not json"), nil, "decode", "--log-name", "L", "--log-url", "u"); code != 1 || stderr == "" {
		t.Errorf("garbage stdin: exit %d, stderr %q", code, stderr)
	}
}

func TestValidateConfigCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("[auth]\nenabled = true\ntokens = [\"s3cret-token\"]\n"), 0o644)
	stdout, stderr, code := runBinary(t, nil, nil, "validate-config", "--config", good)
	if code != 0 {
		t.Fatalf("good file: exit %d, stderr %s", code, stderr)
	}
	if strings.Contains(stdout, "s3cret-token") || !strings.Contains(stdout, "port = 8080") {
		t.Fatalf("effective config must show defaults and mask secrets:\n%s", stdout)
	}

	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte(`[server]
port = 70000
colour = "blue"

[ct_log]
batch_size = "many"

[[ct_log.custom_logs]]
name = "x"
url = "https://x.example/"
kind = "carrier-pigeon"
`), 0o644)
	_, stderr, code = runBinary(t, nil, nil, "validate-config", "--config", bad)
	if code != 1 {
		t.Fatalf("bad file: exit %d, want 1", code)
	}
	for _, want := range []string{"server.port", "server.colour", "ct_log.batch_size", "kind", "bad.toml:2", "bad.toml:3"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("problems must mention %q:\n%s", want, stderr)
		}
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n") + 1; n < 4 {
		t.Errorf("want every problem on its own line (>= 4), got %d:\n%s", n, stderr)
	}
}

func itoa(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestServeWithNoConfigAndNoNetwork runs the node as `make run` does — no
// config file, the embedded log list — where no CT log is reachable: it
// must still serve /health and WebSocket upgrades on /, send heartbeats, and
// stop cleanly on SIGTERM.
func TestServeWithNoConfigAndNoNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	cmd := exec.Command(binary)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CERTSTREAM_SERVER_HOST=127.0.0.1", fmt.Sprintf("CERTSTREAM_SERVER_PORT=%d", port),
		// no route anywhere: the log list refresh and every fetcher fail fast
		"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY=")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	}()
	base := fmt.Sprintf("127.0.0.1:%d", port)
	resp := await.Value(t, 20*time.Second, "the node's /health", func() (*http.Response, bool) {
		resp, err := http.Get("http://" + base + "/health")
		return resp, err == nil
	})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "OK" {
		t.Fatalf("/health: %d %q", resp.StatusCode, body)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+base+"/", nil)
	if err != nil {
		t.Fatalf("WebSocket upgrade on /: %v", err)
	}
	ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil || !strings.HasPrefix(string(data), `{"message_type":"heartbeat","timestamp":`) {
		t.Fatalf("want a heartbeat within 15 s, got %q, %v", data, err)
	}
	if !strings.Contains(stderr.String(), "following log") {
		t.Errorf("the node should follow the embedded list's logs")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("node did not stop within 25 s of SIGTERM")
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Errorf("client should get a 1001 close frame at shutdown, got %v", err)
			}
			break
		}
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
