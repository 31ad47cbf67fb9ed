// Package api holds the node's operational HTTP endpoints: the page a
// browser sees at /, the deep health check, Prometheus metrics, the
// read-only REST API (stats, logs, certificate lookup, an example message)
// and the admin actor tree (JSON and HTML). The handlers only read: the
// node's parts come in through Sources, and access control is the caller's
// (web/access).
package api

import (
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/actors/lifecycle"
	"github.com/certstream/certstream/actors/logs"
	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/internal/certindex"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/web/server"
)

// Paths of the endpoints (the metrics path is configured).
const (
	PathHealth      = "/health"
	PathHealthDeep  = "/health/deep"
	PathStats       = "/api/stats"
	PathLogs        = "/api/logs"
	PathCertPrefix  = "/api/cert/" // followed by the hash
	PathExample     = "/example.json"
	PathAdmin       = "/admin"
	PathAdminActors = "/admin/actors"
)

// Mux is where handlers are registered (web/server.Server is one).
type Mux interface {
	Handle(path string, h fasthttp.RequestHandler)
	HandlePrefix(prefix string, h fasthttp.RequestHandler)
	// SetPage sets what a browser's visit to / (not a WebSocket upgrade)
	// gets.
	SetPage(h fasthttp.RequestHandler)
}

// Config says which endpoint groups are served.
type Config struct {
	API         bool   // /api/* and /example.json
	Admin       bool   // /admin and /admin/actors
	Metrics     bool   // the metrics path
	MetricsPath string // e.g. "/metrics"
	// Streams are the streams the node serves, indexed by wire.Stream (the
	// page at / lists them).
	Streams [wire.NumStreams]bool
}

// Sources are the parts of the running node the endpoints read.
type Sources struct {
	Start    time.Time                       // when the node started (uptime)
	Fetchers *logs.Registry                  // the followed logs
	Clients  *router.Clients                 // the router's client accounting
	Recent   *certindex.Index                // recent certificates
	Sent     func() (messages, bytes uint64) // written to this node's clients, all transports
	Tree     func() *lifecycle.View          // the live actor tree
	// Link, when set, tells the health of an edge's cluster link: ok is
	// false on a node without one; healthy while the link is up and the
	// lag within its threshold.
	Link func() (healthy, ok bool)
	// Cluster, when set, returns /api/stats' cluster object: nil on a
	// node without a link.
	Cluster func() *ClusterStats
}

// Register adds the endpoints cfg enables to mux. The health checks and the
// page at / are always served; the plain health check replaces the server's
// own, so that it too answers other methods than GET and HEAD with 405.
func Register(mux Mux, cfg Config, src Sources) {
	mux.SetPage(getOnly(home(cfg)))
	mux.Handle(PathHealth, getOnly(health))
	mux.Handle(PathHealthDeep, getOnly(src.deepHealth))
	if cfg.Metrics {
		mux.Handle(cfg.MetricsPath, getOnly(src.metrics))
	}
	if cfg.API {
		mux.Handle(PathStats, getOnly(src.stats))
		mux.Handle(PathLogs, getOnly(src.logs))
		mux.HandlePrefix(PathCertPrefix, getOnly(src.cert))
		mux.Handle(PathExample, getOnly(src.example))
	}
	if cfg.Admin {
		mux.Handle(PathAdminActors, getOnly(src.adminJSON))
		mux.Handle(PathAdmin, getOnly(src.adminHTML))
	}
}

// getOnly answers methods other than GET and HEAD with 405.
func getOnly(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if !ctx.IsGet() && !ctx.IsHead() {
			ctx.Response.Header.Set("Allow", "GET, HEAD")
			server.Error(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
			return
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		h(ctx)
	}
}

// writeJSON answers with v as JSON.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		server.Error(ctx, fasthttp.StatusInternalServerError, "encoding the answer failed: "+err.Error())
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// uptime is the node's age in seconds.
func (src *Sources) uptime() float64 { return time.Since(src.Start).Seconds() }
