package runtime

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
)

// stage is one step of the request path; it either answers (a fault) or
// calls the next stage.
type stage func(x *exchange, r *http.Request)

// middleware wraps a stage in the one before it. A middleware that has
// nothing to do for this configuration returns next itself and costs
// nothing, as in lura.
type middleware func(next stage) stage

// buildHandler compiles the request path once, in the order docs/runtime.md
// gives: the route is matched before any token is looked at, and the
// revoked check runs on every secured request whether or not the token came
// from the validator's cache.
func (s *Server) buildHandler() http.Handler {
	chain := []middleware{
		s.trace,                // [tracing]: W3C trace context to the backend, a span per request (absent when off)
		s.observe,              // metrics and the access log; counts the 500 of a recovered panic
		s.recoverPanics,        // a panic is a 500 fault, logged; the process lives on
		s.closeAfterChunked,    // RFC 9112 6.1: a request with Transfer-Encoding ends its connection
		s.matchRoute,           // the resource and its API, on a listener that serves the API
		s.answerCORS,           // preflights answered, CORS headers on every other response (absent when no API has CORS)
		s.refuseUnmatched,      // 404 900906 / 405 before any credential check
		s.gateOnRevocationLoad, // 503 900950 while a persistent store has not loaded (fail closed)
		s.authenticate,         // 401 900902 / 900901 (secured resources only)
		s.refuseRevoked,        // 401 900901 for a revoked jti, then a matching rule, cached token or not
		s.checkStatus,          // 401 900901 unless the token's status list entry is VALID; 503 900960 without its list
		s.refuseBlocked,        // 403 900805 for a blocking condition: ip, iprange, api, application, user (absent without sources)
		s.checkScopes,          // 403 900910
		s.checkSubscription,    // 403 900908 when an issuer has validateSubscription
		s.throttle,             // 429 900803 / 900804 / 900802 when a quota is used up (absent without policies)
		s.removeAuthHeader,     // removeAuthHeaderFromOutMessage
		s.limitBody,            // 413 for a body over maxRequestBodySize
	}
	h := stage(s.forward)
	for i := len(chain) - 1; i >= 0; i-- {
		h = chain[i](h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := &exchange{ResponseWriter: w, start: time.Now()}
		h(x, r)
	})
}

// observe records the request's metrics and logs it at DEBUG (the path
// without its query, which may hold credentials).
func (s *Server) observe(next stage) stage {
	return func(x *exchange, r *http.Request) {
		next(x, r)
		status := x.status
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(x.start)
		s.metrics.observe(x.route, r.Method, status, elapsed)
		if s.logger.Enabled(r.Context(), levelAccess) {
			resource := ""
			if x.route != nil {
				resource = x.route.template
			}
			s.logger.Log(r.Context(), levelAccess, "request", "method", r.Method, "path", r.URL.EscapedPath(),
				"resource", resource, "status", status, "duration", elapsed, "jti", x.jti, "reason", x.authReason,
				"client", s.clientAddr(r))
		}
	}
}

// recoverPanics turns a panic into the 101500 fault. http.ErrAbortHandler
// (the proxy aborting a broken response) is passed on for the server to
// close the connection, and so is any panic after the response has started.
func (s *Server) recoverPanics(next stage) stage {
	return func(x *exchange, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(p)
			}
			s.metrics.panics.Inc()
			s.logger.Error("panic while handling a request", "method", r.Method, "path", r.URL.EscapedPath(),
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if x.status != 0 {
				panic(http.ErrAbortHandler)
			}
			x.fail(newFault(CodeInternalError, ""))
		}()
		next(x, r)
	}
}

// closeAfterChunked closes the client's connection after answering an
// HTTP/1.1 request that came with a Transfer-Encoding. RFC 9112 section 6.1
// requires it of a request with both Transfer-Encoding and Content-Length,
// the shape of request smuggling: a proxy in front that framed the body by
// its Content-Length would take the bytes after the chunked body for part
// of this request, while this connection would read them as the next one.
// net/http drops the Content-Length of such a request before the handler
// sees it (and forwards the body by its chunks alone), so the two cannot be
// told apart here: every request with a Transfer-Encoding ends its
// connection, and whatever followed it is never read.
func (s *Server) closeAfterChunked(next stage) stage {
	return func(x *exchange, r *http.Request) {
		if len(r.TransferEncoding) > 0 && r.ProtoMajor == 1 {
			x.Header().Set("Connection", "close")
		}
		next(x, r)
	}
}

// matchRoute finds the resource and its API; when the path matches no
// resource, the API is the one whose base path holds it. An API that the
// request's listener does not serve (x-wso2-transports) is not there for
// it: its resources match nothing.
func (s *Server) matchRoute(next stage) stage {
	return func(x *exchange, r *http.Request) {
		escaped := r.URL.EscapedPath()
		m := s.router.match(r.Method, escaped)
		switch {
		case m.route != nil:
			x.api = m.route.settings
		case m.near != nil:
			x.api = m.near.settings
		default:
			x.api = s.router.apiOf(escaped)
		}
		if x.api != nil && !x.api.serves(r.TLS != nil) {
			x.api, m = nil, matchResult{}
		}
		if m.route != nil {
			x.route = m.route
			x.rest = backendPath(escaped, m.route.baseSegments)
		}
		x.allow = m.allow
		next(x, r)
	}
}

