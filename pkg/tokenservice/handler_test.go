package tokenservice

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// post sends a revocation request as the seed's curl does.
func post(t *testing.T, srv *httptest.Server, user, pass string, form url.Values) (*http.Response, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+RevokePath, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("body %q is not a JSON object: %v", body, err)
		}
	}
	return resp, m
}

func newEndpoint(t *testing.T, r *Revoker) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(&Handler{Endpoint{Revoker: r, ClientID: "client", ClientSecret: "s3cret"}})
	t.Cleanup(srv.Close)
	return srv
}

func TestEndpointClientAuthentication(t *testing.T) {
	srv := newEndpoint(t, NewRevoker(nil, unusedSide{t}))
	form := url.Values{"token": {"some-jti"}}
	for _, c := range []struct{ name, user, pass string }{
		{"no credentials", "", ""},
		{"wrong secret", "client", "wrong"},
		{"wrong id", "other", "s3cret"},
	} {
		resp, body := post(t, srv, c.user, c.pass, form)
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
			t.Errorf("%s: %d %v, want 401 invalid_client", c.name, resp.StatusCode, body)
		}
		if h := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Basic ") {
			t.Errorf("%s: WWW-Authenticate = %q, want Basic", c.name, h)
		}
	}
}

func TestEndpointBadRequests(t *testing.T) {
	srv := newEndpoint(t, NewRevoker(nil, unusedSide{t}))
	resp, body := post(t, srv, "client", "s3cret", url.Values{"token_type_hint": {"access_token"}})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Errorf("missing token: %d %v, want 400 invalid_request", resp.StatusCode, body)
	}
	resp, body = post(t, srv, "client", "s3cret", url.Values{"token": {"   "}})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Errorf("blank token: %d %v, want 400 invalid_request", resp.StatusCode, body)
	}
	get, err := srv.Client().Get(srv.URL + RevokePath + "?token=x")
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != http.StatusMethodNotAllowed || get.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d Allow %q, want 405 Allow POST", get.StatusCode, get.Header.Get("Allow"))
	}
	// A token that is not revocable (a JWT without jti) is not the
	// client's problem (RFC 7009 section 2.2): 200, and no side is called.
	resp, body = post(t, srv, "client", "s3cret", url.Values{"token": {"e30.e30.sig"}})
	if resp.StatusCode != http.StatusOK || body != nil {
		t.Errorf("unrevocable token: %d %v, want 200 and no body", resp.StatusCode, body)
	}
}

// TestEndpointRevokes: the endpoint revokes through the real broker and etcd
// like micro-gw revoke, for a whole JWT (by its jti, for its remaining
// lifetime) and for a jti nobody knows (200 all the same).
func TestEndpointRevokes(t *testing.T) {
	s := startServices(t)
	r := newRevoker(t, s.revocationConf())
	srv := newEndpoint(t, r)

	jti := uniqueJTI("endpoint")
	tok := jwtFor(t, jti, time.Now(), 30*time.Minute)
	resp, body := post(t, srv, "client", "s3cret", url.Values{"token": {tok}, "token_type_hint": {"access_token"}})
	if resp.StatusCode != http.StatusOK || body != nil {
		t.Fatalf("revoke JWT: %d %v, want 200", resp.StatusCode, body)
	}
	n := s.nextNotice(t)
	if n.JTI != jti || n.TTL <= revocation.ExpiryLeeway || n.TTL > 30*time.Minute+revocation.ExpiryLeeway {
		t.Errorf("notice = %+v, want jti %s with the token's remaining lifetime", n, jti)
	}
	if v, lease, ok := s.key(t, "jti/"+jti); !ok || lease <= 60 || lease > 1860 || v == "" {
		t.Errorf("etcd key jti/%s = %q lease %d present %v, want a lease of at most 1800s past exp plus the 60s leeway", jti, v, lease, ok)
	}

	unknown := uniqueJTI("unknown")
	resp, body = post(t, srv, "client", "s3cret", url.Values{"token": {unknown}})
	if resp.StatusCode != http.StatusOK || body != nil {
		t.Errorf("unknown token: %d %v, want 200", resp.StatusCode, body)
	}
	if n := s.nextNotice(t); n.JTI != unknown || n.TTL != DefaultTTL {
		t.Errorf("notice = %+v, want %s for the default ttl", n, unknown)
	}
}

// TestEndpointSideDown: when a side cannot take the revocation the client
// is told to retry (503), not that it worked.
func TestEndpointSideDown(t *testing.T) {
	s := startServices(t)
	rev := s.revocationConf()
	rev.Realtime.ProviderURL = "stomp://" + deadAddr(t)
	srv := newEndpoint(t, newRevoker(t, rev))
	resp, body := post(t, srv, "client", "s3cret", url.Values{"token": {uniqueJTI("down")}})
	if resp.StatusCode != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("broker down: %d %v Retry-After %q, want 503 temporarily_unavailable with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
}
