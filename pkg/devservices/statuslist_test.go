package devservices

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/statuslist"
)

// TestStatusListOfIssuedTokens: with the project's issuer, POST /token
// issues tokens whose status claims name fresh entries of the list served
// on the status list address (signed by the issuer, typ statuslist+jwt,
// sub its URL); /revoke of such a token flips its entry to INVALID as well
// as publishing and storing it; a rule still goes to broker and etcd only;
// a restart keeps the list and the next entry.
func TestStatusListOfIssuedTokens(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := loopbackConfig(t, dir)
	cfg.Issuer = &DevIssuer{Key: key, KeyID: "wso2apim", Issuer: "https://localhost:9443/oauth2/token", Audience: "http://org.wso2.apimgt/gateway"}
	cfg.StatusListAddr = "127.0.0.1:0"
	s := start(t, cfg)
	client := authtest.TrustingClient(t, s.CertFile)

	issue := func() (string, uint64) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.TokenURL, strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "sub": {"alice"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(DefaultClientID, DefaultClientSecret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil || body.TokenType != "Bearer" {
			t.Fatalf("POST /token: %d", resp.StatusCode)
		}
		claims := jwt.MapClaims{}
		if _, err := jwt.ParseWithClaims(body.AccessToken, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil }, jwt.WithJSONNumber()); err != nil {
			t.Fatal(err)
		}
		ref, ok, err := statuslist.ReadReference(claims)
		if !ok || err != nil || ref.URI != s.StatusListURL || claims["sub"] != "alice" {
			t.Fatalf("token claims %v: reference %+v %v %v", claims, ref, ok, err)
		}
		return body.AccessToken, ref.Index
	}
	list := func() *statuslist.List {
		t.Helper()
		resp, err := http.Get(s.StatusListURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); ct != statuslist.MediaType {
			t.Errorf("content type %q", ct)
		}
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(string(data), claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil }, jwt.WithJSONNumber())
		if err != nil || tok.Header["typ"] != statuslist.TokenType {
			t.Fatalf("the list is not a Status List Token signed by the issuer: %v %v", err, tok.Header)
		}
		st, err := statuslist.ReadToken(claims)
		if err != nil || st.Subject != s.StatusListURL || st.TTL <= 0 {
			t.Fatalf("list claims: %+v %v", st, err)
		}
		return st.List
	}

	tok0, idx0 := issue()
	_, idx1 := issue()
	if idx0 != 0 || idx1 != 1 {
		t.Errorf("entries %d and %d, want 0 and 1", idx0, idx1)
	}
	if st, _ := list().Status(idx0); st != statuslist.Valid {
		t.Errorf("a fresh token's entry is %d", st)
	}
	if code := postForm(t, client, s.RevokeURL, DefaultClientID, DefaultClientSecret, url.Values{"token": {tok0}}); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	l := list()
	if st, _ := l.Status(idx0); st != statuslist.Invalid {
		t.Errorf("the revoked token's entry is %d, want INVALID", st)
	}
	if st, _ := l.Status(idx1); st != statuslist.Valid {
		t.Errorf("another token's entry is %d", st)
	}
	if code := postForm(t, client, s.RulesURL, DefaultClientID, DefaultClientSecret, url.Values{"subject": {"bob"}}); code != 200 {
		t.Errorf("a rule with a status list side: %d", code)
	}
	if !strings.Contains(s.ConfSnippet(), "[statusList]") {
		t.Errorf("the conf snippet does not turn the status list on:\n%s", s.ConfSnippet())
	}

	s.Close()
	s = start(t, cfg)
	defer s.Close()
	client = authtest.TrustingClient(t, s.CertFile)
	if st, _ := list().Status(idx0); st != statuslist.Invalid {
		t.Errorf("after a restart the revoked entry is %d", st)
	}
	if _, idx := issue(); idx != 2 {
		t.Errorf("after a restart the next entry is %d, want 2", idx)
	}
}
