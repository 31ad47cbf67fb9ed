// Package logs implements the log-list supervisor actor: it keeps exactly one
// fetcher child per followed CT log. The followed set is the log list (the
// snapshot embedded in the binary, refreshed from the network when
// reachable; the last good list is kept on any failure) plus the configured
// custom logs. A log that leaves the set is stopped, a new one started.
package logs

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/fetcher"
	"github.com/certstream/certstream/actors/supervise"
	"github.com/certstream/certstream/internal/certfields"
	"github.com/certstream/certstream/internal/ctclient"
	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/loglist"
	"github.com/certstream/certstream/messages"
)

// Config configures the supervisor.
type Config struct {
	// List is the starting log list (usually loglist.Embedded()); nil for none.
	List *loglist.List
	// FollowList follows the list's logs; false means custom logs only.
	FollowList bool
	// ListURL, when set with FollowList, is polled every RefreshInterval; a
	// list whose signature does not verify against ListKey is ignored.
	ListURL         string
	ListKey         crypto.PublicKey
	RefreshInterval time.Duration
	Custom          []follow.Log
	Follow          follow.Config
	RequestTimeout  time.Duration
	UserAgent       string
	OperatorRPS     float64
	Cursors         map[string]uint64 // saved cursors by log URL
	Dedup, State    *actor.PID
}

// tuning is what tests may change besides the Config.
type tuning struct {
	transport http.RoundTripper // when set, replaces the per-operator connection pools
	restart   supervise.Policy  // each fetcher's restart budget
}

// fetcherRestarts allows a fetcher 20 restarts in 10 minutes, backing off
// from 1 s to a minute.
var fetcherRestarts = supervise.Policy{Max: 20, Window: 10 * time.Minute, MinBackoff: time.Second, MaxBackoff: time.Minute}

var (
	listRefreshes = metrics.NewCounter(`certstream_loglist_refreshes_total{outcome="ok"}`)
	listFailures  = metrics.NewCounter(`certstream_loglist_refreshes_total{outcome="error"}`)
	fetcherGiveUp = metrics.NewCounter("certstream_fetcher_gave_up_total")
)

// Fetcher is one running fetcher as the registry shows it.
type Fetcher struct {
	ID     string
	PID    *actor.PID
	Handle *fetcher.Handle
	Budget *supervise.Budget
}

// Registry is the live set of fetchers, readable from any goroutine.
type Registry struct {
	mu sync.Mutex
	by map[string]*Fetcher // by log URL
}

// Fetchers returns the running fetchers sorted by log name.
func (r *Registry) Fetchers() []*Fetcher {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Fetcher, 0, len(r.by))
	for _, f := range r.by {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Handle.Log().Name < out[j].Handle.Log().Name })
	return out
}

type supervisor struct {
	cfg      Config
	tuning   tuning
	started  time.Time
	reg      *Registry
	clients  map[string]*http.Client // per operator
	limiters *follow.Limiters
	issuers  *ctclient.IssuerCache
	chains   *certfields.Cache
	list     *loglist.List
	cursors  map[string]uint64 // last cursor of fetchers that were stopped
	ticker   actor.SendRepeater
	ticking  bool
	fetching bool // a list refresh is in flight
	// replacing holds the logs whose fetcher is being replaced: the old
	// one is stopping and the new one starts once it is gone.
	replacing map[string]bool
}

type refresh struct{}

// fetcherGone says that f, stopped to be replaced, is gone (or did not stop
// in time): its last cursor is final and its successor may start.
type fetcherGone struct{ f *Fetcher }

// SetCustom replaces the custom logs (hot reload): logs no longer listed
// stop, new ones start, and a log whose settings changed is restarted from
// its cursor. The log list's logs are not affected.
type SetCustom struct{ Logs []follow.Log }

type listResult struct {
	list *loglist.List
	err  error
}

// New returns the supervisor's registry and producer.
func New(cfg Config) (*Registry, actor.Producer) {
	return newSupervisor(cfg, tuning{restart: fetcherRestarts})
}

