package runtime

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

// TestAttackRevokedSpellings: an ES256 token has a second valid spelling,
// its high-S twin, that the validator's cache has never seen. Revocation
// keys on the verified jti, so revoking it refuses both spellings at once,
// the cached one and the fresh one, with exactly the 900901 fault.
func TestAttackRevokedSpellings(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t, authtest.WithKeyType(authtest.ECDSA))
	var logs syncbuf.Buffer
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{Logger: NewLogger(&logs, -8)})
	tok := iss.Token(t, map[string]any{"jti": "twin-jti"})
	twin := authtest.HighSTwin(t, tok)
	url := s.testURL("http", "/petstore/v1/pet/1")
	for _, x := range []string{tok, tok, twin} {
		if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+x); resp.StatusCode != 200 {
			t.Fatalf("before revocation: %d %s", resp.StatusCode, body)
		}
	}
	s.revocation.set.Revoke("twin-jti", time.Time{})
	for _, h := range []string{"Bearer " + tok, "Bearer " + twin, "bearer " + twin, "BEARER\t" + tok} {
		resp, body := do(t, "GET", url, nil, "Authorization", h)
		if resp.StatusCode != 401 || body != invalidCredentialsBody {
			t.Errorf("revoked: %d %s", resp.StatusCode, body)
		}
	}
	if n := be.hits.Load(); n != 3 {
		t.Errorf("the backend saw %d requests; want the 3 before revocation", n)
	}
	authtest.NoTokenIn(t, "the log", logs.String(), tok, twin)
}

// TestAttackAuthorizationHeaders sends the valid token in hostile
// wrappings through the handler: only one token, after one Bearer scheme
// in any case, in the configured header, is taken.
func TestAttackAuthorizationHeaders(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	var logs syncbuf.Buffer
	s, err := New(petstore(ep(be.URL), nil), cfg, Options{Sources: []NamedSource{}, Logger: NewLogger(&logs, -8)})
	if err != nil {
		t.Fatal(err)
	}
	tok := iss.Token(t, nil)
	cut := len(tok) / 2
	cases := []struct {
		name    string
		headers [][2]string
		query   string
		code    int // 0: accepted
	}{
		{"BEARER", [][2]string{{"Authorization", "BEARER " + tok}}, "", 0},
		{"spaces and tabs around", [][2]string{{"Authorization", " \tBearer \t " + tok + " \t"}}, "", 0},
		{"two tokens after one scheme", [][2]string{{"Authorization", "Bearer " + tok + " " + tok}}, "", CodeInvalidCredentials},
		{"two credentials joined by a comma", [][2]string{{"Authorization", "Bearer " + tok + ", Bearer " + tok}}, "", CodeInvalidCredentials},
		{"token, comma, token", [][2]string{{"Authorization", "Bearer " + tok + "," + tok}}, "", CodeInvalidCredentials},
		{"a second, empty header", [][2]string{{"Authorization", "Bearer " + tok}, {"Authorization", ""}}, "", CodeInvalidCredentials},
		{"scheme twice", [][2]string{{"Authorization", "Bearer Bearer " + tok}}, "", CodeInvalidCredentials},
		{"no-break space after the scheme", [][2]string{{"Authorization", "Bearer\u00a0" + tok}}, "", CodeInvalidCredentials},
		{"colon after the scheme", [][2]string{{"Authorization", "Bearer:" + tok}}, "", CodeInvalidCredentials},
		{"Token scheme", [][2]string{{"Authorization", "Token " + tok}}, "", CodeInvalidCredentials},
		{"NUL after the token", [][2]string{{"Authorization", "Bearer " + tok + "\x00"}}, "", CodeInvalidCredentials},
		{"CR LF inside the token", [][2]string{{"Authorization", "Bearer " + tok[:cut] + "\r\n" + tok[cut:]}}, "", CodeInvalidCredentials},
		{"padding after the token", [][2]string{{"Authorization", "Bearer " + tok + "="}}, "", CodeInvalidCredentials},
		{"token in the query string only", nil, "?access_token=" + tok, CodeMissingCredentials},
		{"token in a cookie", [][2]string{{"Cookie", "access_token=" + tok}}, "", CodeMissingCredentials},
		{"token in Proxy-Authorization", [][2]string{{"Proxy-Authorization", "Bearer " + tok}}, "", CodeMissingCredentials},
	}
	accepted := int64(0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/petstore/v1/pet/1"+tc.query, nil)
			for _, h := range tc.headers {
				req.Header.Add(h[0], h[1])
			}
			rec := httptest.NewRecorder()
			s.handler.ServeHTTP(rec, req)
			if tc.code == 0 {
				accepted++
				if rec.Code != 200 {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
				return
			}
			wantFault(t, rec.Result(), rec.Body.String(), http.StatusUnauthorized, tc.code)
			authtest.NoTokenIn(t, "the response", rec.Body.String()+rec.Header().Get("WWW-Authenticate"), tok)
		})
	}
	if n := be.hits.Load(); n != accepted {
		t.Errorf("the backend saw %d requests; want the %d accepted", n, accepted)
	}
	authtest.NoTokenIn(t, "the log", logs.String(), tok)
}

