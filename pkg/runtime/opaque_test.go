package runtime

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// keyManager is an RFC 7662 introspection endpoint: tokens and what it
// answers for each, the client credentials it takes, and a count of calls.
type keyManager struct {
	*httptest.Server
	mu     sync.Mutex
	tokens map[string]map[string]any
	status atomic.Int32
	calls  atomic.Int32
	delay  time.Duration
}

func newKeyManager(t *testing.T) *keyManager {
	km := &keyManager{tokens: map[string]map[string]any{}}
	km.status.Store(http.StatusOK)
	km.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		km.calls.Add(1)
		time.Sleep(km.delay)
		if id, secret, ok := r.BasicAuth(); !ok || id != "gateway" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || r.PostFormValue("token_type_hint") != "access_token" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if code := int(km.status.Load()); code != http.StatusOK {
			w.WriteHeader(code)
			return
		}
		km.mu.Lock()
		answer, ok := km.tokens[r.PostFormValue("token")]
		km.mu.Unlock()
		if !ok {
			answer = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(km.Close)
	return km
}

func (km *keyManager) issue(token string, answer map[string]any) {
	km.mu.Lock()
	defer km.mu.Unlock()
	if answer == nil {
		answer = map[string]any{"active": true, "client_id": "app", "sub": "alice", "scope": "read write",
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "token_type": "Bearer", "jti": "j-" + token[:6]}
	}
	km.tokens[token] = answer
}

func (km *keyManager) revoke(token string) {
	km.mu.Lock()
	defer km.mu.Unlock()
	km.tokens[token] = map[string]any{"active": false}
}

// TestOpaqueTokens: a token that is no JWT is introspected at [keyManager]
// (RFC 7662) with the gateway's client credentials; active answers are
// cached, inactive ones refused; a key manager that does not answer fails
// the request closed (503 900951); the token is revoked by its introspected
// jti and by its SHA-256; JWTs are still validated locally.
func TestOpaqueTokens(t *testing.T) {
	be := newBackend(t, "prod")
	km := newKeyManager(t)
	iss, cfg := issuerConfig(t)
	cfg.KeyManager = config.KeyManager{IntrospectionURL: km.URL + "/introspect", Username: "gateway", Password: "s3cret"}
	clk := &testClock{t: time.Now()}
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{Now: clk.Now})
	url := s.testURL("http", "/petstore/v1/pet/1")
	get := func(tok string) (*http.Response, string) {
		t.Helper()
		return do(t, "GET", url, nil, "Authorization", "Bearer "+tok)
	}

	km.issue("2YotnFZFEjr1zCsicMWpAA", nil)
	for range 3 {
		if resp, body := get("2YotnFZFEjr1zCsicMWpAA"); resp.StatusCode != 200 {
			t.Fatalf("active token: %d %s", resp.StatusCode, body)
		}
	}
	if n := km.calls.Load(); n != 1 {
		t.Errorf("introspections %d, want 1 (then the cache)", n)
	}
	// Scopes come from the answer.
	resp, body := do(t, "DELETE", url, nil, "Authorization", "Bearer 2YotnFZFEjr1zCsicMWpAA")
	wantFault(t, resp, body, 403, CodeScopeMismatch)

	// Unknown, refresh and expired tokens are refused.
	km.issue("refresh-token-1", map[string]any{"active": true, "token_type": "refresh_token"})
	km.issue("expired-token-1", map[string]any{"active": true, "exp": time.Now().Add(-time.Hour).Unix()})
	for _, tok := range []string{"never-issued", "refresh-token-1", "expired-token-1"} {
		resp, body := get(tok)
		wantFault(t, resp, body, 401, CodeInvalidCredentials)
	}
	// JWTs are not introspected.
	calls := km.calls.Load()
	if resp, body := get(iss.Token(t, nil)); resp.StatusCode != 200 || km.calls.Load() != calls {
		t.Errorf("a JWT: %d %s; introspections %d -> %d", resp.StatusCode, body, calls, km.calls.Load())
	}

	// Revoked at the provider: refused once the cache lets the answer go.
	km.revoke("2YotnFZFEjr1zCsicMWpAA")
	if resp, _ := get("2YotnFZFEjr1zCsicMWpAA"); resp.StatusCode != 200 {
		t.Errorf("within the cache: %d", resp.StatusCode)
	}
	clk.advance(cfg.Caching.TokenCacheExpiryTime + time.Second)
	resp, body = get("2YotnFZFEjr1zCsicMWpAA")
	wantFault(t, resp, body, 401, CodeInvalidCredentials)

	// Revoked through the gateway's own revocation, at once, cached or not:
	// by the introspected jti, and by the token's SHA-256.
	km.issue("by-jti-token", nil)
	km.issue("by-key-token", nil)
	for _, tok := range []string{"by-jti-token", "by-key-token"} {
		if resp, body := get(tok); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tok, resp.StatusCode, body)
		}
	}
	s.revocation.set.Revoke("j-by-jti", time.Time{})
	s.revocation.set.Revoke(revocation.OpaqueTokenKey("by-key-token"), time.Time{})
	for _, tok := range []string{"by-jti-token", "by-key-token"} {
		if resp, body := get(tok); resp.StatusCode != 401 || body != invalidCredentialsBody {
			t.Errorf("%s revoked: %d %s", tok, resp.StatusCode, body)
		}
	}
	// A subject rule refuses it too.
	km.issue("by-rule-token", map[string]any{"active": true, "sub": "mallory", "iat": time.Now().Unix() - 10})
	s.revocation.rules.RevokeRule(revocation.Rule{Kind: revocation.RuleSubject, Key: "mallory", IssuedBefore: time.Now()})
	if resp, _ := get("by-rule-token"); resp.StatusCode != 401 {
		t.Errorf("a token under a subject rule: %d", resp.StatusCode)
	}

	// The key manager fails: closed, 503 with Retry-After, and not cached.
	km.issue("while-down-token", nil)
	km.status.Store(http.StatusInternalServerError)
	resp, body = get("while-down-token")
	wantFault(t, resp, body, 503, CodeKeyManagerUnavailable)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	km.status.Store(http.StatusOK)
	if resp, body := get("while-down-token"); resp.StatusCode != 200 {
		t.Errorf("after the key manager is back: %d %s", resp.StatusCode, body)
	}
	// 3 active, a JWT, one within the cache, the two before their
	// revocation, one after the key manager came back.
	if n := be.hits.Load(); n != 8 {
		t.Errorf("the backend saw %d requests, want 8", n)
	}
}

