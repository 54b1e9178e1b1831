package revocation

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/micro-gw/micro-gw/pkg/internal/ascii"
)

// RevokedToken is what a revocation names, read by ReadRevokedToken: the
// jti under which every gateway keys the token.
type RevokedToken struct {
	JTI string
	// Exp is the JWT's exp claim; zero for a bare jti, or a JWT without a
	// readable exp.
	Exp time.Time
	// IsJWT is true when a whole JWT was named rather than its jti.
	IsJWT bool
	// Opaque is true when an opaque token was named (ReadOpaqueToken): JTI
	// is then its OpaqueTokenKey.
	Opaque bool
}

// Until is when gateways stop accepting the token: its exp plus
// ExpiryLeeway, or zero when it has no exp. A revocation that runs to the
// token's expiry must run until then.
func (t RevokedToken) Until() time.Time {
	if t.Exp.IsZero() {
		return time.Time{}
	}
	return t.Exp.Add(ExpiryLeeway)
}

// ErrNoJTI is wrapped by the error for a JWT without a jti claim: gateways
// revoke by jti, so nothing can revoke such a token.
var ErrNoJTI = errors.New("a JWT without a jti claim")

// ReadRevokedToken is the one reading of "which jti does this revoke",
// shared by the gateway's message decoder, the publishers and the token
// service, so that every side keys a token the same way:
//
//   - A value whose first dot-separated part is a JOSE header (base64url or
//     standard base64, padded or not, of a JSON object) is a JWT. Three
//     parts: its payload is decoded (the signature is not verified) and its
//     "jti" claim (exact name) is the key; its exp is read when it is a
//     JSON number, and ignored otherwise (no gateway accepts such a token,
//     so the revocation holds for its ttl, or for good). Five parts: a JWE,
//     refused, its claims being encrypted. Any other count: a JWT cut
//     short or damaged, refused, since revoking it as a jti would leave the
//     real token valid.
//   - Anything else is a bare jti (which may hold dots: "a.b.c").
//
// White space around the value is ignored. The jti must then be what a
// gateway accepts in a token (auth refuses the rest): at most MaxJTILength
// bytes of valid UTF-8 with no white space or control character. Errors
// wrap ErrInvalidNotice and never contain the token.
func ReadRevokedToken(s string) (RevokedToken, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return RevokedToken{}, fmt.Errorf("%w: empty token", ErrInvalidNotice)
	}
	head, rest, dotted := strings.Cut(s, ".")
	if !dotted || !isJOSEHeader(head) {
		if err := CheckJTI(s); err != nil {
			return RevokedToken{}, err
		}
		return RevokedToken{JTI: s}, nil
	}
	switch parts := strings.Count(s, ".") + 1; parts {
	case 3:
	case 5:
		return RevokedToken{}, fmt.Errorf("%w: an encrypted JWT (JWE) has no readable jti; revoke its jti instead", ErrInvalidNotice)
	default:
		return RevokedToken{}, fmt.Errorf("%w: an incomplete or damaged JWT (%d parts; a signed JWT has 3)", ErrInvalidNotice, parts)
	}
	payload, _, _ := strings.Cut(rest, ".")
	raw, err := decodeJOSEPart(payload)
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case, and "JTI" is not the claim the gateway checks.
	var claims map[string]json.RawMessage
	if err != nil || json.Unmarshal(raw, &claims) != nil || claims == nil {
		return RevokedToken{}, fmt.Errorf("%w: a JWT whose payload is not a base64url JSON object", ErrInvalidNotice)
	}
	t := RevokedToken{IsJWT: true}
	rawJTI, ok := claims["jti"]
	if !ok {
		return RevokedToken{}, fmt.Errorf("%w: %w", ErrInvalidNotice, ErrNoJTI)
	}
	if json.Unmarshal(rawJTI, &t.JTI) != nil {
		return RevokedToken{}, fmt.Errorf("%w: a JWT whose jti claim is not a string", ErrInvalidNotice)
	}
	if err := CheckJTI(t.JTI); err != nil {
		return RevokedToken{}, fmt.Errorf("the JWT's jti claim: %w", err)
	}
	var exp float64
	if json.Unmarshal(claims["exp"], &exp) == nil && exp > 0 && exp < 1<<40 {
		sec, frac := math.Modf(exp)
		t.Exp = time.Unix(int64(sec), int64(frac*1e9))
	}
	return t, nil
}

