package runtime

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime/h1"
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

// serve sends the request to its endpoint's URLs in the order the exchange
// holds and answers the client (docs/runtime.md, "Endpoints and
// proxying"):
//
//   - Each attempt has the endpoint's response timeout; one that runs out
//     closes its backend connection (504 101504).
//   - An attempt that got no connection sent nothing: its URL is passed over
//     for downFor, and the request moves on to the next URL not yet tried,
//     whatever its method, as long as none of its body was read. A failure
//     once connected is 502 101505 and leaves the URL in the rotation.
//   - With the endpoint's retryConfig, an idempotent request whose attempt
//     ended in one of its status codes (the backend's, or the gateway's own
//     502/503/504) is sent again, to the next URL, at most Count times; a
//     body is sent again only when it was kept whole (retryBodyLimit).
func (u *upstream) serve(x *exchange, r *http.Request) {
	o, err := newOutgoing(r, x.rest, u.basic)
	if err != nil {
		u.fail(x, r, &upstreamError{code: CodeBackendClosed, err: err})
		return
	}
	x.order = u.order(x.start.UnixNano())
	var body *requestBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &requestBody{src: r.Body}
	}
	policy := u.retry
	mayRetry := policy != nil && policy.Count > 0 && idempotentMethods[r.Method]
	if mayRetry && body != nil {
		body.keep = true
	}
	retries := 0
	for pos := 0; ; pos++ {
		tg := x.order[pos%len(x.order)]
		canRetry := mayRetry && retries < policy.Count
		res := u.try(x, r, o, tg, body, canRetry)
		if res.answered {
			return
		}
		if res.err == nil {
			// A response to send again: its status is one to retry on.
			tg.markUp()
			if err := u.retryAfter(r.Context(), &retries, tg, res.status); err != nil {
				u.fail(x, r, &upstreamError{code: CodeBackendClosed, err: err})
				return
			}
			continue
		}
		ue := res.err
		if cerr := body.readErr(); cerr != nil {
			// The client's body broke off or broke its framing: its fault,
			// whatever became of the attempt (and of the client).
			u.fail(x, r, &upstreamError{code: clientBodyFault(cerr), err: cerr})
			return
		}
		if r.Context().Err() != nil {
			u.fail(x, r, ue) // the client went away
			return
		}
		if res.connected {
			tg.markUp()
		} else {
			tg.markDown()
			if ue.code != CodeBackendTimeout && !body.wasRead() && pos+1 < len(x.order) {
				// Nothing was sent: the next URL, whatever the method.
				u.logger.Warn("backend url could not be reached; trying the next", "url", tg.url.Redacted(), "err", ue.err)
				continue
			}
		}
		if !canRetry || !policy.on(faults[ue.code].status) || !body.replayable() {
			u.fail(x, r, ue)
			return
		}
		if err := u.retryAfter(r.Context(), &retries, tg, faults[ue.code].status); err != nil {
			u.fail(x, r, &upstreamError{code: CodeBackendClosed, err: err})
			return
		}
	}
}

// tryResult is how an attempt ended: the client answered (the backend's
// response, or an aborted one), a response to retry on (status), or no
// response (err; connected says whether a connection was made, so that
// something may have been sent).
type tryResult struct {
	answered  bool
	status    int
	err       *upstreamError
	connected bool
}

// try is one attempt at tg. A keep-alive connection that the backend had
// closed without an answer (it timed out idle) is replaced by a new one
// once, as Go's transport does, when nothing of the request can have been
// used: its method is safe and none of its body was read.
func (u *upstream) try(x *exchange, r *http.Request, o *outgoing, tg *target, body *requestBody, canRetry bool) tryResult {
	for fresh := false; ; fresh = true {
		// The response clock runs from here: connecting counts.
		began := time.Now()
		var deadline time.Time
		if u.timeout > 0 {
			deadline = began.Add(u.timeout)
		}
		var c *h1.Conn
		var err error
		if fresh {
			c, err = tg.conns.Dial(r.Context(), deadline)
		} else {
			c, err = tg.conns.Get(r.Context(), deadline)
		}
		if err != nil {
			ue := &upstreamError{code: CodeBackendUnreachable, err: err}
			if !deadline.IsZero() && errors.Is(err, context.DeadlineExceeded) && !time.Now().Before(deadline) {
				ue = &upstreamError{code: CodeBackendTimeout, err: errResponseTimeout}
			}
			return tryResult{err: ue}
		}
		res, stale := u.exchangeOn(x, r, o, c, tg, body, canRetry, began)
		if stale && !fresh {
			u.logger.Debug("a kept-alive backend connection was closed; sending on a new one", "url", tg.url.Redacted())
			continue
		}
		return res
	}
}

// attempt is one exchange on one backend connection: its clock and, for a
// request with a body, the goroutine that sends it.
type attempt struct {
	c     *h1.Conn
	clock responseClock
	head  h1.Head
	view  *bodyView
	sent  chan error // the body sender's end; nil without a body
	gate  chan bool  // Expect: 100-continue: send the body or not
	gated bool       // gate has been given its answer
}

// open lets the body sender (waiting on Expect: 100-continue) go on, or
// not; once.
func (a *attempt) open(send bool) {
	if a.gate != nil && !a.gated {
		a.gated = true
		a.gate <- send
	}
}

