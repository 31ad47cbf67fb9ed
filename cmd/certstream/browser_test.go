package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/fasthttp/websocket"
)

// browser returns a headless Chromium tab for the test, or skips the test
// without CHROMIUM_BINARY (scripts/install-chromium.sh installs Debian's
// chromium; make browser-check sets it).
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := os.Getenv("CHROMIUM_BINARY")
	if bin == "" {
		t.Skip("set CHROMIUM_BINARY to a chromium binary (make browser-check does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin),
		chromedp.NoSandbox, // as root in a container
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1200, 900),
		chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	ctx, cancel := context.WithTimeout(tab, time.Minute)
	t.Cleanup(func() { cancel(); cancelTab(); cancelAlloc() })
	return ctx
}

// screenshot saves the page as it is now under the test's temp dir and
// logs where.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// The page at / in a real browser: the node's stream URLs, its endpoints,
// and the preview showing domains of certificates the fake logs publish.
func TestBrowserRootPage(t *testing.T) {
	ctx := browser(t)
	addr, _ := demoInTest(t, "--rate", "20")
	if _, err := chromedp.Run(ctx, chromedp.Navigate("http://"+addr+"/")); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text("#streams"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ws://" + addr + "/", "ws://" + addr + "/full-stream", "ws://" + addr + "/domains-only",
		"http://" + addr + "/sse?stream=domains"} {
		if !strings.Contains(text, want) {
			t.Errorf("the streams table lacks %q:\n%s", want, text)
		}
	}
	links, err := chromedp.Run(ctx, chromedp.Text("#links"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/health/deep", "/api/stats", "/example.json?stream=lite", "/metrics", "/admin"} {
		if !strings.Contains(links, want) {
			t.Errorf("the links lack %q:\n%s", want, links)
		}
	}
	// A domain of a live certificate appears in the preview.
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible("#preview li")); err != nil {
		t.Fatalf("no certificate in the preview: %v", err)
	}
	first, err := chromedp.Run(ctx, chromedp.Text("#preview li"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[*a-z0-9-]+(\.[a-z0-9-]+)+`).MatchString(first) {
		t.Errorf("the preview's first line %q is not a domain", first)
	}
	state, err := chromedp.Run(ctx, chromedp.Text("#preview-state"))
	if err != nil || state != "live" {
		t.Errorf("preview state %q (%v), want live", state, err)
	}
	t.Logf("preview: %s", first)
	screenshot(t, ctx, "root.png")
}

// The admin page in a real browser: the actor tree with the logs
// supervisor and its fetchers, dedup, the router and a connected client,
// each line with its restarts and drops; a connection's details as fields.
func TestBrowserAdminPage(t *testing.T) {
	ctx := browser(t)
	addr, banner := demoInTest(t, "--rate", "20")
	admin := regexp.MustCompile(`http://\S+/admin\?token=\S+`).FindString(banner.String())
	if admin == "" {
		t.Fatalf("no admin URL in the banner:\n%s", banner.String())
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/domains-only", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(admin)); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text("body"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"certstream actor tree", "logs", "fetcher", "dedup", "router", "conn", "state",
		"restarts 0", "drops 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("the admin page lacks %q", want)
		}
	}
	if strings.Contains(body, "0001-01-01") {
		t.Error("the admin page shows a zero time")
	}
	if n := strings.Count(body, "fetcher"); n < len(demoLogs) {
		t.Errorf("%d fetchers on the page, want %d", n, len(demoLogs))
	}
	// Open every actor's details: a connection's are fields.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.querySelectorAll("details").forEach(d => d.open = true); true`)); err != nil {
		t.Fatal(err)
	}
	body, err = chromedp.Run(ctx, chromedp.Text("body"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"conn.stream", "conn.transport", "conn.remote", "pushed.domains"} {
		if !strings.Contains(body, want) {
			t.Errorf("the opened details lack %q", want)
		}
	}
	screenshot(t, ctx, "admin.png")
}
