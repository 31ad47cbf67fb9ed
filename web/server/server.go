// Package server is the node's HTTP front: a fasthttp server that upgrades
// WebSocket clients and hijacks SSE clients, asks the router to spawn a
// connection actor for each (actors/conn), and reads from the client for the
// connection's lifetime. It also answers /health and leaves room for more
// routes, a page for browsers at / and middleware (Handle, SetPage, Use).
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/conn"
	"github.com/certstream/certstream/internal/filter"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/internal/wsframe"
	"github.com/certstream/certstream/messages"
)

// Config is what the server serves (streams, TLS) and the client policy.
// Zero durations and limits take the defaults noted.
type Config struct {
	// Streams lists the enabled stream types, indexed by wire.Stream. A
	// disabled stream's routes answer 404.
	Streams [wire.NumStreams]bool
	// Client is the policy of every connection actor.
	Client conn.Policy
	// ReadLimit is the largest message a WebSocket client may send; a bigger
	// one closes its connection with 1009. Default 4096 bytes.
	ReadLimit int64
	// TLSCertFile and TLSKeyFile, when both set, serve HTTPS/WSS.
	TLSCertFile, TLSKeyFile string
	// SubscribeTimeout bounds the wait for the router to spawn a connection
	// actor. Default 5 s.
	SubscribeTimeout time.Duration
	// StopWait bounds the wait, once a client is gone, for its actor to
	// stop. Default 5 s.
	StopWait time.Duration
	// Compression negotiates permessage-deflate (RFC 7692, with
	// server_no_context_takeover) with WebSocket clients that offer it;
	// the others get uncompressed frames as before.
	Compression bool
	// Filters holds the stream filters clients ask for (the domain, type,
	// ... query parameters) and their limits. Default: a set with the
	// default limits.
	Filters *filter.Set
}

func (c Config) withDefaults() Config {
	if c.ReadLimit <= 0 {
		c.ReadLimit = 4096
	}
	if c.SubscribeTimeout <= 0 {
		c.SubscribeTimeout = 5 * time.Second
	}
	if c.StopWait <= 0 {
		c.StopWait = 5 * time.Second
	}
	c.Client = c.Client.WithDefaults()
	if c.Filters == nil {
		c.Filters = filter.NewSet(filter.Limits{})
	}
	return c
}

// clientSettings are what new connections are given.
type clientSettings struct {
	conns     [wire.NumTransports][wire.NumStreams]conn.Config
	readLimit int64
}

// prefixRoute routes every path under prefix.
type prefixRoute struct {
	prefix string
	h      fasthttp.RequestHandler
}

// Middleware wraps the server's request handler (auth, limits, logging).
type Middleware func(fasthttp.RequestHandler) fasthttp.RequestHandler

// Server serves the streaming routes of one node.
type Server struct {
	cfg      Config
	engine   *actor.Engine
	router   *actor.PID
	http     *fasthttp.Server
	upgrader websocket.FastHTTPUpgrader
	filters  *filter.Set
	routes   map[string]fasthttp.RequestHandler
	prefixes []prefixRoute
	mws      []Middleware
	page     fasthttp.RequestHandler        // a browser's visit to / (SetPage)
	clients  atomic.Pointer[clientSettings] // replaced whole by SetClientPolicy
	seq      atomic.Uint64

	sentMsgs, sentBytes atomic.Uint64    // written to this server's clients
	now                 func() time.Time // the connections' clock; nil: time.Now (set by tests)

	mu       sync.Mutex
	sessions int                       // hijacked connections being served
	live     map[*conn.Socket]struct{} // those with a connection actor
	shutting bool
	drained  chan struct{} // closed once shutting and no session is left
	drainOne sync.Once
}

