package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

// jwksClaims are valid claims of the JWKS issuer of jwks_test.go.
func jwksClaims() jwt.MapClaims {
	return jwt.MapClaims{"iss": jwksIssuer, "aud": jwksAudience, "sub": "s", "jti": NewTestJTI(), "exp": time.Now().Add(time.Hour).Unix()}
}

// TestJWKSAttacks sends hostile headers to an issuer with a jwksUrl: the
// kid only ever selects among the provider's own signing keys, and nothing
// in the token makes the gateway fetch anything else.
func TestJWKSAttacks(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	kEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	evilKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	evilCert := authtest.SelfSigned(t, evilKey, "evil")
	srv := newJWKSServer(t)
	ecJWK := toJWK(t, kEC.Public(), "ec")
	ecJWK["alg"] = "ES256"
	encJWK := toJWK(t, k1.Public(), "enc")
	encJWK["use"] = "enc"
	srv.publish(toJWK(t, k1.Public(), "k1"), ecJWK, encJWK, map[string]any{"kty": "oct", "kid": "hmac", "k": b64u([]byte("secret"))})
	evil := newJWKSServer(t)
	evil.publish(toJWK(t, evilKey.Public(), "k1"))

	var logs logBuffer
	v := jwksValidator(t, srv.URL, newClock(), logs.logger())
	ctx := context.Background()
	if err := v.Prefetch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodRS256, k1, "k1")); err != nil {
		t.Fatal(err)
	}
	hdr := func(alg string, set map[string]any) map[string]any {
		h := map[string]any{"alg": alg}
		for k, v := range set {
			h[k] = v
		}
		return h
	}
	ecZero := craft(t, hdr("ES256", map[string]any{"kid": "ec"}), jwksClaims(), nil, nil) + b64u(make([]byte, 64))
	cases := []struct {
		name, token, reason string
	}{
		{"kid path traversal", craft(t, hdr("RS256", map[string]any{"kid": "../../../../etc/passwd"}), jwksClaims(), jwt.SigningMethodRS256, evilKey), ReasonUnknownKey},
		{"kid SQL", craft(t, hdr("RS256", map[string]any{"kid": "' OR '1'='1"}), jwksClaims(), jwt.SigningMethodRS256, evilKey), ReasonUnknownKey},
		{"kid of 8 KB", craft(t, hdr("RS256", map[string]any{"kid": strings.Repeat("k", 8<<10)}), jwksClaims(), jwt.SigningMethodRS256, evilKey), ReasonUnknownKey},
		{"kid null", craft(t, hdr("RS256", map[string]any{"kid": nil}), jwksClaims(), jwt.SigningMethodRS256, k1), ReasonBadHeader},
		{"kid of an encryption key", craft(t, hdr("RS256", map[string]any{"kid": "enc"}), jwksClaims(), jwt.SigningMethodRS256, k1), ReasonUnknownKey},
		{"kid of a symmetric key, HS256 with its secret", craft(t, hdr("HS256", map[string]any{"kid": "hmac"}), jwksClaims(), jwt.SigningMethodHS256, []byte("secret")), ReasonBadAlg},
		{"kid of the EC key, RS256", craft(t, hdr("RS256", map[string]any{"kid": "ec"}), jwksClaims(), jwt.SigningMethodRS256, k1), ReasonBadAlg},
		{"kid of the EC key, r = s = 0", ecZero, ReasonBadSignature},
		{"no kid among several keys", craft(t, hdr("RS256", nil), jwksClaims(), jwt.SigningMethodRS256, k1), ReasonUnknownKey},
		{"jku of the attacker's JWKS", craft(t, hdr("RS256", map[string]any{"kid": "k1", "jku": evil.URL}), jwksClaims(), jwt.SigningMethodRS256, evilKey), ReasonBadSignature},
		{"x5u of the attacker", craft(t, hdr("RS256", map[string]any{"kid": "k1", "x5u": evil.URL + "/cert.pem"}), jwksClaims(), jwt.SigningMethodRS256, evilKey), ReasonBadSignature},
		{"embedded jwk of the attacker", craft(t, hdr("RS256", map[string]any{"kid": "k1", "jwk": toJWK(t, evilKey.Public(), "k1")}), jwksClaims(), jwt.SigningMethodRS256, evilKey), ReasonBadSignature},
		{"embedded x5c of the attacker", craft(t, hdr("RS256", map[string]any{"kid": "k1", "x5c": []string{base64.StdEncoding.EncodeToString(evilCert.Raw)}}), jwksClaims(), jwt.SigningMethodRS256, evilKey), ReasonBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Validate(ctx, tc.token)
			wantErr(t, err, CodeInvalidCredentials, tc.reason)
		})
	}
	// Unknown kids cost the provider at most the bucket's burst of
	// refetches, and the attacker's URLs are never fetched.
	if n, e := srv.fetches.Load(), evil.fetches.Load(); n != 1+jwksKidFetchBurst || e != 0 {
		t.Errorf("fetches: provider %d (want %d), attacker %d (want 0)", n, 1+jwksKidFetchBurst, e)
	}
	// The 8 KB kid is logged cut short.
	if strings.Contains(logs.String(), strings.Repeat("k", maxLoggedKID+1)) {
		t.Error("a kid longer than maxLoggedKID reached the log whole")
	}
	out := logs.String()
	for _, tc := range cases {
		authtest.NoTokenIn(t, "the log", out, tc.token)
	}
}

