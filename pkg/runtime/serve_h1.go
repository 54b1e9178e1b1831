package runtime

import (
	"bufio"
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime/h1"
)

// h1Server serves the connections of a listener without TLS: HTTP/1.1 on
// one goroutine per connection, with a request reader and a response
// writer of the gateway's own, not net/http's (docs/runtime.md,
// "Listeners"). A connection whose request it is not sure of (another
// protocol version, a Transfer-Encoding, Expect, Upgrade, a head over
// 4 KiB, anything h1.ParseRequest does not take) is handed, with the
// bytes already read, to fallback, an http.Server with the same handler
// and limits, and stays there. Unlike http.Server it does not read the
// connection while the handler runs: a client that goes away is noticed
// when a write to it fails.
type h1Server struct {
	handler  http.Handler
	fallback *http.Server
	handoff  *handoffListener
	errorLog *log.Logger

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*h1Conn]struct{}
	shutting atomic.Bool
}

// Connection states: a connection is closed by Shutdown only when it is
// idle (or new for longer than newConnGrace), by a swap that the
// connection's own goroutine races with when a request arrives.
const (
	connNew int32 = iota
	connActive
	connIdle
	connClosed
)

// newConnGrace is how long a connection that has sent nothing yet is
// spared by Shutdown, as http.Server spares it.
const newConnGrace = 5 * time.Second

// headBufferSize is the reader's buffer: a request head that does not fit
// goes to net/http, which answers heads up to maxHeaderBytes.
const headBufferSize = 4 << 10

func newH1Server(h http.Handler, fallback *http.Server, addr net.Addr) *h1Server {
	return &h1Server{handler: h, fallback: fallback, handoff: newHandoffListener(addr), errorLog: fallback.ErrorLog,
		conns: map[*h1Conn]struct{}{}}
}

// Serve accepts connections on ln until Shutdown or Close, and serves the
// fallback's on the handoff listener.
func (s *h1Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	if s.shuttingDown() {
		ln.Close()
		return http.ErrServerClosed
	}
	fallbackDone := make(chan struct{})
	go func() {
		defer close(fallbackDone)
		_ = s.fallback.Serve(s.handoff)
	}()
	defer func() {
		s.handoff.Close()
		<-fallbackDone
	}()
	base := context.WithValue(context.Background(), http.LocalAddrContextKey, ln.Addr())
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shuttingDown() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors or the like: wait, as http.Server does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logf("http: Accept error: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := s.newConn(nc)
		if !s.track(c, true) {
			nc.Close()
			return http.ErrServerClosed
		}
		go c.serve(base)
	}
}

func (s *h1Server) shuttingDown() bool { return s.shutting.Load() }

func (s *h1Server) logf(format string, args ...any) {
	if s.errorLog != nil {
		s.errorLog.Printf(format, args...)
	}
}

