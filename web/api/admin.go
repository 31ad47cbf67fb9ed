package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"

	"github.com/valyala/fasthttp"

	"github.com/certstream/certstream/web/server"
)

// adminJSON answers /admin/actors with the live actor tree.
func (src *Sources) adminJSON(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, fasthttp.StatusOK, src.Tree())
}

// adminHTML answers /admin with the same tree as a page that reloads itself.
func (src *Sources) adminHTML(ctx *fasthttp.RequestCtx) {
	var b bytes.Buffer
	if err := adminPage.Execute(&b, src.Tree()); err != nil {
		server.Error(ctx, fasthttp.StatusInternalServerError, "rendering the page failed: "+err.Error())
		return
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	ctx.SetBody(b.Bytes())
}

// detailLines renders an actor's details as sorted "key: value" lines.
func detailLines(d map[string]any) []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		v, err := json.Marshal(d[k])
		if err != nil {
			v = fmt.Appendf(nil, "%v", d[k])
		}
		out = append(out, k+": "+string(v))
	}
	return out
}

var adminPage = template.Must(template.New("page").Funcs(template.FuncMap{
	"details": detailLines,
	"secs":    func(f float64) string { return fmt.Sprintf("%.0fs", f) },
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>certstream actors</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em}
ul{list-style:none;padding-left:1.4em;border-left:1px solid #ccc}
.kind{font-weight:600}.pid{color:#555;font-family:monospace}
.running,.healthy{color:#060}.degraded,.starting{color:#a60}.failed,.unhealthy,.unresponsive{color:#b00}
details{color:#444;font-size:12px}
</style></head><body>
<h1>certstream actor tree</h1>
<p>Reloads every 5 s. JSON: <code>/admin/actors</code>.</p>
<ul>{{template "actor" .}}</ul>
</body></html>
{{define "actor"}}<li><span class="kind">{{.Kind}}</span> <span class="pid">{{.PID}}</span>
 <span class="{{.Status}}">{{.Status}}</span>
 · up {{secs .UptimeSecs}} · restarts {{.Restarts}}
 {{- if .MailboxCapacity}} · queue {{.MailboxDepth}}/{{.MailboxCapacity}}{{end}}
 {{- if .Drops}} · drops {{.Drops}}{{end}}
 {{- if .LastRestart}} · last restart: {{.LastRestart}}{{end}}
 {{- with .Details}}<details><summary>details</summary>{{range details .}}<div>{{.}}</div>{{end}}</details>{{end}}
 {{- if .Children}}<ul>{{range .Children}}{{template "actor" .}}{{end}}</ul>{{end}}</li>
{{end}}`))
