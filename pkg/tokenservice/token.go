package tokenservice

import (
	"errors"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// readRequest reads what req names with revocation.ReadRevokedToken, the one
// reading every gateway shares, plus what a tool's caller means: a jti given
// as a jti must not be a JWT (revoked as a jti, a whole token would revoke
// nothing), and a whole token that is no JWT is an opaque token, revoked by
// its key (revocation.ReadOpaqueToken).
func readRequest(req Request) (revocation.RevokedToken, error) {
	if req.JTI != "" {
		if revocation.LooksLikeJWT(req.JTI) {
			return revocation.RevokedToken{}, errors.New("this is a JWT, not a jti: revoke it as a token (micro-gw revoke --token), which revokes its jti")
		}
		return revocation.ReadRevokedToken(req.JTI)
	}
	if req.WholeToken && !revocation.LooksLikeJWT(req.Token) {
		return revocation.ReadOpaqueToken(req.Token)
	}
	return revocation.ReadRevokedToken(req.Token)
}

// InvalidTokenError is returned by Revoker.Revoke for a request that names
// no revocable token (an undecodable JWT, a JWT without jti). RFC 7009 answers
// such requests with 200, since the token is not usable anyway.
type InvalidTokenError struct{ Err error }

func (e *InvalidTokenError) Error() string { return "not a revocable token: " + e.Err.Error() }

func (e *InvalidTokenError) Unwrap() error { return e.Err }
