// Package tokenservice is the token-service side of revocation, as the seed's
// WSO2 key manager did it: a revocation is published to the broker topic that
// every running gateway listens to (real-time) and stored in etcd with a lease
// (persistent), so that gateways started later know it too.
//
// `micro-gw revoke` and the RFC 7009 endpoint of `micro-gw dev` both go
// through a Revoker, so the two do exactly the same thing.
package tokenservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// DefaultTTL is how long a revocation of a bare jti holds when no ttl is
// given: the lifetime of a token from `micro-gw token issue` and of a WSO2
// access token by default. A whole JWT's revocation holds for its remaining
// lifetime instead.
const DefaultTTL = time.Hour

// DefaultSideTimeout bounds each side's attempt, so that an unreachable broker
// does not use up the time of the store, or the other way round.
const DefaultSideTimeout = 10 * time.Second

// Side is one way a revocation reaches the gateways: the broker topic or the
// persistent store.
type Side interface {
	// Name says which side this is and where it goes, for errors.
	Name() string
	// Revoke makes jti revoked for ttl and returns one line saying what it did.
	Revoke(ctx context.Context, jti string, ttl time.Duration) (string, error)
	// Close releases the side's connection.
	Close()
}

// Request is one revocation.
type Request struct {
	// Token is a bare jti or a whole JWT, read as revocation.ReadRevokedToken
	// reads it.
	Token string
	// JTI, when set, is the jti to revoke (Token is then ignored): for
	// callers that know they hold a jti; one that is a JWT is refused.
	JTI string
	// WholeToken reads Token as a token a client presents: a JWT (by its
	// jti; one cut short is refused), else an opaque token, revoked by its
	// SHA-256 (revocation.ReadOpaqueToken). Without it a Token that is no
	// JWT is a bare jti.
	WholeToken bool
	// TTL, when positive, is how long the revocation holds; otherwise a
	// JWT's remaining lifetime (to exp plus revocation.ExpiryLeeway, while
	// gateways still accept it), or DefaultTTL for a bare jti. A JWT past
	// that is not revoked whatever the TTL: no gateway accepts it.
	TTL time.Duration
}

// Result says what a revocation did.
type Result struct {
	Token revocation.RevokedToken
	// TTL is the lifetime given to the revocation.
	TTL time.Duration
	// Expired is true when the JWT had already expired: nothing was done,
	// because no gateway accepts it anyway.
	Expired bool
	// Done has one line per side that did its part, in the order of the sides.
	Done []string
}

// Revoker sends each revocation to every side.
type Revoker struct {
	sides []Side
	// DefaultTTL is the ttl of a bare jti without one (DefaultTTL when zero).
	DefaultTTL time.Duration
	// SideTimeout bounds each side's attempt (DefaultSideTimeout when zero).
	SideTimeout time.Duration
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
	// Notes are things the caller should tell the user: a part of the
	// configuration that this Revoker cannot serve.
	Notes []string
}

// NewRevoker returns a Revoker over sides. It takes ownership of them: Close
// closes them.
func NewRevoker(logger *slog.Logger, sides ...Side) *Revoker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Revoker{sides: sides, Logger: logger}
}

// Sides returns the sides, in order.
func (r *Revoker) Sides() []Side { return r.sides }

// Close closes every side.
func (r *Revoker) Close() {
	for _, s := range r.sides {
		s.Close()
	}
}

// Revoke revokes req.Token on every side, all of them tried even when one
// fails. The error joins the failures of the sides; Result.Done lists what
// the others did.
func (r *Revoker) Revoke(ctx context.Context, req Request) (Result, error) {
	tok, err := readRequest(req)
	if err != nil {
		return Result{}, &InvalidTokenError{Err: err}
	}
	res := Result{Token: tok}
	var left time.Duration
	if until := tok.Until(); !until.IsZero() {
		// Gateways accept a token for ExpiryLeeway past its exp: the
		// revocation must outlive that too.
		if left = until.Sub(r.now()); left <= 0 {
			// Whatever ttl was asked for: no gateway accepts the token.
			res.Expired = true
			r.Logger.Debug("token already expired, nothing to revoke", "jti", tok.JTI, "expired", tok.Exp.UTC().Format(time.RFC3339))
			return res, nil
		}
	}
	switch {
	case req.TTL > 0:
		res.TTL = req.TTL
	case left > 0:
		res.TTL = roundUpToSecond(left)
	default:
		res.TTL = r.DefaultTTL
		if res.TTL <= 0 {
			res.TTL = DefaultTTL
		}
	}

	res.Done, err = r.toEverySide(ctx, func(ctx context.Context, s Side) (string, error) {
		line, err := s.Revoke(ctx, tok.JTI, res.TTL)
		if err != nil {
			r.Logger.Debug("revocation failed", "side", s.Name(), "jti", tok.JTI, "error", err)
			return "", err
		}
		r.Logger.Debug("revoked", "side", s.Name(), "jti", tok.JTI, "ttl", res.TTL.String())
		return line, nil
	})
	return res, err
}

// toEverySide runs do on every side at once, each bounded by SideTimeout, so
// that one slow side does not use up the time of the others. It returns the
// lines of the sides that did their part, in the order of the sides, and the
// failures of the others, each named by its side.
func (r *Revoker) toEverySide(ctx context.Context, do func(context.Context, Side) (string, error)) ([]string, error) {
	if len(r.sides) == 0 {
		return nil, errors.New("no revocation side is configured")
	}
	timeout := r.SideTimeout
	if timeout <= 0 {
		timeout = DefaultSideTimeout
	}
	lines := make([]string, len(r.sides))
	errs := make([]error, len(r.sides))
	var wg sync.WaitGroup
	for i, s := range r.sides {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			line, err := do(sctx, s)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", s.Name(), err)
				return
			}
			lines[i] = line
		})
	}
	wg.Wait()
	var done []string
	for _, l := range lines {
		if l != "" {
			done = append(done, l)
		}
	}
	return done, errors.Join(errs...)
}

// toEverySideOf is toEverySide for what only the sides that are an S carry
// (blocking conditions, revocation rules): a side that is not one, a status
// list of tokens, has no part in it; when no side is one, nothing is sent
// and the error names the sides there are.
func toEverySideOf[S Side](ctx context.Context, r *Revoker, do func(context.Context, S) (string, error)) ([]string, error) {
	var names []string
	for _, s := range r.sides {
		if _, ok := s.(S); ok {
			names = nil
			break
		}
		names = append(names, s.Name())
	}
	if len(names) > 0 {
		return nil, fmt.Errorf("no configured revocation side takes this (there is only %s)", strings.Join(names, ", "))
	}
	return r.toEverySide(ctx, func(ctx context.Context, s Side) (string, error) {
		if of, ok := s.(S); ok {
			return do(ctx, of)
		}
		return "", nil
	})
}

func (r *Revoker) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// roundUpToSecond rounds d up to whole seconds: a revocation must not end
// before the token does, and ttls travel as whole seconds.
func roundUpToSecond(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}
