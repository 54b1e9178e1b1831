package runtime

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/runtime/h1"
	"github.com/micro-gw/micro-gw/pkg/truststore"
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
	// HTTPAddr, HTTPSAddr and AdminAddr, when set, replace the configured
	// host and port of a listener ("127.0.0.1:0" in tests); "-" switches it
	// off.
	HTTPAddr, HTTPSAddr, AdminAddr string
	// Dial, when set, opens the connections to the backends instead of
	// TCP (benchmarks use an in-process backend).
	Dial h1.Dialer
	// HTTPClient fetches JWKS; nil is a client with timeouts.
	HTTPClient *http.Client
	// Now is the validator's clock; nil is time.Now.
	Now func() time.Time
	// Sources, when set, replaces the revocation sources the configuration
	// enables (tests run the real sources against their own services).
	Sources []NamedSource
	// SpanExporter, when set, receives the spans of [tracing] instead of
	// the OTLP exporter of tracing.endpoint.
	SpanExporter sdktrace.SpanExporter
	// NetHTTP serves the plain HTTP listener with net/http's http.Server
	// alone instead of the gateway's own HTTP/1.1 server (docs/runtime.md,
	// "Listeners"); MICROGW_NETHTTP_SERVER=1 in the environment sets it.
	NetHTTP bool
	// Endpoints are the -e forms of named endpoints that Main took while
	// loading the configuration (EndpointOverrides.Claim); nil for none.
	Endpoints *EndpointOverrides
}

// NamedSource is a revocation source and the name it has in logs, metrics
// and readiness. Persistent marks the one that gates secured requests until
// it has loaded.
type NamedSource struct {
	Name       string
	Source     revocation.Source
	Persistent bool
}

// Server is a running gateway, with a Caddy-like lifecycle: New provisions
// everything that can fail without the network (router, proxies, validator,
// sources), Start opens the listeners and starts the revocation sources, and
// Shutdown drains in-flight requests and stops everything Start started.
type Server struct {
	spec   Spec
	cfg    *config.Config
	opts   Options
	logger *slog.Logger

	router     *router
	backends   *h1.Transport // the connections to the endpoints
	metrics    *metrics
	revocation *revocationRuntime
	authentication
	tracing    *tracing     // nil when [tracing] is off
	statusList *statusCheck // nil when [statusList] is off (statuslist.go)
	// throttling is nil when no policy can apply (the stage is absent).
	throttling *throttling
	roots      *x509.CertPool
	// trustedProxies are [throttlingConfig] trustedProxies, for clientAddr.
	trustedProxies []netip.Prefix

	handler http.Handler // the request path (HTTP and HTTPS listeners)
	admin   http.Handler // the admin listener

	mu        sync.Mutex
	servers   []httpServer
	addrs     map[string]net.Addr
	done      chan error
	started   bool
	listening bool
	cancelRun context.CancelFunc
}

// New provisions a Server from the compiled spec and a loaded configuration:
// the route table, one proxy per endpoint, the token validator, the revoked
// set and the enabled revocation sources. Nothing is started.
func New(spec Spec, cfg *config.Config, opts Options) (*Server, error) {
	if cfg == nil {
		return nil, errors.New("no configuration")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = revocation.DefaultRegistry
	}
	if os.Getenv("MICROGW_NETHTTP_SERVER") == "1" {
		opts.NetHTTP = true
	}
	s := &Server{
		spec:       spec,
		cfg:        cfg,
		opts:       opts,
		logger:     logger,
		addrs:      map[string]net.Addr{},
		done:       make(chan error, 8),
		revocation: &revocationRuntime{set: revocation.NewSet(), rules: revocation.NewRuleSet(), blocks: revocation.NewBlockSet()},
	}
	s.metrics = newMetrics(
		func() float64 { return float64(s.revocation.set.Len()) },
		func() float64 { return float64(s.revocation.rules.Len()) })
	roots, err := truststore.Pool(cfg.Listener.TrustStorePath, cfg.Listener.TrustStorePassword)
	if err != nil {
		return nil, err
	}
	s.roots = roots
	if s.trustedProxies, err = cfg.Throttling.TrustedRanges(); err != nil {
		return nil, cfg.Fault("throttlingConfig.trustedProxies", err)
	}
	if s.tracing, err = newTracing(cfg.Tracing, spec, opts.SpanExporter, roots, logger); err != nil {
		return nil, cfg.Fault("tracing.endpoint", err)
	}
	// The endpoints this deployment gives, over those compiled in.
	if s.spec, err = deployedSpec(spec, cfg, opts.Endpoints); err != nil {
		return nil, err
	}
	if s.throttling, err = s.newThrottling(); err != nil {
		return nil, err
	}
	if s.router, err = s.buildRouter(); err != nil {
		return nil, err
	}
	if err := s.newAuthentication(); err != nil {
		return nil, err
	}
	if err := s.provisionSources(); err != nil {
		return nil, err
	}
	if err := s.provisionStatusList(); err != nil {
		return nil, err
	}
	s.metrics.registerBlocking(s.revocation.blocks)
	s.handler = s.buildHandler()
	s.admin = s.adminHandler()
	return s, nil
}