// New returns a server whose connection actors the router (see
// messages.Subscribe) spawns on engine.
func New(cfg Config, engine *actor.Engine, router *actor.PID) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:     cfg,
		engine:  engine,
		router:  router,
		filters: cfg.Filters,
		routes:  map[string]fasthttp.RequestHandler{},
		live:    map[*conn.Socket]struct{}{},
		drained: make(chan struct{}),
	}
	s.upgrader = websocket.FastHTTPUpgrader{
		HandshakeTimeout:  10 * time.Second,
		ReadBufferSize:    256, // client frames are small; the read limit bounds messages
		WriteBufferSize:   1,
		WriteBufferPool:   &sync.Pool{}, // the actor writes; never allocate a per-conn buffer
		CheckOrigin:       func(*fasthttp.RequestCtx) bool { return true },
		EnableCompression: cfg.Compression,
		Error: func(ctx *fasthttp.RequestCtx, status int, reason error) {
			Error(ctx, status, reason.Error())
		},
	}
	s.SetClientPolicy(cfg.Client, cfg.ReadLimit)
	for path, st := range map[string]wire.Stream{
		"/": wire.StreamLite, "/full-stream": wire.StreamFull, "/domains-only": wire.StreamDomains,
	} {
		if cfg.Streams[st] {
			s.routes[path] = s.serveWebSocket(st)
		}
	}
	s.routes["/sse"] = s.serveSSE
	s.routes["/health"] = func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("OK")
	}
	s.http = &fasthttp.Server{
		Name:               "certstream",
		ReadTimeout:        10 * time.Second, // until a request is read; not applied once hijacked
		WriteTimeout:       10 * time.Second,
		IdleTimeout:        60 * time.Second,
		MaxRequestBodySize: 1 << 20,
		TCPKeepalive:       true,
		TCPKeepalivePeriod: 30 * time.Second,
		CloseOnShutdown:    true,
		Logger:             fasthttpLogger{},
	}
	return s
}

// SetClientPolicy replaces the policy and read limit (zero: the default) of
// connections accepted from now on; connected clients keep theirs. It is
// safe to call while serving (hot reload).
func (s *Server) SetClientPolicy(p conn.Policy, readLimit int64) {
	if readLimit <= 0 {
		readLimit = 4096
	}
	cs := &clientSettings{readLimit: readLimit}
	p = p.WithDefaults()
	for t := range wire.NumTransports {
		for st := range wire.NumStreams {
			cs.conns[t][st] = conn.Config{Transport: wire.Transport(t), Stream: wire.Stream(st),
				Policy: p, Hooks: s.hooksFor(wire.Transport(t)), Now: s.now}
		}
	}
	s.clients.Store(cs)
}

// HandlePrefix routes requests for every path starting with prefix to h,
// unless an exact route (Handle) matches. The longest matching prefix wins.
// Call it before Serve.
func (s *Server) HandlePrefix(prefix string, h fasthttp.RequestHandler) {
	s.prefixes = append(s.prefixes, prefixRoute{prefix, h})
	sort.SliceStable(s.prefixes, func(i, j int) bool { return len(s.prefixes[i].prefix) > len(s.prefixes[j].prefix) })
}

// Handle routes requests for path (exact match) to h, replacing any route
// already there. Call it before Serve.
func (s *Server) Handle(path string, h fasthttp.RequestHandler) { s.routes[path] = h }

// SetPage has h answer requests for / that are not WebSocket upgrades (a
// browser's visit); upgrades to / stay the lite stream. Without a page such
// a request gets the upgrader's 400. Call it before Serve.
func (s *Server) SetPage(h fasthttp.RequestHandler) { s.page = h }

// Use wraps every route, the built-in ones included, in mw; the first
// middleware added is the outermost. Call it before Serve.
func (s *Server) Use(mw Middleware) { s.mws = append(s.mws, mw) }

// Serve serves connections from ln (over TLS when configured) until
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	var h fasthttp.RequestHandler = s.dispatch
	for i := len(s.mws) - 1; i >= 0; i-- {
		h = s.mws[i](h)
	}
	s.http.Handler = h
	if s.cfg.TLSCertFile != "" && s.cfg.TLSKeyFile != "" {
		return s.http.ServeTLS(ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	}
	return s.http.Serve(ln)
}

