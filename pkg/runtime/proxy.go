package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	// downUntil is the unix nanosecond until which the URL is considered
	// down after an attempt that could not connect; 0 when it is up.
	downUntil atomic.Int64
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
// response timeout and retry policy, one shared transport and the reverse
// proxy that uses them.
type upstream struct {
	name     string // for logs: the URLs
	failover bool
	targets  []*target
	next     atomic.Uint64 // round-robin counter (load_balance)
	timeout  time.Duration // 0: none
	retry    *retryPolicy  // nil: no retries
	proxy    *httputil.ReverseProxy
	// basic is the Authorization header the backend gets (securityConfig),
	// "" for none. It is never logged: name is what logs show.
	basic string
}

// exchangeKey is the context key under which the request path hands its
// exchange to the proxy's Rewrite and transport.
type exchangeKey struct{}

// newTransport is the shared transport of one endpoint: keep-alives, enough
// idle connections per host for a busy gateway, bounded dial and handshake.
// The response timeout is the attempts' own (responseClock), not
// ResponseHeaderTimeout, which would also count the time a slow client
// takes to upload.
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

// newUpstream builds the proxy of an endpoint as deployedSpec made it (its
// Basic holds the password itself). rt is the transport (tests and
// benchmarks pass an in-process one); timeout is [upstream] responseTimeout,
// for an endpoint without a timeout of its own.
func newUpstream(ep *Endpoint, rt http.RoundTripper, timeout time.Duration, buffers httputil.BufferPool, logger *slog.Logger, m *metrics) (*upstream, error) {
	if ep == nil || len(ep.URLs) == 0 {
		return nil, errors.New("endpoint has no urls")
	}
	u := &upstream{timeout: timeout, retry: newRetryPolicy(ep.Retry), basic: basicHeader(ep.Basic)}
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
		u.targets = append(u.targets, &target{url: pu})
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
	u.proxy = &httputil.ReverseProxy{
		Rewrite:      u.rewrite,
		Transport:    &attemptsTransport{u: u, next: rt, logger: logger, metrics: m},
		ErrorHandler: u.errorHandler(logger, m),
		// Zero: ReverseProxy still flushes server-sent events and bodies of
		// unknown length at once, while an ordinary response goes out in one
		// write. -1 flushed every response after each write and cost a quarter
		// of the gateway's CPU under load (profile in docs/benchmarks.md).
		FlushInterval: 0,
		BufferPool:    buffers,
	}
	return u, nil
}

// errorHandler answers a request that got no response from the endpoint:
// the fault the attempts decided on (upstreamError), and the client's own
// faults (its body broke off, or passed maxRequestBodySize) with the
// connection closed, since its framing can no longer be trusted.
func (u *upstream) errorHandler(logger *slog.Logger, m *metrics) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		ue := &upstreamError{code: CodeBackendClosed, err: err}
		if isTooLarge(err) {
			ue.code = CodeRequestTooLarge
		} else {
			errors.As(err, &ue)
		}
		switch {
		case ue.code == CodeRequestTooLarge || ue.code == CodeBadRequest:
			logger.Debug("the request body could not be read", "endpoint", u.name, "err", err)
			w.Header().Set("Connection", "close")
		case r.Context().Err() != nil:
			// The client went away: nobody to answer.
			logger.Debug("client closed the request before the backend answered", "endpoint", u.name)
			w.WriteHeader(499)
			return
		default:
			logger.Warn("backend request failed", "endpoint", u.name, "reason", ue.reason(), "err", err)
			m.backendErrors.WithLabelValues(ue.reason()).Inc()
		}
		newFault(ue.code, "").write(w)
	}
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

// rewrite points the outgoing request at the first target: the endpoint
// URL's path, then the request path without the base path; query kept.
// X-Forwarded-For keeps what the client sent and gets the client's address
// appended (docs/runtime.md); X-Forwarded-Host and -Proto are the
// gateway's own. The request's trailers go on to the backend.
func (u *upstream) rewrite(pr *httputil.ProxyRequest) {
	x, _ := pr.In.Context().Value(exchangeKey{}).(*exchange)
	if x == nil { // not reached through the request path: the endpoint's root
		x = &exchange{rest: "/"}
	}
	x.order = u.order(time.Now().UnixNano())
	setTarget(pr.Out, x.order[0].url, x.rest, pr.In.URL.RawQuery)
	if prior, ok := pr.In.Header["X-Forwarded-For"]; ok {
		// Rewrite starts without the client's X-Forwarded-For; SetXForwarded
		// appends to what Out holds.
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
	if u.basic != "" {
		// The endpoint's own credentials, over whatever the client sent.
		pr.Out.Header["Authorization"] = []string{u.basic}
	}
	if pr.In.Trailer != nil {
		// The server fills the request's trailer map in when the body ends;
		// Out's own copy, made before, would go out empty.
		pr.Out.Trailer = pr.In.Trailer
	}
}

// setTarget sets out's URL to t's scheme, host and path followed by the
// escaped path rest, with the query rawQuery.
func setTarget(out *http.Request, t *url.URL, rest, rawQuery string) {
	u := *t
	joined := t.EscapedPath() + rest
	if p, err := url.PathUnescape(joined); err == nil {
		// RawPath keeps the client's encoding (an encoded character in a
		// parameter stays encoded); Path is its decoded form.
		u.Path, u.RawPath = p, joined
	}
	u.RawQuery = rawQuery
	out.URL = &u
	out.Host = ""
}

// bufferPool lends a server's proxies their 32 KB copy buffers, which they
// would otherwise allocate for every response.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return make([]byte, 32<<10) }}}
}

func (b *bufferPool) Get() []byte { return b.p.Get().([]byte) }

// Put takes the buffer back; the slice header escapes to the heap, which is
// far cheaper than the 32 KB it saves (httputil.BufferPool fixes the []byte
// signature, so a *[]byte pool would allocate the pointer here anyway).
//
//lint:ignore SA6002 see above
func (b *bufferPool) Put(buf []byte) { b.p.Put(buf) }
