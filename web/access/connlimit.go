package access

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"time"
)

// connCounter counts admitted streaming connections, in total and per IP.
type connCounter struct {
	mu    sync.Mutex
	perIP map[netip.Addr]int
	total int
}

func newConnCounter() *connCounter { return &connCounter{perIP: map[netip.Addr]int{}} }

// acquire admits one connection from ip under the caps (0: none). It
// returns the function that gives the slot back (idempotent), or the reason
// it was refused.
func (c *connCounter) acquire(ip netip.Addr, maxTotal, maxPerIP int) (release func(), refused string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case maxPerIP > 0 && c.perIP[ip] >= maxPerIP:
		return nil, DeniedConnsPerIP
	case maxTotal > 0 && c.total >= maxTotal:
		return nil, DeniedConnsTotal
	}
	c.perIP[ip]++
	c.total++
	var once sync.Once
	return func() { once.Do(func() { c.release(ip) }) }, ""
}

func (c *connCounter) release(ip netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.perIP[ip]--; c.perIP[ip] <= 0 {
		delete(c.perIP, ip)
	}
}

// Listen wraps ln so that the Controller learns when each connection
// closes, which is when a streaming client's slot is given back.
func Listen(ln net.Listener) net.Listener { return &listener{ln} }

type listener struct{ net.Listener }

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &trackedConn{Conn: c}, nil
}

// trackedConn runs its close hooks once, when first closed.
type trackedConn struct {
	net.Conn
	mu     sync.Mutex
	hooks  []func()
	closed bool
}

func (c *trackedConn) Close() error {
	c.mu.Lock()
	hooks, already := c.hooks, c.closed
	c.hooks, c.closed = nil, true
	c.mu.Unlock()
	for _, f := range hooks {
		f()
	}
	if already {
		return nil
	}
	return c.Conn.Close()
}

// SetKeepAlive and SetKeepAlivePeriod pass TCP keep-alive settings through.
func (c *trackedConn) SetKeepAlive(on bool) error {
	if k, ok := c.Conn.(interface{ SetKeepAlive(bool) error }); ok {
		return k.SetKeepAlive(on)
	}
	return nil
}

// SetKeepAlivePeriod sets the TCP keep-alive period when the connection has one.
func (c *trackedConn) SetKeepAlivePeriod(d time.Duration) error {
	if k, ok := c.Conn.(interface{ SetKeepAlivePeriod(time.Duration) error }); ok {
		return k.SetKeepAlivePeriod(d)
	}
	return nil
}

// onClose arranges for f to run when conn (a connection from Listen,
// possibly under TLS) closes. It returns false when it cannot: conn is not
// tracked or is already closed.
func onClose(conn net.Conn, f func()) bool {
	if t, ok := conn.(*tls.Conn); ok {
		conn = t.NetConn()
	}
	tc, ok := conn.(*trackedConn)
	if !ok {
		return false
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.closed {
		return false
	}
	tc.hooks = append(tc.hooks, f)
	return true
}
