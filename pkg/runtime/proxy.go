package runtime

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
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

// downFor is how long a URL that refused a connection is passed over before
// it is tried again (when all URLs are down, they are tried anyway).
const downFor = 5 * time.Second

// target is one URL of an endpoint.
type target struct {
	url *url.URL
	// downUntil is the unix nanosecond until which the URL is considered
	// down after a connection error; 0 when it is up.
	downUntil atomic.Int64
}

// upstream is one endpoint (x-wso2-production-endpoints or
// x-wso2-sandbox-endpoints): its URLs, the choice between them, one shared
// transport and the reverse proxy that uses them.
type upstream struct {
	name     string // for logs: the URLs
	failover bool
	targets  []*target
	next     atomic.Uint64 // round-robin counter (load_balance)
	proxy    *httputil.ReverseProxy
}

// exchangeKey is the context key under which the request path hands its
// exchange to the proxy's Rewrite and transport.
type exchangeKey struct{}

// newTransport is the shared transport of one endpoint: keep-alives, enough
// idle connections per host for a busy gateway, bounded dial and handshake.
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

// newUpstream builds the proxy of an endpoint. rt is the transport (tests and
// benchmarks pass an in-process one).
func newUpstream(ep *Endpoint, rt http.RoundTripper, buffers httputil.BufferPool, logger *slog.Logger, m *metrics) (*upstream, error) {
	if ep == nil || len(ep.URLs) == 0 {
		return nil, errors.New("endpoint has no urls")
	}
	u := &upstream{}
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
		Rewrite:   u.rewrite,
		Transport: &retryTransport{u: u, next: rt, logger: logger},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				// The client went away: nobody to answer.
				logger.Debug("client closed the request before the backend answered", "endpoint", u.name)
				w.WriteHeader(499)
				return
			}
			if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
				newFault(CodeRequestTooLarge, "").write(w)
				return
			}
			logger.Warn("backend unreachable", "endpoint", u.name, "err", err)
			m.backendErrors.Inc()
			newFault(CodeBackendUnreachable, "").write(w)
		},
		// Zero: ReverseProxy still flushes server-sent events and bodies of
		// unknown length at once, while an ordinary response goes out in one
		// write. -1 flushed every response after each write and cost a quarter
		// of the gateway's CPU under load (profile in docs/benchmarks.md).
		FlushInterval: 0,
		BufferPool:    buffers,
	}
	return u, nil
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
func (u *upstream) rewrite(pr *httputil.ProxyRequest) {
	x, _ := pr.In.Context().Value(exchangeKey{}).(*exchange)
	if x == nil { // not reached through the request path: the endpoint's root
		x = &exchange{rest: "/"}
	}
	x.order = u.order(time.Now().UnixNano())
	setTarget(pr.Out, x.order[0].url, x.rest, pr.In.URL.RawQuery)
	pr.SetXForwarded()
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

// retryTransport sends the request to the targets in turn: a URL that
// refuses the connection is marked down for a while and the next URL is
// tried, as long as nothing of the request body was read (a failed dial
// reads none of it, so a POST moves on too).
type retryTransport struct {
	u      *upstream
	next   http.RoundTripper
	logger *slog.Logger
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if x == nil || len(x.order) < 2 {
		resp, err := t.next.RoundTrip(req)
		if err != nil && x != nil && len(x.order) == 1 && isConnError(err) {
			x.order[0].downUntil.Store(time.Now().Add(downFor).UnixNano())
		}
		return resp, err
	}
	var body *heldBody
	if req.Body != nil && req.Body != http.NoBody {
		// The transport closes the body of a failed attempt; hold it open
		// so that an unread body can go to the next URL. (The inbound body
		// is the server's to close once the handler returns.)
		body = &heldBody{rc: req.Body}
		req.Body = body
	}
	for i, tg := range x.order {
		if i > 0 {
			r2 := req.Clone(req.Context())
			setTarget(r2, tg.url, x.rest, req.URL.RawQuery)
			req = r2
		}
		resp, err := t.next.RoundTrip(req)
		if err == nil {
			if tg.downUntil.Load() != 0 {
				tg.downUntil.Store(0)
			}
			return resp, nil
		}
		if !isConnError(err) || req.Context().Err() != nil {
			return nil, err
		}
		tg.downUntil.Store(time.Now().Add(downFor).UnixNano())
		t.logger.Warn("backend url refused the connection", "url", tg.url.Redacted(), "err", err)
		if (body != nil && body.read.Load()) || i == len(x.order)-1 {
			return nil, err
		}
	}
	return nil, errors.New("no backend url to try")
}

// heldBody is a request body that survives the transport's Close and
// remembers whether anything was read from it.
type heldBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *heldBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *heldBody) Close() error { return nil }

// isConnError reports whether err happened while connecting, so that
// nothing of the request was sent.
func isConnError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
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