// Shutdown stops accepting, asks every connected client's actor to close
// with 1001 (going away), and waits for the connections to end. When ctx
// ends first, the remaining readers are woken without a close frame and
// ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutting = true
	socks := make([]*conn.Socket, 0, len(s.live))
	for sock := range s.live {
		socks = append(socks, sock)
	}
	s.drainIfIdle()
	s.mu.Unlock()

	httpDone := make(chan error, 1)
	go func() { httpDone <- s.http.ShutdownWithContext(ctx) }()
	for _, sock := range socks {
		goAway(sock)
	}
	select {
	case <-s.drained:
	case <-ctx.Done():
		s.mu.Lock()
		for sock := range s.live {
			sock.Abort()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
	return <-httpDone
}

// goAway asks sock's actor to close with 1001, or wakes the reader directly
// when the actor has already stopped.
func goAway(sock *conn.Socket) {
	select {
	case <-sock.Done():
		sock.Abort()
	default:
		sock.Fail(wsframe.CloseGoingAway, conn.ReasonShutdown)
	}
}

func (s *Server) dispatch(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	if path == "/" && s.page != nil && !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		s.page(ctx)
		return
	}
	if h := s.routes[path]; h != nil {
		h(ctx)
		return
	}
	for _, r := range s.prefixes {
		if strings.HasPrefix(path, r.prefix) {
			r.h(ctx)
			return
		}
	}
	Error(ctx, fasthttp.StatusNotFound, "not found")
}

// Error answers with status and a {"error": msg} body: the form of every
// error the node's HTTP surface returns.
func Error(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	ctx.SetBody(body)
}

// Why a hijacked connection was not served.
var (
	errShuttingDown = errors.New("server shutting down")
	errUnavailable  = errors.New("streaming unavailable")
)

// reject answers a hijacked connection that got no connection actor (so
// nothing else writes to it) with a 503 carrying err.
func reject(c net.Conn, err error) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{err.Error()})
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}

// session subscribes a connection actor for sock, runs read (the client
// read loop) until the client is gone or the actor closed, then has the
// router unsubscribe the actor and waits, bounded, for it to stop. It
// returns why the client could not be served, if it could not.
func (s *Server) session(sock *conn.Socket, t wire.Transport, st wire.Stream, remote string, o *options, read func()) error {
	if !s.begin() {
		return errShuttingDown
	}
	defer s.end()
	name := fmt.Sprintf("%s-%d", t, s.seq.Add(1))
	sub := messages.Subscribe{Stream: st, Transport: t, Name: name, Remote: remote,
		Producer: conn.New(sock, s.clients.Load().conns[t][st]), TickAfter: sock.TickAfter()}
	o.apply(&sub)
	res, err := s.engine.Request(s.router, sub, s.cfg.SubscribeTimeout).Result()
	pid, ok := res.(*actor.PID)
	if err != nil || !ok {
		slog.Warn("client not subscribed", "transport", t, "stream", st, "err", err, "answer", res)
		return errUnavailable
	}
	s.track(sock, t, st)
	defer s.untrack(sock, t, st)

	read()
	s.engine.Send(s.router, messages.Unsubscribe{PID: pid})
	timer := time.NewTimer(s.cfg.StopWait)
	defer timer.Stop()
	select {
	case <-sock.Done():
	case <-timer.C:
		slog.Warn("connection actor did not stop", "actor", pid.ID, "wait", s.cfg.StopWait)
	}
	slog.Debug("client disconnected", "actor", pid.ID, "reason", sock.Reason())
	return nil
}

// begin counts a session, unless the server is shutting down.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting {
		return false
	}
	s.sessions++
	return true
}

func (s *Server) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions--
	s.drainIfIdle()
}

// drainIfIdle closes drained when shutting down with no session left.
// Called with s.mu held.
func (s *Server) drainIfIdle() {
	if s.shutting && s.sessions == 0 {
		s.drainOne.Do(func() { close(s.drained) })
	}
}

// track records a connection whose actor runs; during shutdown it asks it
// to go away at once.
func (s *Server) track(sock *conn.Socket, t wire.Transport, st wire.Stream) {
	connected(t, st)
	s.mu.Lock()
	s.live[sock] = struct{}{}
	shutting := s.shutting
	s.mu.Unlock()
	if shutting {
		goAway(sock)
	}
}

func (s *Server) untrack(sock *conn.Socket, t wire.Transport, st wire.Stream) {
	disconnected(t, st)
	s.mu.Lock()
	delete(s.live, sock)
	s.mu.Unlock()
}

// rawConn returns the connection under a fasthttp-hijacked one, so that the
// actor's writes and deadlines reach it directly.
func rawConn(c net.Conn) net.Conn {
	if u, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
		return u.UnsafeConn()
	}
	return c
}

type fasthttpLogger struct{}

func (fasthttpLogger) Printf(format string, args ...any) {
	slog.Debug(fmt.Sprintf(format, args...), "component", "fasthttp")
}
