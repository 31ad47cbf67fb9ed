package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

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

// field is one labelled value of an actor's details.
type field struct{ Key, Value string }

// detailFields renders an actor's details as fields sorted by key: an
// object's fields are labelled key.field (a connection's conn.stream), a
// list of objects gives one field per element, a zero time reads "never"
// and a null "none".
func detailFields(d map[string]any) []field {
	raw, err := json.Marshal(d)
	if err != nil {
		return []field{{"error", err.Error()}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return []field{{"error", err.Error()}}
	}
	var out []field
	flatten("", v, &out)
	return out
}

// flatten appends the fields of object v, their keys prefixed.
func flatten(prefix string, v map[string]any, out *[]field) {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key := prefix + k
		switch x := v[k].(type) {
		case map[string]any:
			flatten(key+".", x, out)
		case []any:
			if len(x) == 0 {
				*out = append(*out, field{key, "none"})
			}
			for i, e := range x {
				if obj, ok := e.(map[string]any); ok {
					flatten(fmt.Sprintf("%s[%d].", key, i), obj, out)
				} else {
					*out = append(*out, field{fmt.Sprintf("%s[%d]", key, i), scalar(e)})
				}
			}
		default:
			*out = append(*out, field{key, scalar(x)})
		}
	}
}

// scalar renders a JSON scalar: a zero time is "never", null "none", a
// fraction has at most three decimals.
func scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil && t.IsZero() {
			return "never"
		}
		return x
	case json.Number:
		if f, err := x.Float64(); err == nil && strings.ContainsAny(string(x), ".eE") {
			return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64) // milliseconds at most
		}
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}

var adminPage = template.Must(template.New("page").Funcs(template.FuncMap{
	"details": detailFields,
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
dl{display:grid;grid-template-columns:max-content auto;gap:0 1em;margin:.3em 0}dd{margin:0}
</style></head><body>
<h1>certstream actor tree</h1>
<p>Reloads every 5 s. JSON: <code>/admin/actors</code>.</p>
<ul>{{template "actor" .}}</ul>
</body></html>
{{define "actor"}}<li><span class="kind">{{.Kind}}</span> <span class="pid">{{.PID}}</span>
 <span class="{{.Status}}">{{.Status}}</span>
 · up {{secs .UptimeSecs}} · restarts {{.Restarts}} · drops {{.Drops}}
 {{- if .MailboxCapacity}} · queue {{.MailboxDepth}}/{{.MailboxCapacity}}{{end}}
 {{- if .LastRestart}} · last restart: {{.LastRestart}}{{end}}
 {{- with .Details}}<details><summary>details</summary><dl>{{range details .}}<dt>{{.Key}}</dt><dd>{{.Value}}</dd>{{end}}</dl></details>{{end}}
 {{- if .Children}}<ul>{{range .Children}}{{template "actor" .}}{{end}}</ul>{{end}}</li>
{{end}}`))