// ReadOpaqueToken is the reading of an opaque (not JWT) access token, beside
// ReadRevokedToken's of a JWT: gateways cannot read a jti out of it, so they
// look it up in the revoked set by OpaqueTokenKey (besides the jti its
// introspection gives, docs/authentication.md "Opaque tokens"), and a
// revocation names it by that key. The token must be an RFC 6750 token68
// (letters, digits, -._~+/ and trailing =) of at most MaxNoticeSize bytes;
// one that looks like a JWT is refused (ReadRevokedToken reads those).
// Errors wrap ErrInvalidNotice and never contain the token.
func ReadOpaqueToken(s string) (RevokedToken, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return RevokedToken{}, fmt.Errorf("%w: empty token", ErrInvalidNotice)
	case len(s) > MaxNoticeSize:
		return RevokedToken{}, fmt.Errorf("%w: a token of %d bytes is larger than %d", ErrInvalidNotice, len(s), MaxNoticeSize)
	case LooksLikeJWT(s):
		return RevokedToken{}, fmt.Errorf("%w: a JWT, not an opaque token", ErrInvalidNotice)
	case !isToken68(s):
		return RevokedToken{}, fmt.Errorf("%w: not a bearer token (RFC 6750: letters, digits, -._~+/ and trailing =)", ErrInvalidNotice)
	}
	return RevokedToken{JTI: OpaqueTokenKey(s), Opaque: true}, nil
}

// OpaqueTokenKey is the key of an opaque token in the revoked set: the
// SHA-256 of the token, lowercase hex.
func OpaqueTokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// isToken68 reports whether s is an RFC 7235 token68.
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	return body != "" && token68Bytes.All(body)
}

// token68Bytes are those of a token68 before its padding.
var token68Bytes = ascii.AlnumAnd("-._~+/")

// LooksLikeJWT reports whether s is, or was meant to be, a JWT: its first
// dot-separated part is a JOSE header, whatever the number of parts. Tools
// use it to refuse a whole or damaged token where a jti is expected.
func LooksLikeJWT(s string) bool {
	head, _, ok := strings.Cut(strings.TrimSpace(s), ".")
	return ok && isJOSEHeader(head)
}

// isJOSEHeader reports whether the first part of a compact JWS or JWE
// decodes to a JSON object, as a JOSE header does.
func isJOSEHeader(part string) bool {
	h, err := decodeJOSEPart(part)
	h = bytes.TrimSpace(h)
	return err == nil && len(h) > 0 && h[0] == '{' && json.Valid(h)
}

// decodeJOSEPart decodes base64url without padding (RFC 7515), and also the
// padded and standard-alphabet forms that some issuers (WSO2's key manager
// among them) wrote.
func decodeJOSEPart(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// CheckJTI checks that jti can be a key, in etcd, in a message and in the
// init example's file, and so what a gateway accepts as a token's jti: not
// empty, at most MaxJTILength bytes, valid UTF-8
// without white space or control characters.
func CheckJTI(jti string) error {
	switch {
	case jti == "":
		return fmt.Errorf("%w: empty jti", ErrInvalidNotice)
	case len(jti) > MaxJTILength:
		return fmt.Errorf("%w: jti of %d bytes is longer than %d", ErrInvalidNotice, len(jti), MaxJTILength)
	case !utf8.ValidString(jti):
		return fmt.Errorf("%w: jti is not valid UTF-8", ErrInvalidNotice)
	case strings.ContainsFunc(jti, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Errorf("%w: jti contains white space or a control character", ErrInvalidNotice)
	}
	return nil
}
