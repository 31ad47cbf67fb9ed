package clusterlink

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerConfig configures an embedded nats-server with JetStream.
type ServerConfig struct {
	Name     string // server name; required in a cluster of servers
	Listen   string // client address, host:port (port 0 picks one)
	StoreDir string // JetStream's files
	// ClusterListen, when set, is the route address; ClusterName and
	// Routes (the other servers' nats-route:// URLs) then form a cluster.
	ClusterName   string
	ClusterListen string
	Routes        []string
	// User and Password, when set, are required of clients and of the
	// other servers' routes, and this server's routes present them.
	User, Password string
	// TLSCert and TLSKey serve the client port with TLS. In a cluster they
	// also secure the routes both ways, each end verifying the other's
	// certificate against TLSCA (required then): the certificate must
	// allow server and client authentication.
	TLSCert, TLSKey, TLSCA string
}

// Server is a running embedded nats-server.
type Server struct {
	ns *server.Server
}

// StartServer starts an embedded server and waits until it accepts clients.
func StartServer(cfg ServerConfig) (*Server, error) {
	host, port, err := splitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen address: %w", err)
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		Username:   cfg.User,
		Password:   cfg.Password,
		NoSigs:     true,
		NoLog:      true,
	}
	if cfg.TLSCert != "" {
		if opts.TLSConfig, err = server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey}); err != nil {
			return nil, fmt.Errorf("nats tls: %w", err)
		}
		opts.TLS = true
	}
	if cfg.ClusterListen != "" {
		ch, cp, err := splitHostPort(cfg.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("nats cluster listen address: %w", err)
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: ch, Port: cp,
			Username: cfg.User, Password: cfg.Password}
		if cfg.TLSCert != "" {
			if opts.Cluster.TLSConfig, err = routeTLS(cfg); err != nil {
				return nil, err
			}
		}
		for _, r := range cfg.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("nats route %q: %w", r, err)
			}
			// A configured route presents only the credentials in its URL
			// (nats-server's sendRouteConnect); the routes it learns from
			// the others' gossip get the cluster's. The URL stays in the
			// server's options, never in the configuration or the logs.
			if cfg.User != "" {
				u.User = url.UserPassword(cfg.User, cfg.Password)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats server: not ready for connections after 10s")
	}
	return &Server{ns: ns}, nil
}

// ClientURL is the URL clients connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// ClusterAddr is the address the server takes routes on, or nil.
func (s *Server) ClusterAddr() net.Addr {
	if a := s.ns.ClusterAddr(); a != nil {
		return a
	}
	return nil
}

// Shutdown stops the server and waits until it has.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// routeTLS is the TLS configuration of routes: both ends present the
// server's certificate and verify the other's against the CA, as
// nats-server does for a cluster's tls block.
func routeTLS(cfg ServerConfig) (*tls.Config, error) {
	if cfg.TLSCA == "" {
		return nil, errors.New("nats route tls: a CA to verify the other servers is required")
	}
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey,
		CaFile: cfg.TLSCA, Verify: true})
	if err != nil {
		return nil, fmt.Errorf("nats route tls: %w", err)
	}
	tc.RootCAs = tc.ClientCAs // a route's dialling end is a TLS client
	return tc, nil
}

// splitHostPort splits a listen address; port 0 becomes
// server.RANDOM_PORT, since nats-server reads 0 as its default port.
func splitHostPort(hp string) (string, int, error) {
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, err
	}
	if n == 0 {
		n = server.RANDOM_PORT
	}
	return h, n, nil
}