// TestJWKSWithdrawnKeyStopsVerifying: a key the provider takes out of its
// JWKS (rotated out, or compromised) must stop verifying tokens within
// jwksMaxAge, even though its kid is still in the gateway's cached set.
func TestJWKSWithdrawnKeyStopsVerifying(t *testing.T) {
	old, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	next, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := newJWKSServer(t)
	srv.publish(toJWK(t, old.Public(), "old"))
	clk := newClock()
	v := jwksValidator(t, srv.URL, clk, nil)
	ctx := context.Background()
	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodES256, old, "old")); err != nil {
		t.Fatal(err)
	}
	srv.publish(toJWK(t, next.Public(), "next"))
	clk.Advance(jwksMaxAge)
	// This use finds the set stale and starts the refetch in the
	// background; wait for that fetch (Prefetch would start its own).
	_, _ = v.Validate(ctx, jwksToken(t, jwt.SigningMethodES256, old, "old"))
	j := v.issuers[jwksIssuer].jwks
	j.mu.Lock()
	call := j.inflight
	j.mu.Unlock()
	if call != nil {
		<-call.done
	}
	_, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodES256, old, "old"))
	wantErr(t, err, CodeInvalidCredentials, ReasonUnknownKey)
	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodES256, next, "next")); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	// The refused token's kid, unknown now, fetched once more to be sure.
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("fetches = %d; want 3", n)
	}
}

// TestJWKSHostileDocuments: a JWKS that is too large, not a set, or holds
// only keys that must not be trusted is refused whole, without a panic.
func TestJWKSHostileDocuments(t *testing.T) {
	rsaJWK := func(n *big.Int, e []byte) map[string]any {
		return map[string]any{"kty": "RSA", "kid": "r", "n": b64u(n.Bytes()), "e": b64u(e)}
	}
	real2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	huge := new(big.Int).Lsh(big.NewInt(1), maxRSABits+8)
	huge.Add(huge, big.NewInt(1))
	okp := func(x []byte) map[string]any {
		return map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": "o", "x": b64u(x)}
	}
	ec := func(crv string, x, y []byte) map[string]any {
		return map[string]any{"kty": "EC", "crv": crv, "kid": "e", "x": b64u(x), "y": b64u(y)}
	}
	weak := smallOrderKeys(t)
	keys := func(k ...any) string {
		b, _ := json.Marshal(map[string]any{"keys": k})
		return string(b)
	}
	cases := map[string]string{
		"larger than 1 MB":      `{"keys":[],"pad":"` + strings.Repeat("x", maxJWKSSize) + `"}`,
		"keys an object":        `{"keys":{}}`,
		"null":                  `null`,
		"an array":              `[]`,
		"keys not objects":      `{"keys":[1,"x",null,true,[]]}`,
		"RSA of 8 bits":         keys(rsaJWK(big.NewInt(187), []byte{1, 0, 1})),
		"RSA too large":         keys(rsaJWK(huge, []byte{1, 0, 1})),
		"RSA e = 1":             keys(rsaJWK(real2048.N, []byte{1})),
		"RSA e even":            keys(rsaJWK(real2048.N, []byte{1, 0, 0})),
		"RSA e of 5 bytes":      keys(rsaJWK(real2048.N, []byte{1, 0, 0, 0, 1})),
		"EC coordinates 0, 0":   keys(ec("P-256", make([]byte, 32), make([]byte, 32))),
		"EC x of 33 bytes":      keys(ec("P-256", make([]byte, 33), make([]byte, 32))),
		"EC secp256k1":          keys(ec("secp256k1", make([]byte, 32), make([]byte, 32))),
		"OKP X25519":            keys(map[string]any{"kty": "OKP", "crv": "X25519", "x": b64u(make([]byte, 32))}),
		"OKP of 31 bytes":       keys(okp(make([]byte, 31))),
		"Ed25519 identity":      keys(okp(weak[1])),
		"Ed25519 of order 8":    keys(okp(weak[len(weak)-1])),
		"alg none on a key":     keys(map[string]any{"kty": "RSA", "kid": "r", "alg": "none", "n": b64u(real2048.N.Bytes()), "e": "AQAB"}),
		"alg HS256 on RSA":      keys(map[string]any{"kty": "RSA", "kid": "r", "alg": "HS256", "n": b64u(real2048.N.Bytes()), "e": "AQAB"}),
		"n not base64url":       keys(map[string]any{"kty": "RSA", "kid": "r", "n": "!!", "e": "AQAB"}),
		"members of wrong type": keys(map[string]any{"kty": 1, "kid": []int{1}}),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
			defer srv.Close()
			v := newValidator(t, jwksConfig(srv.URL), newClock())
			if err := v.Prefetch(context.Background()); err == nil {
				t.Fatal("the set was taken")
			}
		})
	}
}

