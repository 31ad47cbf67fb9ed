// Package reload watches the node's config file and hands every new valid
// version to the node. It polls the file's modification time and size, and
// reloads when its content hash changes; a version that fails to load or
// validate, or an empty file, is rejected with a log line and the running
// configuration stays. A version that would lower security or stop every
// custom log is deferred until the next poll finds it unchanged, since a
// file being written passes through such states (see [Watcher.Check]).
// A section removed from a valid file takes its defaults again, since every
// version is loaded from scratch like at start-up.
package reload

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/certstream/certstream/config"
)

// Reload outcomes, as labelled in certstream_config_reloads.
const (
	Applied  = "applied"
	Rejected = "rejected"
	Deferred = "deferred"
)

var outcomes = map[string]*metrics.Counter{
	Applied:  metrics.NewCounter(`certstream_config_reloads{outcome="applied"}`),
	Rejected: metrics.NewCounter(`certstream_config_reloads{outcome="rejected"}`),
	Deferred: metrics.NewCounter(`certstream_config_reloads{outcome="deferred"}`),
}

// Watcher polls one config file.
type Watcher struct {
	path    string
	environ []string
	apply   func(*config.Config)

	mu      sync.Mutex     // serializes Check
	running *config.Config // the configuration in force
	modTime time.Time
	size    int64
	hash    [32]byte // of the last version loaded (applied or rejected)
	applied [32]byte // of the version in force
	pending [32]byte // of a version deferred at the last check (zero: none)
	readErr string   // the last error reading the file, reported once

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New returns a watcher of path that calls apply with each new valid
// version, loaded with environ's CERTSTREAM_* overrides like at start-up.
// running is the configuration in force; the file as it is now counts as
// already applied.
func New(path string, environ []string, running *config.Config, apply func(*config.Config)) *Watcher {
	w := &Watcher{path: path, environ: environ, running: running, apply: apply,
		stop: make(chan struct{}), done: make(chan struct{})}
	if st, err := os.Stat(path); err == nil {
		w.modTime, w.size = st.ModTime(), st.Size()
	}
	if data, err := config.ReadFile(path); err == nil {
		w.hash = sha256.Sum256(data)
		w.applied = w.hash
	}
	return w
}

// Run checks the file every interval until Stop.
func (w *Watcher) Run(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.Check()
		}
	}
}

// Stop ends Run and waits for it (call it only once Run was started).
func (w *Watcher) Stop() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

// Check looks at the file once. When its content changed it loads it and
// applies it, rejects it, or defers it, and returns that outcome;
// otherwise it returns "".
//
// Editors and cp write a file in steps, and each step may be seen: empty,
// then cut short. A cut-short file is often valid, and the sections it lacks
// take their defaults: auth off, no custom log. So an empty file is
// rejected, and a version that would lower security or remove every custom
// log (see weakens) is deferred: applied only when the next check finds the
// same content, the file having stayed so for a whole poll interval.
func (w *Watcher) Check() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := os.Stat(w.path)
	if err != nil {
		return w.unreadable(err)
	}
	if st.ModTime().Equal(w.modTime) && st.Size() == w.size && w.readErr == "" && w.pending == [32]byte{} {
		return ""
	}
	data, err := config.ReadFile(w.path)
	if err != nil {
		return w.unreadable(err)
	}
	w.readErr = ""
	w.modTime, w.size = st.ModTime(), st.Size()
	sum := sha256.Sum256(data)
	stable := sum == w.pending
	w.pending = [32]byte{}
	switch sum {
	case w.hash:
		return "" // touched, not changed
	case w.applied:
		w.hash = sum
		return "" // back to the version in force: a deferred or rejected one undone
	}
	if len(bytes.TrimSpace(data)) == 0 {
		w.hash = sum
		return w.reject(errors.New("the file is empty (being written?); to mean every default, write a comment in it"))
	}
	cfg, err := config.Parse(w.path, data, w.environ)
	if err != nil {
		w.hash = sum
		return w.reject(err)
	}
	if reasons := weakens(w.running, cfg); len(reasons) > 0 && !stable {
		w.pending = sum
		slog.Warn("configuration reload deferred: this version lowers security or removes every log; "+
			"it is applied if the file is unchanged at the next check", "file", w.path, "changes", reasons)
		outcomes[Deferred].Inc()
		return Deferred
	}
	w.hash, w.applied, w.running = sum, sum, cfg
	slog.Info("configuration reloaded", "file", w.path)
	outcomes[Applied].Inc()
	w.apply(cfg)
	return Applied
}

// unreadable rejects a file that cannot be read, once per distinct error;
// it is tried again at every check.
func (w *Watcher) unreadable(err error) string {
	if err.Error() == w.readErr {
		return ""
	}
	w.readErr = err.Error()
	return w.reject(err)
}

// reject logs and counts a version that could not be used.
func (w *Watcher) reject(err error) string {
	slog.Error("configuration reload rejected; the running configuration stays", "file", w.path, "err", err)
	outcomes[Rejected].Inc()
	return Rejected
}

// weakens lists, as "key: what happens", how next would lower the security
// of running or stop every custom log: what a file cut short by an editor
// or cp looks like. (Turning the admin endpoints off closes them; a token
// list left empty with auth on does not validate.)
func weakens(running, next *config.Config) []string {
	var out []string
	was, is := running.Auth, next.Auth
	switch {
	case was.Enabled && !is.Enabled:
		out = append(out, "auth.enabled: turns off, every endpoint opens without a token")
	case was.Enabled:
		if !was.PublicHealth && is.PublicHealth {
			out = append(out, "auth.public_health: turns on, /health opens without a token")
		}
		if !was.PublicMetrics && is.PublicMetrics {
			out = append(out, "auth.public_metrics: turns on, the metrics open without a token")
		}
	}
	if running.RateLimit.Enabled && !next.RateLimit.Enabled {
		out = append(out, "rate_limit.enabled: turns off")
	}
	if running.ConnectionLimit.Enabled && !next.ConnectionLimit.Enabled {
		out = append(out, "connection_limit.enabled: turns off")
	}
	if len(running.CTLog.CustomLogs) > 0 && len(next.CTLog.CustomLogs) == 0 {
		out = append(out, "ct_log.custom_logs: every custom log is removed")
	}
	return out
}
