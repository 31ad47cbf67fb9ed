package node

import (
	"net"
	"strconv"
	"testing"
)

// host = "0.0.0.0" is every IPv4 interface only: the listener is IPv4 and
// an IPv6 client is refused. "::" stays every interface.
func TestListenIPv4Only(t *testing.T) {
	ln, err := Listen("0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr)
	if addr.IP.To4() == nil {
		t.Errorf("0.0.0.0 listens on %s, not IPv4 only", addr)
	}
	if v4, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port))); err != nil {
		t.Errorf("IPv4 client: %v", err)
	} else {
		v4.Close()
	}
	if probe, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Log("no IPv6 loopback here: the IPv6 client is not tried")
	} else {
		probe.Close()
		if v6, err := net.Dial("tcp6", net.JoinHostPort("::1", strconv.Itoa(addr.Port))); err == nil {
			v6.Close()
			t.Errorf("an IPv6 client reached a 0.0.0.0 listener")
		}
	}

	all, err := Listen("[::]:0")
	if err != nil {
		t.Skipf("no IPv6 here: %v", err)
	}
	defer all.Close()
	if v4, err := net.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(all.Addr().(*net.TCPAddr).Port))); err != nil {
		t.Errorf(":: refuses IPv4 clients: %v", err)
	} else {
		v4.Close()
	}
}
