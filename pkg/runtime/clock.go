package runtime

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errResponseTimeout is the cause of an attempt cancelled by its clock.
var errResponseTimeout = errors.New("the backend did not start its response in time")

// responseClock is an attempt's response timeout (docs/runtime.md,
// "Timeouts"): it runs while the gateway waits for the backend, from the
// start of the attempt until the response's headers arrive, and stands
// still while the gateway waits for the client's body, so that a slow
// upload is not blamed on the backend. When it runs out it cancels the
// attempt, which closes the backend connection.
//
// The zero responseClock is no timeout: its methods do nothing. It lives
// inside its attempt, to cost the request path no allocation of its own.
type responseClock struct {
	d      time.Duration
	cancel context.CancelCauseFunc

	mu    sync.Mutex
	timer *time.Timer // nil: no timeout
	done  bool        // stopped: the response came or the attempt ended
	fired bool
}

// start runs the clock for d, cancelling with errResponseTimeout when it
// runs out; d of 0 is no timeout.
func (c *responseClock) start(d time.Duration, cancel context.CancelCauseFunc) {
	if d <= 0 {
		return
	}
	c.d, c.cancel = d, cancel
	c.mu.Lock()
	c.timer = time.AfterFunc(d, c.expire)
	c.mu.Unlock()
}

func (c *responseClock) expire() {
	c.mu.Lock()
	if c.done || c.fired {
		c.mu.Unlock()
		return
	}
	c.fired = true
	c.mu.Unlock()
	c.cancel(errResponseTimeout)
}

// pause stops the clock while the client is waited for.
func (c *responseClock) pause() {
	c.mu.Lock()
	if c.timer != nil && !c.done && !c.fired {
		c.timer.Stop()
	}
	c.mu.Unlock()
}

// resume gives the backend the whole timeout again from now: the gateway
// has just handed it more of the request.
func (c *responseClock) resume() {
	c.mu.Lock()
	if c.timer != nil && !c.done && !c.fired {
		c.timer.Reset(c.d)
	}
	c.mu.Unlock()
}

// stop ends the clock and reports whether it had run out.
func (c *responseClock) stop() (expired bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	if c.timer != nil {
		c.timer.Stop()
	}
	return c.fired
}
