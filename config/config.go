// Package config holds the node's configuration: the typed sections, their
// defaults, loading from a TOML file, CERTSTREAM_<SECTION>_<FIELD> environment
// overrides, validation that reports every problem with its key and line, and
// rendering of the effective configuration with secrets masked.
//
// Struct tags drive the generic parts: `toml` names a key, `range:"min,max"`
// bounds a number (either side may be empty), `oneof:"a b c"` restricts a
// string, and `secret:"true"` masks a value when rendered.
package config

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Log kinds accepted by [CustomLog].Kind.
const (
	KindRFC6962  = "rfc6962"   // RFC 6962 get-sth / get-entries API
	KindStaticCT = "static-ct" // C2SP static-ct-api (tiled logs)
)

// Config is the whole node configuration; the zero value is not useful, start
// from [Default] or [Load].
type Config struct {
	Server          ServerConfig          `toml:"server"`
	Streams         StreamsConfig         `toml:"streams"`
	CTLog           CTLogConfig           `toml:"ct_log"`
	Dedup           DedupConfig           `toml:"dedup"`
	Clients         ClientsConfig         `toml:"clients"`
	Auth            AuthConfig            `toml:"auth"`
	ConnectionLimit ConnectionLimitConfig `toml:"connection_limit"`
	RateLimit       RateLimitConfig       `toml:"rate_limit"`
	HotReload       HotReloadConfig       `toml:"hot_reload"`
	API             APIConfig             `toml:"api"`
	Admin           AdminConfig           `toml:"admin"`
	Metrics         MetricsConfig         `toml:"metrics"`
	DeltaSink       DeltaSinkConfig       `toml:"delta_sink"`
	Cluster         ClusterConfig         `toml:"cluster"`
	Log             LogConfig             `toml:"log"`
}

// LogConfig is the node's own log output (stderr).
type LogConfig struct {
	Level  string `toml:"level" oneof:"debug info warn error"`
	Format string `toml:"format" oneof:"text json"` // text: key=value lines; json: one object per line
}

// ServerConfig is the HTTP listener.
type ServerConfig struct {
	Host           string   `toml:"host"`
	Port           int      `toml:"port" range:"1,65535"`
	TLSCert        string   `toml:"tls_cert"`
	TLSKey         string   `toml:"tls_key"`
	TrustedProxies []string `toml:"trusted_proxies"`
}

// StreamsConfig switches each client stream type on or off.
type StreamsConfig struct {
	Full        StreamConfig `toml:"full"`
	Lite        StreamConfig `toml:"lite"`
	DomainsOnly StreamConfig `toml:"domains_only"`
}

// StreamConfig is one stream type.
type StreamConfig struct {
	Enabled bool `toml:"enabled"`
}

// CTLogConfig drives log discovery and fetching.
type CTLogConfig struct {
	LogListURL             string      `toml:"log_list_url"`
	FollowLogList          bool        `toml:"follow_log_list"`
	StateFile              string      `toml:"state_file"`
	BatchSize              int         `toml:"batch_size" range:"1,100000"`
	FetchConcurrency       int         `toml:"fetch_concurrency" range:"1,64"`
	PollIntervalMS         int         `toml:"poll_interval_ms" range:"100,3600000"`
	PollInStep             bool        `toml:"poll_in_step"` // on average every PollIntervalMS, plus a re-poll for at most one poll in ten
	RequestTimeoutSecs     int         `toml:"request_timeout_secs" range:"1,600"`
	RetryInitialMS         int         `toml:"retry_initial_ms" range:"1,3600000"`
	RetryMaxMS             int         `toml:"retry_max_ms" range:"1,3600000"`
	StartOverlap           int         `toml:"start_overlap" range:"0,1000000"`
	OperatorRequestsPerSec float64     `toml:"operator_requests_per_sec" range:"0.001,100000"`
	UserAgent              string      `toml:"user_agent"`
	CustomLogs             []CustomLog `toml:"custom_logs"`
}

// CustomLog is a log followed in addition to (or instead of) the log list.
type CustomLog struct {
	Name     string `toml:"name"`
	URL      string `toml:"url"`
	Kind     string `toml:"kind" oneof:"rfc6962 static-ct"`
	Key      string `toml:"key"` // base64 DER SubjectPublicKeyInfo, optional
	Operator string `toml:"operator"`
}

// DedupConfig bounds the cross-log duplicate filter.
type DedupConfig struct {
	Capacity int `toml:"capacity" range:"1,100000000"`
	TTLSecs  int `toml:"ttl_secs" range:"1,604800"`
}

