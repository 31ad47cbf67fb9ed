package node

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartBindsFirst takes the node's port first: Start must fail with
// the listener's error before starting any fetcher, so no log gets a request.
func TestStartBindsFirst(t *testing.T) {
	f := newFakeLogs(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := f.config(t, t.TempDir())
	cfg.Server.Port = taken.Addr().(*net.TCPAddr).Port
	n, err := Start(cfg, Options{})
	if err == nil {
		n.Shutdown(context.Background())
		t.Fatal("Start succeeded on a port already taken")
	}
	if !strings.Contains(err.Error(), syscall.EADDRINUSE.Error()) {
		t.Errorf("Start: %v, want %q", err, syscall.EADDRINUSE.Error())
	}
	time.Sleep(200 * time.Millisecond) // a request a fetcher had sent would have arrived
	for _, l := range f.logs {
		if s := l.Stats(); s.TotalRequests() > 0 {
			t.Errorf("log %s got %d requests from a node that could not bind", l.Name(), s.TotalRequests())
		}
	}
	if s := f.navigli.Stats(); s.TotalRequests() > 0 {
		t.Errorf("navigli got %d requests from a node that could not bind", s.TotalRequests())
	}
}
