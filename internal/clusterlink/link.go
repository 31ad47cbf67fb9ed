// Package clusterlink is the NATS JetStream side of a cluster of nodes: an
// embedded nats-server, the client connection, the certificate stream with
// its bounded retention and publish deduplication, publishing to it and
// reading it from a sequence on. It is plain code: the actors that use it
// live in actors/clusterpub and actors/clustersub.
package clusterlink

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config is a node's view of the cluster link.
type Config struct {
	// URLs are the NATS servers (nats:// or tls://).
	URLs []string
	// InProcess, when set, is this process's embedded server, reached
	// without a socket (and so without TLS) instead of URLs.
	InProcess *Server
	// Name names the connection in the servers' monitoring.
	Name string
	// Credentials is a .creds file; User and Password a plain login;
	// TLSCA a CA file verifying the servers.
	Credentials, User, Password, TLSCA string
	// Stream is the JetStream stream; its subject is Subject(Stream).
	Stream string
	// Retention and RetentionBytes bound the stream, oldest discarded
	// first; DuplicateWindow is how long a message id is remembered.
	Retention       time.Duration
	RetentionBytes  int64
	DuplicateWindow time.Duration
	Replicas        int
	// MaxPending bounds the asynchronous publishes awaiting an ack.
	MaxPending int
	// OnAck and OnError, when set, see each asynchronous publish's
	// outcome; they run on the client's goroutines and must be quick.
	OnAck   func(duplicate bool)
	OnError func(f Failed, err error)
}

// Failed is a publish the stream did not acknowledge (no ack in time, no
// stream, connection closed). Republish sends it again: safe within the
// stream's duplicate window, since the message id stays the same.
type Failed struct {
	Data  []byte
	ID    string
	Since time.Time // when its first attempt failed
}

// sinceHeader carries Failed.Since on a republished message, so that a
// second failure keeps the first one's time.
const sinceHeader = "Certstream-Failed-Since"

// Subject is the subject of the stream named stream.
func Subject(stream string) string { return strings.ToLower(stream) + ".certs" }

// Link is a connection to the NATS cluster.
type Link struct {
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
}

// Dial connects to the cluster. It does not wait for a server: the client
// keeps trying to connect, and reconnects after any outage, forever.
func Dial(cfg Config) (*Link, error) {
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
	}
	switch {
	case cfg.Credentials != "":
		opts = append(opts, nats.UserCredentials(cfg.Credentials))
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	urls := strings.Join(cfg.URLs, ",")
	switch {
	case cfg.InProcess != nil:
		opts = append(opts, nats.InProcessServer(cfg.InProcess.ns))
		urls = "nats://in-process" // named, never dialled (nor TLS: the server offers it only)
	case cfg.TLSCA != "":
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	jsOpts := []jetstream.JetStreamOpt{
		jetstream.WithPublishAsyncMaxPending(max(cfg.MaxPending, 1)),
		jetstream.WithPublishAsyncTimeout(5 * time.Second),
	}
	if cfg.OnAck != nil {
		jsOpts = append(jsOpts, jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, _ *nats.Msg, a *jetstream.PubAck) {
			cfg.OnAck(a.Duplicate)
		}))
	}
	if cfg.OnError != nil {
		jsOpts = append(jsOpts, jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			f := Failed{Data: m.Data, ID: m.Header.Get(jetstream.MsgIDHeader), Since: time.Now()}
			if ns, perr := strconv.ParseInt(m.Header.Get(sinceHeader), 10, 64); perr == nil {
				f.Since = time.Unix(0, ns)
			}
			cfg.OnError(f, err)
		}))
	}
	js, err := jetstream.New(nc, jsOpts...)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Link{cfg: cfg, nc: nc, js: js}, nil
}

// Connected reports whether the client is connected to a server now.
func (l *Link) Connected() bool { return l.nc.IsConnected() }

// Server is the URL of the server the client is connected to, or "".
func (l *Link) Server() string { return l.nc.ConnectedUrlRedacted() }

// Close closes the connection; pending publishes fail.
func (l *Link) Close() { l.nc.Close() }

// EnsureStream creates the stream, or updates its limits to the
// configuration's.
func (l *Link) EnsureStream(ctx context.Context) error {
	_, err := l.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       l.cfg.Stream,
		Subjects:   []string{Subject(l.cfg.Stream)},
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		MaxAge:     l.cfg.Retention,
		MaxBytes:   l.cfg.RetentionBytes,
		Duplicates: l.cfg.DuplicateWindow,
		Replicas:   max(l.cfg.Replicas, 1),
		Storage:    jetstream.FileStorage,
	})
	if err != nil {
		return fmt.Errorf("stream %s: %w", l.cfg.Stream, err)
	}
	return nil
}

// MsgID is the deduplication id of a certificate: its SHA-256 in hex, so
// two ingest nodes publishing the same certificate store it once.
func MsgID(sha256 [32]byte) string { return hex.EncodeToString(sha256[:]) }

// ErrFull is returned by Publish when MaxPending publishes await an ack.
var ErrFull = errors.New("clusterlink: too many publishes awaiting an ack")

// Publish sends payload with the message id asynchronously; the outcome
// goes to OnAck or OnError. It never waits: with MaxPending publishes
// outstanding it returns ErrFull.
func (l *Link) Publish(payload []byte, id string) error {
	return l.publish(payload, nats.Header{jetstream.MsgIDHeader: []string{id}})
}

// Republish publishes a failed message again, like Publish.
func (l *Link) Republish(f Failed) error {
	return l.publish(f.Data, nats.Header{jetstream.MsgIDHeader: []string{f.ID},
		sinceHeader: []string{strconv.FormatInt(f.Since.UnixNano(), 10)}})
}

func (l *Link) publish(payload []byte, h nats.Header) error {
	if l.js.PublishAsyncPending() >= l.cfg.MaxPending {
		return ErrFull
	}
	msg := &nats.Msg{Subject: Subject(l.cfg.Stream), Data: payload, Header: h}
	_, err := l.js.PublishMsgAsync(msg, jetstream.WithStallWait(time.Millisecond))
	return err
}

// Pending is the number of publishes awaiting an ack.
func (l *Link) Pending() int { return l.js.PublishAsyncPending() }

// Drained returns a channel closed once no publish awaits an ack.
func (l *Link) Drained() <-chan struct{} { return l.js.PublishAsyncComplete() }
