package fakelog

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server defaults and paths.
const (
	defaultOperator = "Fakelog"
	logListPath     = "/log_list.json"
	logsPrefix      = "/logs/"
)

// runTick is the growth period of Server.Run.
const runTick = 20 * time.Millisecond

// Server is one HTTP listener on 127.0.0.1 hosting several logs under
// /logs/<name>/ and their log list at /log_list.json.
type Server struct {
	ca      *CA
	witness *witness
	base    string // "http://127.0.0.1:<port>"
	started time.Time
	srv     *http.Server
	serveWG sync.WaitGroup

	mu       sync.RWMutex
	backends map[string]backend
	logs     []*Log
	dirs     []*StaticDir
}

// NewServer generates the CA and starts serving on a random 127.0.0.1 port.
func NewServer() (*Server, error) {
	ca, err := newCA()
	if err != nil {
		return nil, err
	}
	w, err := newWitness("witness.fakelog.test")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakelog: listen: %w", err)
	}
	s := &Server{
		ca:       ca,
		witness:  w,
		base:     "http://" + ln.Addr().String(),
		started:  time.Now().UTC().Truncate(time.Second),
		backends: map[string]backend{},
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.serveWG.Go(func() { _ = s.srv.Serve(ln) })
	return s, nil
}

// Close stops the listener and closes all connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.serveWG.Wait()
	return err
}

// URL returns "http://127.0.0.1:<port>".
func (s *Server) URL() string { return s.base }

// LogListURL returns the URL of the log list.
func (s *Server) LogListURL() string { return s.base + logListPath }

// CA returns the certificate authority that issues every log's entries.
func (s *Server) CA() *CA { return s.ca }

// validName reports whether name is a safe, non-empty path segment.
func validName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// register adds a backend under name after checking the name.
func (s *Server) register(name string, build func(url string) (backend, error)) error {
	if !validName(name) {
		return fmt.Errorf("fakelog: log name %q: want letters, digits, '.', '_' or '-'", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.backends[name]; dup {
		return fmt.Errorf("fakelog: log name %q already in use", name)
	}
	b, err := build(s.base + logsPrefix + name + "/")
	if err != nil {
		return err
	}
	s.backends[name] = b
	switch b := b.(type) {
	case *Log:
		s.logs = append(s.logs, b)
	case *StaticDir:
		s.dirs = append(s.dirs, b)
	}
	return nil
}

// AddLog creates an empty generated log and starts serving it.
func (s *Server) AddLog(cfg LogConfig) (*Log, error) {
	var l *Log
	err := s.register(cfg.Name, func(url string) (backend, error) {
		var err error
		origin := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
		l, err = newLog(cfg, url, origin, s.ca, s.witness)
		return l, err
	})
	return l, err
}

// ServeStaticDir serves a static-ct fixture directory as a log.
func (s *Server) ServeStaticDir(cfg StaticDirConfig) (*StaticDir, error) {
	var d *StaticDir
	err := s.register(cfg.Name, func(url string) (backend, error) {
		var err error
		d, err = newStaticDir(cfg, url)
		return d, err
	})
	return d, err
}

// Logs returns the generated logs in creation order.
func (s *Server) Logs() []*Log {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*Log(nil), s.logs...)
}

// StaticDirs returns the served fixture directories in creation order.
func (s *Server) StaticDirs() []*StaticDir {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*StaticDir(nil), s.dirs...)
}

// Run grows the generated logs at entriesPerSec in total, spread evenly
// over them every 20 ms, until ctx ends (then it returns nil). Logs added
// while running join the rotation.
func (s *Server) Run(ctx context.Context, entriesPerSec float64) error {
	if !(entriesPerSec > 0) {
		return fmt.Errorf("fakelog: Run: rate %v is not positive", entriesPerSec)
	}
	tick := time.NewTicker(runTick)
	defer tick.Stop()
	start := time.Now()
	var published int64
	next := 0 // rotates which logs get the remainder
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		logs := s.Logs()
		due := int64(entriesPerSec*time.Since(start).Seconds()) - published
		if len(logs) == 0 || due <= 0 {
			continue
		}
		counts := spread(due, len(logs), next)
		next = (next + int(due%int64(len(logs)))) % len(logs)
		for i, l := range logs {
			if counts[i] == 0 {
				continue
			}
			if err := l.Append(int(counts[i])); err != nil {
				return err
			}
		}
		published += due
	}
}

// spread divides total over n slots evenly; the remainder goes to the
// slots starting at first, wrapping.
func spread(total int64, n, first int) []int64 {
	counts := make([]int64, n)
	for i := range counts {
		counts[i] = total / int64(n)
	}
	for i := range int(total % int64(n)) {
		counts[(first+i)%n]++
	}
	return counts
}
