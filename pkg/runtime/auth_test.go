package runtime

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

const invalidCredentialsBody = `{"fault":{"code":900901,"message":"Invalid Credentials","description":"Invalid Credentials. Make sure you have given the correct access token"}}` + "\n"

func TestValidTokensPass(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  authtest.KeyType
	}{{"RS256", authtest.RSA}, {"ES256", authtest.ECDSA}, {"EdDSA", authtest.Ed25519}} {
		t.Run(tc.name, func(t *testing.T) {
			be := newBackend(t, "prod")
			iss, cfg := issuerConfig(t, authtest.WithKeyType(tc.key))
			s := startServer(t, petstore(ep(be.URL+"/v2"), nil), cfg, Options{})
			tok := iss.Token(t, nil)
			resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/7?x=1"), nil, "Authorization", "Bearer "+tok)
			if resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/v2/pet/7?x=1"`) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if got := be.lastRequest().Header.Get("Authorization"); got != "" {
				t.Errorf("the backend got the Authorization header %q", got)
			}
		})
	}
}

func TestAuthHeaderKeptWhenConfigured(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.Auth.RemoveAuthHeaderFromOutMessage = false
	cfg.Auth.AuthorizationHeader = "X-JWT-Assertion"
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	tok := iss.Token(t, nil)
	// The configured header is the one read: Authorization is ignored.
	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/7"), nil, "Authorization", "Bearer "+tok)
	wantFault(t, resp, body, 401, CodeMissingCredentials)
	resp, body = do(t, "GET", s.testURL("http", "/petstore/v1/pet/7"), nil, "X-JWT-Assertion", "Bearer "+tok)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got := be.lastRequest().Header.Get("X-JWT-Assertion"); got != "Bearer "+tok {
		t.Errorf("the backend did not get the header it should keep")
	}
}

func TestUnsecuredIgnoresTokens(t *testing.T) {
	be := newBackend(t, "prod")
	s := startServer(t, petstore(ep(be.URL), nil), testConfig(t), Options{})
	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil, "Authorization", "Bearer garbage")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got := be.lastRequest().Header.Get("Authorization"); got != "Bearer garbage" {
		t.Errorf("an unsecured resource's header was changed: %q", got)
	}
}

func TestRevokedTokenRefusedAfterCache(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	var logs syncbuf.Buffer
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{Logger: NewLogger(&logs, -8)})
	tok := iss.Token(t, map[string]any{"jti": "jti-to-revoke"})
	url := s.testURL("http", "/petstore/v1/pet/1")

	for range 2 { // validated, then from the cache
		if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
			t.Fatalf("before revocation: %d %s", resp.StatusCode, body)
		}
	}
	s.revocation.set.Revoke("jti-to-revoke", time.Now().Add(time.Hour))
	resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+tok)
	wantFault(t, resp, body, 401, CodeInvalidCredentials)
	if body != invalidCredentialsBody {
		t.Errorf("revoked: body\n%s\nwant exactly\n%s", body, invalidCredentialsBody)
	}
	if got, want := resp.Header.Get("WWW-Authenticate"), `Bearer realm="micro-gw", error="invalid_token", error_description="Make sure you have given the correct access token"`; got != want {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}
	// A revoked token the cache has never seen is refused the same way.
	cold := iss.Token(t, map[string]any{"jti": "revoked-before-first-use"})
	s.revocation.set.Revoke("revoked-before-first-use", time.Time{})
	resp, body = do(t, "GET", url, nil, "Authorization", "Bearer "+cold)
	if resp.StatusCode != 401 || body != invalidCredentialsBody {
		t.Errorf("revoked, cold: %d %s", resp.StatusCode, body)
	}
	if be.hits.Load() != 2 {
		t.Errorf("the backend saw %d requests, want only the 2 before revocation", be.hits.Load())
	}
	// Un-revoked (a store deleted the key): accepted again.
	s.revocation.set.Unrevoke("jti-to-revoke")
	if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
		t.Errorf("after unrevoke: %d %s", resp.StatusCode, body)
	}
	out := logs.String()
	if !strings.Contains(out, "JWT Token is revoked") || !strings.Contains(out, "jti=jti-to-revoke") {
		t.Errorf("the revocation was not logged with its jti:\n%s", out)
	}
	for _, secret := range []string{tok, cold, strings.Split(tok, ".")[2]} {
		if strings.Contains(out, secret) {
			t.Fatal("a token was logged")
		}
	}
}

