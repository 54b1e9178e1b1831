package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/passwordhash"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// TestBasicHeaderAttacks: hostile Authorization headers for Basic auth
// are refused before any password is checked, with fixed reasons and
// nothing of the credentials in the error (docs/reliability.md).
func TestBasicHeaderAttacks(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, value string
		reason      string
	}{
		{"garbage", "Basic %%%garbage%%%", ReasonMalformed},
		{"a huge header", "Basic " + strings.Repeat("QUFB", MaxBasicHeaderSize), ReasonTooLarge},
		{"a huge password inside the limit", "Basic " + b64("alice:"+strings.Repeat("p", passwordhash.MaxPasswordLength+1)), ReasonTooLarge},
		{"a huge user", "Basic " + b64(strings.Repeat("u", config.MaxUsernameLength+1)+":pw"), ReasonTooLarge},
		{"no colon", "Basic " + b64("alice"), ReasonMalformed},
		{"empty user", "Basic " + b64(":pw"), ReasonMalformed},
		{"empty password", "Basic " + b64("alice:"), ReasonMalformed},
		{"invalid UTF-8 user", "Basic " + b64("\xff\xfe:pw"), ReasonMalformed},
		{"Bearer", "Bearer " + b64("alice:pw"), ReasonBadScheme},
		{"scheme only", "Basic", ReasonMalformed},
		{"base64 with line breaks", "Basic " + b64("alice:pw")[:4] + "\r\n" + b64("alice:pw")[4:], ReasonMalformed},
	} {
		h := http.Header{"Authorization": {tc.value}}
		_, _, e := BasicFromRequest(h)
		if e == nil || e.Code != CodeInvalidCredentials || e.Reason != tc.reason {
			t.Errorf("%s: %v, want 900901 %s", tc.name, e, tc.reason)
		}
	}
	if _, _, e := BasicFromRequest(http.Header{}); e != errMissing {
		t.Errorf("no header: %v", e)
	}
	if _, _, e := BasicFromRequest(http.Header{"Authorization": {"Basic " + b64("a:b"), "Basic " + b64("a:b")}}); e != errTwoHeaders {
		t.Errorf("two headers: %v", e)
	}
	// Unpadded base64 and the scheme in any case are fine; the password
	// keeps its colons.
	u, p, e := BasicFromRequest(http.Header{"Authorization": {"bAsIc " + base64.RawStdEncoding.EncodeToString([]byte("alice:a:b"))}})
	if e != nil || u != "alice" || p != "a:b" {
		t.Errorf("got %q %q %v", u, p, e)
	}
}

// TestAPIKeyPlaces: a key is read from exactly the place its scheme
// names; two keys, a bad escape or a key over MaxTokenSize are refused.
func TestAPIKeyPlaces(t *testing.T) {
	r := httptest.NewRequest("GET", "/p?a=1&api%5Fkey=k%2B1&b=2", nil)
	r.Header.Set("X-Key", " hk ")
	r.AddCookie(&http.Cookie{Name: "ck", Value: "cv"})
	for _, tc := range []struct{ in, name, want string }{
		{InHeader, "x-key", "hk"}, {InQuery, "api_key", "k+1"}, {InCookie, "ck", "cv"},
	} {
		if got, e := APIKeyFromRequest(r, tc.in, tc.name); e != nil || got != tc.want {
			t.Errorf("%s %s: %q %v", tc.in, tc.name, got, e)
		}
	}
	for _, tc := range []struct {
		query, name string
		want        *Error
	}{
		{"?k=1&k=2", "k", errTwoKeys},
		{"?k=%zz", "k", errKeyEscape},
		{"?k=", "k", errMissing},
		{"?kk=1", "k", errMissing},
		{"?k=" + strings.Repeat("a", MaxTokenSize+1), "k", errTooLarge},
	} {
		if _, e := APIKeyFromRequest(httptest.NewRequest("GET", "/p"+tc.query, nil), InQuery, tc.name); e != tc.want {
			t.Errorf("%s: %v, want %v", tc.query, e, tc.want)
		}
	}
	if got := RemoveQueryParam("a=1&api%5Fkey=k&b=%2F&api_key=x&&c", "api_key"); got != "a=1&b=%2F&&c" {
		t.Errorf("RemoveQueryParam = %q", got)
	}
}

// FuzzBasicFromRequest: any header value is refused or read into a user
// and a password within the bounds; an error never holds the credentials.
func FuzzBasicFromRequest(f *testing.F) {
	for _, s := range []string{"Basic YWxpY2U6cHc=", "Basic YWxpY2U6cHc", "basic Og==", "Bearer x", "Basic ////", "Basic " + strings.Repeat("A", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		user, pw, e := BasicFromRequest(http.Header{"Authorization": {v}})
		if e != nil {
			if e.Code != CodeInvalidCredentials && e.Code != CodeMissingCredentials {
				t.Fatalf("code %d", e.Code)
			}
			return
		}
		if user == "" || pw == "" || strings.Contains(user, ":") || len(user) > config.MaxUsernameLength || len(pw) > passwordhash.MaxPasswordLength || len(v) > MaxBasicHeaderSize {
			t.Fatalf("accepted user %q password of %d bytes from %q", user, len(pw), v)
		}
	})
}

