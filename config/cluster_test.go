package config

import (
	"testing"
)

func TestClusterValidation(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "c.toml", `[cluster]
role = "ingest"
stream = "certs.all"
retention_secs = 60
duplicate_window_secs = 120
replicas = 3
[cluster.nats]
urls = ["http://x:4222"]
password = "p"
listen = "nowhere"
routes = ["nats-route://b:6222"]
tls_cert = "`+dir+`/missing.pem"
`)
	_, err := Load(path, nil)
	checkProblems(t, problemsOf(t, err), []want{
		{path, 3, "cluster.stream", `only letters, digits, '_' and '-', got "certs.all"`},
		{path, 5, "cluster.duplicate_window_secs", "must not exceed cluster.retention_secs (60), got 120"},
		{path, 8, "cluster.nats.urls[0]", `URL scheme must be one of ["nats" "tls"]`},
		{path, 9, "cluster.nats.user", "required when cluster.nats.password is set"},
		{path, 10, "cluster.nats.listen", `not host:port: "nowhere"`},
		{path, 11, "cluster.nats.cluster_listen", "required when cluster.nats.routes is set"},
		{path, 12, "cluster.nats.tls_key", "required when cluster.nats.tls_cert is set"},
		{path, 12, "cluster.nats.tls_cert", "no such file"},
		{path, 6, "cluster.replicas", "a single embedded server keeps one replica"},
	})
}

func TestClusterEdgeNeedsURLs(t *testing.T) {
	_, err := Load("", []string{"CERTSTREAM_CLUSTER_ROLE=edge"})
	checkProblems(t, problemsOf(t, err), []want{
		{"env CERTSTREAM_CLUSTER_ROLE", 0, "cluster.nats.urls", `required when cluster.role is "edge"`},
	})
	_, err = Load("", []string{"CERTSTREAM_CLUSTER_ROLE=ingest", "CERTSTREAM_CLUSTER_NATS_EMBEDDED=false"})
	checkProblems(t, problemsOf(t, err), []want{
		{"env CERTSTREAM_CLUSTER_NATS_EMBEDDED", 0, "cluster.nats.urls", "required when cluster.nats.embedded is false"},
	})
	_, err = Load("", []string{"CERTSTREAM_CLUSTER_ROLE=hub"})
	checkProblems(t, problemsOf(t, err), []want{
		{"env CERTSTREAM_CLUSTER_ROLE", 0, "cluster.role", `must be one of ["standalone" "ingest" "edge"], got "hub"`},
	})
}

// A NATS user with no password would log in with an empty one.
func TestClusterUserNeedsPassword(t *testing.T) {
	_, err := Load("", []string{"CERTSTREAM_CLUSTER_ROLE=ingest", "CERTSTREAM_CLUSTER_NATS_USER=certstream"})
	checkProblems(t, problemsOf(t, err), []want{
		{"env CERTSTREAM_CLUSTER_NATS_USER", 0, "cluster.nats.password", "required when cluster.nats.user is set"},
	})
}

// Environment overrides reach the nested [cluster.nats] table, and a valid
// three-server cluster passes.
func TestClusterFromEnv(t *testing.T) {
	cfg, err := Load("", []string{
		"CERTSTREAM_CLUSTER_ROLE=ingest",
		"CERTSTREAM_CLUSTER_REPLICAS=3",
		"CERTSTREAM_CLUSTER_NATS_SERVER_NAME=a",
		"CERTSTREAM_CLUSTER_NATS_CLUSTER_LISTEN=127.0.0.1:6222",
		"CERTSTREAM_CLUSTER_NATS_ROUTES=nats-route://b:6222,nats-route://c:6222",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Cluster; c.Role != RoleIngest || !c.Embedded() || len(c.NATS.Routes) != 2 || c.Replicas != 3 {
		t.Errorf("cluster = %+v", c)
	}
	cfg, err = Load("", []string{"CERTSTREAM_CLUSTER_ROLE=edge", "CERTSTREAM_CLUSTER_NATS_URLS=nats://a:4222"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster.Embedded() {
		t.Error("an edge never runs an embedded server")
	}
}

// Standalone reads nothing else of the section: a broken nats table is not
// an error while role is standalone.
func TestStandaloneIgnoresNATS(t *testing.T) {
	if _, err := Load("", []string{"CERTSTREAM_CLUSTER_NATS_LISTEN=nowhere", "CERTSTREAM_CLUSTER_NATS_EMBEDDED=false"}); err != nil {
		t.Error(err)
	}
}

// Routes between embedded servers use the server's TLS certificate and
// verify each other against tls_ca, so tls_cert needs tls_ca once
// cluster_listen is set; route credentials come from user and password,
// never from a route URL (it is shown in config dumps).
func TestClusterRouteSecurity(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeFile(t, dir, "cert.pem", "x"), writeFile(t, dir, "key.pem", "x")
	path := writeFile(t, dir, "c.toml", `[cluster]
role = "ingest"
[cluster.nats]
server_name = "a"
cluster_listen = "127.0.0.1:6222"
routes = ["nats-route://b:6222", "nats-route://route:s3cret@c:6222"]
tls_cert = "`+cert+`"
tls_key = "`+key+`"
`)
	_, err := Load(path, nil)
	checkProblems(t, problemsOf(t, err), []want{
		{path, 7, "cluster.nats.tls_ca", "required when cluster.nats.tls_cert and cluster.nats.cluster_listen are set"},
		{path, 6, "cluster.nats.routes[1]", "must not contain credentials"},
	})

	// A single server's tls_cert serves clients only: no CA needed.
	env := []string{"CERTSTREAM_CLUSTER_ROLE=ingest", "CERTSTREAM_CLUSTER_NATS_TLS_CERT=" + cert,
		"CERTSTREAM_CLUSTER_NATS_TLS_KEY=" + key}
	if _, err := Load("", env); err != nil {
		t.Error(err)
	}
	env = append(env, "CERTSTREAM_CLUSTER_NATS_SERVER_NAME=a", "CERTSTREAM_CLUSTER_NATS_CLUSTER_LISTEN=127.0.0.1:6222",
		"CERTSTREAM_CLUSTER_NATS_ROUTES=nats-route://b:6222", "CERTSTREAM_CLUSTER_NATS_TLS_CA="+cert)
	if _, err := Load("", env); err != nil {
		t.Error(err)
	}
}