// TestAttackHugeHeaderAndQueryToken: a header past the server's limit is
// refused before any handler runs, and a token in the query string of a
// request whose backend is down reaches no log line.
func TestAttackHugeHeaderAndQueryToken(t *testing.T) {
	iss, cfg := issuerConfig(t)
	var logs syncbuf.Buffer
	s := startServer(t, petstore(ep(deadURL(t)), nil), cfg, Options{Logger: NewLogger(&logs, -8)})
	tok := iss.Token(t, nil)
	resp, _ := do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil, "Authorization", "Bearer "+tok+strings.Repeat("A", 128<<10))
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 128 KB header: %d", resp.StatusCode)
	}
	for _, path := range []string{"/petstore/v1/pet/1?access_token=", "/petstore/v1/pet/findByStatus?access_token="} {
		resp, body := do(t, "GET", s.testURL("http", path+tok), nil, "Authorization", "Bearer "+tok)
		wantFault(t, resp, body, http.StatusServiceUnavailable, CodeBackendUnreachable)
		authtest.NoTokenIn(t, "the response", body, tok)
	}
	out := logs.String()
	if !strings.Contains(out, "backend request failed") {
		t.Fatalf("the backend failure was not logged:\n%s", out)
	}
	authtest.NoTokenIn(t, "the log", out, tok)
}

// TestAttackScopeSeparators: the scope claim is split on spaces only (RFC
// 6749 section 3.3), so a scope value holding a tab, line break or
// no-break space grants none of the words around it.
func TestAttackScopeSeparators(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	s, err := New(petstore(ep(be.URL), nil), cfg, Options{Sources: []NamedSource{}})
	if err != nil {
		t.Fatal(err)
	}
	for scope, status := range map[string]int{
		"write:pets":                200,
		"  read:pets  write:pets":   200,
		"read:pets\twrite:pets":     403,
		"read:pets\nwrite:pets":     403,
		"read:pets\u00a0write:pets": 403,
		"read:pets\u0085write:pets": 403,
		"read:pets,write:pets":      403,
		"WRITE:PETS":                403,
	} {
		req := httptest.NewRequest("DELETE", "/petstore/v1/pet/1", nil)
		req.Header.Set("Authorization", "Bearer "+iss.Token(t, map[string]any{"scope": scope}))
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, req)
		if rec.Code != status {
			t.Errorf("scope %q: %d %s; want %d", scope, rec.Code, rec.Body, status)
		}
	}
	if n := be.hits.Load(); n != 2 {
		t.Errorf("the backend saw %d requests; want 2", n)
	}
}
