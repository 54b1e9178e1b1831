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
	"strings"
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

// prefetched is a JWKS server publishing pub as kid k1, and a validator of
// its issuer, on a clock of its own and with its logs kept, that has made
// its start-up fetch.
func prefetched(t *testing.T, pub crypto.PublicKey) (*jwksServer, *clock, *logBuffer, *Validator) {
	t.Helper()
	srv := newJWKSServer(t)
	srv.publish(toJWK(t, pub, "k1"))
	clk := newClock()
	logs := &logBuffer{}
	v := jwksValidator(t, srv.URL, clk, logs.logger())
	if err := v.Prefetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	return srv, clk, logs, v
}

// TestJWKSKeyRotation is the provider rotating its signing key: a token
// signed with the new key is accepted at once, by a refetch the unknown kid
// starts, although the start-up fetch was a moment ago; concurrent requests
// with the new kid share that one fetch; each fetch is logged with its
// reason and outcome.
func TestJWKSKeyRotation(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k3, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv, _, logs, v := prefetched(t, k1.Public())
	ctx := context.Background()
	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodRS256, k1, "k1")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodPS384, k1, "k1")); err != nil {
		t.Fatal(err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d; want 1 (the start-up fetch)", n)
	}

	// k2 is rotated in at the provider, no time later: the first token
	// signed with it is accepted.
	srv.publish(toJWK(t, k1.Public(), "k1"), toJWK(t, k2.Public(), "k2"))
	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodES256, k2, "k2")); err != nil {
		t.Fatalf("a token of the rotated-in key: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d; want 2", n)
	}

	// Concurrent requests with the next new kid share one fetch.
	srv.publish(toJWK(t, k2.Public(), "k2"), toJWK(t, k3.Public(), "k3"))
	tok3 := jwksToken(t, jwt.SigningMethodES256, k3, "k3")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := v.Validate(ctx, tok3); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("fetches = %d; want 3 (one shared refetch)", n)
	}
	for _, want := range []string{
		`msg="jwks: fetched" url=` + srv.URL + ` reason=start`,
		`reason=unknown_kid kid=k2`,
		`reason=unknown_kid kid=k3`,
		`keys=2 kids="[k2 k3]"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs.String())
		}
	}

	// The kid selects the key, and the alg must fit it.
	_, err := v.Validate(ctx, craft(t, map[string]any{"alg": "RS256", "kid": "k2"},
		jwt.MapClaims{"iss": jwksIssuer, "aud": jwksAudience, "sub": "s", "jti": "j", "exp": time.Now().Add(time.Hour).Unix()},
		jwt.SigningMethodRS256, k1))
	wantErr(t, err, 900901, ReasonBadAlg)
	// jku naming another JWKS is ignored: the attacker's key is not fetched.
	evil := newJWKSServer(t)
	k4, _ := rsa.GenerateKey(rand.Reader, 2048)
	evil.publish(toJWK(t, k4.Public(), "k2"))
	_, err = v.Validate(ctx, craft(t, map[string]any{"alg": "RS256", "kid": "k2", "jku": evil.URL},
		jwt.MapClaims{"iss": jwksIssuer, "aud": jwksAudience, "sub": "s", "jti": "j", "exp": time.Now().Add(time.Hour).Unix()},
		jwt.SigningMethodRS256, k4))
	wantErr(t, err, 900901, ReasonBadAlg)
	if n := evil.fetches.Load(); n != 0 {
		t.Fatalf("the jku server was fetched %d times", n)
	}
}

// TestJWKSUnknownKidsAreBounded: tokens with made-up kids fetch at most
// jwksKidFetchBurst times at once and then once per jwksKidFetchEvery; a kid
// that a fresh fetch did not find is not fetched again for jwksMissTTL; a
// refetch held back is logged, once per interval, with how many were.
func TestJWKSUnknownKidsAreBounded(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv, clk, logs, v := prefetched(t, k1.Public())
	ctx := context.Background()
	made := func(kid string) {
		t.Helper()
		_, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodES256, k1, kid))
		wantErr(t, err, 900901, ReasonUnknownKey)
	}

	// A burst of random kids at one instant: the bucket's three fetches.
	for i := range 1000 {
		made("random-" + itoa(int64(i)))
	}
	if n := srv.fetches.Load(); n != 1+jwksKidFetchBurst {
		t.Fatalf("fetches = %d; want %d (start-up + the burst)", n, 1+jwksKidFetchBurst)
	}
	if got := strings.Count(logs.String(), "refetch for an unknown kid held back"); got != 1 {
		t.Fatalf("held-back lines = %d; want 1 (once per interval):\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "held_back=1 ") {
		t.Errorf("the first held-back line should count 1:\n%s", logs.String())
	}

	// A minute of random kids, ten a second: one fetch per interval.
	for i := range 600 {
		clk.Advance(100 * time.Millisecond)
		made("again-" + itoa(int64(i)))
	}
	want := int32(1 + jwksKidFetchBurst + int(time.Minute/jwksKidFetchEvery))
	if n := srv.fetches.Load(); n != want {
		t.Fatalf("fetches = %d; want %d", n, want)
	}
	// Later lines count what was held back since the one before.
	if !strings.Contains(logs.String(), "held_back=99 ") {
		t.Errorf("a later held-back line should count the 99 refetches since the last:\n%s", logs.String())
	}

	// The negative cache: a kid a fresh fetch did not find is not fetched
	// again for jwksMissTTL, although the bucket has refilled.
	clk.Advance(time.Minute)
	before := srv.fetches.Load()
	made("absent")
	made("absent")
	clk.Advance(jwksMissTTL - time.Second)
	made("absent")
	if n := srv.fetches.Load(); n != before+1 {
		t.Fatalf("fetches = %d; want %d (one for the absent kid)", n, before+1)
	}
	clk.Advance(time.Second)
	made("absent")
	if n := srv.fetches.Load(); n != before+2 {
		t.Fatalf("fetches = %d; want %d (the miss has expired)", n, before+2)
	}
	// A good token is served meanwhile without any fetch.
	if _, err := v.Validate(ctx, jwksToken(t, jwt.SigningMethodES256, k1, "k1")); err != nil {
		t.Fatal(err)
	}
	if n := srv.fetches.Load(); n != before+2 {
		t.Fatalf("fetches = %d; want %d", n, before+2)
	}
	// No kid among one key is the one key; among several, none.
	srv.publish(toJWK(t, k1.Public(), "k1"), toJWK(t, k1.Public(), "k1-again"))
	clk.Advance(jwksKidFetchEvery)
	made("k1-again-not-yet-known-as-this") // fetches the two-key set
	made("")
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
