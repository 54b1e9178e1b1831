package h1

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// Dialer opens a connection to addr (host:port) over network "tcp".
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Transport holds what every connection to the backends shares: how to
// dial, TLS, and how many idle connections to keep for how long.
type Transport struct {
	// Dial opens connections; nil is a net.Dialer with a 10 s timeout and
	// 30 s TCP keep-alives.
	Dial Dialer
	// TLS is the client configuration of https backends (the server name
	// is set per backend); nil is the system's roots.
	TLS *tls.Config
	// HandshakeTimeout bounds a TLS handshake; zero is 10 s.
	HandshakeTimeout time.Duration
	// MaxIdle is how many idle connections each backend address keeps;
	// zero is 256.
	MaxIdle int
	// IdleTimeout is how long an idle connection is kept; zero is 90 s.
	IdleTimeout time.Duration

	mu    sync.Mutex
	hosts []*Host
}

// Host returns the pool of connections to one backend: addr is host:port,
// tls whether the connection is https (serverName is then checked
// against the backend's certificate).
func (t *Transport) Host(addr string, useTLS bool, serverName string) *Host {
	h := &Host{t: t, addr: addr}
	if useTLS {
		cfg := &tls.Config{}
		if t.TLS != nil {
			cfg = t.TLS.Clone()
		}
		cfg.ServerName = serverName
		cfg.NextProtos = []string{"http/1.1"}
		h.tls = cfg
	}
	t.mu.Lock()
	t.hosts = append(t.hosts, h)
	t.mu.Unlock()
	return h
}

// CloseIdle closes the idle connections of every Host of t (the gateway
// shuts down).
func (t *Transport) CloseIdle() {
	t.mu.Lock()
	hosts := t.hosts
	t.mu.Unlock()
	for _, h := range hosts {
		h.CloseIdle()
	}
}

// Host is the idle connections to one backend address, the most recently
// used first out.
type Host struct {
	t    *Transport
	addr string
	tls  *tls.Config

	mu   sync.Mutex
	idle []*Conn
}

// Conn is a connection to a backend with its buffers. One exchange uses it
// at a time.
type Conn struct {
	NC net.Conn
	BR *bufio.Reader
	BW *bufio.Writer
	// Reused is true when the connection served an exchange before: the
	// backend may have closed it meanwhile, which the first read shows.
	Reused bool
	host   *Host
	idleAt time.Time
}

// Get returns an idle connection, or dials a new one, giving up at deadline
// (zero: none). A dial error means nothing was sent.
func (h *Host) Get(ctx context.Context, deadline time.Time) (*Conn, error) {
	if c := h.popIdle(); c != nil {
		return c, nil
	}
	return h.Dial(ctx, deadline)
}

func (h *Host) popIdle() *Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	for n := len(h.idle); n > 0; n = len(h.idle) {
		c := h.idle[n-1]
		h.idle[n-1] = nil
		h.idle = h.idle[:n-1]
		if time.Since(c.idleAt) < h.t.idleTimeout() {
			c.Reused = true
			return c
		}
		c.NC.Close()
	}
	return nil
}

// Dial opens a new connection (for a request that must not go on one that
// was idle), giving up at deadline (zero: none).
func (h *Host) Dial(ctx context.Context, deadline time.Time) (*Conn, error) {
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	dial := h.t.Dial
	if dial == nil {
		dial = defaultDialer.DialContext
	}
	nc, err := dial(ctx, "tcp", h.addr)
	if err != nil {
		return nil, err
	}
	if h.tls != nil {
		tc := tls.Client(nc, h.tls)
		hctx, cancel := context.WithTimeout(ctx, h.t.handshakeTimeout())
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return &Conn{NC: nc, BR: bufio.NewReaderSize(nc, 4096), BW: bufio.NewWriterSize(nc, 4096), host: h}, nil
}

var defaultDialer = &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}

// Put gives c back for another exchange: the response was read to its end
// and the request sent whole. The pool's oldest connection goes when it is
// full or idle too long. A read deadline c still has is the next
// exchange's to replace.
func (c *Conn) Put() {
	h := c.host
	now := time.Now()
	c.idleAt = now
	h.mu.Lock()
	if len(h.idle) > 0 && now.Sub(h.idle[0].idleAt) >= h.t.idleTimeout() || len(h.idle) >= h.t.maxIdle() {
		old := h.idle[0]
		copy(h.idle, h.idle[1:])
		h.idle[len(h.idle)-1] = nil
		h.idle = h.idle[:len(h.idle)-1]
		defer old.NC.Close()
	}
	h.idle = append(h.idle, c)
	h.mu.Unlock()
}

// Close ends c: its exchange broke, or the backend ends the connection.
func (c *Conn) Close() { c.NC.Close() }

// CloseIdle closes every idle connection of h.
func (h *Host) CloseIdle() {
	h.mu.Lock()
	idle := h.idle
	h.idle = nil
	h.mu.Unlock()
	for _, c := range idle {
		c.NC.Close()
	}
}

func (t *Transport) idleTimeout() time.Duration {
	if t.IdleTimeout > 0 {
		return t.IdleTimeout
	}
	return 90 * time.Second
}

func (t *Transport) maxIdle() int {
	if t.MaxIdle > 0 {
		return t.MaxIdle
	}
	return 256
}

func (t *Transport) handshakeTimeout() time.Duration {
	if t.HandshakeTimeout > 0 {
		return t.HandshakeTimeout
	}
	return 10 * time.Second
}