// TestJWKSHangingProvider: a provider that never answers does not hold a
// request beyond the request's own context.
func TestJWKSHangingProvider(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		cancel() // the client gives up once the fetch is under way
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	v := newValidator(t, jwksConfig(srv.URL), newClock())
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodES256, k, "k"))
	wantErr(t, err, CodeInvalidCredentials, ReasonUnknownKey)
}

// smallOrderKeys returns encodings of Ed25519 points of small order:
// y = 0 (order 4), the identity, y = -1, the identity written
// non-canonically as p + 1, and a point of order 8, computed from
// d·y⁴ + 2·y² - 1 = 0 rather than copied from a list.
func smallOrderKeys(t testing.TB) [][]byte {
	t.Helper()
	p, d := ed25519P, ed25519D
	le := func(n *big.Int) []byte { return reversed(n.FillBytes(make([]byte, 32))) }
	one := big.NewInt(1)
	out := [][]byte{le(new(big.Int)), le(one), le(new(big.Int).Sub(p, one)), le(new(big.Int).Add(p, one))}
	// y² = (-1 ± sqrt(1 + d)) / d
	root := new(big.Int).ModSqrt(new(big.Int).Add(d, one), p)
	dInv := new(big.Int).ModInverse(d, p)
	for _, sign := range []int64{1, -1} {
		y2 := new(big.Int).Mul(big.NewInt(sign), root)
		y2.Sub(y2, one).Mul(y2, dInv).Mod(y2, p)
		if y := new(big.Int).ModSqrt(y2, p); y != nil {
			return append(out, le(y))
		}
	}
	t.Fatal("no point of order 8 found")
	return nil
}

// TestSmallOrderEd25519KeysRefused: with a key of small order anyone can
// forge signatures, as the test shows with ed25519.Verify itself; such a
// key is refused in the trust store and in a JWKS, and ordinary keys are not.
func TestSmallOrderEd25519KeysRefused(t *testing.T) {
	forged := make([]byte, 64)
	forged[0] = 1 // R = identity, S = 0
	weak := smallOrderKeys(t)
	if !ed25519.Verify(weak[1], []byte("any message"), forged) {
		t.Fatal("the identity key should accept the forged signature")
	}
	order8 := weak[len(weak)-1]
	found := false
	for i := 0; i < 200 && !found; i++ {
		found = ed25519.Verify(order8, []byte("message "+strconv.Itoa(i)), forged)
	}
	if !found {
		t.Fatal("the order-8 key accepted no forged signature in 200 messages")
	}
	for i, k := range weak {
		if _, err := algsFor(ed25519.PublicKey(k)); err == nil {
			t.Errorf("small-order key %d accepted", i)
		}
	}
	for range 200 {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		if _, err := algsFor(pub); err != nil {
			t.Fatalf("an ordinary key refused: %v", err)
		}
	}

	// End to end, through a JWKS: the forged token finds no key.
	srv := newJWKSServer(t)
	good, _, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish(toJWK(t, good, "good"), toJWK(t, ed25519.PublicKey(weak[1]), "weak"))
	v := newValidator(t, jwksConfig(srv.URL), newClock())
	tok := craft(t, map[string]any{"alg": "EdDSA", "kid": "weak"}, jwksClaims(), nil, nil) + b64u(forged)
	_, err := v.Validate(context.Background(), tok)
	wantErr(t, err, CodeInvalidCredentials, ReasonUnknownKey)

	// And in the trust store.
	der, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(weak[1]))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "weak.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := jwksConfig("")
	cfg.JWT[0].JWKSURL, cfg.JWT[0].CertificateAlias = "", "weak"
	cfg.Listener.TrustStorePath = dir
	if _, err := New(cfg, Options{Logger: quietLogger()}); err == nil || !strings.Contains(err.Error(), "small order") {
		t.Fatalf("a small-order key in the trust store: %v", err)
	}
}