// buildRouter compiles the spec's resources into the route table, with one
// upstream (proxy and transport) per distinct endpoint.
func (s *Server) buildRouter() (*router, error) {
	rt := &router{root: newNode(), encodedSlash: s.cfg.Listener.AllowEncodedSlash}
	corsDefault, err := defaultCORS(s.cfg)
	if err != nil {
		return nil, err
	}
	settings := map[*API]*apiSettings{}
	for i := range s.spec.APIs {
		api := &s.spec.APIs[i]
		a, err := newAPISettings(api, s.cfg, corsDefault)
		if err != nil {
			return nil, fmt.Errorf("api %s (%s): %w", api.name(), api.Source, err)
		}
		settings[api] = a
		rt.apis = append(rt.apis, a)
	}
	ups := map[*Endpoint]*upstream{}
	buffers := newBufferPool()
	tr := newUpstreamTransport(s.roots, s.opts.Dial)
	s.backends = tr
	upstreamOf := func(ep *Endpoint) (*upstream, error) {
		if ep == nil || len(ep.URLs) == 0 {
			return nil, nil
		}
		if u, ok := ups[ep]; ok {
			return u, nil
		}
		u, err := newUpstream(ep, tr, s.cfg.Upstream.ResponseTimeout, buffers, s.logger, s.metrics)
		if err != nil {
			return nil, err
		}
		ups[ep] = u
		return u, nil
	}
	err = s.spec.eachRoute(rt, func(r *route) error {
		api, res := r.api, r.resource
		r.settings = settings[api]
		if res.Secured {
			r.auth = compileAuth(res, r.settings.authHeader)
		}
		prod, sand := res.Production, res.Sandbox
		if prod == nil {
			prod = api.Production
		}
		if sand == nil {
			sand = api.Sandbox
		}
		var err error
		if r.production, err = upstreamOf(prod); err != nil {
			return fmt.Errorf("api %s (%s): %s %s: production endpoint: %w", api.Title, api.Source, res.Method, res.Path, err)
		}
		if r.sandbox, err = upstreamOf(sand); err != nil {
			return fmt.Errorf("api %s (%s): %s %s: sandbox endpoint: %w", api.Title, api.Source, res.Method, res.Path, err)
		}
		r.metrics = s.metrics.newRouteMetrics(api.Title+" "+api.Version, r.template)
		if s.throttling != nil {
			r.limit = s.limitOf(r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rt, nil
}

// Start starts the revocation sources and opens the listeners: HTTPS (with
// the configured certificate and key), HTTP and admin. A port of 0 in the
// configuration switches that listener off; Options can put one on another
// address. ctx bounds nothing after Start returns: the server runs until
// Shutdown.
func (s *Server) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("server already started")
	}
	s.started = true
	// runCtx lives until Shutdown: what Start sets going stops with it.
	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	s.cancelRun = cancelRun
	s.revocation.start(runCtx, s.logger, s.metrics, func(err error) {
		s.logger.Error("revocation source failed", "err", err)
		s.done <- err
	})
	if s.throttling != nil {
		s.throttling.start(runCtx)
	}
	go func() {
		// JWKS ahead of the first request; on failure they are fetched on
		// demand, so this only logs.
		pctx, cancel := context.WithTimeout(runCtx, 30*time.Second)
		defer cancel()
		if err := s.prefetchKeys(pctx); err != nil {
			s.logger.Warn("could not fetch the issuers' JWKS ahead of the first request", "err", err)
		}
	}()
	for _, api := range s.spec.APIs {
		s.logger.Info("API deployed", "api", api.Title, "version", api.Version, "basePath", api.BasePath, "resources", len(api.Resources), "source", api.Source)
	}
	l := s.cfg.Listener
	if addr := s.listenAddr(s.opts.HTTPSAddr, l.HTTPSPort); addr != "" {
		cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
		if err != nil {
			return fmt.Errorf("https listener: load certificate %s and key %s: %w", l.CertFile, l.KeyFile, err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.clientAuth(tc)
		if err := s.listen("HTTPS", addr, tc, s.handler, false); err != nil {
			return err
		}
	}
	if addr := s.listenAddr(s.opts.HTTPAddr, l.HTTPPort); addr != "" {
		if err := s.listen("HTTP", addr, nil, s.handler, !s.opts.NetHTTP); err != nil {
			return err
		}
	}
	if addr := s.listenAddr(s.opts.AdminAddr, l.AdminPort); addr != "" {
		if err := s.listen("Admin", addr, nil, s.admin, false); err != nil {
			return err
		}
	}
	s.listening = true
	for _, a := range s.router.apis {
		if (!a.http || s.addrs["http"] == nil) && (!a.https || s.addrs["https"] == nil) {
			s.logger.Warn("no open listener serves the API: x-wso2-transports lists only listeners that are off",
				"api", a.api.Title, "basePath", a.api.BasePath, "transports", strings.Join(a.api.Transports, ","))
		}
	}
	return nil
}

// listenAddr is the address of a listener: the override, else host:port, ""
// when the listener is off.
func (s *Server) listenAddr(override string, port int) string {
	switch {
	case override == "-":
		return ""
	case override != "":
		return override
	case port == 0:
		return ""
	}
	return net.JoinHostPort(s.cfg.Listener.Host, strconv.Itoa(port))
}

// httpServer is what Shutdown stops: an http.Server or an h1Server.
type httpServer interface {
	Shutdown(context.Context) error
	Close() error
}

// listen opens a listener and serves it: with own, the gateway's HTTP/1.1
// server (serve_h1.go), which hands what it does not take to an
// http.Server; otherwise with the http.Server alone (TLS, HTTP/2, admin).
func (s *Server) listen(name, addr string, tc *tls.Config, h http.Handler, own bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s listener: %w", strings.ToLower(name), err)
	}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         tc, // ServeTLS adds h2 to its protocols
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
	var serve func() error
	switch {
	case tc != nil:
		s.servers = append(s.servers, srv)
		serve = func() error { return srv.ServeTLS(ln, "", "") }
	case own:
		h1s := newH1Server(h, srv, ln.Addr())
		s.servers = append(s.servers, h1s)
		serve = func() error { return h1s.Serve(ln) }
	default:
		s.servers = append(s.servers, srv)
		serve = func() error { return srv.Serve(ln) }
	}
	s.addrs[strings.ToLower(name)] = ln.Addr()
	go func() {
		err := serve()
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.done <- fmt.Errorf("%s listener: %w", strings.ToLower(name), err)
		}
	}()
	port := 0
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		port = ta.Port
	}
	s.logger.Info(fmt.Sprintf("%s listener is active on port %d", name, port))
	return nil
}

// addr returns the bound address of the "http", "https" or "admin" listener,
// or nil when it is not open.
func (s *Server) addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[name]
}

// Done reports a listener or revocation source that stopped on its own with
// an error; the gateway cannot go on without it.
func (s *Server) Done() <-chan error { return s.done }

// Shutdown stops accepting connections, waits for in-flight requests until
// ctx is done (then cuts the connections still open), and stops the
// revocation sources. It is safe after a failed or partial Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := s.servers
	s.servers = nil
	s.listening = false
	cancelRun := s.cancelRun
	s.mu.Unlock()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			// Out of time: cut the connections still open.
			_ = srv.Close()
			errs = append(errs, fmt.Errorf("drain: %w", err))
		}
	}
	if s.backends != nil {
		s.backends.CloseIdle()
	}
	if err := s.revocation.stop(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.tracing.shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("tracing: %w", err))
	}
	if cancelRun != nil {
		cancelRun()
	}
	return errors.Join(errs...)
}