// track adds c to the connections Shutdown waits for, or takes it out;
// it refuses a new one once shutting down.
func (s *h1Server) track(c *h1Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.shuttingDown() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// Shutdown stops accepting, closes the idle connections, and waits until
// the others have finished their request (they close after it) or ctx is
// done; the fallback's connections are drained by its own Shutdown.
func (s *h1Server) Shutdown(ctx context.Context) error {
	s.shutting.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	fallbackErr := make(chan error, 1)
	go func() { fallbackErr <- s.fallback.Shutdown(ctx) }()
	wait := time.Millisecond
	for !s.closeIdle() {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			<-fallbackErr
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
	return <-fallbackErr
}

// closeIdle closes the idle connections and reports whether none is left.
func (s *h1Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		st := c.state.Load()
		if st == connNew && time.Since(c.since) > newConnGrace {
			st = connIdle
		}
		if (st == connIdle || st == connNew) && c.state.CompareAndSwap(st, connClosed) {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

// Close closes the listener and every connection at once.
func (s *h1Server) Close() error {
	s.shutting.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.state.Store(connClosed)
		c.nc.Close()
	}
	s.mu.Unlock()
	return s.fallback.Close()
}

// h1Conn is one client connection of h1Server and what it reuses from one
// request to the next.
type h1Conn struct {
	srv    *h1Server
	nc     net.Conn
	remote string
	since  time.Time
	state  atomic.Int32
	br     *bufio.Reader
	bw     *bufio.Writer
	werr   error // the first failed write to the client
	// afterPOST: the last request was a POST.
	afterPOST bool
	cancel    context.CancelFunc
	watch     connWatch

	hdr  http.Header
	req  http.Request
	body h1Body
	w    h1Response
}

func (s *h1Server) newConn(nc net.Conn) *h1Conn {
	c := &h1Conn{srv: s, nc: nc, remote: nc.RemoteAddr().String(), since: time.Now(), hdr: http.Header{}}
	c.watch.init(c)
	c.br = bufio.NewReaderSize(&c.watch, headBufferSize)
	c.bw = bufio.NewWriterSize(connWriter{c}, 4<<10)
	c.body.br = c.br
	c.w = h1Response{c: c, header: http.Header{}, out: bufio.NewWriterSize(nil, 2<<10)}
	return c
}

// connWriter writes to the client, recording the first failure; it ends
// the request's context, so that the proxy stops.
type connWriter struct{ c *h1Conn }

func (cw connWriter) Write(p []byte) (int, error) {
	n, err := cw.c.nc.Write(p)
	if err != nil && cw.c.werr == nil {
		cw.c.werr = err
		if cw.c.cancel != nil {
			cw.c.cancel()
		}
	}
	return n, err
}

// serve reads and answers requests until the client or the server ends the
// connection, or hands it to net/http.
func (c *h1Conn) serve(base context.Context) {
	ctx, cancel := context.WithCancel(base)
	c.cancel = cancel
	handedOff := false
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			c.srv.logf("http: panic serving %v: %v\n%s", c.remote, p, debug.Stack())
		}
		cancel()
		c.srv.track(c, false)
		if !handedOff {
			_ = c.bw.Flush()
			c.nc.Close()
		}
	}()
	_ = c.nc.SetReadDeadline(c.since.Add(readHeaderTimeout))
	for {
		head, ok := c.readHead()
		if !ok {
			return
		}
		r := &c.req
		*r = http.Request{}
		if head == nil || !h1.ParseRequest(string(head), r, c.hdr) {
			handedOff = true
			c.handOff()
			return
		}
		_, _ = c.br.Discard(len(head))
		if r.ContentLength > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(readTimeout))
			c.body = h1Body{br: c.br, left: r.ContentLength}
			r.Body = &c.body
		} else {
			r.Body = http.NoBody
		}
		r.RemoteAddr = c.remote
		c.afterPOST = r.Method == http.MethodPost
		rctx, rcancel := context.WithCancel(ctx)
		req := r.WithContext(rctx)
		w := &c.w
		w.reset(req, &c.body)
		watched := r.ContentLength == 0
		if watched {
			c.watch.start()
		}
		c.srv.handler.ServeHTTP(w, req)
		if watched {
			c.watch.stop()
		}
		w.finish()
		rcancel()
		if !w.reusable() {
			if w.bodyTooBig {
				// Unread request bytes: half-close first, so the client
				// reads the response before a reset (as http.Server).
				_ = c.bw.Flush()
				if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
					_ = tc.CloseWrite()
					time.Sleep(500 * time.Millisecond)
				}
			}
			return
		}
		if !c.state.CompareAndSwap(connActive, connIdle) || c.srv.shuttingDown() {
			return
		}
		_ = c.nc.SetReadDeadline(time.Now().Add(idleTimeout))
	}
}

// readHead waits for a whole request head in the reader's buffer and
// returns it (unread); nil with ok when the connection must go to
// net/http, !ok when it is over (closed, timed out, taken by Shutdown).
func (c *h1Conn) readHead() (head []byte, ok bool) {
	if c.br.Buffered() == 0 {
		if _, err := c.br.Peek(1); err != nil {
			return nil, false
		}
	}
	if c.afterPOST {
		// As net/http: up to four CR or LF after a POST are taken for
		// the line end an old client added after its body (RFC 9112 2.2).
		peek, _ := c.br.Peek(4)
		n := 0
		for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
			n++
		}
		_, _ = c.br.Discard(n)
		if c.br.Buffered() == 0 {
			if _, err := c.br.Peek(1); err != nil {
				return nil, false
			}
		}
	}
	st := c.state.Load()
	if st == connClosed || st != connActive && !c.state.CompareAndSwap(st, connActive) {
		return nil, false
	}
	deadlineSet := false
	for {
		b, _ := c.br.Peek(c.br.Buffered())
		if n := h1.HeadEnd(b); n >= 0 {
			return b[:n], true
		}
		if len(b) == c.br.Size() {
			return nil, true
		}
		if !deadlineSet {
			// The head came in pieces: it has readHeaderTimeout from
			// its first byte.
			_ = c.nc.SetReadDeadline(time.Now().Add(readHeaderTimeout))
			deadlineSet = true
		}
		if _, err := c.br.Peek(len(b) + 1); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, false
			}
			// Cut short: net/http answers what it makes of it.
			return nil, true
		}
	}
}

// handOff gives the connection, with what was read of it, to net/http.
func (c *h1Conn) handOff() {
	b, _ := c.br.Peek(c.br.Buffered())
	_ = c.nc.SetReadDeadline(time.Time{})
	c.srv.handoff.give(&prefixedConn{Conn: c.nc, prefix: append([]byte(nil), b...)})
}
