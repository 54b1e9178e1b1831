package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Signed JWTs that are not access tokens: a Status List Token signed by a
// trusted issuer (VerifyIssued), a Security Event Token signed by a Shared
// Signals transmitter (KeySet.Verify). Each is checked as strictly as an
// access token is (allowed algorithms, no crit, no duplicate members, the
// key chosen by the token's issuer alone, exp and nbf with the clock skew)
// and must carry the typ header its kind is defined with; there is no
// audience to check for a status list, and a SET's is the caller's.

// ErrSigned is wrapped by the errors of VerifyIssued and KeySet.Verify.
var ErrSigned = errors.New("signed JWT refused")

// signedParts is a compact JWS read but not verified.
type signedParts struct {
	alg, kid, typ string
	payload       map[string]any
	issuer        string
}

// readSigned reads a compact JWS: its header (alg allowed, no crit, kid and
// typ strings) and its payload (a JSON object without duplicate members,
// with a string iss).
func readSigned(token string, maxSize int) (*signedParts, error) {
	if len(token) > maxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrSigned, maxSize)
	}
	if !jwsBytes.All(token) {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrSigned)
	}
	h, rest, _ := strings.Cut(token, ".")
	p, _, _ := strings.Cut(rest, ".")
	if strings.Count(token, ".") != 2 || h == "" || p == "" {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrSigned)
	}
	hb, err1 := b64.DecodeString(h)
	pb, err2 := b64.DecodeString(p)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrSigned)
	}
	hdr, err := decodeObject(hb)
	if err != nil {
		return nil, fmt.Errorf("%w: the header is not a JSON object", ErrSigned)
	}
	sp := &signedParts{}
	var ok bool
	if sp.alg, ok = hdr["alg"].(string); !ok || !allowedAlgs[sp.alg] {
		return nil, fmt.Errorf("%w: the signing algorithm is not accepted", ErrSigned)
	}
	if _, crit := hdr["crit"]; crit {
		return nil, fmt.Errorf("%w: critical header parameters are not supported", ErrSigned)
	}
	for name, dst := range map[string]*string{"kid": &sp.kid, "typ": &sp.typ} {
		if v, present := hdr[name]; present {
			if *dst, ok = v.(string); !ok {
				return nil, fmt.Errorf("%w: the %s header is not a string", ErrSigned, name)
			}
		}
	}
	if sp.payload, err = decodeObject(pb); err != nil {
		return nil, fmt.Errorf("%w: the payload is not a JSON object", ErrSigned)
	}
	if sp.issuer, ok = sp.payload["iss"].(string); !ok || sp.issuer == "" {
		return nil, fmt.Errorf("%w: no iss claim", ErrSigned)
	}
	return sp, nil
}

// check verifies the signature of token with ver and its time claims (exp,
// nbf, iat when present, with the clock skew), and its typ against typ.
func (sp *signedParts) check(token, typ string, ver *verifier, now func() time.Time) error {
	if mediaType(sp.typ) != mediaType(typ) {
		return fmt.Errorf("%w: the typ header is not %s", ErrSigned, typ)
	}
	if !slices.Contains(ver.algs, sp.alg) {
		return fmt.Errorf("%w: the signing algorithm does not fit the issuer's key", ErrBadSignature)
	}
	parser := jwt.NewParser(jwt.WithValidMethods(ver.algs), jwt.WithLeeway(ClockSkew), jwt.WithTimeFunc(now),
		jwt.WithJSONNumber(), jwt.WithIssuedAt())
	_, err := parser.ParseWithClaims(token, jwt.MapClaims{}, func(*jwt.Token) (any, error) { return ver.pub, nil })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return fmt.Errorf("%w: the signature does not verify", ErrBadSignature)
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: expired", ErrSigned)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: not valid yet", ErrSigned)
	}
	return fmt.Errorf("%w: malformed claims", ErrSigned)
}

// MaxSignedSize bounds a Status List Token: a list of ten million random
// one-bit entries compresses to about 1.3 MB.
const MaxSignedSize = 16 << 20

// VerifyIssued verifies a JWT of type typ signed by one of the trusted
// issuers of [[jwtTokenConfig]] (its iss names the issuer, whose key alone
// is used) and returns its payload, numbers as json.Number. It is how the
// gateway checks a Status List Token.
func (v *Validator) VerifyIssued(ctx context.Context, token, typ string) (map[string]any, error) {
	sp, err := readSigned(token, MaxSignedSize)
	if err != nil {
		return nil, err
	}
	is := v.issuers[sp.issuer]
	if is == nil {
		return nil, fmt.Errorf("%w: iss is not a trusted issuer ([[jwtTokenConfig]])", ErrSigned)
	}
	ver := is.static
	if ver == nil {
		var e *Error
		if ver, e = is.jwks.key(ctx, sp.kid); e != nil {
			return nil, fmt.Errorf("%w: %s", ErrSigned, e.Detail)
		}
	}
	if err := sp.check(token, typ, ver, v.now); err != nil {
		return nil, err
	}
	return sp.payload, nil
}

// KeySet is a JWKS at a URL, fetched and refetched as an issuer's jwksUrl
// is (on an unknown kid, and when older than ten minutes), for JWTs whose
// signer is not a [[jwtTokenConfig]] issuer: a Shared Signals transmitter's
// jwks_uri.
type KeySet struct {
	j   *jwks
	now func() time.Time
}

// NewKeySet returns the key set at url; nothing is fetched until Verify.
func NewKeySet(url string, client *http.Client, logger *slog.Logger) *KeySet {
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	j := &jwks{
		url: url, logURL: redacted(url), client: noDowngrade(client), now: time.Now, log: logger,
		makeVer: func(pub crypto.PublicKey, algs []string) *verifier { return &verifier{pub: pub, algs: algs} },
		fetches: func(string) {},
	}
	return &KeySet{j: j, now: time.Now}
}

// Verify verifies token, of type typ, against the set and checks that its
// iss is issuer; it returns the payload, numbers as json.Number.
func (k *KeySet) Verify(ctx context.Context, token, typ, issuer string) (map[string]any, error) {
	sp, err := readSigned(token, MaxTokenSize*4)
	if err != nil {
		return nil, err
	}
	if sp.issuer != issuer {
		return nil, fmt.Errorf("%w: iss is not %s", ErrIssuerMismatch, issuer)
	}
	ver, e := k.j.key(ctx, sp.kid)
	if e != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, e.Detail)
	}
	if err := sp.check(token, typ, ver, k.now); err != nil {
		return nil, err
	}
	return sp.payload, nil
}

// Errors of KeySet.Verify that a caller answers apart (RFC 8935's
// invalid_issuer and invalid_key); all wrap ErrSigned.
var (
	ErrIssuerMismatch = fmt.Errorf("%w: wrong issuer", ErrSigned)
	ErrUnknownKey     = fmt.Errorf("%w: no key", ErrSigned)
	ErrBadSignature   = fmt.Errorf("%w: bad signature", ErrSigned)
)
