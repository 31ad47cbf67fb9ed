package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/certstream/certstream/internal/await"
)

// TestDemoStreamsCertificatesWithinFiveSeconds runs the demo on a random
// port, connects a WebSocket client as soon as it prints its address, and
// expects a certificate_update within 5 s of connecting.
func TestDemoStreamsCertificatesWithinFiveSeconds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	exit := make(chan int, 1)
	go func() { exit <- demo(ctx, []string{"--addr", "127.0.0.1:0"}, &stdout, &stderr) }()

	urlRE := regexp.MustCompile(`ws://127\.0\.0\.1:[0-9]+/`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; {
		select {
		case code := <-exit:
			t.Fatalf("demo exited with %d:\n%s\n%s", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no WebSocket address printed:\n%s", stdout.String())
		}
		url = urlRE.FindString(stdout.String())
	}
	if !strings.Contains(stdout.String(), "/admin?token=") {
		t.Errorf("admin page not announced:\n%s", stdout.String())
	}

	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	connected := time.Now()
	_ = ws.SetReadDeadline(connected.Add(5 * time.Second))
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("no certificate within 5 s of connecting: %v\nstderr:\n%s", err, stderr.String())
		}
		if strings.HasPrefix(string(msg), `{"message_type":"certificate_update"`) {
			t.Logf("first certificate after %v", time.Since(connected).Round(time.Millisecond))
			break
		}
	}

	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("demo exited with %d:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30 s of its context ending")
	}
}

func TestDemoRejectsBadFlags(t *testing.T) {
	var stdout, stderr lockedBuffer
	if code := demo(context.Background(), []string{"--rate", "0"}, &stdout, &stderr); code != 2 {
		t.Errorf("--rate 0: exit %d", code)
	}
	if code := demo(context.Background(), []string{"--nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}

// TestDemoTakesConfigAndEnvironment runs the demo with a config file that
// turns the archive on and the environment choosing its address, as serve
// reads them: the demo must listen there and archive certificates.
func TestDemoTakesConfigAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "table")
	file := filepath.Join(dir, "demo.toml")
	os.WriteFile(file, []byte(fmt.Sprintf("[delta_sink]\nenabled = true\ntable_path = %q\nflush_interval_secs = 1\n", table)), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	t.Setenv("CERTSTREAM_SERVER_HOST", "127.0.0.1")
	t.Setenv("CERTSTREAM_SERVER_PORT", fmt.Sprint(port))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	exit := make(chan int, 1)
	go func() { exit <- demo(ctx, []string{"--config", file, "--rate", "50"}, &stdout, &stderr) }()
	want := fmt.Sprintf("ws://127.0.0.1:%d/", port)
	commits := filepath.Join(table, "_delta_log")
	await.True(t, 30*time.Second, "the demo listening on "+want+" and archiving to "+table, func() bool {
		select {
		case code := <-exit:
			t.Fatalf("demo exited with %d:\n%s\n%s", code, stdout.String(), stderr.String())
		default:
		}
		entries, _ := os.ReadDir(commits)
		return strings.Contains(stdout.String(), want) && len(entries) > 0
	}, func() { t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String()) })
	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("demo exited with %d:\n%s", code, stderr.String())
	}
}