// TestOpaqueTokensShareOneIntrospection: concurrent requests with one new
// token make one introspection; a key manager that cannot be reached, or
// refuses the gateway's credentials, fails every request closed.
func TestOpaqueTokensShareOneIntrospection(t *testing.T) {
	be := newBackend(t, "prod")
	km := newKeyManager(t)
	km.delay = 100 * time.Millisecond
	_, cfg := issuerConfig(t)
	cfg.KeyManager = config.KeyManager{IntrospectionURL: km.URL, Username: "gateway", Password: "s3cret"}
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	km.issue("shared-token-1", nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil, "Authorization", "Bearer shared-token-1"); resp.StatusCode != 200 {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	if n := km.calls.Load(); n != 1 {
		t.Errorf("introspections %d, want 1", n)
	}

	for name, km2 := range map[string]config.KeyManager{
		"unreachable":       {IntrospectionURL: deadURL(t), Username: "gateway", Password: "s3cret"},
		"wrong credentials": {IntrospectionURL: km.URL, Username: "gateway", Password: "wrong"},
	} {
		_, cfg := issuerConfig(t)
		cfg.KeyManager = km2
		s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
		resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil, "Authorization", "Bearer shared-token-1")
		if resp.StatusCode != 503 || !strings.Contains(body, "900951") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
}

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
