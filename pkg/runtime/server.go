package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// Server timeouts and limits. The request body is streamed to the backend,
// never buffered, so ReadTimeout bounds a whole upload.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 5 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Options are the dependencies of a Server that are not in the configuration.
type Options struct {
	// Logger receives the gateway's logs; nil discards them.
	Logger *slog.Logger
	// Registry holds the custom revocation stores compiled in; nil is
	// revocation.DefaultRegistry.
	Registry *revocation.Registry
}

// Server is a running gateway, with a Caddy-like lifecycle: New provisions
// everything that can fail without the network (router, proxies, validator,
// sources), Start opens the listeners and starts the revocation sources, and
// Shutdown drains in-flight requests and stops everything Start started.
type Server struct {
	spec   Spec
	cfg    *config.Config
	logger *slog.Logger

	handler http.Handler // the request path (gateway listeners)

	mu        sync.Mutex
	servers   []*http.Server
	addrs     map[string]net.Addr
	done      chan error
	started   bool
	listening bool
}

// New provisions a Server from the compiled spec and a loaded configuration.
func New(spec Spec, cfg *config.Config, opts Options) (*Server, error) {
	if cfg == nil {
		return nil, errors.New("runtime: no configuration")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		spec:   spec,
		cfg:    cfg,
		logger: logger,
		addrs:  map[string]net.Addr{},
		done:   make(chan error, 3),
	}
	s.handler = http.NotFoundHandler()
	return s, nil
}

// Handler is the gateway request path, as served on the HTTP and HTTPS
// listeners; tests and benchmarks call it directly.
func (s *Server) Handler() http.Handler { return s.handler }

// Start opens the configured listeners (a port of 0 in the configuration
// switches that listener off; tests use Options to ask for ephemeral ports)
// and serves them in the background.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("runtime: server already started")
	}
	s.started = true
	l := s.cfg.Listener
	if l.HTTPSPort != 0 {
		cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
		if err != nil {
			return fmt.Errorf("https listener: load certificate %s and key %s: %w", l.CertFile, l.KeyFile, err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if err := s.listen("https", l.Host, l.HTTPSPort, tc, s.handler); err != nil {
			return err
		}
	}
	if l.HTTPPort != 0 {
		if err := s.listen("http", l.Host, l.HTTPPort, nil, s.handler); err != nil {
			return err
		}
	}
	s.listening = true
	return nil
}

func (s *Server) listen(name, host string, port int, tc *tls.Config, h http.Handler) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("%s listener: %w", name, err)
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.servers = append(s.servers, srv)
	s.addrs[name] = ln.Addr()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.done <- fmt.Errorf("%s listener: %w", name, err)
		}
	}()
	s.logger.Info(fmt.Sprintf("%s listener is active on port %d", map[string]string{"http": "HTTP", "https": "HTTPS", "admin": "Admin"}[name], ln.Addr().(*net.TCPAddr).Port))
	return nil
}

// Addr returns the bound address of the "http", "https" or "admin" listener,
// or nil when it is not open.
func (s *Server) Addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[name]
}

// Done reports a listener that stopped on its own with an error.
func (s *Server) Done() <-chan error { return s.done }

// Shutdown stops accepting connections, waits for in-flight requests until
// ctx is done, then stops the revocation sources.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.listening = false
	s.mu.Unlock()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