// refuseUnmatched answers 404 900906 when no resource matched the path, 405
// with an Allow header when the path matched but the method did not.
func (s *Server) refuseUnmatched(next stage) stage {
	return func(x *exchange, r *http.Request) {
		if x.route == nil {
			if x.allow != "" {
				x.Header().Set("Allow", x.allow)
				x.fail(newFault(CodeMethodNotAllowed, ""))
				return
			}
			x.fail(newFault(CodeNoMatchingResource, ""))
			return
		}
		next(x, r)
	}
}

// gateOnRevocationLoad refuses secured requests with 503 900950 until every
// enabled persistent revocation source has loaded, unless
// serveBeforeLoaded = true.
func (s *Server) gateOnRevocationLoad(next stage) stage {
	if len(s.revocation.persistent) == 0 || s.cfg.Revocation.Persistent.ServeBeforeLoaded {
		return next
	}
	srcs := s.revocation.persistent
	return func(x *exchange, r *http.Request) {
		if x.route.resource.Secured && !allReady(srcs) {
			x.fail(newFault(CodeRevocationNotLoaded, ""))
			return
		}
		next(x, r)
	}
}

// refuseRevoked answers exactly the 900901 fault for a credential that is
// revoked: its jti (or opaque token's hash) in the revoked set, or a rule
// matching it (subject, client, issuer, email; a certificate's
// fingerprint: docs/revocation.md "Rules"), on every request, cached or
// not. Each question is an O(1) lookup; without rules the rule check is one
// atomic load. Every credential the request was accepted with is asked.
func (s *Server) refuseRevoked(next stage) stage {
	return func(x *exchange, r *http.Request) {
		if x.route.resource.Secured {
			for _, c := range x.creds {
				by := c.revokedBy(s.revocation)
				if by == "" {
					continue
				}
				if by == "jti" {
					s.logger.Debug(c.what()+" is revoked", "jti", c.jti())
				} else {
					s.logger.Debug(c.what()+" is revoked by a rule", "kind", by, "jti", c.jti())
				}
				s.metrics.authFailures.WithLabelValues("revoked").Inc()
				x.fail(newFault(CodeInvalidCredentials, ""))
				return
			}
		}
		next(x, r)
	}
}

// allReady reports whether every source has called ready.
func allReady(srcs []*sourceRun) bool {
	for _, sr := range srcs {
		if !sr.ready.Load() {
			return false
		}
	}
	return true
}

// checkScopes answers 403 900910 when the credentials taken lack a scope
// their alternative requires (authenticate found no alternative that
// passed with its scopes).
func (s *Server) checkScopes(next stage) stage {
	return func(x *exchange, r *http.Request) {
		if x.scopeDenied {
			s.metrics.authFailures.WithLabelValues("scope").Inc()
			x.fail(newFault(CodeScopeMismatch, ""))
			return
		}
		next(x, r)
	}
}

// removeAuthHeader drops the credentials of the route's schemes before
// the request leaves (removeAuthHeaderFromOutMessage): the bearer header,
// Authorization for basic auth, an API key's header or query parameter.
// Cookies are left as they came.
func (s *Server) removeAuthHeader(next stage) stage {
	if !s.cfg.Auth.RemoveAuthHeaderFromOutMessage {
		return next
	}
	return func(x *exchange, r *http.Request) {
		if x.route.resource.Secured {
			for _, p := range x.route.auth.places {
				switch {
				case p.kind == SchemeBasic:
					r.Header.Del("Authorization")
				case p.in == InHeader:
					r.Header.Del(p.name)
				case p.in == InQuery && r.URL.RawQuery != "":
					r.URL.RawQuery = auth.RemoveQueryParam(r.URL.RawQuery, p.name)
				}
			}
		}
		next(x, r)
	}
}

// limitBody refuses a body over listenerConfig.maxRequestBodySize: at once
// when Content-Length says so, else (a chunked body) when the stream passes
// the limit on its way to the backend, which the proxy's error handler
// answers with the same 413.
func (s *Server) limitBody(next stage) stage {
	limit := s.cfg.Listener.MaxRequestBodySize
	if limit <= 0 {
		return next
	}
	return func(x *exchange, r *http.Request) {
		if r.ContentLength > limit {
			newFault(CodeRequestTooLarge, "").write(x)
			return
		}
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength < 0 {
			r.Body = http.MaxBytesReader(x, r.Body, limit)
		}
		next(x, r)
	}
}

// forward proxies to the route's production endpoint (every route has one:
// the gateway does not start without), or its sandbox endpoint for a
// SANDBOX token. A SANDBOX token for an API without a sandbox endpoint gets
// 401 900901, as in WSO2.
func (s *Server) forward(x *exchange, r *http.Request) {
	up := x.route.production
	if x.sandbox {
		up = x.route.sandbox
		if up == nil {
			s.metrics.authFailures.WithLabelValues("no_sandbox_endpoint").Inc()
			x.fail(newFault(CodeInvalidCredentials, "Sandbox key offered to the API with no sandbox endpoint"))
			return
		}
	}
	up.serve(x, r)
}
