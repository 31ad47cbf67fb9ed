package logs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/anthdm/hollywood/actor"

	"github.com/certstream/certstream/actors/supervise"
	"github.com/certstream/certstream/internal/await"
	"github.com/certstream/certstream/internal/fakelog"
	"github.com/certstream/certstream/internal/follow"
	"github.com/certstream/certstream/internal/loglist"
	"github.com/certstream/certstream/messages"
)

// listServer serves a signed log list that the test can change.
type listServer struct {
	mu        sync.Mutex
	list, sig []byte
}

func (s *listServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, ".json"):
		w.Write(s.list)
	case strings.HasSuffix(r.URL.Path, ".sig"):
		w.Write(s.sig)
	default:
		http.NotFound(w, r)
	}
}

func (s *listServer) set(list, sig []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list, s.sig = list, sig
}

// onlyLogs returns the fake server's log list keeping the logs whose URL
// contains one of names.
func onlyLogs(t *testing.T, full []byte, names ...string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(full, &doc); err != nil {
		t.Fatal(err)
	}
	for _, op := range doc["operators"].([]any) {
		o := op.(map[string]any)
		var keep []any
		for _, l := range o["logs"].([]any) {
			for _, n := range names {
				if strings.Contains(l.(map[string]any)["url"].(string), "/logs/"+n+"/") {
					keep = append(keep, l)
				}
			}
		}
		o["logs"] = keep
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sign(t *testing.T, key *rsa.PrivateKey, data []byte) []byte {
	sum := sha256.Sum256(data)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// waitFollowing waits until the registry follows exactly the logs named in
// want (comma-separated, sorted).
func waitFollowing(t *testing.T, reg *Registry, want string) {
	t.Helper()
	await.Value(t, 10*time.Second, "following "+want, func() (string, bool) {
		got := strings.Join(following(reg), ",")
		return got, got == want
	})
}

func following(reg *Registry) []string {
	var names []string
	for _, f := range reg.Fetchers() {
		names = append(names, f.Handle.Log().Name)
	}
	sort.Strings(names)
	return names
}

// TestSupervisorFollowsTheSignedList starts one fetcher per listed log,
// replaces them as the refreshed list changes, and keeps the last good list
// when a refresh does not verify.
func TestSupervisorFollowsTheSignedList(t *testing.T) {
	fake, err := fakelog.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	for _, name := range []string{"a", "b", "c"} {
		if _, err := fake.AddLog(fakelog.LogConfig{Name: name, Kind: fakelog.RFC6962, Description: "log " + name}); err != nil {
			t.Fatal(err)
		}
	}
	full, err := fake.LogList()
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	list1, list2 := onlyLogs(t, full, "a", "b"), onlyLogs(t, full, "b", "c")
	ls := &listServer{}
	ls.set(list1, sign(t, key, list1))
	ts := httptest.NewServer(ls)
	defer ts.Close()
	start, err := loglist.Parse(list1)
	if err != nil {
		t.Fatal(err)
	}

	e, _ := actor.NewEngine(actor.NewEngineConfig())
	dedup := e.SpawnFunc(func(c *actor.Context) {
		if b, ok := c.Message().(messages.Batch); ok && b.Release != nil {
			b.Release()
		}
	}, "dedup")
	reg, producer := New(Config{
		List: start, FollowList: true, ListURL: ts.URL + "/list.json", ListKey: &key.PublicKey,
		RefreshInterval: 100 * time.Millisecond, Dedup: dedup, OperatorRPS: 1000,
	})
	pid := e.Spawn(producer, "logs")
	defer func() { <-e.Poison(pid).Done() }()

	wait := func(want string) { t.Helper(); waitFollowing(t, reg, want) }
	wait("log a,log b")
	ls.set(list2, sign(t, key, list2))
	wait("log b,log c")
	// A list whose signature does not verify is ignored.
	ls.set(list1, sign(t, key, list2))
	time.Sleep(500 * time.Millisecond)
	wait("log b,log c")
}

func TestCustomLogsOnly(t *testing.T) {
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	reg, producer := New(Config{List: loglist.Embedded(), FollowList: false})
	pid := e.Spawn(producer, "logs")
	defer func() { <-e.Poison(pid).Done() }()
	time.Sleep(100 * time.Millisecond)
	if n := len(reg.Fetchers()); n != 0 {
		t.Fatalf("follow_log_list = false must follow custom logs only, got %d fetchers", n)
	}
}

func TestEmbeddedListFollowsUsableLogs(t *testing.T) {
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	list := loglist.Embedded()
	var asked atomic.Int32
	offline := roundTripFunc(func(*http.Request) (*http.Response, error) {
		asked.Add(1)
		return nil, errors.New("offline test: no network")
	})
	reg, producer := newSupervisor(Config{List: list, FollowList: true}, tuning{transport: offline, restart: fetcherRestarts})
	pid := e.Spawn(producer, "logs")
	defer func() { <-e.Poison(pid).Done() }()
	time.Sleep(100 * time.Millisecond)
	if got, want := len(reg.Fetchers()), len(list.Followed()); got != want || want == 0 {
		t.Fatalf("%d fetchers for %d followed logs", got, want)
	}
	for _, f := range reg.Fetchers() {
		if h := f.Handle.Status().Health; h != "unhealthy" && h != "starting" {
			t.Errorf("%s: health %q without network", f.ID, h)
		}
	}
	if asked.Load() == 0 {
		t.Fatal("fetchers never tried their logs")
	}
}

// fastRestarts restarts fetchers after 10 ms.
var fastRestarts = tuning{restart: supervise.Policy{Max: 50, Window: time.Minute,
	MinBackoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Millisecond}}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSetCustomAndInspect replaces the custom logs while running: a new log
// starts, a changed one restarts under its new settings, a removed one
// stops; Inspect lists one fetcher child per followed log.
func TestSetCustomAndInspect(t *testing.T) {
	fake, err := fakelog.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	var logs []follow.Log
	for _, name := range []string{"a", "b"} {
		l, err := fake.AddLog(fakelog.LogConfig{Name: name, Kind: fakelog.RFC6962})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, follow.Log{Name: "log " + name, URL: l.URL(), Kind: follow.KindRFC6962, Operator: "op"})
	}
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	dedup := e.SpawnFunc(func(*actor.Context) {}, "dedup")
	reg, producer := New(Config{Custom: logs[:1], Dedup: dedup, OperatorRPS: 1000})
	pid := e.Spawn(producer, "logs")
	defer func() { <-e.Poison(pid).Done() }()
	wait := func(want string) { t.Helper(); waitFollowing(t, reg, want) }
	wait("log a")
	e.Send(pid, SetCustom{Logs: logs})
	wait("log a,log b")
	renamed := logs[1]
	renamed.Name = "log b renamed"
	e.Send(pid, SetCustom{Logs: []follow.Log{logs[0], renamed}})
	wait("log a,log b renamed")

	res, err := e.Request(pid, messages.Inspect{}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	info := res.(messages.ActorInfo)
	if info.Kind != "logs" || len(info.Children) != 2 {
		t.Fatalf("inspect: %+v", info)
	}
	for _, c := range info.Children {
		if c.Kind != "fetcher" || c.Parent != info.PID || c.Details["url"] == nil || c.Details["cursor"] == nil {
			t.Fatalf("fetcher child %+v", c)
		}
		if n, limit := c.Details["batches_in_flight"], c.Details["max_in_flight"]; n == nil || limit != 8 {
			t.Fatalf("fetcher in flight %v of %v, want a count of at most 8", n, limit)
		}
		if at, ok := c.Details["last_failure_at"]; ok { // never failed: no zero time
			t.Fatalf("fetcher that never failed shows last_failure_at %v", at)
		}
	}
	e.Send(pid, SetCustom{})
	wait("")
}

// TestFetcherThatCannotStartFailsVisibly follows a log whose follower cannot
// be built: its fetcher restarts with backoff, counts its restarts, and shows
// as unhealthy with the error.
func TestFetcherThatCannotStartFailsVisibly(t *testing.T) {
	bad := follow.Log{Name: "log bad", URL: "http://127.0.0.1:1/bad/", Kind: "carrier-pigeon", Operator: "op"}
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	dedup := e.SpawnFunc(func(*actor.Context) {}, "dedup")
	_, producer := newSupervisor(Config{Custom: []follow.Log{bad}, Dedup: dedup}, fastRestarts)
	pid := e.Spawn(producer, "logs")
	defer func() { <-e.Poison(pid).Done() }()
	restarts := metrics.GetOrCreateCounter(`certstream_ct_fetcher_restarts_total{log="log bad"}`)
	before := restarts.Get()
	var child messages.ActorInfo
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := e.Request(pid, messages.Inspect{}, 5*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		if children := res.(messages.ActorInfo).Children; len(children) == 1 {
			child = children[0]
		}
		if child.Restarts >= 2 && restarts.Get()-before >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fetcher that cannot start was not restarted (metric +%d): %+v", restarts.Get()-before, child)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child.Status != follow.Unhealthy || !strings.Contains(fmt.Sprint(child.Details["last_error"]), "carrier-pigeon") {
		t.Fatalf("status %q, last error %q", child.Status, child.Details["last_error"])
	}
}

// TestStallingListRefreshKeepsAnswering serves the log list from a server
// that never answers: the supervisor still answers Inspect at once, and
// does not pile up refreshes behind the stalled one.
func TestStallingListRefreshKeepsAnswering(t *testing.T) {
	stall := make(chan struct{})
	var asked atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()
	defer close(stall)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	_, producer := New(Config{FollowList: true, ListURL: ts.URL + "/list.json", ListKey: &key.PublicKey,
		RefreshInterval: 50 * time.Millisecond})
	pid := e.Spawn(producer, "logs")
	defer func() { <-e.Poison(pid).Done() }()
	await.True(t, 5*time.Second, "the first list request", func() bool { return asked.Load() > 0 })
	for range 5 {
		if _, err := e.Request(pid, messages.Inspect{}, time.Second).Result(); err != nil {
			t.Fatalf("inspect while the list refresh stalls: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("%d list requests in flight at once, want 1", n)
	}
}