func TestScopes(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	url := s.testURL("http", "/petstore/v1/pet/1")
	resp, body := do(t, "DELETE", url, nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"scope": "read:pets"}))
	wantFault(t, resp, body, 403, CodeScopeMismatch)
	resp, body = do(t, "POST", s.testURL("http", "/petstore/v1/pet"), strings.NewReader("{}"), "Authorization", "Bearer "+iss.Token(t, map[string]any{"scope": "write:pets"}))
	wantFault(t, resp, body, 403, CodeScopeMismatch)
	if be.hits.Load() != 0 {
		t.Fatalf("the backend saw %d refused requests", be.hits.Load())
	}
	if resp, body := do(t, "DELETE", url, nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"scope": "read:pets write:pets"})); resp.StatusCode != 200 {
		t.Errorf("with the scope: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, "POST", s.testURL("http", "/petstore/v1/pet"), strings.NewReader("{}"), "Authorization", "Bearer "+iss.Token(t, map[string]any{"scope": "write:pets read:pets"})); resp.StatusCode != 200 {
		t.Errorf("with both scopes: %d %s", resp.StatusCode, body)
	}
}

func TestSandboxRouting(t *testing.T) {
	prod, sand := newBackend(t, "prod"), newBackend(t, "sandbox")
	iss, cfg := issuerConfig(t)
	s := startServer(t, petstore(ep(prod.URL), ep(sand.URL+"/sb")), cfg, Options{})
	url := s.testURL("http", "/petstore/v1/pet/1")
	_, body := do(t, "GET", url, nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"keytype": "SANDBOX"}))
	if !strings.Contains(body, `"backend":"sandbox"`) || !strings.Contains(body, `"uri":"/sb/pet/1"`) {
		t.Errorf("SANDBOX token: %s", body)
	}
	_, body = do(t, "GET", url, nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"keytype": "PRODUCTION"}))
	if !strings.Contains(body, `"backend":"prod"`) {
		t.Errorf("PRODUCTION token: %s", body)
	}
	_, body = do(t, "GET", url, nil, "Authorization", "Bearer "+iss.Token(t, nil))
	if !strings.Contains(body, `"backend":"prod"`) {
		t.Errorf("token without keytype: %s", body)
	}

	// No sandbox endpoint: the SANDBOX token is refused.
	s2 := startServer(t, petstore(ep(prod.URL), nil), cfg, Options{})
	resp, body := do(t, "GET", s2.testURL("http", "/petstore/v1/pet/1"), nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"keytype": "SANDBOX"}))
	wantFault(t, resp, body, 401, CodeInvalidCredentials)
	if !strings.Contains(body, "Sandbox key offered to the API with no sandbox endpoint") {
		t.Errorf("body %s", body)
	}
	if prod.hits.Load() != 2 || sand.hits.Load() != 1 {
		t.Errorf("hits: prod %d sandbox %d", prod.hits.Load(), sand.hits.Load())
	}
}

func TestSubscriptionValidation(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.JWT[0].ValidateSubscription = true
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	url := s.testURL("http", "/petstore/v1/pet/1")
	other := iss.Token(t, map[string]any{"subscribedAPIs": []any{map[string]any{"name": "Other", "version": "1.0.0"}}})
	resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+other)
	wantFault(t, resp, body, 403, CodeResourceForbidden)
	ok := iss.Token(t, map[string]any{"subscribedAPIs": []any{map[string]any{"name": "Swagger Petstore", "version": "1.0.0"}}})
	if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+ok); resp.StatusCode != 200 {
		t.Errorf("subscribed: %d %s", resp.StatusCode, body)
	}
	if be.hits.Load() != 1 {
		t.Errorf("backend hits %d", be.hits.Load())
	}
}

