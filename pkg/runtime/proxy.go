package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime/h1"
)

// Endpoint types of x-wso2-*-endpoints.
const (
	EndpointLoadBalance = "load_balance"
	EndpointFailover    = "failover"
)

// downFor is how long a URL that could not be connected to is passed over
// before it is tried again (when all URLs are down, they are tried anyway).
const downFor = 5 * time.Second

// target is one URL of an endpoint.
type target struct {
	url *url.URL
	// path is the URL's escaped path, which the request's path follows;
	// host the Host field the backend gets.
	path, host string
	conns      *h1.Host // the idle connections to it
	// downUntil is the unix nanosecond until which the URL is considered
	// down after an attempt that could not connect; 0 when it is up.
	downUntil atomic.Int64
}

// newTarget is the target of u, its connections from tr.
func newTarget(u *url.URL, tr *h1.Transport) *target {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return &target{
		url:   u,
		path:  u.EscapedPath(),
		host:  u.Host,
		conns: tr.Host(net.JoinHostPort(u.Hostname(), port), u.Scheme == "https", u.Hostname()),
	}
}

// markDown passes the URL over for downFor: it could not be connected to.
func (t *target) markDown() { t.downUntil.Store(time.Now().Add(downFor).UnixNano()) }

// markUp takes the URL back into the rotation: a connection was made.
func (t *target) markUp() {
	if t.downUntil.Load() != 0 {
		t.downUntil.Store(0)
	}
}

// upstream is one endpoint (x-wso2-production-endpoints or
// x-wso2-sandbox-endpoints): its URLs, the choice between them, its
// response timeout and retry policy. Requests go to its URLs over the
// gateway's own HTTP/1.1 client (pkg/runtime/h1; attempts.go).
type upstream struct {
	name     string // for logs: the URLs
	failover bool
	targets  []*target
	next     atomic.Uint64 // round-robin counter (load_balance)
	timeout  time.Duration // 0: none
	retry    *retryPolicy  // nil: no retries
	buffers  *bufferPool
	logger   *slog.Logger
	metrics  *metrics
	// basic is the Authorization header the backend gets (securityConfig),
	// "" for none. It is never logged: name is what logs show.
	basic string
}

// newTransport is the http.Transport of the gateway's own HTTP clients
// (JWKS): keep-alives, bounded dial and handshake, the trust store's roots.
func newTransport(roots *x509.CertPool) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
	}
}

// newUpstreamTransport is what the endpoints' connections share: the dialer
// (Options.Dial, or TCP), TLS with the trust store's roots, the idle pool.
func newUpstreamTransport(roots *x509.CertPool, dial h1.Dialer) *h1.Transport {
	return &h1.Transport{
		Dial:             dial,
		TLS:              &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		HandshakeTimeout: 10 * time.Second,
		MaxIdle:          256,
		IdleTimeout:      90 * time.Second,
	}
}

// newUpstream builds an endpoint's upstream as deployedSpec made it (its
// Basic holds the password itself): its URLs (each with its pool of
// connections in tr) and policies; timeout is [upstream]
// responseTimeout, for an endpoint without a timeout of its own.
func newUpstream(ep *Endpoint, tr *h1.Transport, timeout time.Duration, buffers *bufferPool, logger *slog.Logger, m *metrics) (*upstream, error) {
	if ep == nil || len(ep.URLs) == 0 {
		return nil, errors.New("endpoint has no urls")
	}
	u := &upstream{timeout: timeout, retry: newRetryPolicy(ep.Retry), buffers: buffers, logger: logger, metrics: m,
		basic: basicHeader(ep.Basic)}
	if ep.Timeout > 0 {
		u.timeout = ep.Timeout
	}
	names := make([]string, 0, len(ep.URLs))
	for _, raw := range ep.URLs {
		pu, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("endpoint url: %w", err)
		}
		if (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("endpoint url %q: want http:// or https:// and a host", pu.Redacted())
		}
		pu.Path = strings.TrimSuffix(pu.Path, "/")
		pu.RawPath = strings.TrimSuffix(pu.RawPath, "/")
		pu.RawQuery, pu.Fragment = "", ""
		u.targets = append(u.targets, newTarget(pu, tr))
		names = append(names, pu.Redacted())
	}
	// name is for logs: the URLs without any password.
	u.name = strings.Join(names, ",")
	switch ep.Type {
	case "", EndpointLoadBalance:
	case EndpointFailover:
		u.failover = true
	default:
		return nil, fmt.Errorf("endpoint %s: unknown type %q (want %s or %s)", u.name, ep.Type, EndpointLoadBalance, EndpointFailover)
	}
	return u, nil
}

// fail answers a request that got no response from the endpoint: the
// fault the attempts decided on, and the client's own faults (its body
// broke off, or passed maxRequestBodySize) with the connection closed,
// since its framing can no longer be trusted.
func (u *upstream) fail(x *exchange, r *http.Request, ue *upstreamError) {
	switch {
	case ue.code == CodeRequestTooLarge || ue.code == CodeBadRequest:
		u.logger.Debug("the request body could not be read", "endpoint", u.name, "err", ue.err)
		x.Header().Set("Connection", "close")
	case r.Context().Err() != nil:
		// The client went away: nobody to answer.
		u.logger.Debug("client closed the request before the backend answered", "endpoint", u.name)
		x.WriteHeader(499)
		return
	default:
		u.logger.Warn("backend request failed", "endpoint", u.name, "reason", ue.reason(), "err", ue.err)
		u.metrics.backendErrors.WithLabelValues(ue.reason()).Inc()
	}
	newFault(ue.code, "").write(x)
}

// isTooLarge reports whether err is the body limit of limitBody.
func isTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

// order returns the targets in the order this request should try them:
// load_balance starts at the next URL round robin, failover at the first;
// URLs marked down go last.
func (u *upstream) order(now int64) []*target {
	n := len(u.targets)
	if n == 1 {
		return u.targets
	}
	start := 0
	if !u.failover {
		start = int(u.next.Add(1)-1) % n
	}
	out := make([]*target, 0, n)
	for i := 0; i < n; i++ {
		if t := u.targets[(start+i)%n]; t.downUntil.Load() <= now {
			out = append(out, t)
		}
	}
	for i := 0; i < n; i++ {
		if t := u.targets[(start+i)%n]; t.downUntil.Load() > now {
			out = append(out, t)
		}
	}
	return out
}

// bufferPool lends a server's upstreams their 32 KB copy buffers, which
// they would otherwise allocate for every body.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([32 << 10]byte) }}}
}

func (b *bufferPool) Get() *[32 << 10]byte { return b.p.Get().(*[32 << 10]byte) }

func (b *bufferPool) Put(buf *[32 << 10]byte) { b.p.Put(buf) }