func newSupervisor(cfg Config, tn tuning) (*Registry, actor.Producer) {
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = time.Hour
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	reg := &Registry{by: map[string]*Fetcher{}}
	s := &supervisor{
		cfg:      cfg,
		tuning:   tn,
		reg:      reg,
		clients:  map[string]*http.Client{},
		limiters: follow.NewLimiters(cfg.OperatorRPS, max(1, int(cfg.OperatorRPS))),
		issuers:  ctclient.NewIssuerCache(8192),
		chains:   certfields.NewCache(8192),
		list:     cfg.List,
		cursors:  map[string]uint64{},
		started:  time.Now(),

		replacing: map[string]bool{},
	}
	for k, v := range cfg.Cursors {
		s.cursors[k] = v
	}
	return reg, func() actor.Receiver { return &receiver{s} }
}

type receiver struct{ *supervisor }

// Receive applies the log set and refreshes the list.
func (s *receiver) Receive(c *actor.Context) {
	switch msg := c.Message().(type) {
	case actor.Started:
		s.apply(c)
		if s.cfg.FollowList && s.cfg.ListURL != "" {
			s.ticker = c.Engine().SendRepeat(c.PID(), refresh{}, s.cfg.RefreshInterval)
			s.ticking = true
			c.Send(c.PID(), refresh{})
		}
	case actor.Stopped:
		if s.ticking {
			s.ticker.Stop()
			s.ticking = false
		}
	case refresh:
		if !s.fetching {
			s.fetching = true
			s.fetchList(c)
		}
	case SetCustom:
		s.cfg.Custom = msg.Logs
		s.apply(c)
	case messages.Inspect:
		c.Respond(s.inspect(c))
	case fetcherGone:
		url := msg.f.Handle.Log().URL
		if st := msg.f.Handle.Status(); st.CursorKnown {
			s.cursors[url] = st.Next
		}
		delete(s.replacing, url)
		s.apply(c)
	case listResult:
		s.fetching = false
		if msg.err != nil {
			listFailures.Inc()
			slog.Warn("log list refresh failed; keeping the last good list", "url", s.cfg.ListURL, "err", msg.err)
			return
		}
		listRefreshes.Inc()
		s.list = msg.list
		s.apply(c)
	}
}

// fetchList downloads and verifies the list off the actor's goroutine and
// sends the result back; refreshes due meanwhile are skipped.
func (s *receiver) fetchList(c *actor.Context) {
	engine, self := c.Engine(), c.PID()
	hc := &http.Client{Timeout: 30 * time.Second}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, list, err := loglist.Fetch(ctx, hc, s.cfg.ListURL, s.cfg.UserAgent, s.cfg.ListKey)
		engine.Send(self, listResult{list: list, err: err})
	}()
}

// desired returns the logs to follow, by URL.
func (s *supervisor) desired() map[string]follow.Log {
	want := map[string]follow.Log{}
	if s.cfg.FollowList && s.list != nil {
		for _, l := range s.list.Followed() {
			fl := follow.Log{Name: l.Description, URL: l.URL, Kind: l.Kind, Operator: l.Operator}
			if len(l.Key) > 0 {
				if pub, err := x509.ParsePKIXPublicKey(l.Key); err == nil {
					fl.PublicKey = pub
				}
			}
			want[l.URL] = fl
		}
	}
	for _, l := range s.cfg.Custom {
		want[l.URL] = l
	}
	return want
}

// apply starts fetchers for new logs and stops those no longer followed. A
// changed log's fetcher is stopped and its successor started only once it
// is gone (its actor id may be reused, and its last cursor must be final):
// the wait runs off the actor's goroutine and ends with a fetcherGone.
func (s *supervisor) apply(c *actor.Context) {
	want := s.desired()
	engine, self := c.Engine(), c.PID()
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	for url, f := range s.reg.by {
		l, ok := want[url]
		if ok && sameLog(l, f.Handle.Log()) {
			continue
		}
		if st := f.Handle.Status(); st.CursorKnown {
			s.cursors[url] = st.Next
		}
		stopped := engine.Poison(f.PID)
		delete(s.reg.by, url)
		if !ok {
			slog.Info("log no longer followed; fetcher stopped", "log", f.Handle.Log().Name, "url", url)
			continue
		}
		slog.Info("log settings changed; restarting its fetcher", "log", l.Name, "url", url)
		s.replacing[url] = true
		go func(f *Fetcher) {
			select {
			case <-stopped.Done():
			case <-time.After(replaceTimeout):
			}
			engine.Send(self, fetcherGone{f})
		}(f)
	}
	for url, l := range want {
		if _, ok := s.reg.by[url]; ok || s.replacing[url] {
			continue
		}
		s.reg.by[url] = s.spawn(c, l)
	}
}

