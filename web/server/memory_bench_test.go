package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certstream/certstream/actors/router"
)

// idleClientsEnv tells the helper test to act as the client process of
// BenchmarkIdleConnections: "<addr> <count>".
const idleClientsEnv = "CERTSTREAM_IDLE_CLIENTS"

// BenchmarkIdleConnections opens idle WebSocket connections (10,000, or
// CERTSTREAM_BENCH_CONNS) from a child process, so that only the server side
// is in this process, and reports per connection the growth of RSS (which
// includes goroutine stacks, fasthttp and websocket buffers, the actor
// processes and rings) and of the Go heap and stacks. It measures once; run
// it with -benchtime=1x.
func BenchmarkIdleConnections(b *testing.B) {
	n := 10000
	if s := os.Getenv("CERTSTREAM_BENCH_CONNS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for b.Loop() {
		rss, heap, stacks := idleConnectionCost(b, n)
		b.ReportMetric(rss, "RSS-B/conn")
		b.ReportMetric(heap, "heap-B/conn")
		b.ReportMetric(stacks, "stack-B/conn")
	}
}

func idleConnectionCost(b *testing.B, n int) (rss, heap, stacks float64) {
	v := start(b, Config{Streams: allStreams, Client: quiet}, router.Config{MailboxCapacity: 1024})
	baseGoroutines := runtime.NumGoroutine()
	base := measure()

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientsHelper$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", idleClientsEnv, v.addr, n))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close() // the helper exits, closing its connections
		_ = cmd.Wait()
	}()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		b.Fatalf("client process: %q %v", line, err)
	}
	for end := time.Now().Add(time.Minute); len(v.subs()) < n; {
		if time.Now().After(end) {
			b.Fatalf("%d of %d connections subscribed", len(v.subs()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// fasthttp's idle workers that served the handshakes exit after 10 s.
	for end := time.Now().Add(15 * time.Second); runtime.NumGoroutine() > baseGoroutines+n+20 && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
	}
	after := measure()
	b.Logf("%d connections, %d goroutines (%d before); RSS %d → %d KiB", n, runtime.NumGoroutine(), baseGoroutines,
		base.rss>>10, after.rss>>10)
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	return per(after.rss, base.rss), per(after.heap, base.heap), per(after.stacks, base.stacks)
}

type memSample struct{ rss, heap, stacks uint64 }

func measure() memSample {
	runtime.GC()
	debug.FreeOSMemory()
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(samples)
	return memSample{rss: vmRSS(), heap: samples[0].Value.Uint64(), stacks: samples[1].Value.Uint64()}
}

// vmRSS returns this process's resident set size from /proc/self/status.
func vmRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestIdleClientsHelper is the client process of BenchmarkIdleConnections:
// it opens the connections (WebSocket handshakes, then silence), prints
// "ready" and holds them until its stdin closes.
func TestIdleClientsHelper(t *testing.T) {
	spec := os.Getenv(idleClientsEnv)
	if spec == "" {
		t.Skip("client process of BenchmarkIdleConnections")
	}
	var addr string
	var n int
	if _, err := fmt.Sscanf(spec, "%s %d", &addr, &n); err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				c, err := handshake(addr)
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = c
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// handshake opens a WebSocket connection to "/" by hand, so that the client
// side holds nothing but the socket.
func handshake(addr string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 256)
	status, err := br.ReadString('\n')
	for err == nil {
		var line string
		if line, err = br.ReadString('\n'); line == "\r\n" {
			break
		}
	}
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101") {
		c.Close()
		return nil, fmt.Errorf("handshake: %q %v", status, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}