// finish waits for the body sender, so that the next attempt may read the
// body, and reports whether the request went out whole. A sender that has
// read all of the client's body is given a second to hand the rest on; one
// still waiting for the client (the backend answered early), or stuck, is
// stopped by closing the connection.
func (a *attempt) finish(body *requestBody) bool {
	if a.sent == nil {
		return true
	}
	a.open(false)
	select {
	case err := <-a.sent:
		a.sent = nil
		return err == nil
	default:
	}
	if body.eof.Load() {
		t := time.NewTimer(time.Second)
		select {
		case err := <-a.sent:
			t.Stop()
			a.sent = nil
			return err == nil
		case <-t.C:
		}
	}
	a.c.Close()
	<-a.sent
	a.sent = nil
	return false
}

// exchangeOn sends the request on c and reads the answer. stale reports a
// kept-alive connection the backend had closed before this request could
// reach it.
func (u *upstream) exchangeOn(x *exchange, r *http.Request, o *outgoing, c *h1.Conn, tg *target, body *requestBody, canRetry bool, began time.Time) (res tryResult, stale bool) {
	res.connected = true
	a := &attempt{c: c}
	a.clock.start(u.timeout, began, c.NC)
	// The client going away (or the server shutting down) ends the
	// attempt, wherever it waits.
	stopCancel := context.AfterFunc(r.Context(), a.clock.cancel)
	reusable := false
	defer func() {
		outWhole := a.finish(body)
		if !stopCancel() || !reusable || !outWhole {
			c.Close()
			return
		}
		c.Put()
	}()

	if err := o.writeHead(c.BW, tg); err != nil {
		res.err = &upstreamError{code: CodeBackendClosed, err: err}
		return res, false
	}
	if body == nil {
		if err := c.BW.Flush(); err != nil {
			res.err = u.broken(a, err)
			return res, c.Reused && safeMethods[r.Method]
		}
	} else {
		a.view = body.view(&a.clock)
		a.sent = make(chan error, 1)
		if o.expect {
			a.gate = make(chan bool, 1)
		}
		buf := u.buffers.Get()
		go func() {
			err := o.sendBody(c.BW, a.view, buf[:], a.gate)
			u.buffers.Put(buf)
			if err != nil && body.readErr() != nil {
				// The client's body broke: no answer of the backend can
				// help now (400), so stop waiting for one.
				a.clock.cancel()
			}
			a.view.Close()
			a.sent <- err
		}()
	}

	for {
		err := h1.ReadHead(c.BR, &a.head)
		if err != nil {
			res.err = u.broken(a, err)
			return res, errors.Is(err, h1.ErrNoResponse) && c.Reused && safeMethods[r.Method] && body == nil
		}
		if !a.head.IsInterim() {
			break
		}
		if a.head.Status == http.StatusContinue {
			a.open(true)
			continue
		}
		u.forwardInterim(x, &a.head)
	}
	a.clock.stop()
	a.open(false)
	h := &a.head
	if canRetry && u.retry.on(h.Status) && body.complete() {
		// Dropped for another try: a short body is read so that the
		// connection can serve again, a longer one closes it.
		a.clock.clear()
		reusable = discardBody(c, h, r.Method)
		return tryResult{status: h.Status, connected: true}, false
	}
	res.answered = true
	if h.Status == http.StatusSwitchingProtocols {
		a.clock.clear()
		if err := u.switchProtocols(x, o, c, h); err != nil {
			u.fail(x, r, &upstreamError{code: CodeBackendClosed, err: err})
		}
		return res, false
	}
	reusable = u.respond(x, r, c, h, &a.clock)
	return res, false
}

// broken is the fault of an attempt whose connection failed before a
// response head came: 504 when its clock ran out, else 502.
func (u *upstream) broken(a *attempt, err error) *upstreamError {
	if a.clock.expired(err) {
		return &upstreamError{code: CodeBackendTimeout, err: errResponseTimeout}
	}
	return &upstreamError{code: CodeBackendClosed, err: err}
}

// errResponseTimeout is the error of an attempt whose clock ran out.
var errResponseTimeout = errors.New("the backend did not start its response in time")

// forwardInterim passes a 1xx response other than 100 Continue and 101 on
// to the client (103 Early Hints), as httputil.ReverseProxy does.
func (u *upstream) forwardInterim(x *exchange, h *h1.Head) {
	hdr := x.Header()
	saved := hdr.Clone()
	for _, f := range h.Fields {
		if !h.Hop(f.Name) {
			hdr[f.Name] = append(hdr[f.Name], f.Value)
		}
	}
	x.ResponseWriter.WriteHeader(h.Status)
	clear(hdr)
	for k, v := range saved {
		hdr[k] = v
	}
}

// discardBody reads a response that is dropped for a retry, when it is
// short (4 KiB), and reports whether its connection can serve again.
func discardBody(c *h1.Conn, h *h1.Head, method string) bool {
	var b h1.Body
	b.Reset(c.BR, h, method)
	if h.Chunked || h.Length < 0 && h.HasBody(method) || h.Length > 4<<10 {
		return false
	}
	_, err := io.Copy(io.Discard, &b)
	return err == nil && b.Done() && !h.Close
}

// safeMethods are those whose request Go's transport sends again on a new
// connection when a kept-alive one turns out closed.
var safeMethods = map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "TRACE": true}

// idempotentMethods are the methods docs/runtime.md retries.
var idempotentMethods = map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "PUT": true, "DELETE": true}

// retryAfter counts and logs a retry and waits the policy's interval.
func (u *upstream) retryAfter(ctx context.Context, retries *int, tg *target, status int) error {
	d := u.retry.interval(*retries)
	*retries++
	u.metrics.backendRetries.WithLabelValues(strconv.Itoa(status)).Inc()
	u.logger.Debug("retrying the backend request", "url", tg.url.Redacted(), "status", status, "retry", *retries, "wait", d)
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
