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
	// CodeBusy is micro-gw's: 503, no slot for a password check came free
	// in time (Users), or the key manager could not be asked
	// (Introspector); the client may retry.
	CodeBusy = 900952
	// CodeKeyManagerUnavailable is micro-gw's: 503, the key manager could
	// not answer an introspection (fail closed).
	CodeKeyManagerUnavailable = 900951
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

	ReasonBadCredentials = "bad_credentials"       // basic auth: an unknown user or a wrong password (one reason for both)
	ReasonBusy           = "busy"                  // basic auth: no slot for the password check in time
	ReasonUnconfigured   = "unconfigured"          // a credential of a kind the conf trusts no issuer or user for
	ReasonInactive       = "inactive"              // introspection: active false, or not an access token
	ReasonKeyManager     = "key_manager"           // introspection: the key manager did not answer
	ReasonNoCertificate  = "no_certificate"        // mutual TLS: no client certificate on the connection
	ReasonUntrustedCert  = "untrusted_certificate" // mutual TLS: the certificate does not chain to the trust store
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

	errBadUser        = invalid(ReasonBadCredentials, "The user name or password is not correct")
	errBusy           = &Error{Code: CodeBusy, Reason: ReasonBusy, Detail: "Too many password checks at once; retry shortly"}
	errBasicScheme    = invalid(ReasonBadScheme, "The authorization scheme must be Basic")
	errBasicMalformed = invalid(ReasonMalformed, "The Basic credentials are not the base64 of user:password")
	errBasicTooLarge  = invalid(ReasonTooLarge, "The Basic credentials are too large")
)
