package main

import (
	"context"
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
	fs := newFlags("serve", "[--config FILE]", `
Run the node: follow the CT logs and serve the streams until SIGINT or SIGTERM.
serve is the default command ("certstream --config FILE" is the same).
Every key of the file can be overridden as CERTSTREAM_<SECTION>_<FIELD>,
e.g. CERTSTREAM_SERVER_PORT=9000; certstream.example.toml documents them.`)
	path := fs.String("config", "", configFlag)
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	cfg, file, err := config.LoadNamed(*path, os.Environ())
	if err != nil {
		fmt.Fprintf(stderr, "certstream: configuration:\n%v\n", err)
		return 1
	}
	slog.SetDefault(newLogger(stderr, cfg.Log))
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
	u := clientURLs(n.Addr(), cfg)
	// The banner is a log line: on the logs' stream, in their format.
	slog.Info("certstream listening", "addr", n.Addr().String(), "websocket", u.ws("/"),
		"sse", u.http("/sse?stream=lite"), "page", u.http("/"))

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
