// Package access decides who may use the node's HTTP endpoints: bearer
// tokens (header or ?token=, compared in constant time), a separate admin
// token, per-IP and total limits on streaming connections, a per-IP token
// bucket on every request, the client address behind trusted proxies, and
// CORS for GET requests. Its Policy can be replaced while serving (hot
// reload); counters and buckets carry over.
package access

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/web/server"
)

// Policy is what the Controller enforces.
type Policy struct {
	// AuthEnabled requires one of Tokens on every route but the public ones.
	AuthEnabled bool
	Tokens      []string
	// PublicHealth and PublicMetrics exempt those routes from AuthEnabled.
	PublicHealth, PublicMetrics bool
	// AdminToken guards the admin routes (always, whatever AuthEnabled
	// says); empty closes them (404).
	AdminToken string
	// MaxConns and MaxConnsPerIP cap concurrent streaming connections; 0
	// means no cap.
	MaxConns, MaxConnsPerIP int
	// RatePerSec and Burst shape each client IP's requests; RatePerSec 0
	// means no rate limit.
	RatePerSec float64
	Burst      int
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
}

// PolicyFrom returns the policy cfg asks for.
func PolicyFrom(cfg *config.Config) Policy {
	p := Policy{
		AuthEnabled: cfg.Auth.Enabled, Tokens: append([]string(nil), cfg.Auth.Tokens...),
		PublicHealth: cfg.Auth.PublicHealth, PublicMetrics: cfg.Auth.PublicMetrics,
		TrustedProxies: cfg.Server.TrustedProxyPrefixes(),
	}
	if cfg.Admin.Enabled {
		p.AdminToken = cfg.Admin.Token
	}
	if cfg.ConnectionLimit.Enabled {
		p.MaxConns, p.MaxConnsPerIP = cfg.ConnectionLimit.MaxConnections, cfg.ConnectionLimit.PerIP
	}
	if cfg.RateLimit.Enabled {
		p.RatePerSec, p.Burst = cfg.RateLimit.PerIPPerSec, cfg.RateLimit.Burst
	}
	return p
}

// Routes tells the Controller which paths are which.
type Routes struct {
	Health  []string // public when PublicHealth
	Metrics string   // public when PublicMetrics ("" for none)
	Admin   []string // exact paths guarded by the admin token
	Streams []string // streaming routes: subject to the connection limits
}

// Controller enforces a Policy as fasthttp middleware.
type Controller struct {
	kinds   map[string]routeKind
	policy  atomic.Pointer[Policy]
	buckets *buckets
	conns   *connCounter
	now     func() time.Time
}

type routeKind uint8

const (
	routeOther routeKind = iota
	routeHealth
	routeMetrics
	routeAdmin
	routeStream
)

// Reasons a request is refused, as counted in certstream_access_denied_total.
const (
	DeniedUnauthorized = "unauthorized"
	DeniedRate         = "rate_limited"
	DeniedConnsPerIP   = "per_ip_connections"
	DeniedConnsTotal   = "total_connections"
)

var denied = map[string]*metrics.Counter{}

func init() {
	for _, r := range []string{DeniedUnauthorized, DeniedRate, DeniedConnsPerIP, DeniedConnsTotal} {
		denied[r] = metrics.NewCounter(fmt.Sprintf(`certstream_access_denied_total{reason=%q}`, r))
	}
}

// New returns a controller for routes enforcing p.
func New(routes Routes, p Policy) *Controller {
	c := &Controller{kinds: map[string]routeKind{}, buckets: newBuckets(maxBuckets), conns: newConnCounter(), now: time.Now}
	for _, path := range routes.Health {
		c.kinds[path] = routeHealth
	}
	if routes.Metrics != "" {
		c.kinds[routes.Metrics] = routeMetrics
	}
	for _, path := range routes.Admin {
		c.kinds[path] = routeAdmin
	}
	for _, path := range routes.Streams {
		c.kinds[path] = routeStream
	}
	c.SetPolicy(p)
	return c
}

// SetPolicy replaces the policy for the requests that follow. Connections
// already admitted stay, even above a lowered limit.
func (c *Controller) SetPolicy(p Policy) {
	p.Tokens = append([]string(nil), p.Tokens...)
	c.policy.Store(&p)
}

// Middleware checks each request before next sees it: CORS preflight, the
// rate limit (429 with Retry-After), the token (401), and for streaming
// routes the connection limits (429). It answers refusals with a JSON error.
// The connection limits count a streaming client until its connection
// closes, which only listeners wrapped with Listen report: on another
// listener a client is counted for the duration of the request only.
func (c *Controller) Middleware(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		p := c.policy.Load()
		if ctx.IsOptions() && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0 {
			preflight(ctx)
			return
		}
		if ctx.IsGet() || ctx.IsHead() {
			ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
		}
		ip := ClientIP(ctx, p.TrustedProxies)
		if p.RatePerSec > 0 {
			if ok, wait := c.buckets.allow(ip, p.RatePerSec, p.Burst, c.now()); !ok {
				deny(ctx, DeniedRate, fasthttp.StatusTooManyRequests, "rate limit exceeded; retry later")
				ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(max(1, (wait+time.Second-1)/time.Second))))
				return
			}
		}
		kind := c.kinds[string(ctx.Path())]
		if !authorized(ctx, p, kind) {
			if kind == routeAdmin && p.AdminToken == "" {
				server.Error(ctx, fasthttp.StatusNotFound, "not found")
				return
			}
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="certstream"`)
			deny(ctx, DeniedUnauthorized, fasthttp.StatusUnauthorized, "missing or invalid token")
			return
		}
		if kind != routeStream {
			next(ctx)
			return
		}
		release, refused := c.conns.acquire(ip, p.MaxConns, p.MaxConnsPerIP)
		if refused != "" {
			deny(ctx, refused, fasthttp.StatusTooManyRequests, "too many connections")
			ctx.Response.Header.Set("Retry-After", "5")
			return
		}
		next(ctx)
		if !ctx.Hijacked() || !onClose(ctx.Conn(), release) {
			release()
		}
	}
}

// authorized reports whether the request carries what its route needs.
func authorized(ctx *fasthttp.RequestCtx, p *Policy, kind routeKind) bool {
	switch {
	case kind == routeAdmin:
		return p.AdminToken != "" && tokenMatches(requestToken(ctx), []string{p.AdminToken})
	case !p.AuthEnabled, kind == routeHealth && p.PublicHealth, kind == routeMetrics && p.PublicMetrics:
		return true
	default:
		return tokenMatches(requestToken(ctx), p.Tokens)
	}
}

// requestToken returns the bearer token of the Authorization header, or
// else the token query parameter (browsers cannot set headers on a
// WebSocket).
func requestToken(ctx *fasthttp.RequestCtx) string {
	if h := string(ctx.Request.Header.Peek("Authorization")); h != "" {
		scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return string(ctx.QueryArgs().Peek("token"))
}

// preflight answers a CORS preflight: GET only, with an Authorization header.
func preflight(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization")
	h.Set("Access-Control-Max-Age", "600")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

func deny(ctx *fasthttp.RequestCtx, reason string, status int, msg string) {
	denied[reason].Inc()
	server.Error(ctx, status, msg)
}
