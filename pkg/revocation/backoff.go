package revocation

import (
	"math/rand/v2"
	"time"
)

// backoff is the exponential backoff with jitter of every source's retries:
// the step doubles from min to max, and each wait is drawn between half and
// all of the current step, so that many gateways restarted together do not
// retry in lockstep and no wait is longer than max.
type backoff struct {
	min, max time.Duration
	step     time.Duration
}

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, step: min}
}

func (b *backoff) next() time.Duration {
	d := b.step/2 + rand.N(b.step/2+1)
	b.step = min(b.step*2, b.max)
	return d
}

// reset starts again from the shortest step.
func (b *backoff) reset() { b.step = b.min }
