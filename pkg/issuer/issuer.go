// Package issuer signs development access tokens with a project's issuer key
// (security/issuer.key, made by `micro-gw init`), so that the whole flow of
// issuing, calling and revoking can be tried without a real token service.
// The tokens carry every claim the gateway requires (sub, aud, exp, jti) plus
// the WSO2 ones it reads (scope, keytype).
package issuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Defaults of a development token; they match the default conf written by
// `micro-gw init` and the original WSO2 key manager.
const (
	DefaultIssuer   = "https://localhost:9443/oauth2/token"
	DefaultAudience = "http://org.wso2.apimgt/gateway"
	DefaultKeyID    = "wso2apim" // the certificate alias of the dev issuer
	DefaultSubject  = "admin"
	DefaultTTL      = time.Hour
	DefaultKeyType  = KeyTypeProduction
)

// Key types of the keytype claim: which endpoint (production or sandbox) the
// gateway sends the request to.
const (
	KeyTypeProduction = "PRODUCTION"
	KeyTypeSandbox    = "SANDBOX"
)

// Claims describes a token to sign. Zero fields take the defaults above,
// except Scopes (none) and Extra (none).
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	Scopes   []string
	// TTL is the token's lifetime from IssuedAt; exp = iat + TTL.
	TTL time.Duration
	// JTI is the token's id, the key under which it is revoked; empty means
	// a random UUID v4.
	JTI string
	// KeyType is PRODUCTION or SANDBOX.
	KeyType string
	// IssuedAt is iat and nbf; zero means now.
	IssuedAt time.Time
	// NoAudience leaves aud out (a WSO2 API key has none).
	NoAudience bool
	// Type is the typ header; empty means at+jwt.
	Type string
	// Extra claims, added as they are; they cannot replace the ones above.
	Extra map[string]any
}

// Sign returns a compact JWT for c signed with key, with header kid = keyID
// (the certificate alias under which gateways trust the key). The algorithm
// follows the key: RS256 for RSA, ES256/ES384/ES512 for ECDSA by curve,
// EdDSA for Ed25519. The typ header is at+jwt, the type of a JWT access
// token (RFC 9068), so that a gateway whose issuer lists tokenTypes =
// ["at+jwt"] accepts these tokens too.
func Sign(key crypto.Signer, keyID string, c Claims) (string, error) {
	method, err := MethodFor(key)
	if err != nil {
		return "", err
	}
	claims, err := c.mapClaims()
	if err != nil {
		return "", err
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = orDefault(c.Type, "at+jwt")
	if keyID != "" {
		tok.Header["kid"] = keyID
	}
	s, err := tok.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

func (c Claims) mapClaims() (jwt.MapClaims, error) {
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 {
		return nil, fmt.Errorf("token lifetime must be positive, got %s", ttl)
	}
	jti := c.JTI
	if jti == "" {
		id, err := uuid.NewRandom()
		if err != nil {
			return nil, fmt.Errorf("make a jti: %w", err)
		}
		jti = id.String()
	}
	keyType := strings.ToUpper(c.KeyType)
	switch keyType {
	case "":
		keyType = DefaultKeyType
	case KeyTypeProduction, KeyTypeSandbox:
	default:
		return nil, fmt.Errorf("key type must be %s or %s, got %q", KeyTypeProduction, KeyTypeSandbox, c.KeyType)
	}
	m := jwt.MapClaims{}
	for k, v := range c.Extra {
		m[k] = v
	}
	m["iss"] = orDefault(c.Issuer, DefaultIssuer)
	m["sub"] = orDefault(c.Subject, DefaultSubject)
	switch len(c.Audience) {
	case 0:
		if c.NoAudience {
			break
		}
		m["aud"] = DefaultAudience
	case 1:
		// WSO2 key managers write a single audience as a string.
		m["aud"] = c.Audience[0]
	default:
		m["aud"] = c.Audience
	}
	m["iat"] = iat.Unix()
	m["nbf"] = iat.Unix()
	m["exp"] = iat.Add(ttl).Unix()
	m["jti"] = jti
	m["keytype"] = keyType
	if len(c.Scopes) > 0 {
		m["scope"] = strings.Join(c.Scopes, " ")
	}
	return m, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// MethodFor is the algorithm Sign uses for key: RS256 for RSA, ES256/384/512
// by curve, EdDSA for Ed25519.
func MethodFor(key crypto.Signer) (jwt.SigningMethod, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return jwt.SigningMethodRS256, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return jwt.SigningMethodES256, nil
		case elliptic.P384():
			return jwt.SigningMethodES384, nil
		case elliptic.P521():
			return jwt.SigningMethodES512, nil
		}
		return nil, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case ed25519.PrivateKey:
		return jwt.SigningMethodEdDSA, nil
	case nil:
		return nil, errors.New("no signing key")
	}
	return nil, fmt.Errorf("unsupported signing key type %T", key)
}

// LoadKey reads a PEM private key: PKCS#8 (what `micro-gw init` writes),
// PKCS#1 RSA or SEC 1 EC.
func LoadKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read issuer key: %w", err)
	}
	key, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// ParseKey parses the first private key PEM block of data.
func ParseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key found")
		}
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS#8 private key: %w", err)
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("unsupported private key type %T", k)
			}
			return s, nil
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS#1 private key: %w", err)
			}
			return k, nil
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse EC private key: %w", err)
			}
			return k, nil
		}
	}
}
