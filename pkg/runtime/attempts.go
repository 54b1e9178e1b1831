package runtime

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"
)

// upstreamError is why a request got no response from its endpoint: the
// fault to answer (101503, 101504, 101505, or 400/413 when the client's
// body was at fault) and the transport's error.
type upstreamError struct {
	code int
	err  error
}

func (e *upstreamError) Error() string { return e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

// reason is the microgw_backend_errors_total label of a backend fault.
func (e *upstreamError) reason() string {
	switch e.code {
	case CodeBackendUnreachable:
		return "unreachable"
	case CodeBackendTimeout:
		return "timeout"
	default:
		return "closed"
	}
}

// attemptsTransport sends a request to its endpoint's URLs in the order the
// exchange holds (docs/runtime.md, "Endpoints and proxying"):
//
//   - Each attempt has the endpoint's response timeout; one that runs out is
//     cancelled, which closes its backend connection (504 101504).
//   - An attempt that got no connection sent nothing: its URL is passed over
//     for downFor, and the request moves on to the next URL not yet tried,
//     whatever its method, as long as none of its body was read. A failure
//     once connected is 502 101505 and leaves the URL in the rotation.
//   - With the endpoint's retryConfig, an idempotent request whose attempt
//     ended in one of its status codes (the backend's, or the gateway's own
//     502/503/504) is sent again, to the next URL, at most Count times; a
//     body is sent again only when it was kept whole (retryBodyLimit).
type attemptsTransport struct {
	u       *upstream
	next    http.RoundTripper
	logger  *slog.Logger
	metrics *metrics
}

// idempotentMethods are the methods docs/runtime.md retries.
var idempotentMethods = map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "PUT": true, "DELETE": true}

func (t *attemptsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if x == nil || len(x.order) == 0 {
		return t.next.RoundTrip(req)
	}
	var body *requestBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &requestBody{src: req.Body}
	}
	policy := t.u.retry
	mayRetry := policy != nil && policy.Count > 0 && idempotentMethods[req.Method]
	if mayRetry && body != nil {
		body.keep = true
	}
	retries := 0
	for pos := 0; ; pos++ {
		tg := x.order[pos%len(x.order)]
		out := req
		if pos > 0 {
			out = req.Clone(req.Context())
			setTarget(out, tg.url, x.rest, req.URL.RawQuery)
		}
		a := t.start(out, body)
		resp, err := t.next.RoundTrip(a.req)
		expired := a.clock.stop()
		connected := a.connected.Load()
		if err == nil {
			tg.markUp()
			if !mayRetry || retries >= policy.Count || !policy.on(resp.StatusCode) || !body.complete() {
				return resp, nil
			}
			discard(resp)
			a.cancel(nil)
			if err := a.wait(req.Context()); err != nil {
				return nil, err
			}
			if err := t.retry(req.Context(), &retries, tg, resp.StatusCode); err != nil {
				return nil, err
			}
			continue
		}
		a.cancel(nil)
		if cerr := body.readErr(); cerr != nil {
			// The client's body broke off or broke its framing: its fault,
			// whatever became of the attempt (and of the client).
			return nil, &upstreamError{code: clientBodyFault(cerr), err: cerr}
		}
		if req.Context().Err() != nil {
			return nil, err // the client went away
		}
		ue := &upstreamError{code: CodeBackendClosed, err: err}
		switch {
		case expired:
			ue.code = CodeBackendTimeout
		case !connected:
			ue.code = CodeBackendUnreachable
		}
		if connected {
			tg.markUp()
		} else {
			tg.markDown()
			if !expired && !body.wasRead() && pos+1 < len(x.order) {
				// Nothing was sent: the next URL, whatever the method.
				t.logger.Warn("backend url could not be reached; trying the next", "url", tg.url.Redacted(), "err", err)
				if werr := a.wait(req.Context()); werr != nil {
					return nil, werr
				}
				continue
			}
		}
		if !mayRetry || retries >= policy.Count || !policy.on(faults[ue.code].status) {
			return nil, ue
		}
		if werr := a.wait(req.Context()); werr != nil {
			return nil, werr
		}
		if !body.replayable() {
			return nil, ue
		}
		if err := t.retry(req.Context(), &retries, tg, faults[ue.code].status); err != nil {
			return nil, err
		}
	}
}

