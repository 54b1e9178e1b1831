package tokenservice

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// Token is what a revocation request names: a bare jti, or a whole JWT whose
// payload was decoded (without verifying its signature: the token service of
// the seed trusts its authenticated clients to name their own tokens).
type Token struct {
	JTI string
	// ExpiresAt is the JWT's exp; zero for a bare jti or a JWT without exp.
	ExpiresAt time.Time
	// IsJWT is true when the request named a whole JWT.
	IsJWT bool
}

// ErrNoJTI is returned for a JWT whose payload has no jti claim: the gateway
// revokes by jti, so such a token cannot be revoked.
var ErrNoJTI = errors.New("the token has no jti claim")

// ParseToken reads s as a whole JWT when it has the three dot-separated parts
// of a compact JWS, and as a bare jti otherwise. A value that starts like a
// JWT but lacks its parts (cut short in a copy, header.payload) is an error,
// not a jti: revoking it would leave the real token valid.
func ParseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Token{}, errors.New("empty token")
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		if revocation.LooksLikeJWT(s) {
			return Token{}, fmt.Errorf("an incomplete or damaged JWT (%d parts; a signed JWT has 3)", len(parts))
		}
		return parseJTI(s)
	}
	payload, err := decodeSegment(parts[1])
	if err != nil {
		return Token{}, fmt.Errorf("decode the JWT payload: %w", err)
	}
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case, and "JTI" is not the claim the gateway checks.
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return Token{}, fmt.Errorf("decode the JWT payload: %w", err)
	}
	jti, ok := claims["jti"].(string)
	if !ok || jti == "" {
		return Token{}, ErrNoJTI
	}
	if _, err := parseJTI(jti); err != nil {
		return Token{}, fmt.Errorf("the JWT's jti claim: %w", err)
	}
	t := Token{JTI: jti, IsJWT: true}
	switch exp := claims["exp"].(type) {
	case nil:
	case float64:
		sec, frac := math.Modf(exp)
		t.ExpiresAt = time.Unix(int64(sec), int64(frac*1e9))
	default:
		return Token{}, fmt.Errorf("the JWT's exp claim is not a number")
	}
	return t, nil
}

// decodeSegment decodes base64url without padding (RFC 7515), and also the
// padded and standard-alphabet forms that some issuers (WSO2 among them) wrote.
func decodeSegment(seg string) ([]byte, error) {
	seg = strings.TrimRight(seg, "=")
	seg = strings.NewReplacer("+", "-", "/", "_").Replace(seg)
	return base64.RawURLEncoding.DecodeString(seg)
}

// InvalidTokenError is returned by Revoker.Revoke for a request that names
// no revocable token (an undecodable JWT, a JWT without jti). RFC 7009 answers
// such requests with 200, since the token is not usable anyway.
type InvalidTokenError struct{ Err error }

func (e *InvalidTokenError) Error() string { return "not a revocable token: " + e.Err.Error() }

func (e *InvalidTokenError) Unwrap() error { return e.Err }

// parseJTI checks that s can be a jti: the key of an etcd entry and a value
// in a broker message.
func parseJTI(s string) (Token, error) {
	if s == "" {
		return Token{}, errors.New("empty jti")
	}
	if !utf8.ValidString(s) {
		return Token{}, errors.New("a jti must be valid UTF-8")
	}
	if revocation.LooksLikeJWT(s) {
		return Token{}, errors.New("this is a JWT, not a jti: revoke it as a token (micro-gw revoke --token), which revokes its jti")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Token{}, errors.New("a jti cannot contain white space or control characters")
		}
	}
	return Token{JTI: s}, nil
}
