package access

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/valyala/fasthttp"
)

// ClientIP returns the address a request is accounted to: the TCP peer,
// unless the peer is a trusted proxy, in which case X-Forwarded-For is read
// from the right, skipping trusted proxies, and the first address not
// trusted is the client (or the leftmost when all are). An entry that does
// not parse stops the walk at the last address known good.
func ClientIP(ctx *fasthttp.RequestCtx, trusted []netip.Prefix) netip.Addr {
	peer := addrOf(ctx.RemoteAddr())
	if len(trusted) == 0 || !isTrusted(peer, trusted) {
		return peer
	}
	return forwardedClient(peer, ctx.Request.Header.PeekAll("X-Forwarded-For"), trusted)
}

// forwardedClient walks the X-Forwarded-For values (headers in order, each
// a comma-separated list) from the right.
func forwardedClient(peer netip.Addr, headers [][]byte, trusted []netip.Prefix) netip.Addr {
	var hops [][]byte
	for _, h := range headers {
		hops = append(hops, bytes.Split(h, []byte(","))...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(string(bytes.TrimSpace(hops[i])))
		if err != nil {
			return client
		}
		client = a.Unmap()
		if !isTrusted(client, trusted) {
			return client
		}
	}
	return client
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// addrOf returns the IP of a network address (the zero Addr if it has none).
func addrOf(a net.Addr) netip.Addr {
	if tcp, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(tcp.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
