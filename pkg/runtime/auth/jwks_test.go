package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// jwksServer is a real HTTP server publishing a JWK Set that the test
// changes, counting the fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]any
	fetches atomic.Int32
	status  atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if code := int(s.status.Load()); code != http.StatusOK {
			http.Error(w, "down", code)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(keys ...map[string]any) {
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func toJWK(_ *testing.T, pub crypto.PublicKey, kid string) map[string]any {
	return authtest.JWK(pub, kid)
}

const jwksIssuer = "https://idp.example/oauth2/token"
const jwksAudience = "gw"

func jwksConfig(url string) *config.Config {
	cfg := config.Default()
	cfg.JWT = []config.JWTIssuer{{Issuer: jwksIssuer, Audience: jwksAudience, JWKSURL: url}}
	return cfg
}

// jwksValidator validates for the JWKS issuer at url without the token
// cache, so that every Validate reaches the keys; log nil is quiet.
func jwksValidator(t *testing.T, url string, clk *clock, log *slog.Logger) *Validator {
	t.Helper()
	cfg := jwksConfig(url)
	cfg.Caching.Enabled = false
	if log == nil {
		log = quietLogger()
	}
	v, err := New(cfg, Options{Logger: log, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func jwksToken(t *testing.T, method jwt.SigningMethod, key crypto.Signer, kid string) string {
	claims := jwt.MapClaims{"iss": jwksIssuer, "aud": jwksAudience, "sub": "s", "jti": NewTestJTI(), "exp": time.Now().Add(time.Hour).Unix()}
	hdr := map[string]any{"alg": method.Alg(), "typ": "JWT"}
	if kid != "" {
		hdr["kid"] = kid
	}
	return craft(t, hdr, claims, method, key)
}

var jtiSeq atomic.Int64

// NewTestJTI returns a jti unique in this test binary.
func NewTestJTI() string { return "jti-" + itoa(jtiSeq.Add(1)) }

func TestJWKSRateLimitedRefetch(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := newJWKSServer(t)
	srv.publish(toJWK(t, k1.Public(), "k1"))
	clk := newClock()
	v := jwksValidator(t, srv.URL, clk, nil)
	ctx := context.Background()

	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodRS256, k1, "k1")); err != nil {
		t.Fatal(err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d; want 1", n)
	}
	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodPS384, k1, "k1")); err != nil {
		t.Fatal(err)
	}

	// k2 is rotated in at the provider; within 30 s of the last fetch an
	// unknown kid is refused without asking the provider again.
	srv.publish(toJWK(t, k1.Public(), "k1"), toJWK(t, k2.Public(), "k2"))
	tok2 := jwksToken(t, jwt.SigningMethodES256, k2, "k2")
	for range 5 {
		_, err := v.Validate(ctx, tok2)
		wantErr(t, err, 900901, ReasonUnknownKey)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d; want 1 (rate limited)", n)
	}

	// After the interval, concurrent requests with the new kid share one fetch.
	clk.Advance(31 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := v.Validate(ctx, tok2); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d; want 2 (one shared refetch)", n)
	}

	// Made-up kids right after: no fetch.
	for _, kid := range []string{"k3", "k4", "k5"} {
		_, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodES256, k2, kid))
		wantErr(t, err, 900901, ReasonUnknownKey)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d; want 2", n)
	}

	// The kid selects the key, and the alg must fit it.
	_, err := v.Validate(ctx, craft(t, map[string]any{"alg": "RS256", "kid": "k2"},
		jwt.MapClaims{"iss": jwksIssuer, "aud": jwksAudience, "sub": "s", "jti": "j", "exp": time.Now().Add(time.Hour).Unix()},
		jwt.SigningMethodRS256, k1))
	wantErr(t, err, 900901, ReasonBadAlg)
	// With two keys, a token without kid cannot pick one.
	_, err = v.Validate(ctx, jwksToken(t, jwt.SigningMethodRS256, k1, ""))
	wantErr(t, err, 900901, ReasonUnknownKey)
	// jku naming another JWKS is ignored: the attacker's key is not fetched.
	evil := newJWKSServer(t)
	k3, _ := rsa.GenerateKey(rand.Reader, 2048)
	evil.publish(toJWK(t, k3.Public(), "k1"))
	_, err = v.Validate(ctx, craft(t, map[string]any{"alg": "RS256", "kid": "k1", "jku": evil.URL},
		jwt.MapClaims{"iss": jwksIssuer, "aud": jwksAudience, "sub": "s", "jti": "j", "exp": time.Now().Add(time.Hour).Unix()},
		jwt.SigningMethodRS256, k3))
	wantErr(t, err, 900901, ReasonBadSignature)
	if n := evil.fetches.Load(); n != 0 {
		t.Fatalf("the jku server was fetched %d times", n)
	}
}

func TestJWKSProviderDown(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	srv := newJWKSServer(t)
	srv.status.Store(http.StatusInternalServerError)
	clk := newClock()
	v := newValidator(t, jwksConfig(srv.URL), clk)
	ctx := context.Background()
	tok := jwksToken(t, jwt.SigningMethodES384, k1, "only")
	_, err := v.Validate(ctx, tok)
	wantErr(t, err, 900901, ReasonUnknownKey)
	if err := v.Prefetch(ctx); err != nil {
		t.Fatalf("prefetch within the interval should not fetch: %v", err)
	}

	// The provider recovers; a set with one key serves a token without kid.
	srv.status.Store(http.StatusOK)
	srv.publish(
		map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}, // skipped: symmetric
		map[string]any{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
		toJWK(t, k1.Public(), "only"),
	)
	clk.Advance(31 * time.Second)
	if err := v.Prefetch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodES384, k1, "")); err != nil {
		t.Fatalf("no kid, one key: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d; want 2", n)
	}
}

func TestJWKParse(t *testing.T) {
	j := &jwks{log: quietLogger(), makeVer: func(pub crypto.PublicKey, algs []string) *verifier { return &verifier{pub: pub, algs: algs} }}
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := toJWK(t, ek.Public(), "ec")
	offCurve := map[string]any{"kty": "EC", "kid": "bad", "crv": "P-256", "x": good["x"], "y": b64u(make([]byte, 32))}
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	ed := toJWK(t, edk.Public(), "ed")
	narrowed := toJWK(t, ek.Public(), "ec384")
	narrowed["alg"] = "ES384" // does not fit a P-256 key: skipped
	body, _ := json.Marshal(map[string]any{"keys": []any{good, offCurve, ed, narrowed}})
	set, err := j.parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.all) != 2 || set.byKID["ec"] == nil || set.byKID["ed"] == nil || set.byKID["bad"] != nil || set.byKID["ec384"] != nil {
		t.Fatalf("set = %+v", set.byKID)
	}
	if _, err := j.parse([]byte(`{"keys":[]}`)); err == nil {
		t.Fatal("an empty set was accepted")
	}
}