func TestRSAKeySizeBounds(t *testing.T) {
	for bits, ok := range map[int]bool{minRSABits - 1: false, minRSABits: true, maxRSABits: true, maxRSABits + 1: false} {
		n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
		n.Add(n, big.NewInt(1))
		if _, err := algsFor(&rsa.PublicKey{N: n, E: 65537}); (err == nil) != ok {
			t.Errorf("%d bits: %v", bits, err)
		}
	}
}

// TestSignatureMalleabilityKeepsJTI: ECDSA signatures are malleable, (r, s)
// and (r, n - s) both verify, so one token has two spellings that the cache
// keeps apart. Both carry the same verified jti, which is what revocation
// keys on, so revoking it refuses both.
func TestSignatureMalleabilityKeepsJTI(t *testing.T) {
	iss := authtest.NewIssuer(t, authtest.WithKeyType(authtest.ECDSA))
	v := newValidator(t, iss.Config(), newClock())
	tok := iss.Token(t, map[string]any{"jti": "malleable"})
	twin := authtest.HighSTwin(t, tok)
	if twin == tok {
		t.Fatal("no twin")
	}
	for _, s := range []string{tok, twin} {
		c, err := v.Validate(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if c.JTI != "malleable" {
			t.Fatalf("jti %q", c.JTI)
		}
	}
	if n := v.cache.len(); n != 2 {
		t.Fatalf("cache len %d; want the two spellings", n)
	}
}

// TestJWKSURLPasswordNotLogged: a jwksUrl may hold basic-auth credentials;
// the warnings about the provider show the URL without the password.
func TestJWKSURLPasswordNotLogged(t *testing.T) {
	srv := newJWKSServer(t)
	srv.status.Store(http.StatusBadGateway)
	var logs logBuffer
	u := strings.Replace(srv.URL, "http://", "http://gw:pa55w0rd-jwks@", 1)
	v := jwksValidator(t, u, newClock(), logs.logger())
	if err := v.Prefetch(context.Background()); err == nil {
		t.Fatal("the provider is down")
	}
	out := logs.String()
	if !strings.Contains(out, "jwks: fetch failed") || !strings.Contains(out, "gw:xxxxx@") {
		t.Fatalf("the failure was not logged with the redacted URL:\n%s", out)
	}
	if strings.Contains(out, "pa55w0rd-jwks") {
		t.Fatalf("the password was logged:\n%s", out)
	}
}

// TestJWKSRedirectDowngradeRefused: an https jwksUrl that redirects to
// plain http is not followed (the keys could be replaced on the way); a
// redirect to https is.
func TestJWKSRedirectDowngradeRefused(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	plain := newJWKSServer(t)
	plain.publish(toJWK(t, k.Public(), "k"))
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{toJWK(t, k.Public(), "k")}})
	}))
	defer secure.Close()
	for target, ok := range map[string]bool{plain.URL: false, secure.URL: true} {
		front := httptest.NewTLSServer(http.RedirectHandler(target+"/jwks", http.StatusFound))
		cfg := jwksConfig(front.URL)
		v, err := New(cfg, Options{Logger: quietLogger(), HTTPClient: front.Client()})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Prefetch(context.Background()); (err == nil) != ok {
			t.Errorf("redirect to %s: %v", target, err)
		}
		front.Close()
	}
	if n := plain.fetches.Load(); n != 0 {
		t.Errorf("the plain-http JWKS was fetched %d times", n)
	}
}
