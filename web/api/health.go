package api

import (
	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/internal/follow"
)

// Overall node status in /health/deep.
const (
	StatusHealthy   = "healthy"   // every log healthy (or starting)
	StatusDegraded  = "degraded"  // some log degraded or unhealthy, or no log followed; an edge's link down or behind
	StatusUnhealthy = "unhealthy" // more than half the logs unhealthy: 503
)

// DeepHealth is the /health/deep answer.
type DeepHealth struct {
	Status      string         `json:"status"`
	Logs        map[string]int `json:"logs"`           // "total" and a count per log health
	Link        string         `json:"link,omitempty"` // an edge's cluster link: "healthy" or "degraded"
	Connections int            `json:"connections"`
	UptimeSecs  float64        `json:"uptime_secs"`
}

// Judge returns the node status for counts of logs by health.
func Judge(counts map[string]int) string {
	total := counts["total"]
	switch {
	case 2*counts[follow.Unhealthy] > total:
		return StatusUnhealthy
	case total == 0, counts[follow.Unhealthy] > 0, counts[follow.Degraded] > 0:
		return StatusDegraded
	default:
		return StatusHealthy
	}
}

// health is the plain liveness check: "OK" while the node serves.
func health(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString("OK")
}

func (src *Sources) deepHealth(ctx *fasthttp.RequestCtx) {
	counts := map[string]int{"total": 0, follow.Healthy: 0, follow.Degraded: 0, follow.Unhealthy: 0, follow.Starting: 0}
	for _, f := range src.Fetchers.Fetchers() {
		counts[f.Handle.Status().Health]++
		counts["total"]++
	}
	h := DeepHealth{Status: Judge(counts), Logs: counts, Connections: src.Clients.Totals().ConnectionCount(),
		UptimeSecs: src.uptime()}
	if src.Link != nil {
		if healthy, ok := src.Link(); ok {
			// An edge follows no log: its link is its only source.
			h.Status, h.Link = StatusHealthy, StatusHealthy
			if !healthy {
				h.Status, h.Link = StatusDegraded, StatusDegraded
			}
		}
	}
	status := fasthttp.StatusOK
	if h.Status == StatusUnhealthy {
		status = fasthttp.StatusServiceUnavailable
	}
	writeJSON(ctx, status, h)
}
