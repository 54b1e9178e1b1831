// Package auth validates the JWT access tokens of secured requests
// (docs/runtime.md): the token is taken from the configured header, its
// issuer chosen by the iss claim among the trusted [[jwtTokenConfig]]
// issuers, its signature verified with that issuer's key only (a trust store
// certificate or a JWKS key), and iss, aud, exp, nbf, sub and jti checked.
// Validated claims are cached; revocation is not checked here but by the
// server on every request, cached or not.
package auth

import "fmt"

// Fault codes of the WSO2 gateway, which clients of the original expect.
const (
	CodeInvalidCredentials = 900901 // 401
	CodeMissingCredentials = 900902 // 401
	CodeForbidden          = 900908 // 403 Resource forbidden (subscription)
)

// Reasons are short, fixed labels: the server counts failures by reason in
// its metrics, so they must stay few and never carry token data.
const (
	ReasonMissing       = "missing"        // no credentials at all
	ReasonBadScheme     = "bad_scheme"     // not "Bearer <token>"
	ReasonMalformed     = "malformed"      // not a compact JWS with JSON header and payload
	ReasonTooLarge      = "too_large"      // longer than MaxTokenSize
	ReasonBadAlg        = "bad_alg"        // alg not allowed, or not fit for the issuer's key
	ReasonBadHeader     = "bad_header"     // a crit header, a header field of the wrong type, a typ the issuer is not trusted for
	ReasonBadClaim      = "bad_claim"      // a claim of the wrong type or out of range
	ReasonMissingClaim  = "missing_claim"  // one of iss, sub, aud, exp, jti is absent
	ReasonUnknownIssuer = "unknown_issuer" // iss names no trusted issuer
	ReasonUnknownKey    = "unknown_key"    // the issuer's JWKS has no key for the kid
	ReasonBadSignature  = "bad_signature"  // the signature does not verify
	ReasonBadAudience   = "bad_audience"   // aud lacks the configured audience
	ReasonExpired       = "expired"        // exp has passed (beyond the clock skew)
	ReasonNotYetValid   = "not_yet_valid"  // nbf is ahead (beyond the clock skew)
	ReasonNotSubscribed = "not_subscribed" // subscribedAPIs lacks the API
)

// Error is a refused token. Detail is written for the client and never
// contains the token or any part of it.
type Error struct {
	Code   int    // CodeInvalidCredentials, CodeMissingCredentials or CodeForbidden
	Reason string // a Reason* label, for metrics
	Detail string // safe to return to the client
}

func (e *Error) Error() string {
	return fmt.Sprintf("auth: %d %s: %s", e.Code, e.Reason, e.Detail)
}

func invalid(reason, detail string) *Error {
	return &Error{Code: CodeInvalidCredentials, Reason: reason, Detail: detail}
}

// Errors without variable parts are made once: the refusal path allocates
// nothing for them.
var (
	errMissing    = &Error{Code: CodeMissingCredentials, Reason: ReasonMissing, Detail: "Make sure your API request provides required credentials"}
	errTooLarge   = invalid(ReasonTooLarge, "The access token is too large")
	errMalformed  = invalid(ReasonMalformed, "The access token is not a well-formed JWT")
	errBadScheme  = invalid(ReasonBadScheme, "The authorization scheme must be Bearer")
	errTwoHeaders = invalid(ReasonMalformed, "More than one authorization header was given")
	errEmpty      = invalid(ReasonMalformed, "The access token is empty")
	errBadSig     = invalid(ReasonBadSignature, "The access token signature is invalid")
	errExpired    = invalid(ReasonExpired, "The access token has expired")
	errNotYet     = invalid(ReasonNotYetValid, "The access token is not valid yet")
	errAudience   = invalid(ReasonBadAudience, "The access token is not meant for this gateway")
	errIssuer     = invalid(ReasonUnknownIssuer, "The access token issuer is not trusted")
	errUnknownKey = invalid(ReasonUnknownKey, "The access token signing key is not known")
	errCrit       = invalid(ReasonBadHeader, "The access token has critical header parameters that are not supported")
	errForbidden  = &Error{Code: CodeForbidden, Reason: ReasonNotSubscribed, Detail: "User is NOT authorized to access the Resource. API Subscription validation failed."}
)