// seg is base64url without padding.
func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// craft builds a compact JWS with any header and claims, signed with method
// and key (no signature when method is nil).
func craft(t testing.TB, header map[string]any, claims any, method jwt.SigningMethod, key any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	var c []byte
	if s, ok := claims.(string); ok {
		c = []byte(s)
	} else if c, err = json.Marshal(claims); err != nil {
		t.Fatal(err)
	}
	signing := seg(string(h)) + "." + seg(string(c))
	if method == nil {
		return signing + "."
	}
	sig, err := method.Sign(signing, key)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func publicPEM(t testing.TB, iss *authtest.Issuer) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(iss.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// attackRequest is one hostile request to a secured resource.
type attackRequest struct {
	name    string
	headers [][2]string
	status  int
	code    int
}

// attackTable is at least 20 bad credentials, each with the exact answer.
func attackTable(t testing.TB, iss *authtest.Issuer) []attackRequest {
	t.Helper()
	attacker := authtest.NewIssuer(t, authtest.WithTrustStore(t.TempDir()))
	ecAttacker := authtest.NewIssuer(t, authtest.WithKeyType(authtest.ECDSA), authtest.WithTrustStore(t.TempDir()))
	valid := iss.Token(t, nil)
	parts := strings.Split(valid, ".")
	now := time.Now()
	claims := iss.Claims()
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	payload, _ := json.Marshal(map[string]any{"iss": iss.Name, "aud": iss.Audience, "sub": "root", "jti": "x", "exp": now.Add(time.Hour).Unix()})
	bearer := func(tok string) [][2]string { return [][2]string{{"Authorization", "Bearer " + tok}} }
	return []attackRequest{
		{"no header", nil, 401, CodeMissingCredentials},
		{"empty header", [][2]string{{"Authorization", ""}}, 401, CodeMissingCredentials},
		{"blank header", [][2]string{{"Authorization", "   "}}, 401, CodeMissingCredentials},
		{"bearer without token", [][2]string{{"Authorization", "Bearer "}}, 401, CodeInvalidCredentials},
		{"basic scheme", [][2]string{{"Authorization", "Basic YWRtaW46YWRtaW4="}}, 401, CodeInvalidCredentials},
		{"token without scheme", [][2]string{{"Authorization", valid}}, 401, CodeInvalidCredentials},
		{"two authorization headers", [][2]string{{"Authorization", "Bearer " + valid}, {"Authorization", "Bearer " + valid}}, 401, CodeInvalidCredentials},
		{"alg none", bearer(craft(t, map[string]any{"alg": "none", "typ": "JWT"}, claims, nil, nil)), 401, CodeInvalidCredentials},
		{"alg none, signature kept", bearer(craft(t, map[string]any{"alg": "none"}, claims, nil, nil) + parts[2]), 401, CodeInvalidCredentials},
		{"HS256 keyed with the RSA public key", bearer(craft(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": iss.Alias}, claims, jwt.SigningMethodHS256, publicPEM(t, iss))), 401, CodeInvalidCredentials},
		{"tampered payload", bearer(parts[0] + "." + seg(string(payload)) + "." + parts[2]), 401, CodeInvalidCredentials},
		{"tampered signature", bearer(parts[0] + "." + parts[1] + "." + flip(parts[2])), 401, CodeInvalidCredentials},
		{"signature stripped", bearer(parts[0] + "." + parts[1] + "."), 401, CodeInvalidCredentials},
		{"signed by an untrusted RSA key", bearer(attacker.Token(t, nil)), 401, CodeInvalidCredentials},
		{"signed by an untrusted EC key", bearer(ecAttacker.Token(t, nil)), 401, CodeInvalidCredentials},
		{"wrong iss", bearer(iss.Token(t, map[string]any{"iss": "https://evil.example/token"})), 401, CodeInvalidCredentials},
		{"wrong aud", bearer(iss.Token(t, map[string]any{"aud": "http://elsewhere"})), 401, CodeInvalidCredentials},
		{"expired", bearer(iss.Token(t, map[string]any{"exp": now.Add(-5 * time.Minute).Unix()})), 401, CodeInvalidCredentials},
		{"nbf in the future", bearer(iss.Token(t, map[string]any{"nbf": now.Add(5 * time.Minute).Unix()})), 401, CodeInvalidCredentials},
		{"missing jti", bearer(iss.Token(t, map[string]any{"jti": nil})), 401, CodeInvalidCredentials},
		{"missing sub", bearer(iss.Token(t, map[string]any{"sub": nil})), 401, CodeInvalidCredentials},
		{"missing exp", bearer(iss.Token(t, map[string]any{"exp": nil})), 401, CodeInvalidCredentials},
		{"missing aud", bearer(iss.Token(t, map[string]any{"aud": nil})), 401, CodeInvalidCredentials},
		{"unknown kid, untrusted key", bearer(attacker.Sign(t, iss.Claims(), map[string]any{"kid": "no-such-key"})), 401, CodeInvalidCredentials},
		{"three segments of garbage", bearer("abc.def.ghi"), 401, CodeInvalidCredentials},
		{"dots only", bearer(".."), 401, CodeInvalidCredentials},
		{"a 64 KB token", bearer(parts[0] + "." + strings.Repeat("A", 64<<10) + "." + parts[2]), 401, CodeInvalidCredentials},
		{"header not JSON", bearer(seg("not json") + "." + parts[1] + "." + parts[2]), 401, CodeInvalidCredentials},
		{"four segments", bearer(valid + ".x"), 401, CodeInvalidCredentials},
		{"RS256 header on an EC signature", bearer(craft(t, map[string]any{"alg": "RS256", "kid": iss.Alias}, claims, jwt.SigningMethodES256, mustEC(t, ecAttacker))), 401, CodeInvalidCredentials},
		{"EdDSA claimed, RSA key trusted", bearer(craft(t, map[string]any{"alg": "EdDSA", "kid": iss.Alias}, claims, jwt.SigningMethodEdDSA, mustEd(t))), 401, CodeInvalidCredentials},
		{"scope lacking (403)", bearer(iss.Token(t, map[string]any{"scope": "read:pets"})), 403, CodeScopeMismatch},
		{"revoked jti", bearer(iss.Token(t, map[string]any{"jti": "attack-revoked"})), 401, CodeInvalidCredentials},
	}
}

func mustEC(t testing.TB, iss *authtest.Issuer) *ecdsa.PrivateKey {
	t.Helper()
	k, ok := iss.Key.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatal("not an EC issuer")
	}
	return k
}

func mustEd(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	k, ok := authtest.NewIssuer(t, authtest.WithKeyType(authtest.Ed25519), authtest.WithTrustStore(t.TempDir())).Key.(ed25519.PrivateKey)
	if !ok {
		t.Fatal("not an Ed25519 issuer")
	}
	return k
}

// TestAttackTokens sends each bad credential through the handler: each gets
// its exact status and code, and the backend never sees one of them.
func TestAttackTokens(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	s, err := New(petstore(ep(be.URL), nil), cfg, Options{Sources: []NamedSource{}})
	if err != nil {
		t.Fatal(err)
	}
	s.revocation.set.Revoke("attack-revoked", time.Time{})
	table := attackTable(t, iss)
	if len(table) < 20 {
		t.Fatalf("only %d attacks", len(table))
	}
	for _, a := range table {
		t.Run(a.name, func(t *testing.T) {
			method := "GET"
			if a.code == CodeScopeMismatch {
				method = "DELETE"
			}
			req := httptest.NewRequest(method, "/petstore/v1/pet/1", nil)
			for _, h := range a.headers {
				req.Header.Add(h[0], h[1])
			}
			rec := httptest.NewRecorder()
			s.handler.ServeHTTP(rec, req)
			wantFault(t, rec.Result(), rec.Body.String(), a.status, a.code)
			if a.status == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="micro-gw"`) {
				t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
	if be.hits.Load() != 0 {
		t.Errorf("the backend saw %d attacks", be.hits.Load())
	}
	// The valid token still passes, so the table is not refusing everything.
	req := httptest.NewRequest("GET", "/petstore/v1/pet/1", nil)
	req.Header.Set("Authorization", "Bearer "+iss.Token(t, nil))
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	if rec.Code != 200 || be.hits.Load() != 1 {
		t.Errorf("valid token: %d, backend hits %d", rec.Code, be.hits.Load())
	}
}
