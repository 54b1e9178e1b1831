package factory

import (
	"context"
	"os/signal"
	"syscall"
)

// UntilSignal returns ctx (Background when nil) cancelled by SIGINT or
// SIGTERM, so that a command asked to stop cleans up (a build removes its
// temporary executable, micro-gw dev stops its services) instead of dying
// half way. stop releases the signals.
func UntilSignal(ctx context.Context) (_ context.Context, stop context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
}