// FuzzAPIKeyFromRequest: any query is refused or gives one key of at most
// MaxTokenSize bytes, and removing the parameter leaves no key there.
func FuzzAPIKeyFromRequest(f *testing.F) {
	for _, q := range []string{"a=1&api_key=k", "api%5Fkey=%zz", "api_key=1&api_key=2", "&&=&api_key", ""} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r := &http.Request{Header: http.Header{}, URL: &urlForFuzz}
		r.URL.RawQuery = q
		key, e := APIKeyFromRequest(r, InQuery, "api_key")
		if e == nil && (key == "" || len(key) > MaxTokenSize) {
			t.Fatalf("key of %d bytes from %q", len(key), q)
		}
		rest := RemoveQueryParam(q, "api_key")
		r.URL.RawQuery = rest
		if _, e := APIKeyFromRequest(r, InQuery, "api_key"); e != errMissing {
			t.Fatalf("after removing the key from %q, %q still gives %v", q, rest, e)
		}
	})
}

var urlForFuzz = *httptest.NewRequest("GET", "/", nil).URL

// TestClientCertChains: Verify takes a chain that ends at the trust
// store's CA, and refuses one that does not, whatever it carries along.
func TestClientCertChains(t *testing.T) {
	trusted := authtest.NewCA(t, "clients", "")
	rogue := authtest.NewCA(t, "clients", "")
	cc := NewClientCerts([]*x509.Certificate{trusted.Cert}, 100, time.Hour, nil)
	state := func(c tls.Certificate) *tls.ConnectionState {
		s := &tls.ConnectionState{}
		for _, der := range c.Certificate {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			s.PeerCertificates = append(s.PeerCertificates, cert)
		}
		return s
	}
	good := trusted.Intermediate(t, "issuing").ClientCert(t, "good", time.Hour)
	if fp, e := cc.Verify(state(good)); e != nil || len(fp) != 64 {
		t.Fatalf("a chain to the trusted CA: %q %v", fp, e)
	}
	if _, e := cc.Verify(state(good)); e != nil { // remembered
		t.Fatalf("again: %v", e)
	}
	bad := rogue.Intermediate(t, "issuing").ClientCert(t, "bad", time.Hour)
	bad.Certificate = append(bad.Certificate, trusted.Cert.Raw)
	cut := good
	cut.Certificate = cut.Certificate[:1] // the intermediate left out
	for name, c := range map[string]tls.Certificate{"rogue root": bad, "chain cut short": cut} {
		if _, e := cc.Verify(state(c)); e != errUntrustedCert {
			t.Errorf("%s: %v", name, e)
		}
	}
	if _, e := cc.Verify(&tls.ConnectionState{}); e != errNoCertificate {
		t.Errorf("no certificate: %v", e)
	}
}

// TestUsersBoundTheWork: at most Slots password hashes run at once, a
// check that waits longer than Wait is refused as busy (503), and a
// password that matched is not hashed again.
func TestUsersBoundTheWork(t *testing.T) {
	h, err := passwordhash.GenerateBcrypt([]byte("pw"), passwordhash.MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.B7A.Users = map[string]config.BasicUser{"alice": {Password: h}}
	u, err := NewUsers(cfg, UsersOptions{Logger: quietLogger(), Slots: 1, Wait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if usr, e := u.Authenticate(ctx, "alice", "pw"); e != nil || usr.Name != "alice" {
		t.Fatalf("alice: %v", e)
	}
	// Hold the only slot: every check that needs a hash is busy, but alice's
	// known password needs none.
	u.slots <- struct{}{}
	if _, e := u.Authenticate(ctx, "alice", "wrong"); e != errBusy {
		t.Errorf("a wrong password with no slot: %v, want busy", e)
	}
	if _, e := u.Authenticate(ctx, "nobody", "pw"); e != errBusy {
		t.Errorf("an unknown user with no slot: %v, want busy", e)
	}
	if _, e := u.Authenticate(ctx, "alice", "pw"); e != nil {
		t.Errorf("alice's known password with no slot: %v", e)
	}
	<-u.slots
	// Concurrent guesses never run more than one hash at once.
	var wg sync.WaitGroup
	u.wait = time.Minute
	for range 4 {
		wg.Go(func() {
			if _, e := u.Authenticate(ctx, "alice", "guess"); e != errBadUser {
				t.Errorf("a guess: %v", e)
			}
			if n := len(u.slots); n > 1 {
				t.Errorf("%d hashes at once", n)
			}
		})
	}
	wg.Wait()
	if _, e := u.Authenticate(ctx, "mallory", "pw"); e != errBadUser {
		t.Errorf("an unknown user: %v", e)
	}
}

// FuzzIntrospectionAnswer: any answer of a key manager is refused, or read
// into claims of an active, unexpired token whose jti, sub and client a
// revocation can name.
func FuzzIntrospectionAnswer(f *testing.F) {
	for _, s := range []string{
		`{"active":true,"sub":"alice","client_id":"app","scope":"a b","exp":4102444800,"jti":"j1","token_type":"Bearer"}`,
		`{"active":false}`, `{"active":"true"}`, `{"active":true,"exp":"soon"}`, `{"active":true,"token_type":"refresh_token"}`,
		`{"active":true,"jti":"a b"}`, `{"active":true,"scope":["a",1]}`, `{"active":true,"active":false}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := decodeObject(body)
		if err != nil {
			return
		}
		got, e := read(m, "key", now)
		if e != nil {
			if e.Code != CodeInvalidCredentials {
				t.Fatalf("code %d", e.Code)
			}
			return
		}
		if m["active"] != true || (!got.ExpiresAt.IsZero() && !now.Before(got.ExpiresAt.Add(ClockSkew))) || got.TokenKey != "key" {
			t.Fatalf("accepted %s as %+v", body, got)
		}
		if got.JTI != "" && revocation.CheckJTI(got.JTI) != nil {
			t.Fatalf("a jti no revocation can name: %q", got.JTI)
		}
	})
}
