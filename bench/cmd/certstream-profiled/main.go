// Command certstream-profiled runs the certstream node exactly like
// `certstream --config FILE`, but under a CPU profile written to
// --cpuprofile when it stops (SIGINT or SIGTERM), and optionally serving
// net/http/pprof on --pprof. The bench harness runs it in place of the
// node binary when given --cpuprofile; read the profile with
// `go tool pprof -top FILE`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served on --pprof
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/node"
)

func main() {
	path := flag.String("config", "", "node config file")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address")
	flag.Parse()
	if err := run(*path, *profile, *pprofAddr); err != nil {
		fmt.Fprintln(os.Stderr, "certstream-profiled:", err)
		os.Exit(1)
	}
}

func run(path, profile, pprofAddr string) error {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	cfg, _, err := config.LoadNamed(path, os.Environ())
	if err != nil {
		return err
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if pprofAddr != "" {
		go func() { slog.Warn("pprof server ended", "err", http.ListenAndServe(pprofAddr, nil)) }()
	}
	n, err := node.Start(cfg, node.Options{})
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return n.Shutdown(ctx)
}
