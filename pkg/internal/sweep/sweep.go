// Package sweep runs a periodic clean-up until its context ends: how the
// revocation rules, the blocking conditions and the throttling counters drop
// what has expired.
package sweep

import (
	"context"
	"time"
)

// Every calls f with the time of each tick, every interval (a minute when
// not positive), until ctx is done.
func Every(ctx context.Context, interval time.Duration, f func(now time.Time)) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			f(now)
		}
	}
}
