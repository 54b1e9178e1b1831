// Package stompbroker is the embedded STOMP 1.2 broker of `micro-gw dev` and
// of tests: go-stomp's server package on a listener, with a way to stop it.
package stompbroker

import (
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/go-stomp/stomp/v3/server"
)

// Broker is an embedded STOMP 1.2 broker (go-stomp's server package):
// topics are destinations outside /queue, so /topic/tokenRevocation reaches
// every subscriber. It accepts any login: it listens on loopback only, for
// development.
type Broker struct {
	l *trackingListener
}

// Start listens on addr (host:port; port 0 picks a free one) and serves STOMP
// until Close. logger receives go-stomp's logs (nil: none).
func Start(addr string, logger *slog.Logger) (*Broker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start STOMP broker: %w", err)
	}
	tl := &trackingListener{Listener: l, conns: map[net.Conn]struct{}{}}
	srv := &server.Server{Log: stompLogger{logger}}
	// go-stomp has no way to stop a server: closing the listener ends its
	// accept loop, and Close also closes the client connections that
	// trackingListener has seen. Serve itself never returns (its request
	// loop outlives the listener), so one idle goroutine stays behind.
	go func() { _ = srv.Serve(tl) }()
	return &Broker{l: tl}, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.l.Addr().String() }

// Close stops accepting connections and drops the open ones.
func (b *Broker) Close() error { return b.l.CloseAll() }

// trackingListener remembers the connections it accepted so that they can be
// closed with it.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) forget(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// CloseAll closes the listener and every connection still open.
func (l *trackingListener) CloseAll() error {
	l.mu.Lock()
	l.closed = true
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	err := l.Listener.Close()
	for _, c := range conns {
		c.Close()
	}
	return err
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.forget(c) })
	return c.Conn.Close()
}

// stompLogger sends go-stomp's server logs to slog: its info chatter (every
// connection) to DEBUG, and its errors, which are mostly clients that went
// away without DISCONNECT, to INFO.
type stompLogger struct{ l *slog.Logger }

func (s stompLogger) Debugf(format string, v ...any)   { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s stompLogger) Infof(format string, v ...any)    { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s stompLogger) Warningf(format string, v ...any) { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s stompLogger) Errorf(format string, v ...any)   { s.Error(fmt.Sprintf(format, v...)) }
func (s stompLogger) Debug(msg string)                 { s.l.Debug(msg) }
func (s stompLogger) Info(msg string)                  { s.l.Debug(msg) }
func (s stompLogger) Warning(msg string)               { s.l.Warn(msg) }
func (s stompLogger) Error(msg string) {
	// A read cut by our own Close (Ctrl-C of micro-gw dev) is no news.
	if strings.Contains(msg, net.ErrClosed.Error()) {
		s.l.Debug(msg)
		return
	}
	s.l.Info(msg)
}