// attempt is one try of a request at one URL. Its clock and trace live in
// it: one allocation for what every proxied request needs.
type attempt struct {
	req       *http.Request
	cancel    context.CancelCauseFunc
	clock     responseClock
	trace     httptrace.ClientTrace
	view      *bodyView
	connected atomic.Bool // the transport got a connection: something was sent
}

// start prepares an attempt of out: its own context (cancelled by its
// clock), a trace that notes the connection, and its view of the body.
func (t *attemptsTransport) start(out *http.Request, body *requestBody) *attempt {
	a := &attempt{}
	ctx, cancel := context.WithCancelCause(out.Context())
	a.cancel = cancel
	a.clock.start(t.u.timeout, cancel)
	a.trace.GotConn = a.gotConn
	a.req = out.WithContext(httptrace.WithClientTrace(ctx, &a.trace))
	if body != nil {
		a.view = body.view(&a.clock)
		a.req.Body = a.view
	}
	return a
}

func (a *attempt) gotConn(httptrace.GotConnInfo) { a.connected.Store(true) }

// wait returns once the transport is done with the attempt's body (it
// closes it, at the latest when the backend connection is closed), so that
// the next attempt may read it; an error when the client went away first.
func (a *attempt) wait(ctx context.Context) error {
	if a.view == nil {
		return nil
	}
	select {
	case <-a.view.closed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retry counts and logs a retry and waits the policy's interval.
func (t *attemptsTransport) retry(ctx context.Context, retries *int, tg *target, status int) error {
	d := t.u.retry.interval(*retries)
	*retries++
	t.metrics.backendRetries.WithLabelValues(strconv.Itoa(status)).Inc()
	t.logger.Debug("retrying the backend request", "url", tg.url.Redacted(), "status", status, "retry", *retries, "wait", d)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// discard drops a response that is retried: a short body is read so that
// its connection can serve again, a longer one closes it.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}

// clientBodyFault is the fault for a request body that could not be read:
// 413 past maxRequestBodySize, else 400.
func clientBodyFault(err error) int {
	if isTooLarge(err) {
		return CodeRequestTooLarge
	}
	return CodeBadRequest
}

// retryPolicy is an endpoint's Retry, ready for the request path.
type retryPolicy struct {
	Retry
	codes map[int]bool
}

func newRetryPolicy(r *Retry) *retryPolicy {
	if r == nil || r.Count <= 0 {
		return nil
	}
	p := &retryPolicy{Retry: *r, codes: map[int]bool{}}
	for _, c := range r.StatusCodes {
		p.codes[c] = true
	}
	if len(p.codes) == 0 {
		p.codes[http.StatusGatewayTimeout] = true // Choreo Connect's default
	}
	return p
}

// on reports whether an attempt that ended in status is retried.
func (p *retryPolicy) on(status int) bool { return p.codes[status] }

// interval is the wait before retry n (0 for the first): Interval, times
// BackOffFactor for each retry before, at most MaxInterval when set.
func (p *retryPolicy) interval(n int) time.Duration {
	if p.Interval <= 0 {
		return 0
	}
	d := float64(p.Interval)
	if p.BackOffFactor > 1 {
		d *= math.Pow(p.BackOffFactor, float64(n))
	}
	if p.MaxInterval > 0 && d > float64(p.MaxInterval) {
		return p.MaxInterval
	}
	if d > float64(math.MaxInt64) {
		return math.MaxInt64
	}
	return time.Duration(d)
}
