package config

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Cluster roles accepted by [ClusterConfig].Role.
const (
	RoleStandalone = "standalone" // follows the logs and serves clients; no NATS
	RoleIngest     = "ingest"     // follows the logs and also publishes to the JetStream stream
	RoleEdge       = "edge"       // follows no log; serves what it consumes from the stream
)

// ClusterConfig joins nodes through a NATS JetStream stream: ingest nodes
// publish every new certificate to it, edge nodes consume it and serve
// clients.
type ClusterConfig struct {
	Role string `toml:"role" oneof:"standalone ingest edge"`
	// Stream is the JetStream stream's name; its subject is Stream in
	// lower case followed by ".certs".
	Stream              string `toml:"stream"`
	RetentionSecs       int    `toml:"retention_secs" range:"1,31536000"`
	RetentionBytes      int    `toml:"retention_bytes" range:"1048576,"`
	DuplicateWindowSecs int    `toml:"duplicate_window_secs" range:"1,31536000"`
	Replicas            int    `toml:"replicas" range:"1,5"`
	// PublishMaxPending bounds the publishes awaiting JetStream's
	// acknowledgement; beyond it the fetchers wait.
	PublishMaxPending int `toml:"publish_max_pending" range:"1,1000000"`
	// ConsumerStateFile is where an ingest or edge node remembers the last
	// sequence of the stream it consumed (its clients are served from the
	// stream).
	ConsumerStateFile string `toml:"consumer_state_file"`
	// MaxLagSecs is the edge's lag behind the stream beyond which
	// /health/deep reports degraded.
	MaxLagSecs int        `toml:"max_lag_secs" range:"1,86400"`
	NATS       NATSConfig `toml:"nats"`
}

// NATSConfig is the NATS connection of a clustered node, and the embedded
// server an ingest node may run.
type NATSConfig struct {
	// URLs names an existing NATS cluster (nats:// or tls://); required on
	// an edge, and on an ingest node without an embedded server. An ingest
	// node with an embedded server connects to it in process.
	URLs []string `toml:"urls"`
	// Credentials is a NATS .creds file the client authenticates with;
	// User and Password a plain login, which an embedded server requires
	// of its clients and, in a cluster, of the other servers' routes.
	Credentials string `toml:"credentials"`
	User        string `toml:"user"`
	Password    string `toml:"password" secret:"true"`
	// Embedded runs a nats-server with JetStream inside an ingest node.
	Embedded bool `toml:"embedded"`
	// Listen is the embedded server's client address.
	Listen string `toml:"listen"`
	// StoreDir holds the embedded server's JetStream files.
	StoreDir   string `toml:"store_dir"`
	ServerName string `toml:"server_name"`
	// ClusterName, ClusterListen and Routes form a cluster of embedded
	// servers (three for R3 streams); ClusterListen "" runs a single server.
	ClusterName   string   `toml:"cluster_name"`
	ClusterListen string   `toml:"cluster_listen"`
	Routes        []string `toml:"routes"`
	// TLSCert and TLSKey serve the embedded server's client port with TLS;
	// TLSCA verifies the servers a client connects to. In a cluster of
	// embedded servers the routes use the same certificate too, both ends
	// verifying the other with TLSCA.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	TLSCA   string `toml:"tls_ca"`
}

// DefaultCluster is the [cluster] section's default: a standalone node.
func DefaultCluster() ClusterConfig {
	return ClusterConfig{
		Role:                RoleStandalone,
		Stream:              "CERTSTREAM",
		RetentionSecs:       3600,
		RetentionBytes:      1 << 30,
		DuplicateWindowSecs: 120,
		Replicas:            1,
		PublishMaxPending:   4096,
		ConsumerStateFile:   "certstream-consumer.json",
		MaxLagSecs:          30,
		NATS: NATSConfig{
			URLs:        []string{},
			Embedded:    true,
			Listen:      "0.0.0.0:4222",
			StoreDir:    "./certstream-nats",
			ClusterName: "certstream",
			Routes:      []string{},
		},
	}
}

// Retention is retention_secs as a duration.
func (c ClusterConfig) Retention() time.Duration { return secs(c.RetentionSecs) }

// DuplicateWindow is duplicate_window_secs as a duration.
func (c ClusterConfig) DuplicateWindow() time.Duration { return secs(c.DuplicateWindowSecs) }

// MaxLag is max_lag_secs as a duration.
func (c ClusterConfig) MaxLag() time.Duration { return secs(c.MaxLagSecs) }

// Embedded reports whether this node runs a NATS server itself: an ingest
// node with nats.embedded.
func (c ClusterConfig) Embedded() bool { return c.Role == RoleIngest && c.NATS.Embedded }

