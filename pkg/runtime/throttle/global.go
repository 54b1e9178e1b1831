package throttle

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Probing Redis while it is away: the first ping a second after the
// outage began, then less often, at most every probeMax.
const (
	probeMin = time.Second
	probeMax = 5 * time.Second
)

// Global counts in Redis, so that every gateway sharing it admits N in
// total, and falls back to its own Local store while Redis is away: the
// first request whose round trip fails (refused, timed out) is counted
// locally, and so is every request after it, without trying Redis, until a
// ping in the background finds Redis again. Each outage is logged once at
// WARN and its end at INFO; OnMode follows the mode in force (a metric).
// Nothing here makes the gateway unready: traffic is served either way.
type Global struct {
	redis *Redis
	local *Local
	log   *slog.Logger
	// OnMode is called with true when counting moves to Redis and false
	// when it moves to the local store (and once at Run's start).
	OnMode func(redis bool)

	away atomic.Bool
	wake chan struct{}
}

// NewGlobal returns a Global store over r, with local for the outages.
func NewGlobal(r *Redis, local *Local, log *slog.Logger) *Global {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Global{redis: r, local: local, log: log, wake: make(chan struct{}, 1)}
}

// Take implements Store.
func (g *Global) Take(ctx context.Context, cs []Counter) (int, time.Duration) {
	if !g.away.Load() {
		i, retry, err := g.redis.take(ctx, cs)
		if err == nil {
			return i, retry
		}
		g.fallBack(err)
	}
	return g.local.Take(ctx, cs)
}

// fallBack moves counting to the local store, once per outage.
func (g *Global) fallBack(err error) {
	if !g.away.CompareAndSwap(false, true) {
		return
	}
	g.log.Warn("redis is unreachable: throttling counts on this gateway alone until it is back",
		"redis", g.redis.Addr(), "error", err)
	if g.OnMode != nil {
		g.OnMode(false)
	}
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// Redis reports whether counting is in Redis right now.
func (g *Global) Redis() bool { return !g.away.Load() }

// Run checks Redis at the start (a gateway started while Redis is down
// counts locally from its first request rather than waiting on Redis), then
// pings it while it is away until it answers, and closes the connections
// when ctx is done.
func (g *Global) Run(ctx context.Context) {
	defer g.redis.Close()
	if err := g.ping(ctx); err != nil {
		if ctx.Err() != nil {
			return
		}
		g.fallBack(err)
	} else {
		g.log.Info("throttling counts in redis", "redis", g.redis.Addr())
		if g.OnMode != nil {
			g.OnMode(true)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		}
		for delay := probeMin; g.away.Load(); delay = min(2*delay, probeMax) {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if err := g.ping(ctx); err != nil {
				g.log.Debug("redis still unreachable", "redis", g.redis.Addr(), "error", err)
				continue
			}
			g.away.Store(false)
			g.log.Info("redis is reachable again: throttling counts in redis", "redis", g.redis.Addr())
			if g.OnMode != nil {
				g.OnMode(true)
			}
		}
	}
}

func (g *Global) ping(ctx context.Context) error {
	return g.redis.ping(ctx)
}

var _ Store = (*Global)(nil)
