// Package nodeproc builds the certstream node and runs it as a separate
// process with a generated configuration, for the harness to load and
// measure from outside.
package nodeproc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/certstream/certstream/config"
)

// NodePackage is the node's main package.
const NodePackage = "github.com/certstream/certstream/cmd/certstream"

// Build compiles the main package pkg into dir and returns the binary's path.
func Build(ctx context.Context, dir, pkg string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}

// Config is the node configuration the harness runs: built-in defaults,
// listening on 127.0.0.1:port, following exactly logs (no log list) from
// their heads, polling every 100 ms with no request budget to speak of,
// with its state file in dir.
func Config(logs []config.CustomLog, port int, dir string) config.Config {
	cfg := config.Default()
	cfg.Server.Host, cfg.Server.Port = "127.0.0.1", port
	cfg.CTLog.FollowLogList = false
	cfg.CTLog.CustomLogs = logs
	cfg.CTLog.StateFile = filepath.Join(dir, "state.json")
	cfg.CTLog.StartOverlap = 0
	cfg.CTLog.PollIntervalMS = 100
	cfg.CTLog.RetryInitialMS = 20
	cfg.CTLog.RetryMaxMS = 200
	cfg.CTLog.OperatorRequestsPerSec = 100000
	return cfg
}

// FreePort returns a TCP port free on 127.0.0.1 at the time of the call.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Process is a running node.
type Process struct {
	cmd  *exec.Cmd
	addr string
	log  string // path of its stdout and stderr
	done chan struct{}
	err  error // set before done closes
}

// Options start a node.
type Options struct {
	Binary string
	Args   []string // before --config
	Dir    string   // for the config file, the log and the state
	// Env adds NAME=value variables, e.g. CERTSTREAM_CLIENTS_MAILBOX_CAPACITY=4096.
	// The harness's own CERTSTREAM_* variables are not passed on, so that
	// the generated file is the whole configuration.
	Env []string
	// Ready bounds the wait for /health to answer (default 30 s).
	Ready time.Duration
}

// Start writes cfg to Dir, starts the binary with it and waits until it
// answers /health.
func Start(ctx context.Context, cfg config.Config, o Options) (*Process, error) {
	if o.Ready <= 0 {
		o.Ready = 30 * time.Second
	}
	path := filepath.Join(o.Dir, "certstream.toml")
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		return nil, fmt.Errorf("encoding the node config: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	p := &Process{addr: cfg.Server.Addr(), log: filepath.Join(o.Dir, "node.log"), done: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	p.cmd = exec.Command(o.Binary, append(o.Args, "--config", path)...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(environ(), o.Env...)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.Binary, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := p.waitHealthy(ctx, o.Ready); err != nil {
		p.Stop(time.Second)
		return nil, fmt.Errorf("%w; log %s ends:\n%s", err, p.log, p.Tail(20))
	}
	return p, nil
}

// environ is the harness's environment without CERTSTREAM_* variables.
func environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, config.EnvPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

// waitHealthy polls /health until it answers 200.
func (p *Process) waitHealthy(ctx context.Context, limit time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Get("http://" + p.addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("node exited at start: %v", p.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node not healthy at %s after %v", p.addr, limit)
		}
	}
}

// Pid is the node's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Addr is the node's host:port.
func (p *Process) Addr() string { return p.addr }

// LogPath is the file holding the node's output.
func (p *Process) LogPath() string { return p.log }

// Stop asks the node to shut down (SIGTERM) and kills it after timeout. It
// returns an error when the node had to be killed or exited with a failure.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("node did not stop within %v; killed", timeout)
	}
}

func (p *Process) exitErr() error {
	if p.err != nil {
		return fmt.Errorf("node exited: %w", p.err)
	}
	return nil
}

// Tail returns the last n lines of the node's output.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