// cluster checks the [cluster] section.
func (v validator) cluster(c ClusterConfig) {
	if c.Role != RoleIngest && c.Role != RoleEdge {
		return // standalone reads nothing else (an unknown role is reported by its tag)
	}
	v.nonEmpty("cluster.stream", c.Stream)
	for _, r := range c.Stream {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			v.bad("cluster.stream", "only letters, digits, '_' and '-', got %q", c.Stream)
			break
		}
	}
	if c.DuplicateWindowSecs > c.RetentionSecs {
		v.bad("cluster.duplicate_window_secs", "must not exceed cluster.retention_secs (%d), got %d",
			c.RetentionSecs, c.DuplicateWindowSecs)
	}
	n := c.NATS
	if len(n.URLs) == 0 && !c.Embedded() {
		if c.Role == RoleEdge {
			v.badAt("cluster.role", "cluster.nats.urls", "required when cluster.role is \"edge\"")
		} else {
			v.badAt("cluster.nats.embedded", "cluster.nats.urls", "required when cluster.nats.embedded is false")
		}
	}
	for i, u := range n.URLs {
		v.natsURL(index("cluster.nats.urls", i), u, "nats", "tls")
	}
	if n.User != "" && n.Credentials != "" {
		v.bad("cluster.nats.user", "set either cluster.nats.user or cluster.nats.credentials, not both")
	}
	if n.Password != "" && n.User == "" {
		v.badAt("cluster.nats.password", "cluster.nats.user", "required when cluster.nats.password is set")
	}
	if n.User != "" && n.Password == "" {
		v.badAt("cluster.nats.user", "cluster.nats.password", "required when cluster.nats.user is set (an empty password is no login)")
	}
	v.files("cluster.nats.credentials", n.Credentials, "cluster.nats.tls_ca", n.TLSCA)
	v.nonEmpty("cluster.consumer_state_file", c.ConsumerStateFile)
	if !c.Embedded() {
		return
	}
	v.hostPort("cluster.nats.listen", n.Listen)
	v.nonEmpty("cluster.nats.store_dir", n.StoreDir)
	switch {
	case n.TLSCert != "" && n.TLSKey == "":
		v.badAt("cluster.nats.tls_cert", "cluster.nats.tls_key", "required when cluster.nats.tls_cert is set")
	case n.TLSKey != "" && n.TLSCert == "":
		v.badAt("cluster.nats.tls_key", "cluster.nats.tls_cert", "required when cluster.nats.tls_key is set")
	}
	v.files("cluster.nats.tls_cert", n.TLSCert, "cluster.nats.tls_key", n.TLSKey)
	if n.ClusterListen == "" {
		if len(n.Routes) > 0 {
			v.badAt("cluster.nats.routes", "cluster.nats.cluster_listen", "required when cluster.nats.routes is set")
		}
		if c.Replicas > 1 {
			v.bad("cluster.replicas", "a single embedded server keeps one replica; set cluster.nats.cluster_listen and routes for %d", c.Replicas)
		}
		return
	}
	v.hostPort("cluster.nats.cluster_listen", n.ClusterListen)
	v.nonEmpty("cluster.nats.cluster_name", n.ClusterName)
	v.nonEmpty("cluster.nats.server_name", n.ServerName)
	if n.TLSCert != "" && n.TLSCA == "" {
		v.badAt("cluster.nats.tls_cert", "cluster.nats.tls_ca", "required when cluster.nats.tls_cert and "+
			"cluster.nats.cluster_listen are set: the routes between servers use TLS too, and each server "+
			"verifies the others' certificates with this CA")
	}
	for i, u := range n.Routes {
		key := index("cluster.nats.routes", i)
		v.natsURL(key, u, "nats-route", "nats", "tls")
		if r, err := url.Parse(u); err == nil && r.User != nil {
			v.bad(key, "must not contain credentials (user:password@): routes present cluster.nats.user "+
				"and cluster.nats.password, and a route URL is shown in config dumps")
		}
	}
}

// natsURL checks that s is a URL with one of schemes and a host:port.
func (v validator) natsURL(key, s string, schemes ...string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.bad(key, "not a valid URL: %v", err)
	case !slices.Contains(schemes, u.Scheme):
		v.bad(key, "URL scheme must be one of %q, got %q", schemes, s)
	case u.Host == "":
		v.bad(key, "URL has no host: %q", s)
	}
}

// hostPort checks a listen address such as "0.0.0.0:4222".
func (v validator) hostPort(key, s string) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		v.bad(key, "not host:port: %q", s)
		return
	}
	if h != "" && !isHost(h) {
		v.bad(key, "not an IP address or host name: %q", h)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
		v.bad(key, "port must be between 0 and 65535, got %q", p)
	}
}

// files checks that each set path (key, path, key, path...) names a file.
func (v validator) files(keyPaths ...string) {
	for i := 0; i+1 < len(keyPaths); i += 2 {
		if path := keyPaths[i+1]; path != "" {
			if err := isFile(path); err != nil {
				v.bad(keyPaths[i], "%v", err)
			}
		}
	}
}
