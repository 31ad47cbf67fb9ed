package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/node"
)

// shutdownTimeout bounds a graceful shutdown.
const shutdownTimeout = 20 * time.Second

// runServe runs the node until SIGINT or SIGTERM, then shuts it down
// gracefully: stop fetching, drain, persist cursors, close clients.
func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("certstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (default: $"+config.EnvConfigFile+", then ./"+config.DefaultFile+", else built-in defaults)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	cfg, file, err := config.LoadNamed(*path, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "certstream: configuration:\n%v\n", err)
		return 1
	}
	if file == "" {
		slog.Info("no config file; using built-in defaults")
	} else {
		slog.Info("configuration loaded", "file", file)
	}
	n, err := node.Start(cfg, node.Options{ConfigPath: file, Environ: os.Environ()})
	if err != nil {
		slog.Error("cannot start", "err", err)
		return 1
	}
	fmt.Fprintf(stdout, "certstream listening on %s (WebSocket: ws://%s/)\n", n.Addr(), n.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	slog.Info("shutting down", "signal", got.String())
	signal.Stop(sig)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		slog.Error("shutdown incomplete", "err", err)
		return 1
	}
	slog.Info("stopped cleanly")
	return 0
}
