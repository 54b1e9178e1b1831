// Package revocation holds the revoked-token set and the sources that feed it:
// the real-time broker subscriber, the persistent stores (etcd, or a custom
// store compiled in from a project's extensions/), and the publishers the
// token-service side uses.
package revocation

import (
	"context"
	"time"
)

// Sink receives revocations from a source. The revoked Set implements it.
// expiresAt is when the revocation stops mattering (the token could no longer
// be used anyway); the zero time means "until someone removes it".
type Sink interface {
	Revoke(jti string, expiresAt time.Time)
	Unrevoke(jti string)
}

// Source is a producer of revocations with a lifecycle, in the manner of a
// Caddy app: the runtime starts each enabled source with Run and stops it by
// cancelling ctx.
type Source interface {
	// Run delivers revocations into sink until ctx is done. It calls ready
	// exactly once, after its first full load (stores) or first subscription
	// (brokers) succeeded. Connection failures are retried inside Run with
	// backoff; Run returns only when ctx is done (nil) or on a fault that no
	// retry can mend, such as an invalid configuration.
	Run(ctx context.Context, sink Sink, ready func()) error
}

// Resyncer is implemented by persistent sources. The real-time subscriber
// calls Resync after it reconnects, because a non-durable topic drops what
// was published while it was away.
type Resyncer interface {
	Resync()
}