// ClientsConfig governs each streaming client connection.
type ClientsConfig struct {
	MailboxCapacity  int     `toml:"mailbox_capacity" range:"1,1048576"`
	WriteTimeoutSecs int     `toml:"write_timeout_secs" range:"1,300"`
	HeartbeatSecs    int     `toml:"heartbeat_secs" range:"1,14"`
	MaxDropRatio     float64 `toml:"max_drop_ratio" range:"0,1"`
	PingIntervalSecs int     `toml:"ping_interval_secs" range:"1,3600"`
	PongTimeoutSecs  int     `toml:"pong_timeout_secs" range:"1,3600"`
	MaxMessageBytes  int     `toml:"max_message_bytes" range:"125,1048576"`
	// Stream filters (the domain, domain_contains, domain_regex, issuer,
	// log and type query parameters): values per client, distinct
	// domain_regex values per node, and the longest regex.
	FilterMaxValues      int `toml:"filter_max_values" range:"1,10000"`
	FilterMaxRegexes     int `toml:"filter_max_regexes" range:"1,100000"`
	FilterMaxRegexLength int `toml:"filter_max_regex_length" range:"1,65536"`
	// The replay window resuming clients are served from: the most recent
	// certificates, bounded by count (0: no window), MiB held and age.
	ReplayWindowMessages int `toml:"replay_window_messages" range:"0,10000000"`
	ReplayWindowMiB      int `toml:"replay_window_mib" range:"1,65536"`
	ReplayWindowSecs     int `toml:"replay_window_secs" range:"1,86400"`
	// Compression negotiates permessage-deflate with WebSocket clients
	// that offer it.
	Compression bool `toml:"compression"`
	// CoalesceMS is the write coalescing window (0: off), and
	// CoalesceMaxMessages the queue length that ends it early.
	CoalesceMS          int `toml:"coalesce_ms" range:"0,1000"`
	CoalesceMaxMessages int `toml:"coalesce_max_messages" range:"1,65536"`
}

// AuthConfig is bearer-token authentication of clients.
type AuthConfig struct {
	Enabled       bool     `toml:"enabled"`
	Tokens        []string `toml:"tokens" secret:"true"`
	PublicHealth  bool     `toml:"public_health"`
	PublicMetrics bool     `toml:"public_metrics"`
}

// ConnectionLimitConfig caps concurrent client connections.
type ConnectionLimitConfig struct {
	Enabled        bool `toml:"enabled"`
	MaxConnections int  `toml:"max_connections" range:"1,10000000"`
	PerIP          int  `toml:"per_ip" range:"1,10000000"`
}

// RateLimitConfig is a per-IP token bucket on new requests.
type RateLimitConfig struct {
	Enabled     bool    `toml:"enabled"`
	PerIPPerSec float64 `toml:"per_ip_per_sec" range:"0.001,1000000"`
	Burst       int     `toml:"burst" range:"1,1000000"`
}

// HotReloadConfig re-reads the config file when it changes.
type HotReloadConfig struct {
	Enabled          bool `toml:"enabled"`
	PollIntervalSecs int  `toml:"poll_interval_secs" range:"1,86400"`
}

// APIConfig is the read-only JSON API (stats, logs).
type APIConfig struct {
	Enabled bool `toml:"enabled"`
}

// AdminConfig is the token-protected admin endpoint.
type AdminConfig struct {
	Enabled bool   `toml:"enabled"`
	Token   string `toml:"token" secret:"true"`
}

// MetricsConfig is the Prometheus endpoint.
type MetricsConfig struct {
	Enabled bool   `toml:"enabled"`
	Path    string `toml:"path"`
}

// DeltaSinkConfig is the Delta Lake archive writer.
type DeltaSinkConfig struct {
	Enabled            bool   `toml:"enabled"`
	TablePath          string `toml:"table_path"`
	BatchSize          int    `toml:"batch_size" range:"1,10000000"`
	FlushIntervalSecs  int    `toml:"flush_interval_secs" range:"1,86400"`
	Compression        string `toml:"compression" oneof:"zstd snappy gzip none"`
	CheckpointInterval int    `toml:"checkpoint_interval" range:"1,1000000"`
}

// DefaultLogListURL is Google's v3 CT log list.
const DefaultLogListURL = "https://www.gstatic.com/ct/log_list/v3/log_list.json"

// DefaultUserAgent identifies the node to CT log operators, with a contact URL.
const DefaultUserAgent = "certstream-go/1.0 (+https://github.com/certstream/certstream)"

