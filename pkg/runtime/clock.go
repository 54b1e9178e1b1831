package runtime

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// responseClock is an attempt's response timeout (docs/runtime.md,
// "Timeouts"), kept as the read deadline of its backend connection: it runs
// while the gateway waits for the backend, from the start of the attempt
// until the response's head arrives, and stands still while the gateway
// waits for the client's body, so that a slow upload is not blamed on the
// backend; each piece of body handed on gives the backend the whole timeout
// again. When it runs out, the read of the response fails with
// os.ErrDeadlineExceeded, and the connection is closed. A deadline costs
// no timer of its own: the connection's poller has one.
//
// cancel ends the attempt at once (the client went away, or the server
// shuts down): every read and write of the connection fails from then on.
type responseClock struct {
	d  time.Duration
	nc net.Conn

	mu        sync.Mutex
	stopped   bool // the response head came, or the attempt ended
	cancelled bool
}

// start runs the clock on nc for d from began, when the attempt began
// (connecting counts); d of 0 is no timeout.
func (c *responseClock) start(d time.Duration, began time.Time, nc net.Conn) {
	c.d, c.nc = d, nc
	if d > 0 {
		_ = nc.SetReadDeadline(began.Add(d))
	}
}

// pause stops the clock while the client is waited for.
func (c *responseClock) pause() {
	c.mu.Lock()
	if c.d > 0 && !c.stopped && !c.cancelled {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
}

// resume gives the backend the whole timeout again from now: the gateway
// has just handed it more of the request.
func (c *responseClock) resume() {
	c.mu.Lock()
	if c.d > 0 && !c.stopped && !c.cancelled {
		_ = c.nc.SetReadDeadline(time.Now().Add(c.d))
	}
	c.mu.Unlock()
}

// stop ends the clock: the response's head has come. The deadline stays
// until clear: a short response is already read whole, and the next
// exchange on the connection sets its own.
func (c *responseClock) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}

// clear lifts the deadline of a stopped clock, before the connection is
// read again (a body that is not in the buffer yet): a long download or a
// stream of events is not cut by the response timeout.
func (c *responseClock) clear() {
	c.mu.Lock()
	if c.d > 0 && !c.cancelled {
		_ = c.nc.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
}

// cancel ends the attempt: the connection's reads and writes fail now.
func (c *responseClock) cancel() {
	c.mu.Lock()
	c.cancelled = true
	_ = c.nc.SetDeadline(aLongTimeAgo)
	c.mu.Unlock()
}

// wasCancelled reports whether cancel ended the attempt.
func (c *responseClock) wasCancelled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cancelled
}

// expired reports whether err is the clock running out.
func (c *responseClock) expired(err error) bool {
	return c.d > 0 && errors.Is(err, os.ErrDeadlineExceeded) && !c.wasCancelled()
}

// aLongTimeAgo is a deadline that has passed: it fails blocked reads and
// writes at once.
var aLongTimeAgo = time.Unix(1, 0)