// replaceTimeout bounds the wait for a replaced fetcher to stop.
const replaceTimeout = 15 * time.Second

// sameLog reports whether a and b are followed the same way.
func sameLog(a, b follow.Log) bool {
	if a.Name != b.Name || a.URL != b.URL || a.Kind != b.Kind || a.Operator != b.Operator {
		return false
	}
	if a.PublicKey == nil || b.PublicKey == nil {
		return a.PublicKey == nil && b.PublicKey == nil
	}
	k, ok := a.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b.PublicKey)
}

// inspect describes the supervisor and one child per fetcher.
func (s *supervisor) inspect(c *actor.Context) messages.ActorInfo {
	info := messages.ActorInfo{PID: c.PID().String(), Kind: "logs", Status: "running", Started: s.started,
		Details: map[string]any{"follow_log_list": s.cfg.FollowList, "custom_logs": len(s.cfg.Custom)}}
	for _, f := range s.reg.Fetchers() {
		st, l := f.Handle.Status(), f.Handle.Log()
		status := st.Health
		if f.Budget.GaveUp() {
			status = "failed"
		}
		why, when := f.Budget.LastFailure()
		inFlight, maxInFlight := f.Handle.InFlight()
		details := map[string]any{"log": l.Name, "url": l.URL, "operator": l.Operator, "log_kind": l.Kind,
			"cursor": st.Next, "tree_size": st.TreeSize, "health": st.Health, "lag_entries": st.LagEntries,
			"lag_seconds": st.LagSeconds, "errors": st.Errors, "last_error": st.LastError,
			"batches_in_flight": inFlight, "max_in_flight": maxInFlight}
		if !when.IsZero() { // a fetcher that never failed has no failure to show
			details["last_failure"], details["last_failure_at"] = why, when
		}
		info.Children = append(info.Children, messages.ActorInfo{
			PID: f.PID.String(), Kind: "fetcher", Parent: info.PID, Status: status, Restarts: f.Budget.Restarts(),
			Details: details,
		})
	}
	return info
}

// spawn starts one supervised fetcher. The supervisor owns the log's metrics:
// the follower, the restart budget and dedup (through each batch) count
// into the same set.
func (s *supervisor) spawn(c *actor.Context, l follow.Log) *Fetcher {
	start, known := s.cursors[l.URL]
	m := follow.NewMetrics(l.Name)
	id := ID(l)
	budget := supervise.NewBudget("fetcher/"+id, s.tuning.restart)
	budget.OnGiveUp = func(any) { fetcherGiveUp.Inc() }
	budget.OnRestart = func(any) { m.Restarted() }
	deps := follow.Deps{
		HTTP:      s.client(l.Operator),
		UserAgent: s.cfg.UserAgent,
		Limiter:   s.limiters.For(l.Operator),
		Issuers:   s.issuers,
		Chains:    s.chains,
		Metrics:   m,
	}
	handle, producer := fetcher.New(fetcher.Config{
		Log: l, Follow: s.cfg.Follow, Deps: deps, Key: l.URL,
		Start: start, StartKnown: known,
		Dedup: s.cfg.Dedup, State: s.cfg.State, Budget: budget,
	})
	pid := c.SpawnChild(producer, "fetcher", append(budget.Opts(16), actor.WithID(id))...)
	slog.Info("following log", "log", l.Name, "url", l.URL, "kind", l.Kind, "cursor", start, "saved_cursor", known)
	return &Fetcher{ID: id, PID: pid, Handle: handle, Budget: budget}
}

// client returns the operator's shared HTTP client (one connection pool per operator).
func (s *supervisor) client(operator string) *http.Client {
	if hc, ok := s.clients[operator]; ok {
		return hc
	}
	rt := s.tuning.transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		tr.DisableCompression = true // ctclient negotiates and caps gzip itself
		rt = tr
	}
	hc := &http.Client{Timeout: s.cfg.RequestTimeout, Transport: rt}
	s.clients[operator] = hc
	return hc
}

// ID is the fetcher's actor id for a log: a readable slug of its name plus a
// short hash of its URL, unique per log.
func ID(l follow.Log) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(l.Name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	sum := sha256.Sum256([]byte(l.URL))
	return strings.TrimRight(b.String(), "-") + "-" + hex.EncodeToString(sum[:3])
}
