// Package authtest makes trusted token issuers for tests: a key pair, its
// self-signed certificate written as <alias>.pem into a trust store folder,
// and tokens signed with the key. Handler tests of other packages use it so
// that they exercise the real validator instead of a fake.
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// KeyType selects the issuer's key and so its signing algorithm.
type KeyType int

const (
	RSA     KeyType = iota // RSA 2048, RS256 (the default, as the dev issuer of `micro-gw init`)
	ECDSA                  // P-256, ES256
	Ed25519                // EdDSA
)

// Issuer is a trusted token issuer made for a test.
type Issuer struct {
	Name       string            // the iss claim and the [[jwtTokenConfig]] issuer
	Audience   string            // the aud claim and the [[jwtTokenConfig]] audience
	Alias      string            // certificateAlias; the certificate is TrustStore/<Alias>.pem
	TrustStore string            // the trust store folder
	Key        crypto.Signer     // the private key
	Cert       *x509.Certificate // the self-signed certificate written to the trust store
	Method     jwt.SigningMethod // the algorithm Token signs with
}

// Option changes how NewIssuer makes an issuer.
type Option func(*Issuer, *settings)

type settings struct {
	keyType KeyType
	dir     string
}

// WithKeyType selects the key type (RSA by default).
func WithKeyType(k KeyType) Option { return func(_ *Issuer, s *settings) { s.keyType = k } }

// WithAlias sets the certificate alias (default "wso2apim").
func WithAlias(alias string) Option { return func(i *Issuer, _ *settings) { i.Alias = alias } }

// WithName sets the issuer name, the iss claim (default the development issuer's).
func WithName(name string) Option { return func(i *Issuer, _ *settings) { i.Name = name } }

// WithAudience sets the audience (default the development audience).
func WithAudience(aud string) Option { return func(i *Issuer, _ *settings) { i.Audience = aud } }

// WithTrustStore writes the certificate into an existing folder, so that
// several issuers share one trust store.
func WithTrustStore(dir string) Option { return func(_ *Issuer, s *settings) { s.dir = dir } }

// NewIssuer makes a key pair, writes its self-signed certificate to a trust
// store folder (a fresh t.TempDir unless WithTrustStore) and returns the issuer.
func NewIssuer(t testing.TB, opts ...Option) *Issuer {
	t.Helper()
	i := &Issuer{
		Name:     config.DefaultIssuer,
		Audience: config.DefaultAudience,
		Alias:    config.DefaultCertificateAlias,
	}
	var s settings
	for _, o := range opts {
		o(i, &s)
	}
	if s.dir == "" {
		s.dir = t.TempDir()
	}
	i.TrustStore = s.dir
	var err error
	switch s.keyType {
	case ECDSA:
		i.Key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		i.Method = jwt.SigningMethodES256
	case Ed25519:
		_, i.Key, err = ed25519.GenerateKey(rand.Reader)
		i.Method = jwt.SigningMethodEdDSA
	default:
		i.Key, err = rsa.GenerateKey(rand.Reader, 2048)
		i.Method = jwt.SigningMethodRS256
	}
	if err != nil {
		t.Fatalf("authtest: generate key: %v", err)
	}
	i.Cert = SelfSigned(t, i.Key, i.Alias)
	path := filepath.Join(s.dir, i.Alias+".pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.Cert.Raw})
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatalf("authtest: write trust store: %v", err)
	}
	return i
}

// SelfSigned makes a self-signed certificate for key, valid for a day.
func SelfSigned(t testing.TB, key crypto.Signer, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	return create(t, tmpl, tmpl, key.Public(), key)
}

// JWTConfig is the [[jwtTokenConfig]] table that trusts this issuer.
func (i *Issuer) JWTConfig() config.JWTIssuer {
	return config.JWTIssuer{Issuer: i.Name, Audience: i.Audience, CertificateAlias: i.Alias}
}

// Config returns config.Default() set to trust this issuer only, with the
// trust store of this issuer.
func (i *Issuer) Config() *config.Config {
	c := config.Default()
	c.Listener.TrustStorePath = i.TrustStore
	c.JWT = []config.JWTIssuer{i.JWTConfig()}
	return c
}

// Claims returns the claims of a valid token: iss, aud, sub "admin", a random
// jti, iat and nbf now, exp in an hour.
func (i *Issuer) Claims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": i.Name,
		"aud": i.Audience,
		"sub": "admin",
		"jti": NewJTI(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

// Token signs the valid claims of Claims changed by set: a key set to nil is
// removed, any other value replaces or adds the claim.
//
//	tok := iss.Token(t, map[string]any{"scope": "read write", "jti": "j1"})
func (i *Issuer) Token(t testing.TB, set map[string]any) string {
	t.Helper()
	c := i.Claims()
	for k, v := range set {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return i.Sign(t, c, nil)
}

// Sign signs exactly the given claims with the header {"alg", "typ":"JWT",
// "kid": Alias} changed by header (a nil value removes a header field).
func (i *Issuer) Sign(t testing.TB, claims jwt.Claims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(i.Method, claims)
	tok.Header["kid"] = i.Alias
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(i.Key)
	if err != nil {
		t.Fatalf("authtest: sign: %v", err)
	}
	return s
}

// JWK is the public key as a JSON Web Key (RFC 7517) with kid, for tests
// of issuers configured with jwksUrl.
func JWK(pub crypto.PublicKey, kid string) map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		b, err := k.Bytes()
		if err != nil {
			panic(err)
		}
		return map[string]any{"kty": "EC", "kid": kid, "crv": k.Curve.Params().Name, "x": b64(b[1 : 1+size]), "y": b64(b[1+size:])}
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(k)}
	}
	panic(fmt.Sprintf("authtest: unsupported key %T", pub))
}

// JWKS is a JWK Set holding this issuer's key with kid = Alias, to serve
// from an httptest.Server; set JWTConfig().JWKSURL to its URL and clear
// CertificateAlias.
func (i *Issuer) JWKS() []byte {
	b, err := json.Marshal(map[string]any{"keys": []any{JWK(i.Key.Public(), i.Alias)}})
	if err != nil {
		panic(err)
	}
	return b
}

// NewJTI returns a random token id.
func NewJTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// HighSTwin returns tok, an ECDSA-signed token of this package's P-256
// issuers, with its signature (r, s) replaced by (r, n - s): ECDSA
// signatures are malleable, and the twin verifies as well, so that tests
// can check that nothing keys security on the token's exact spelling.
func HighSTwin(t testing.TB, tok string) string {
	t.Helper()
	head, sig64, ok := strings.Cut(tok, ".")
	payload, sig64, ok2 := strings.Cut(sig64, ".")
	sig, err := base64.RawURLEncoding.DecodeString(sig64)
	if !ok || !ok2 || err != nil || len(sig) != 64 {
		t.Fatalf("authtest: not an ES256 token")
	}
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(elliptic.P256().Params().N, s)
	s.FillBytes(sig[32:])
	return head + "." + payload + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// NoTokenIn fails the test when text (a log, a response) holds one of the
// tokens, or the payload or signature of one: tokens must never be shown.
func NoTokenIn(t testing.TB, what, text string, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		for _, secret := range append([]string{tok}, strings.Split(tok, ".")[1:]...) {
			if len(secret) >= 16 && strings.Contains(text, secret) {
				t.Fatalf("%s shows a token, or its payload or signature", what)
			}
		}
	}
}
