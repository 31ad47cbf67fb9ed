package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/internal/buildinfo"
	"github.com/certstream/certstream/internal/wire"
	"github.com/certstream/certstream/web/server"
)

// wsPaths are the WebSocket routes of the streams, by wire.Stream.
var wsPaths = [wire.NumStreams]string{wire.StreamLite: "/", wire.StreamFull: "/full-stream", wire.StreamDomains: "/domains-only"}

// homeStream is one stream as the page lists it.
type homeStream struct {
	Name, WS, SSE string
}

// homeLink is one of the page's links.
type homeLink struct {
	Path, What string
}

// homeData is what the page shows.
type homeData struct {
	Version, Commit, GoVersion string
	Streams                    []homeStream
	Links                      []homeLink
	Admin                      bool
	Preview                    bool // the domains stream is served
}

// home answers a browser's visit to / with a page saying what this node is,
// the stream URLs a client of this listener uses (ws or wss, http or https,
// from the request's Host), the operational links and a live preview of the
// domains stream.
func home(cfg Config) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		host := string(ctx.Host())
		ws, web := "ws://", "http://"
		if ctx.IsTLS() {
			ws, web = "wss://", "https://"
		}
		d := homeData{Version: buildinfo.Version(), Commit: buildinfo.Commit(), GoVersion: buildinfo.GoVersion(),
			Admin: cfg.Admin, Preview: cfg.Streams[wire.StreamDomains]}
		for st := range wire.Stream(wire.NumStreams) {
			if cfg.Streams[st] {
				d.Streams = append(d.Streams, homeStream{Name: st.String(), WS: ws + host + wsPaths[st],
					SSE: web + host + "/sse?stream=" + st.String()})
			}
		}
		d.Links = []homeLink{{Path: PathHealth, What: "liveness"}, {Path: PathHealthDeep, What: "health of the node and its logs"}}
		if cfg.API {
			d.Links = append(d.Links, homeLink{Path: PathStats, What: "connections, messages, certificates"},
				homeLink{Path: PathLogs, What: "every followed log: cursor, lag, errors"})
			for _, st := range d.Streams {
				d.Links = append(d.Links, homeLink{Path: PathExample + "?stream=" + st.Name, What: "the latest " + st.Name + " message"})
			}
		}
		if cfg.Metrics {
			d.Links = append(d.Links, homeLink{Path: cfg.MetricsPath, What: "Prometheus metrics"})
		}
		var b bytes.Buffer
		if err := homePage.Execute(&b, d); err != nil {
			server.Error(ctx, fasthttp.StatusInternalServerError, "rendering the page failed: "+err.Error())
			return
		}
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Content-Security-Policy", homeCSP)
		ctx.SetBody(b.Bytes())
	}
}

// previewScript shows the domains of the last certificates of the domains
// stream, read over SSE from this node (with the page's token, if any).
const previewScript = `
const list = document.getElementById("preview");
const state = document.getElementById("preview-state");
const token = new URLSearchParams(location.search).get("token");
const es = new EventSource("/sse?stream=domains" + (token ? "&token=" + encodeURIComponent(token) : ""));
es.onopen = () => { state.textContent = "connected, waiting for certificates"; };
es.onerror = () => { state.textContent = "disconnected, retrying"; };
es.onmessage = (ev) => {
	const m = JSON.parse(ev.data);
	if (m.message_type !== "dns_entries") return;
	state.textContent = "live";
	const li = document.createElement("li");
	li.textContent = m.data.join(", ");
	list.prepend(li);
	while (list.children.length > 20) list.lastElementChild.remove();
};
`

// homeCSP allows the page its own style and preview script and connections
// to this node only.
var homeCSP = func() string {
	sum := sha256.Sum256([]byte(previewScript))
	return "default-src 'none'; style-src 'unsafe-inline'; connect-src 'self'; script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>certstream node</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;max-width:60em}
code{background:#f3f3f3;padding:0 .2em}
table{border-collapse:collapse}td,th{padding:.2em .8em .2em 0;text-align:left}
#preview{font-family:monospace;font-size:12px;min-height:4em}
.muted{color:#666}
</style></head><body>
<h1>certstream node</h1>
<p>This node follows Certificate Transparency logs and streams each newly logged certificate as
certstream JSON to WebSocket and server-sent events clients.
<span class="muted">Version {{.Version}} (commit {{.Commit}}, {{.GoVersion}}).</span></p>
<h2>Streams</h2>
{{- if .Streams}}
<table id="streams"><tr><th>stream</th><th>WebSocket</th><th>server-sent events</th></tr>
{{- range .Streams}}
<tr><td>{{.Name}}</td><td><code>{{.WS}}</code></td><td><code>{{.SSE}}</code></td></tr>
{{- end}}
</table>
<p class="muted">With tokens required, add <code>?token=TOKEN</code> (or send <code>Authorization: Bearer TOKEN</code>).</p>
{{- else}}
<p>No stream is enabled on this node.</p>
{{- end}}
<h2>Endpoints</h2>
<ul id="links">
{{- range .Links}}
<li><a href="{{.Path}}">{{.Path}}</a> <span class="muted">{{.What}}</span></li>
{{- end}}
{{- if .Admin}}
<li><a href="/admin">/admin</a> <span class="muted">the live actor tree (add <code>?token=ADMIN_TOKEN</code>)</span></li>
{{- end}}
</ul>
{{- if .Preview}}
<h2>Live: domains stream</h2>
<p id="preview-state" class="muted">connecting</p>
<ol id="preview"></ol>
<script>` + previewScript + `</script>
{{- end}}
</body></html>
`))
