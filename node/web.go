package node

import (
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/lifecycle"
	"github.com/certstream/certstream/actors/logs"
	"github.com/certstream/certstream/actors/router"
	"github.com/certstream/certstream/config"
	"github.com/certstream/certstream/internal/certindex"
	"github.com/certstream/certstream/internal/reload"
	"github.com/certstream/certstream/web/access"
	"github.com/certstream/certstream/web/api"
)

// recentCapacity is how many recent certificates /api/cert can find.
const recentCapacity = 8192

// streamPaths are the server's streaming routes (connection-limited).
var streamPaths = []string{"/", "/full-stream", "/domains-only", "/sse"}

// web is the node's HTTP edge and what its endpoints read: the actor
// lifecycle record, the client accounting, the recent certificates, access
// control, and the config watcher that reconfigures them.
type web struct {
	Lifecycle *lifecycle.Tracker
	Clients   *router.Clients
	Recent    *certindex.Index
	Access    *access.Controller
	started   time.Time

	reloader *reload.Watcher
	mu       sync.Mutex
	running  *config.Config // the configuration in force, for reload diffs
}

// startTracking starts the lifecycle tracker and the accounting the router
// feeds; call it before spawning anything else.
func (n *Node) startTracking(e *actor.Engine) {
	n.started = time.Now()
	n.Lifecycle, _ = lifecycle.Start(e)
	n.Clients = router.NewClients()
	n.Recent = certindex.New(recentCapacity)
}

// mountWeb adds access control and the operational endpoints to the server,
// starts the config watcher when asked, and returns ln wrapped so that
// connection limits learn when connections close.
func (n *Node) mountWeb(cfg *config.Config, opts Options, ln net.Listener) net.Listener {
	n.running = cfg
	n.Access = access.New(access.Routes{
		Health:  []string{api.PathHealth, api.PathHealthDeep},
		Metrics: cfg.Metrics.Path,
		Admin:   []string{api.PathAdmin, api.PathAdminActors},
		Streams: streamPaths,
	}, access.PolicyFrom(cfg))
	n.Server.Use(n.Access.Middleware)
	api.Register(n.Server, api.Config{API: cfg.API.Enabled, Admin: cfg.Admin.Enabled,
		Metrics: cfg.Metrics.Enabled, MetricsPath: cfg.Metrics.Path, Streams: serverConfig(cfg).Streams}, api.Sources{
		Start: n.started, Fetchers: n.Fetchers, Clients: n.Clients, Recent: n.Recent,
		Sent: n.Server.Sent, Tree: n.Tree, Link: n.linkHealth, Cluster: n.clusterStats,
	})
	if cfg.HotReload.Enabled && opts.ConfigPath != "" {
		n.reloader = reload.New(opts.ConfigPath, opts.Environ, cfg, n.Reconfigure)
		go n.reloader.Run(cfg.HotReload.PollInterval())
	}
	return access.Listen(ln)
}

// Tree returns the live actor tree (the admin view).
func (n *Node) Tree() *lifecycle.View {
	var roots []*actor.PID
	for _, pid := range []*actor.PID{n.Logs, n.Dedup, n.Consumer, n.Router, n.Publisher, n.State} {
		if pid != nil {
			roots = append(roots, pid)
		}
	}
	return n.Lifecycle.Tree(n.Engine, roots, 2*time.Second)
}

// Reconfigure applies what can change while running: tokens, the admin
// token, trusted proxies, connection and rate limits, the client policy of
// new connections, and the custom logs. Other changes are logged as
// needing a restart.
func (n *Node) Reconfigure(cfg *config.Config) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.Access.SetPolicy(access.PolicyFrom(cfg))
	sc := serverConfig(cfg)
	n.Server.SetClientPolicy(sc.Client, sc.ReadLimit)
	if custom, err := customLogs(cfg.CTLog.CustomLogs); err != nil {
		slog.Error("custom logs not reloaded", "err", err)
	} else if n.Logs != nil {
		n.Engine.Send(n.Logs, logs.SetCustom{Logs: custom})
	}
	if changed := needsRestart(n.running, cfg); len(changed) > 0 {
		slog.Warn("changed settings take effect only after a restart", "settings", strings.Join(changed, ", "))
	}
	n.running = cfg
}

// needsRestart returns the keys (section.key) of the settings that differ
// between a and b and that Reconfigure does not apply.
func needsRestart(a, b *config.Config) []string {
	fixed := func(c config.Config) config.Config {
		c.Auth, c.ConnectionLimit, c.RateLimit = config.AuthConfig{}, config.ConnectionLimitConfig{}, config.RateLimitConfig{}
		c.Admin.Token, c.Server.TrustedProxies, c.CTLog.CustomLogs = "", nil, nil
		c.Clients = config.ClientsConfig{MailboxCapacity: c.Clients.MailboxCapacity, FilterMaxValues: c.Clients.FilterMaxValues,
			FilterMaxRegexes: c.Clients.FilterMaxRegexes, FilterMaxRegexLength: c.Clients.FilterMaxRegexLength,
			ReplayWindowMessages: c.Clients.ReplayWindowMessages, ReplayWindowMiB: c.Clients.ReplayWindowMiB,
			ReplayWindowSecs: c.Clients.ReplayWindowSecs, Compression: c.Clients.Compression}
		return c
	}
	var changed []string
	diffKeys("", reflect.ValueOf(fixed(*a)), reflect.ValueOf(fixed(*b)), &changed)
	return changed
}

// diffKeys appends the keys, named by their toml tags under prefix, of the
// fields of structs a and b that differ; nested sections are walked.
func diffKeys(prefix string, a, b reflect.Value, out *[]string) {
	for i := range a.NumField() {
		f := a.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			name = f.Name
		}
		fa, fb := a.Field(i), b.Field(i)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]():
			diffKeys(prefix+name+".", fa, fb, out)
		case !reflect.DeepEqual(fa.Interface(), fb.Interface()):
			*out = append(*out, prefix+name)
		}
	}
}

// stopReload stops the config watcher, if any.
func (n *Node) stopReload() {
	if n.reloader != nil {
		n.reloader.Stop()
	}
}
