package config

import (
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// validator reports problems located through the sources of their keys.
type validator struct {
	src sources
	ps  *Problems
}

// bad reports a problem with key, located where key was set.
func (v validator) bad(key, format string, args ...any) {
	v.badAt(key, key, format, args...)
}

// badAt reports a problem with key, located where the key at was set
// (for a missing value required by another one).
func (v validator) badAt(at, key, format string, args ...any) {
	p := v.src.problem(at, format, args...)
	p.Key = key
	v.ps.add(p)
}

// validate checks cfg, adding a problem for everything wrong with it.
func validate(cfg *Config, src sources, ps *Problems) {
	v := validator{src: src, ps: ps}
	v.tags("", reflect.ValueOf(*cfg))
	v.server(cfg.Server)
	v.ctLog(cfg.CTLog)
	v.auth(cfg.Auth)
	if c := cfg.ConnectionLimit; c.PerIP > c.MaxConnections {
		v.bad("connection_limit.per_ip", "must not exceed connection_limit.max_connections (%d), got %d",
			c.MaxConnections, c.PerIP)
	}
	if cfg.Admin.Enabled && cfg.Admin.Token == "" {
		v.badAt("admin.enabled", "admin.token", "required when admin.enabled is true")
	}
	// (Mask is left alone: a rendered configuration loads again.)
	if t := cfg.Admin.Token; t != "" && t != Mask && slices.Contains(cfg.Auth.Tokens, t) {
		v.bad("admin.token", "must differ from every auth.tokens entry: a client token would open the admin endpoints")
	}
	v.metricsPath(cfg.Metrics.Path)
	v.nonEmpty("ct_log.state_file", cfg.CTLog.StateFile)
	if st, err := os.Stat(cfg.CTLog.StateFile); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			v.bad("ct_log.state_file", "is a directory: %q", cfg.CTLog.StateFile)
		} else {
			v.bad("ct_log.state_file", "not a regular file: %q", cfg.CTLog.StateFile)
		}
	}
	v.nonEmpty("ct_log.user_agent", cfg.CTLog.UserAgent)
	v.nonEmpty("delta_sink.table_path", cfg.DeltaSink.TablePath)
	v.cluster(cfg.Cluster)
}

// routes are the node's own paths, which metrics.path must not take over;
// a path under one ending in "/" (but "/") is taken too.
var routes = []struct{ path, what string }{
	{"/", "the lite stream"},
	{"/full-stream", "the full stream"},
	{"/domains-only", "the domains stream"},
	{"/sse", "the server-sent events"},
	{"/health", "the health check"},
	{"/health/", "the health checks"},
	{"/api/", "the REST API"},
	{"/example.json", "the example message"},
	{"/admin", "the admin page"},
	{"/admin/", "the admin endpoints"},
}

// metricsPath checks that p is an absolute path of its own.
func (v validator) metricsPath(p string) {
	if p == "" || p[0] != '/' || strings.ContainsAny(p, " ?#") {
		v.bad("metrics.path", "must be an absolute URL path, got %q", p)
		return
	}
	for _, r := range routes {
		if p == r.path || len(r.path) > 1 && strings.HasSuffix(r.path, "/") && strings.HasPrefix(p, r.path) {
			v.bad("metrics.path", "%q is the route of %s; choose another path such as \"/metrics\"", p, r.what)
			return
		}
	}
}

// tags applies the `range` and `oneof` struct tags to every field under rv.
func (v validator) tags(path string, rv reflect.Value) {
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		key, fv := join(path, tomlName(f)), rv.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			v.tags(key, fv)
		case reflect.Slice:
			if fv.Type().Elem().Kind() == reflect.Struct {
				for j := range fv.Len() {
					v.tags(index(key, j), fv.Index(j))
				}
			}
		case reflect.Int:
			v.inRange(key, float64(fv.Int()), f.Tag.Get("range"))
		case reflect.Float64:
			v.inRange(key, fv.Float(), f.Tag.Get("range"))
		case reflect.String:
			if set := strings.Fields(f.Tag.Get("oneof")); len(set) > 0 && !slices.Contains(set, fv.String()) {
				v.bad(key, "must be one of %q, got %q", set, fv.String())
			}
		}
	}
}

// inRange checks x against a `range:"min,max"` tag (either bound may be empty).
func (v validator) inRange(key string, x float64, tag string) {
	lo, hi, err := parseRange(tag)
	if err != nil {
		return // tags are checked by the package tests
	}
	g := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		v.bad(key, "must be a finite number, got %s", g(x))
	case lo != nil && hi != nil && (x < *lo || x > *hi):
		v.bad(key, "must be between %s and %s, got %s", g(*lo), g(*hi), g(x))
	case lo != nil && hi == nil && x < *lo:
		v.bad(key, "must be at least %s, got %s", g(*lo), g(x))
	case hi != nil && lo == nil && x > *hi:
		v.bad(key, "must be at most %s, got %s", g(*hi), g(x))
	}
}

