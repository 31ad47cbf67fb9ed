package nodeproc

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/certstream/certstream/config"
)

// fakeNodeEnv makes the test binary act as a node: it serves /health on
// the port of the config file it is given, reports CERTSTREAM_* variables
// it sees, and exits 0 on SIGTERM.
const fakeNodeEnv = "NODEPROC_FAKE_NODE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeNodeEnv) != "" {
		fakeNode()
		return
	}
	os.Exit(m.Run())
}

func fakeNode() {
	path := os.Args[len(os.Args)-1]
	cfg, err := config.Load(path, nil)
	if err != nil {
		fmt.Println("config:", err)
		os.Exit(3)
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CERTSTREAM_") {
			fmt.Println("env", kv)
		}
	}
	fmt.Println("logs", len(cfg.CTLog.CustomLogs), "poll", cfg.CTLog.PollIntervalMS)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {})
	go http.ListenAndServe(cfg.Server.Addr(), nil)
	<-sig
	fmt.Println("stopped")
}

func TestStartWritesALoadableConfigAndStops(t *testing.T) {
	t.Setenv("CERTSTREAM_SERVER_PORT", "1") // must not reach the node
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logs := []config.CustomLog{{Name: "a", URL: "http://127.0.0.1:1/logs/a/", Kind: config.KindRFC6962}}
	p, err := Start(context.Background(), Config(logs, port, dir), Options{Binary: os.Args[0], Dir: dir,
		Env: []string{fakeNodeEnv + "=1", "CERTSTREAM_CLIENTS_MAILBOX_CAPACITY=64"}, Ready: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if p.Pid() <= 0 || p.Addr() != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Errorf("pid %d addr %s", p.Pid(), p.Addr())
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	out := p.Tail(10)
	for _, want := range []string{"logs 1 poll 100", "env CERTSTREAM_CLIENTS_MAILBOX_CAPACITY=64", "stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("node output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "CERTSTREAM_SERVER_PORT") {
		t.Errorf("the harness's CERTSTREAM_* variable reached the node:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "certstream.toml")); err != nil {
		t.Error(err)
	}
}

func TestStartReportsANodeThatExits(t *testing.T) {
	dir := t.TempDir()
	// The fake node exits 3 on a config it cannot load.
	cfg := Config(nil, 1, dir)
	cfg.CTLog.BatchSize = 0 // out of range
	_, err := Start(context.Background(), cfg, Options{Binary: os.Args[0], Dir: dir, Env: []string{fakeNodeEnv + "=1"}})
	if err == nil || !strings.Contains(err.Error(), "exited at start") || !strings.Contains(err.Error(), "batch_size") {
		t.Errorf("err = %v", err)
	}
}
