package node

import (
	"net"
	"net/netip"
)

// Listen listens on addr (host:port) as the node does: an IPv4 host, such
// as "0.0.0.0" (every IPv4 interface), listens on IPv4 only; "::" or an
// empty host listens on every interface, IPv4 and IPv6.
func Listen(addr string) (net.Listener, error) {
	network := "tcp"
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
			network = "tcp4"
		}
	}
	return net.Listen(network, addr)
}
