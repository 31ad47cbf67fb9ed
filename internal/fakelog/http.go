package fakelog

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Content types of responses.
const (
	textPlain   = "text/plain; charset=utf-8"
	octetStream = "application/octet-stream"
)

// backend is a log the server routes to.
type backend interface {
	knobs() *Knobs
	classify(rest string) Endpoint
	handle(r *http.Request, rest string, f Faults) response
	// lastEntry returns the highest entry index a request would return
	// (ok is false for requests that return no entries).
	lastEntry(r *http.Request, rest string) (last int64, ok bool)
}

// knobs returns the log's fault settings and counters.
func (l *Log) knobs() *Knobs { return l.Knobs }

// knobs returns the fixture's fault settings and counters.
func (d *StaticDir) knobs() *Knobs { return d.Knobs }

// classify names the endpoint of a path under the log URL.
func (l *Log) classify(rest string) Endpoint {
	if l.kind == StaticCT {
		return classifyStaticCT(rest)
	}
	return classifyRFC6962(rest)
}

// classify names the endpoint of a path under the monitoring prefix.
func (d *StaticDir) classify(rest string) Endpoint { return classifyStaticCT(rest) }

// handle answers a request for a path under the log URL.
func (l *Log) handle(r *http.Request, rest string, f Faults) response {
	if l.kind == StaticCT {
		return l.serveStaticCT(rest, f)
	}
	return l.serveRFC6962(rest, r.URL.Query(), f)
}

// handle answers a request for a path under the monitoring prefix.
func (d *StaticDir) handle(_ *http.Request, rest string, _ Faults) response { return d.serve(rest) }

// lastEntry returns the highest index a get-entries or data tile request
// asks for.
func (l *Log) lastEntry(r *http.Request, rest string) (int64, bool) {
	if l.kind == StaticCT {
		if classifyStaticCT(rest) != EndpointDataTile {
			return 0, false
		}
		t, err := parseTilePath(rest)
		if err != nil {
			return 0, false
		}
		return t.N*tileWidth + int64(t.W) - 1, true
	}
	if rest != pathGetEntries {
		return 0, false
	}
	q := r.URL.Query()
	start, err1 := queryIndex(q, "start")
	end, err2 := queryIndex(q, "end")
	if err1 != nil || err2 != nil || end < start {
		return 0, false
	}
	return min(end, start+l.Faults().pageSize()-1), true
}

// lastEntry reports that a fixture holds nothing back (its entries are fixed).
func (d *StaticDir) lastEntry(*http.Request, string) (int64, bool) { return 0, false }

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

// notRetained answers status for a request needing entries below floor,
// which the log has forgotten (LogConfig.Retain).
func notRetained(status int, floor int64) response {
	msg := "entries below " + strconv.FormatInt(floor, 10) + " are no longer retained by this fake log\n"
	return response{status: status, contentType: textPlain, body: []byte(msg)}
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
	ep := b.classify(rest)
	d := k.admit(ep)
	if last, ok := b.lastEntry(r, rest); ok && !k.hold(r.Context(), last) {
		return
	}
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
	case FaultRedirect:
		w.Header().Set("Location", d.faults.RedirectTo+r.URL.RequestURI())
		writeResponse(w, response{status: http.StatusFound, contentType: textPlain, body: []byte("moved\n")}, false)
		return
	case FaultReject:
		writeResponse(w, response{status: d.faults.Reject, contentType: textPlain, body: []byte(d.faults.RejectBody)}, false)
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
	if d.faults.PadBody > 0 && ep == EndpointGetEntries && resp.status == http.StatusOK {
		resp.body = append(bytes.Clone(resp.body), bytes.Repeat([]byte{' '}, d.faults.PadBody)...)
		k.countFault(FaultPadBody)
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
