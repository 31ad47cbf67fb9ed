package clusterlink

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certstream/certstream/internal/fixtures"
)

// secured is a server's TLS and credentials, for its client port and its
// routes alike.
type secured struct {
	ca, cert, key  string
	user, password string
}

// newSecured issues a certificate from ca for a server with the given
// credentials.
func newSecured(t *testing.T, ca *fixtures.CA, user, password string) secured {
	cert, key := ca.Issue(t)
	return secured{ca: ca.CertFile, cert: cert, key: key, user: user, password: password}
}

// startRouted starts a server named name in cluster "test" taking routes
// on listen (host:port), with routes to the addresses in to.
func startRouted(t *testing.T, name string, sec secured, listen string, to ...string) *Server {
	t.Helper()
	cfg := ServerConfig{Name: name, Listen: "127.0.0.1:0", StoreDir: t.TempDir(),
		ClusterName: "test", ClusterListen: listen,
		User: sec.user, Password: sec.password, TLSCert: sec.cert, TLSKey: sec.key, TLSCA: sec.ca}
	for _, addr := range to {
		cfg.Routes = append(cfg.Routes, "nats-route://"+addr)
	}
	s, err := StartServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// waitPeers waits until each server has routes with exactly the others,
// and JetStream's meta leader can place a stream on every server.
func waitPeers(t *testing.T, names map[*Server]string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for s, name := range names {
		var want []string
		for o, n := range names {
			if o != s {
				want = append(want, n)
			}
		}
		slices.Sort(want)
		for {
			got := slices.Sorted(maps.Keys(s.peers()))
			if slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s has routes with %v, want %v", name, got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for {
		for s := range names {
			if len(s.placeable()) == len(names) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream has no leader that can place a stream on all %d servers", len(names))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Three servers whose routes need TLS with a verified peer and the
// credentials form a cluster, and an R3 stream written through one server
// is read through another. A fourth server that lacks the credentials, or
// TLS, or a certificate from the cluster's CA, never joins.
func TestServerRoutesSecured(t *testing.T) {
	ca := fixtures.NewCA(t)
	// Each server routes to the other two, as in deploy/cluster (JetStream
	// sizes its meta group by the routes configured), so the three route
	// addresses are picked before any server starts.
	addr := fixtures.FreeAddrs(t, 3)
	a := startRouted(t, "a", newSecured(t, ca, "route", "s3cret"), addr[0], addr[1], addr[2])
	b := startRouted(t, "b", newSecured(t, ca, "route", "s3cret"), addr[1], addr[0], addr[2])
	c := startRouted(t, "c", newSecured(t, ca, "route", "s3cret"), addr[2], addr[0], addr[1])
	waitPeers(t, map[*Server]string{a: "a", b: "b", c: "c"})

	linkCfg := Config{User: "route", Password: "s3cret", TLSCA: ca.CertFile, Replicas: 3}
	publish(t, dial(t, a, linkCfg), "1", "2", "3")
	r, err := dial(t, c, linkCfg).Read(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	// A publish that finds no stream leader yet is retried, so the three
	// may be stored in any order.
	got := map[string]bool{}
	for i, m := range read(t, r, 3) {
		if m.Seq != uint64(i+1) {
			t.Errorf("message %d has sequence %d", i, m.Seq)
		}
		got[string(m.Data)] = true
	}
	if want := map[string]bool{"data-1": true, "data-2": true, "data-3": true}; !maps.Equal(got, want) {
		t.Errorf("read %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}

	// A rogue server dials a route to a. The one with a certificate from
	// another CA trusts the cluster's CA too, so that only a's check of its
	// certificate stands in its way.
	other := fixtures.NewCA(t)
	otherSec := newSecured(t, other, "route", "s3cret")
	otherSec.ca = filepath.Join(t.TempDir(), "both.pem")
	if err := os.WriteFile(otherSec.ca, append(readFile(t, ca.CertFile), readFile(t, other.CertFile)...), 0o600); err != nil {
		t.Fatal(err)
	}
	rogues := map[string]secured{
		"no-credentials": newSecured(t, ca, "", ""),
		"wrong-password": newSecured(t, ca, "route", "guess"),
		"no-tls":         {user: "route", password: "s3cret"},
		"other-ca":       otherSec,
	}
	for name, sec := range rogues {
		startRouted(t, name, sec, "127.0.0.1:0", addr[0])
	}
	// A route is dialled again every second: three seconds give each rogue
	// a few attempts. The rogue's own end may list a for a moment (it
	// registers the route when a's INFO arrives, before a closes it), so
	// the cluster's servers are the ones watched.
	legit := map[*Server][]string{a: {"b", "c"}, b: {"a", "c"}, c: {"a", "b"}}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for s, want := range legit {
			if got := slices.Sorted(maps.Keys(s.peers())); !slices.Equal(got, want) {
				t.Fatalf("a member of the cluster has routes with %v, want %v (rogues: %v)", got, want,
					slices.Sorted(maps.Keys(rogues)))
			}
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Route TLS without a CA to verify the other servers is refused rather
// than run unverified.
func TestServerRouteTLSNeedsCA(t *testing.T) {
	cert, key := fixtures.NewCA(t).Issue(t)
	s, err := StartServer(ServerConfig{Name: "a", Listen: "127.0.0.1:0", StoreDir: t.TempDir(), ClusterName: "test",
		ClusterListen: "127.0.0.1:0", Routes: []string{"nats-route://127.0.0.1:1"}, TLSCert: cert, TLSKey: key})
	if err == nil {
		s.Shutdown()
		t.Fatal("started with route TLS and no CA")
	}
	if !strings.Contains(err.Error(), "CA") {
		t.Errorf("error %q does not name the CA", err)
	}
}
