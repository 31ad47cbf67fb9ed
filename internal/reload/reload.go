// Package reload watches the node's config file and hands every new valid
// version to the node. It polls the file's modification time and size, and
// reloads when its content hash changes; a version that fails to load or
// validate is rejected with a log line and the running configuration stays.
// A section removed from a valid file takes its defaults again, since every
// version is loaded from scratch like at start-up.
package reload

import (
	"crypto/sha256"
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
)

var outcomes = map[string]*metrics.Counter{
	Applied:  metrics.NewCounter(`certstream_config_reloads{outcome="applied"}`),
	Rejected: metrics.NewCounter(`certstream_config_reloads{outcome="rejected"}`),
}

// Watcher polls one config file.
type Watcher struct {
	path    string
	environ []string
	apply   func(*config.Config)

	mu      sync.Mutex // serializes Check
	modTime time.Time
	size    int64
	hash    [32]byte // of the last version loaded (applied or rejected)
	readErr string   // the last error reading the file, reported once

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New returns a watcher of path that calls apply with each new valid
// version, loaded with environ's CERTSTREAM_* overrides like at start-up.
// The file as it is now counts as already applied.
func New(path string, environ []string, apply func(*config.Config)) *Watcher {
	w := &Watcher{path: path, environ: environ, apply: apply, stop: make(chan struct{}), done: make(chan struct{})}
	if st, err := os.Stat(path); err == nil {
		w.modTime, w.size = st.ModTime(), st.Size()
	}
	if data, err := os.ReadFile(path); err == nil {
		w.hash = sha256.Sum256(data)
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
// either applies it or rejects it, and returns that outcome; otherwise it
// returns "".
func (w *Watcher) Check() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := os.Stat(w.path)
	if err != nil {
		return w.unreadable(err)
	}
	if st.ModTime().Equal(w.modTime) && st.Size() == w.size && w.readErr == "" {
		return ""
	}
	data, err := os.ReadFile(w.path)
	if err != nil {
		return w.unreadable(err)
	}
	w.readErr = ""
	w.modTime, w.size = st.ModTime(), st.Size()
	sum := sha256.Sum256(data)
	if sum == w.hash {
		return "" // touched, not changed
	}
	w.hash = sum
	cfg, err := config.Load(w.path, w.environ)
	if err != nil {
		return w.reject(err)
	}
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
