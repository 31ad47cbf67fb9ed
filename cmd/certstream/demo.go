package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/fakelog"
	"github.com/certstream/certstream/node"
)

// demoRetain bounds the demo logs' memory: each keeps the bodies of about
// its newest 100,000 entries (hours at the default rate).
const demoRetain = 100_000

// demoLogs are the fake CT logs of the demo: two RFC 6962 logs and a
// static-ct one, issuing real certificates (about half precertificates).
var demoLogs = []fakelog.LogConfig{
	{Name: "argon", Kind: fakelog.RFC6962, Description: "Demo 'Argon' log", Operator: "Demo CT", PrecertFraction: 0.5, Retain: demoRetain},
	{Name: "xenon", Kind: fakelog.RFC6962, Description: "Demo 'Xenon' log", Operator: "Demo CT", PrecertFraction: 0.5, Retain: demoRetain},
	{Name: "tiles", Kind: fakelog.StaticCT, Description: "Demo 'Tiles' log", Operator: "Demo CT", PrecertFraction: 0.5, Retain: demoRetain},
}

// runDemo runs the node against built-in fake CT logs that publish
// real-looking certificates at a modest rate, so that anyone, without
// network access, sees certificates stream at ws://localhost:8080/ within
// seconds. It stops on SIGINT or SIGTERM.
func runDemo(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return demo(ctx, args, stdout, stderr)
}

// demo runs the demo until ctx ends.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", "[--config FILE] [--addr HOST:PORT] [--rate N]", `
Run the node fed by built-in fake CT logs that publish real certificates
(no network needed), until SIGINT or SIGTERM. The configuration is read as
serve reads it (the file, then CERTSTREAM_* from the environment), except
that the node follows only the fake logs, keeps its cursors in a temporary
file and always has the admin page (with a fresh token unless admin.token
is set).`)
	path := fs.String("config", "", configFlag)
	addr := fs.String("addr", "", "`address` to serve on (default: server.host and server.port of the configuration)")
	rate := fs.Float64("rate", 20, "certificates per second published by the fake logs")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	if !(*rate > 0) {
		return usageError(fs, stderr, "--rate must be positive")
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	cfg, _, err := config.LoadNamed(*path, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "certstream demo: configuration:\n%v\n", err)
		return 1
	}
	if *addr == "" {
		*addr = cfg.Server.Addr()
	}
	if err := serveDemo(ctx, cfg, *addr, *rate, stdout); err != nil {
		fmt.Fprintln(stderr, "certstream demo:", err)
		return 1
	}
	return 0
}

// serveDemo starts the fake logs and a node with cfg following them on
// addr, and publishes rate certificates per second until ctx ends.
func serveDemo(ctx context.Context, cfg *config.Config, addr string, rate float64, stdout io.Writer) error {
	logs, err := fakelog.NewServer()
	if err != nil {
		return err
	}
	defer logs.Close()
	dir, err := os.MkdirTemp("", "certstream-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ln, err := node.Listen(addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (choose another with --addr)", addr, err)
	}
	if err := demoConfig(cfg, logs, ln.Addr().(*net.TCPAddr), filepath.Join(dir, "state.json")); err != nil {
		ln.Close()
		return err
	}
	n, err := node.Start(cfg, node.Options{Listener: ln})
	if err != nil {
		ln.Close()
		return err
	}
	published := make(chan error, 1)
	go func() { published <- logs.Run(ctx, rate) }()

	u := clientURLs(ln.Addr(), cfg)
	fmt.Fprintf(stdout, `certstream demo: %d fake CT logs publish about %g certificates/s (they exist only in this process)
  WebSocket  %s  (lite)   %s   %s
  SSE        %s
  example    %s   stats %s
  admin      %s
Press Ctrl-C to stop.
`, len(demoLogs), rate, u.ws("/"), u.ws("/full-stream"), u.ws("/domains-only"), u.http("/sse?stream=lite"),
		u.http("/example.json"), u.http("/api/stats"), u.http("/admin?token="+url.QueryEscape(cfg.Admin.Token)))

	<-ctx.Done()
	runErr := <-published
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return errors.Join(runErr, n.Shutdown(sctx))
}

// demoConfig adapts cfg to the demo: served on addr, following only srv's
// logs (no log list) from their start with cursors in stateFile, and the
// admin page on (with a fresh token unless one is configured).
func demoConfig(cfg *config.Config, srv *fakelog.Server, addr *net.TCPAddr, stateFile string) error {
	cfg.Server.Host, cfg.Server.Port = addr.IP.String(), addr.Port
	cfg.CTLog.FollowLogList = false
	cfg.CTLog.StateFile = stateFile
	cfg.CTLog.PollIntervalMS = 500
	cfg.CTLog.CustomLogs = nil
	cfg.Admin.Enabled = true
	if cfg.Admin.Token == "" {
		token, err := randomToken()
		if err != nil {
			return err
		}
		cfg.Admin.Token = token
	}
	for _, lc := range demoLogs {
		l, err := srv.AddLog(lc)
		if err != nil {
			return err
		}
		kind := config.KindRFC6962
		if l.Kind() == fakelog.StaticCT {
			kind = config.KindStaticCT
		}
		cfg.CTLog.CustomLogs = append(cfg.CTLog.CustomLogs, config.CustomLog{
			Name: l.Description(), URL: l.URL(), Kind: kind, Key: l.PublicKeyBase64(), Operator: l.Operator()})
	}
	return nil
}

// randomToken returns a fresh admin token.
func randomToken() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