// parseRange parses a range tag; absent bounds are nil.
func parseRange(tag string) (lo, hi *float64, err error) {
	if tag == "" {
		return nil, nil, nil
	}
	a, b, ok := strings.Cut(tag, ",")
	if !ok {
		return nil, nil, fmt.Errorf("range tag %q has no comma", tag)
	}
	bound := func(s string) (*float64, error) {
		if s == "" {
			return nil, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		return &f, err
	}
	if lo, err = bound(a); err != nil {
		return nil, nil, err
	}
	hi, err = bound(b)
	return lo, hi, err
}

func (v validator) nonEmpty(key, s string) {
	if strings.TrimSpace(s) == "" {
		v.bad(key, "must not be empty")
	}
}

func (v validator) server(s ServerConfig) {
	if s.Host != "" && !isHost(s.Host) {
		v.bad("server.host", "not an IP address or host name: %q", s.Host)
	}
	switch {
	case s.TLSCert != "" && s.TLSKey == "":
		v.badAt("server.tls_cert", "server.tls_key", "required when server.tls_cert is set")
	case s.TLSKey != "" && s.TLSCert == "":
		v.badAt("server.tls_key", "server.tls_cert", "required when server.tls_key is set")
	}
	for _, f := range []struct{ key, path string }{{"server.tls_cert", s.TLSCert}, {"server.tls_key", s.TLSKey}} {
		if f.path == "" {
			continue
		}
		if err := isFile(f.path); err != nil {
			v.bad(f.key, "%v", err)
		}
	}
	for i, p := range s.TrustedProxies {
		if _, err := parseProxy(p); err != nil {
			v.bad(index("server.trusted_proxies", i), "not a CIDR or IP address: %q", p)
		}
	}
}

// parseProxy parses a CIDR, or a bare address as a single-host prefix.
func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// isHost accepts an IP address or a DNS name.
func isHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

func (v validator) ctLog(c CTLogConfig) {
	switch {
	case c.LogListURL != "":
		v.httpURL("ct_log.log_list_url", c.LogListURL)
	case c.FollowLogList:
		v.badAt("ct_log.follow_log_list", "ct_log.log_list_url", "required when ct_log.follow_log_list is true")
	}
	if c.RetryMaxMS < c.RetryInitialMS {
		v.bad("ct_log.retry_max_ms", "must be at least ct_log.retry_initial_ms (%d), got %d", c.RetryInitialMS, c.RetryMaxMS)
	}
	names, urls := map[string]int{}, map[string]int{}
	for i, l := range c.CustomLogs {
		key := index("ct_log.custom_logs", i)
		if strings.TrimSpace(l.Name) == "" {
			v.bad(key+".name", "required")
		} else if j, dup := names[l.Name]; dup {
			v.bad(key+".name", "duplicate of ct_log.custom_logs[%d].name %q", j, l.Name)
		} else {
			names[l.Name] = i
		}
		if l.URL == "" {
			v.bad(key+".url", "required")
		} else if j, dup := urls[sameLog(l.URL)]; dup {
			v.bad(key+".url", "same log as ct_log.custom_logs[%d].url: it would be followed twice", j)
		} else {
			urls[sameLog(l.URL)] = i
			v.httpURL(key+".url", l.URL)
		}
		if _, err := l.PublicKey(); err != nil {
			v.bad(key+".key", "%v", err)
		}
	}
}

// sameLog reduces a log URL to what identifies the log: the scheme and
// host in lower case, the path without trailing slashes, the query.
func sameLog(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/") + "?" + u.RawQuery
}

// httpURL checks that s is an absolute http or https URL without
// credentials (they would show in /api/logs, metrics and log lines).
func (v validator) httpURL(key, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.bad(key, "not a valid URL: %v", err)
	case u.User != nil:
		v.bad(key, "must not contain credentials (user:password@): a log URL is shown in /api/logs, metrics and log lines")
	case u.Scheme != "http" && u.Scheme != "https":
		v.bad(key, "URL scheme must be http or https, got %q", s)
	case u.Host == "":
		v.bad(key, "URL has no host: %q", s)
	}
}

func (v validator) auth(a AuthConfig) {
	if a.Enabled && len(a.Tokens) == 0 {
		v.badAt("auth.enabled", "auth.tokens", "at least one token is required when auth.enabled is true")
	}
	for i, t := range a.Tokens {
		if t == "" || strings.ContainsAny(t, " \t\r\n,") {
			// never echo a secret
			v.bad(index("auth.tokens", i), "a token must be non-empty, without spaces or commas")
		}
	}
}