// Default returns the configuration used when no file and no override sets a key.
func Default() Config {
	return Config{
		Server: ServerConfig{Host: "0.0.0.0", Port: 8080, TrustedProxies: []string{}},
		Streams: StreamsConfig{
			Full:        StreamConfig{Enabled: true},
			Lite:        StreamConfig{Enabled: true},
			DomainsOnly: StreamConfig{Enabled: true},
		},
		CTLog: CTLogConfig{
			LogListURL:             DefaultLogListURL,
			FollowLogList:          true,
			StateFile:              "certstream-state.json",
			BatchSize:              256,
			FetchConcurrency:       4,
			PollIntervalMS:         1000,
			PollInStep:             true,
			RequestTimeoutSecs:     15,
			RetryInitialMS:         500,
			RetryMaxMS:             60000,
			StartOverlap:           0,
			OperatorRequestsPerSec: 20,
			UserAgent:              DefaultUserAgent,
			CustomLogs:             []CustomLog{},
		},
		Dedup: DedupConfig{Capacity: 500000, TTLSecs: 3600},
		Clients: ClientsConfig{
			MailboxCapacity:      1024,
			WriteTimeoutSecs:     10,
			HeartbeatSecs:        10,
			MaxDropRatio:         0.5,
			PingIntervalSecs:     20,
			PongTimeoutSecs:      10,
			MaxMessageBytes:      4096,
			FilterMaxValues:      64,
			FilterMaxRegexes:     256,
			FilterMaxRegexLength: 256,
			ReplayWindowMessages: 300000,
			ReplayWindowMiB:      128,
			ReplayWindowSecs:     300,
			CoalesceMS:           100,
			CoalesceMaxMessages:  256,
		},
		Auth:            AuthConfig{Tokens: []string{}, PublicHealth: true, PublicMetrics: true},
		ConnectionLimit: ConnectionLimitConfig{MaxConnections: 10000, PerIP: 100},
		RateLimit:       RateLimitConfig{PerIPPerSec: 10, Burst: 20},
		HotReload:       HotReloadConfig{PollIntervalSecs: 5},
		API:             APIConfig{Enabled: true},
		Metrics:         MetricsConfig{Enabled: true, Path: "/metrics"},
		DeltaSink: DeltaSinkConfig{
			TablePath:          "./certstream-delta",
			BatchSize:          10000,
			FlushIntervalSecs:  30,
			Compression:        "zstd",
			CheckpointInterval: 10,
		},
		Cluster: DefaultCluster(),
		Log:     LogConfig{Level: "info", Format: "text"},
	}
}

// Addr is host:port for the listener.
func (s ServerConfig) Addr() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// TrustedProxyPrefixes parses TrustedProxies; a bare address is a single-host
// prefix. Entries that do not parse are skipped (validation reports them).
func (s ServerConfig) TrustedProxyPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(s.TrustedProxies))
	for _, p := range s.TrustedProxies {
		if pfx, err := parseProxy(p); err == nil {
			out = append(out, pfx)
		}
	}
	return out
}

// PollInterval is poll_interval_ms as a duration.
func (c CTLogConfig) PollInterval() time.Duration { return ms(c.PollIntervalMS) }

// RequestTimeout is request_timeout_secs as a duration.
func (c CTLogConfig) RequestTimeout() time.Duration { return secs(c.RequestTimeoutSecs) }

// RetryInitial is retry_initial_ms as a duration.
func (c CTLogConfig) RetryInitial() time.Duration { return ms(c.RetryInitialMS) }

// RetryMax is retry_max_ms as a duration.
func (c CTLogConfig) RetryMax() time.Duration { return ms(c.RetryMaxMS) }

// PublicKey decodes key (base64 of a DER SubjectPublicKeyInfo, as log
// lists carry log keys); it is nil when none is configured.
func (l CustomLog) PublicKey() (crypto.PublicKey, error) {
	if l.Key == "" {
		return nil, nil
	}
	der, err := base64.StdEncoding.DecodeString(l.Key)
	if err != nil {
		return nil, fmt.Errorf("not valid base64: %w", err)
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a PKIX public key: %w", err)
	}
	return pub, nil
}

// TTL is ttl_secs as a duration.
func (c DedupConfig) TTL() time.Duration { return secs(c.TTLSecs) }

// WriteTimeout is write_timeout_secs as a duration.
func (c ClientsConfig) WriteTimeout() time.Duration { return secs(c.WriteTimeoutSecs) }

// Heartbeat is heartbeat_secs as a duration.
func (c ClientsConfig) Heartbeat() time.Duration { return secs(c.HeartbeatSecs) }

// PingInterval is ping_interval_secs as a duration.
func (c ClientsConfig) PingInterval() time.Duration { return secs(c.PingIntervalSecs) }

// CoalesceWindow is coalesce_ms as a duration (0: writes are not
// coalesced).
func (c ClientsConfig) CoalesceWindow() time.Duration { return ms(c.CoalesceMS) }

// PongTimeout is pong_timeout_secs as a duration.
func (c ClientsConfig) PongTimeout() time.Duration { return secs(c.PongTimeoutSecs) }

// PollInterval is poll_interval_secs as a duration.
func (c HotReloadConfig) PollInterval() time.Duration { return secs(c.PollIntervalSecs) }

// FlushInterval is flush_interval_secs as a duration.
func (c DeltaSinkConfig) FlushInterval() time.Duration { return secs(c.FlushIntervalSecs) }

func ms(n int) time.Duration   { return time.Duration(n) * time.Millisecond }
func secs(n int) time.Duration { return time.Duration(n) * time.Second }
