// Package fakelog is a fake Certificate Transparency log server for tests
// and load tests: a real HTTP server on 127.0.0.1 hosting several logs, each
// speaking RFC 6962 (get-sth, get-entries) or C2SP static-ct-api
// (checkpoint, tiles, issuers) with real certificates issued by a small
// ECDSA CA, a real RFC 6962 Merkle tree and real signatures. Logs grow on
// demand (Log.Append) or at a rate (Server.Run), inject faults on request
// (Faults), count what they serve (Stats), and are described by a Google
// v3-shaped log list. A static-ct fixture directory can be served as a log
// that grows from one checkpoint to the next (StaticDir).
package fakelog

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Content types and defaults.
const (
	textPlain       = "text/plain; charset=utf-8"
	octetStream     = "application/octet-stream"
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

// backend is a log the server routes to.
type backend interface {
	knobs() *Knobs
	classify(rest string) Endpoint
	handle(r *http.Request, rest string, f Faults) response
}

func (l *Log) knobs() *Knobs       { return l.Knobs }
func (d *StaticDir) knobs() *Knobs { return d.Knobs }

func (l *Log) classify(rest string) Endpoint {
	if l.kind == StaticCT {
		return classifyStaticCT(rest)
	}
	return classifyRFC6962(rest)
}

func (d *StaticDir) classify(rest string) Endpoint { return classifyStaticCT(rest) }

func (l *Log) handle(r *http.Request, rest string, f Faults) response {
	if l.kind == StaticCT {
		return l.serveStaticCT(rest, f)
	}
	return l.serveRFC6962(rest, r.URL.Query(), f)
}

func (d *StaticDir) handle(_ *http.Request, rest string, _ Faults) response { return d.serve(rest) }

// response is a handler's answer before faults and compression.
type response struct {
	status       int
	contentType  string
	body         []byte
	compressible bool // a data or names tile: gzip it when Faults.GzipTiles
	mutable      bool // checkpoint: not cacheable
}

// notFound is a plain 404.
func notFound() response {
	return response{status: http.StatusNotFound, contentType: textPlain, body: []byte("not found\n")}
}

// badRequest is a plain 400 with a reason.
func badRequest(msg string) response {
	return response{status: http.StatusBadRequest, contentType: textPlain, body: []byte(msg + "\n")}
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

// ServeHTTP routes /log_list.json and /logs/<name>/..., applying the log's
// faults around its handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == logListPath {
		body, err := s.LogList()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeResponse(w, response{status: http.StatusOK, contentType: "application/json", body: body, mutable: true}, false)
		return
	}
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, logsPrefix), "/")
	s.mu.RLock()
	b := s.backends[name]
	s.mu.RUnlock()
	if b == nil || !strings.HasPrefix(r.URL.Path, logsPrefix) {
		writeResponse(w, notFound(), false)
		return
	}
	k := b.knobs()
	d := k.admit(b.classify(rest))
	if d.faults.Delay > 0 {
		t := time.NewTimer(d.faults.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch d.fault {
	case FaultDown:
		writeResponse(w, response{status: http.StatusServiceUnavailable, contentType: textPlain, body: []byte("log is down\n")}, false)
		return
	case FaultRateLimit:
		if !d.faults.OmitRetryAfter {
			w.Header().Set("Retry-After", strconv.Itoa(d.faults.retryAfter()))
		}
		writeResponse(w, response{status: http.StatusTooManyRequests, contentType: textPlain, body: []byte("rate limited\n")}, false)
		return
	case FaultServerError:
		writeResponse(w, response{status: http.StatusInternalServerError, contentType: textPlain, body: []byte("injected server error\n")}, false)
		return
	case FaultTile404:
		writeResponse(w, notFound(), false)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeResponse(w, response{status: http.StatusMethodNotAllowed, contentType: textPlain, body: []byte("method not allowed\n")}, false)
		return
	}
	resp := b.handle(r, rest, d.faults)
	if d.truncate && resp.status == http.StatusOK && len(resp.body) > 1 {
		resp.body = resp.body[:len(resp.body)/2]
		k.countFault(FaultTruncate)
	}
	writeResponse(w, resp, resp.compressible && d.faults.GzipTiles)
}

// writeResponse writes resp, gzip-compressed when compress is set.
func writeResponse(w http.ResponseWriter, resp response, compress bool) {
	body := resp.body
	h := w.Header()
	if compress && resp.status == http.StatusOK {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // level is valid
		_, _ = zw.Write(body)                              // bytes.Buffer writes do not fail
		_ = zw.Close()
		body = buf.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Type", resp.contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if resp.status == http.StatusOK {
		if resp.mutable {
			h.Set("Cache-Control", "no-store")
		} else {
			h.Set("Cache-Control", "public, max-age=604800, immutable")
		}
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(body)
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
