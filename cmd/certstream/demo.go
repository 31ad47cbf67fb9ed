package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	fs := flag.NewFlagSet("certstream demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "localhost:8080", "address to serve on")
	rate := fs.Float64("rate", 20, "certificates per second published by the fake logs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if !(*rate > 0) {
		fmt.Fprintln(stderr, "certstream demo: --rate must be positive")
		return 2
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := serveDemo(ctx, *addr, *rate, stdout); err != nil {
		fmt.Fprintln(stderr, "certstream demo:", err)
		return 1
	}
	return 0
}

// serveDemo starts the fake logs and a node following them on addr, and
// publishes rate certificates per second until ctx ends.
func serveDemo(ctx context.Context, addr string, rate float64, stdout io.Writer) error {
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
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (choose another with --addr)", addr, err)
	}
	token, err := randomToken()
	if err != nil {
		ln.Close()
		return err
	}
	cfg, err := demoConfig(logs, ln.Addr().(*net.TCPAddr), filepath.Join(dir, "state.json"), token)
	if err != nil {
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

	host := ln.Addr().String()
	fmt.Fprintf(stdout, `certstream demo: %d fake CT logs publish about %g certificates/s (they exist only in this process)
  WebSocket  ws://%[3]s/  (lite)   ws://%[3]s/full-stream   ws://%[3]s/domains-only
  SSE        http://%[3]s/sse?stream=lite
  example    http://%[3]s/example.json   stats http://%[3]s/api/stats
  admin      http://%[3]s/admin?token=%[4]s
Press Ctrl-C to stop.
`, len(demoLogs), rate, host, token)

	<-ctx.Done()
	runErr := <-published
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return errors.Join(runErr, n.Shutdown(sctx))
}

// demoConfig is the node configuration of the demo: built-in defaults, on
// addr, following only logs (no log list) from their start, with the admin
// page guarded by token.
func demoConfig(srv *fakelog.Server, addr *net.TCPAddr, stateFile, token string) (*config.Config, error) {
	cfg := config.Default()
	cfg.Server.Host, cfg.Server.Port = addr.IP.String(), addr.Port
	cfg.CTLog.FollowLogList = false
	cfg.CTLog.StateFile = stateFile
	cfg.CTLog.PollIntervalMS = 500
	cfg.Admin.Enabled, cfg.Admin.Token = true, token
	for _, lc := range demoLogs {
		l, err := srv.AddLog(lc)
		if err != nil {
			return nil, err
		}
		kind := config.KindRFC6962
		if l.Kind() == fakelog.StaticCT {
			kind = config.KindStaticCT
		}
		cfg.CTLog.CustomLogs = append(cfg.CTLog.CustomLogs, config.CustomLog{
			Name: l.Description(), URL: l.URL(), Kind: kind, Key: l.PublicKeyBase64(), Operator: l.Operator()})
	}
	return &cfg, nil
}

// randomToken returns a fresh admin token.
func randomToken() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
