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
// A nil *responseClock is no timeout; its methods do nothing.
type responseClock struct {
	d      time.Duration
	cancel context.CancelCauseFunc

	mu    sync.Mutex
	timer *time.Timer
	done  bool // stopped: the response came or the attempt ended
	fired bool
}

// startClock starts a clock of d that cancels with errResponseTimeout; nil
// when d is 0.
func startClock(d time.Duration, cancel context.CancelCauseFunc) *responseClock {
	if d <= 0 {
		return nil
	}
	c := &responseClock{d: d, cancel: cancel}
	c.mu.Lock()
	c.timer = time.AfterFunc(d, c.expire)
	c.mu.Unlock()
	return c
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
	if c == nil {
		return
	}
	c.mu.Lock()
	if !c.done && !c.fired {
		c.timer.Stop()
	}
	c.mu.Unlock()
}

// resume gives the backend the whole timeout again from now: the gateway
// has just handed it more of the request.
func (c *responseClock) resume() {
	if c == nil {
		return
	}
	c.mu.Lock()
	if !c.done && !c.fired {
		c.timer.Reset(c.d)
	}
	c.mu.Unlock()
}

// stop ends the clock and reports whether it had run out.
func (c *responseClock) stop() (expired bool) {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = true
	c.timer.Stop()
	return c.fired
}
