package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// sweepInterval is how often expired entries leave the revoked set.
const sweepInterval = time.Minute

// sourceRun is one enabled revocation source and whether it has called
// ready.
type sourceRun struct {
	name  string // "broker", "etcd" or "store:<name>"
	src   revocation.Source
	ready atomic.Bool
}

// revocationRuntime is the revoked set and the sources that feed it.
type revocationRuntime struct {
	set *revocation.Set
	// rules are the revocation rules (by subject, client, issuer), checked
	// after the jti.
	rules *revocation.RuleSet
	// blocks are the blocking conditions (docs/traffic.md), fed by the same
	// sources.
	blocks  *revocation.BlockSet
	sources []*sourceRun
	// persistent are the enabled persistent sources (etcd's jti and rules
	// prefixes, or the custom store); they gate secured requests until each
	// has loaded.
	persistent []*sourceRun

	cancel context.CancelFunc
	done   chan struct{}
}

// start runs the sweeper and every source until stop. A source that returns
// an error (a fault no retry can mend) is reported on fail.
func (rv *revocationRuntime) start(ctx context.Context, logger *slog.Logger, m *metrics, fail func(error)) {
	ctx, rv.cancel = context.WithCancel(ctx)
	rv.done = make(chan struct{})
	running := make(chan struct{}, len(rv.sources)+3)
	go func() {
		rv.set.RunSweeper(ctx, sweepInterval)
		running <- struct{}{}
	}()
	go func() {
		rv.rules.RunSweeper(ctx, sweepInterval)
		running <- struct{}{}
	}()
	go func() {
		rv.blocks.RunSweeper(ctx, sweepInterval)
		running <- struct{}{}
	}()
	sink := revocation.Revocations{Tokens: rv.set, Rules: rv.rules, Blocks: rv.blocks}
	for _, sr := range rv.sources {
		m.sourceReady.WithLabelValues(sr.name).Set(0)
		go func() {
			defer func() { running <- struct{}{} }()
			err := sr.src.Run(ctx, sink, func() {
				if sr.ready.CompareAndSwap(false, true) {
					m.sourceReady.WithLabelValues(sr.name).Set(1)
					logger.Info("revocation source is ready", "source", sr.name, "revoked", rv.set.Len(), "rules", rv.rules.Len())
				}
			})
			if err != nil && ctx.Err() == nil {
				fail(fmt.Errorf("revocation source %s stopped: %w", sr.name, err))
			}
		}()
	}
	go func() {
		for range len(rv.sources) + 3 {
			<-running
		}
		close(rv.done)
	}()
}

// stop cancels the sources and waits for them until ctx is done.
func (rv *revocationRuntime) stop(ctx context.Context) error {
	if rv.cancel == nil {
		return nil
	}
	rv.cancel()
	select {
	case <-rv.done:
		return nil
	case <-ctx.Done():
		return errors.New("revocation sources did not stop in time")
	}
}

// waiting lists the sources that have not called ready yet.
func (rv *revocationRuntime) waiting() []string {
	var out []string
	for _, sr := range rv.sources {
		if !sr.ready.Load() {
			out = append(out, "revocation source "+sr.name)
		}
	}
	return out
}
