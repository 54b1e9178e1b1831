package runtime

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
	"github.com/micro-gw/micro-gw/pkg/passwordhash"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// apiKeyIssuer is an issuer of API keys beside the token issuer of cfg,
// sharing its trust store; cfg trusts it as [[apiKeyConfig]].
func apiKeyIssuer(t testing.TB, cfg *config.Config) *authtest.Issuer {
	t.Helper()
	ki := authtest.NewIssuer(t, authtest.WithName("https://localhost:9443/apikey"), authtest.WithAlias("apikeys"),
		authtest.WithTrustStore(cfg.Listener.TrustStorePath))
	cfg.APIKeys = []config.JWTIssuer{{Issuer: ki.Name, CertificateAlias: ki.Alias}}
	return ki
}

// apiKey is a WSO2 API key of ki: no aud, the claims a WSO2 3.1 key carries.
func apiKey(t testing.TB, ki *authtest.Issuer, set map[string]any) string {
	t.Helper()
	claims := map[string]any{"aud": nil, "keytype": "PRODUCTION", "application": map[string]any{"id": 7, "name": "app"},
		"subscribedAPIs": []any{map[string]any{"name": "Secured", "version": "1"}}}
	for k, v := range set {
		claims[k] = v
	}
	return ki.Token(t, claims)
}

// securedSpec is one API whose resources each require what their path
// says (the Security of each).
func securedSpec(prod, sandbox string, resources ...Resource) Spec {
	for i := range resources {
		resources[i].Method, resources[i].Secured = "GET", true
	}
	return Spec{Name: "s", Version: "test", APIs: []API{{Title: "Secured", Version: "1", Source: "s.yaml", BasePath: "/s",
		Production: ep(prod), Sandbox: ep(sandbox), Resources: resources}}}
}

func requires(path string, alts ...Requirement) Resource { return Resource{Path: path, Security: alts} }

func one(schemes ...Scheme) Requirement { return Requirement{Schemes: schemes} }

var (
	headerKey = Scheme{Kind: SchemeAPIKey, In: InHeader, Name: "x-api-key"}
	queryKey  = Scheme{Kind: SchemeAPIKey, In: InQuery, Name: "api_key"}
	cookieKey = Scheme{Kind: SchemeAPIKey, In: InCookie, Name: "k"}
	basicAuth = Scheme{Kind: SchemeBasic}
	bearerTok = Scheme{Kind: SchemeOAuth2}
	clientTLS = Scheme{Kind: SchemeMutualTLS}
)

// TestAPIKeys: an API key in the header, query parameter or cookie the
// scheme names is validated against [[apiKeyConfig]], removed before the
// request leaves, revoked by its jti, and routed by its keytype.
func TestAPIKeys(t *testing.T) {
	prod, sand := newBackend(t, "prod"), newBackend(t, "sandbox")
	iss, cfg := issuerConfig(t)
	ki := apiKeyIssuer(t, cfg)
	var logs syncbuf.Buffer
	s := startServer(t, securedSpec(prod.URL, sand.URL,
		requires("/h", one(headerKey)), requires("/q", one(queryKey)), requires("/c", one(cookieKey))),
		cfg, Options{Logger: NewLogger(&logs, -8)})
	key := apiKey(t, ki, map[string]any{"jti": "key-1"})

	resp, body := do(t, "GET", s.testURL("http", "/s/h"), nil, "X-API-Key", key)
	if resp.StatusCode != 200 || prod.lastRequest().Header.Get("X-Api-Key") != "" {
		t.Fatalf("header key: %d %s; the backend got the key: %q", resp.StatusCode, body, prod.lastRequest().Header.Get("X-Api-Key"))
	}
	resp, body = do(t, "GET", s.testURL("http", "/s/q?x=1&api_key="+key+"&y=%2F"), nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/q?x=1\u0026y=%2F"`) {
		t.Fatalf("query key: %d %s (the backend must get the rest of the query as sent)", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", s.testURL("http", "/s/c"), nil, "Cookie", "a=b; k="+key)
	if resp.StatusCode != 200 {
		t.Fatalf("cookie key: %d %s", resp.StatusCode, body)
	}

	// Missing: 900902 with the scheme's challenge.
	resp, body = do(t, "GET", s.testURL("http", "/s/h"), nil)
	wantFault(t, resp, body, 401, CodeMissingCredentials)
	if got := resp.Header.Values("WWW-Authenticate"); !slices.Equal(got, []string{`APIKey realm="micro-gw", in="header", name="X-Api-Key"`}) {
		t.Errorf("WWW-Authenticate %q", got)
	}
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"an access token is no API key", []string{"X-API-Key", iss.Token(t, nil)}},
		{"two keys", []string{"X-API-Key", key, "X-API-Key", key}},
		{"an API key in the query of a header scheme", nil},
		{"not a JWT", []string{"X-API-Key", "0123456789abcdef"}},
	} {
		resp, body := do(t, "GET", s.testURL("http", "/s/h"), nil, tc.headers...)
		code := CodeInvalidCredentials
		if tc.headers == nil {
			resp, body = do(t, "GET", s.testURL("http", "/s/h?x-api-key="+key), nil)
			code = CodeMissingCredentials
		}
		wantFault(t, resp, body, 401, code)
	}
	// Sandbox keys go to the sandbox endpoint.
	sandKey := apiKey(t, ki, map[string]any{"keytype": "SANDBOX"})
	if resp, body := do(t, "GET", s.testURL("http", "/s/h"), nil, "X-API-Key", sandKey); resp.StatusCode != 200 || !strings.Contains(body, `"backend":"sandbox"`) {
		t.Errorf("sandbox key: %d %s", resp.StatusCode, body)
	}
	// Revoked by its jti, exactly as a token.
	s.revocation.set.Revoke("key-1", time.Now().Add(time.Hour))
	resp, body = do(t, "GET", s.testURL("http", "/s/h"), nil, "X-API-Key", key)
	if resp.StatusCode != 401 || body != invalidCredentialsBody {
		t.Errorf("revoked key: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(logs.String(), "API key is revoked") || !strings.Contains(logs.String(), "jti=key-1") {
		t.Errorf("the revocation is not logged:\n%s", logs.String())
	}
	authtest.NoTokenIn(t, "the log", logs.String(), key)
}

// TestAPIKeySubscriptions: an [[apiKeyConfig]] issuer with
// validateSubscription refuses a key whose subscribedAPIs lacks the API.
func TestAPIKeySubscriptions(t *testing.T) {
	be := newBackend(t, "prod")
	_, cfg := issuerConfig(t)
	ki := apiKeyIssuer(t, cfg)
	cfg.APIKeys[0].ValidateSubscription = true
	s := startServer(t, securedSpec(be.URL, be.URL, requires("/h", one(headerKey))), cfg, Options{})
	if resp, body := do(t, "GET", s.testURL("http", "/s/h"), nil, "X-API-Key", apiKey(t, ki, nil)); resp.StatusCode != 200 {
		t.Fatalf("subscribed: %d %s", resp.StatusCode, body)
	}
	other := apiKey(t, ki, map[string]any{"subscribedAPIs": []any{map[string]any{"name": "Other", "version": "1"}}})
	resp, body := do(t, "GET", s.testURL("http", "/s/h"), nil, "X-API-Key", other)
	wantFault(t, resp, body, 403, CodeResourceForbidden)
}

// basicUsers sets [b7a.users]: alice (bcrypt, scope read), bob (argon2id),
// carol (the original's @sha256), each with password "pw-<name>".
func basicUsers(t testing.TB, cfg *config.Config) {
	t.Helper()
	bc, err := passwordhash.GenerateBcrypt([]byte("pw-alice"), passwordhash.MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := passwordhash.GenerateArgon2id([]byte("pw-bob"), passwordhash.Argon2Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg.B7A.Users = map[string]config.BasicUser{
		"alice": {Password: bc, Scopes: []string{"read"}},
		"bob":   {Password: a2},
		"carol": {Password: "@sha256:{" + sha256Hex("pw-carol") + "}"},
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestBasicAuth: each kind of hash, the same refusal for an unknown user
// and a wrong password, the Basic challenge, the scopes of a user, a
// subject rule refusing a user, and a user's later requests answered
// without hashing.
func TestBasicAuth(t *testing.T) {
	be := newBackend(t, "prod")
	_, cfg := issuerConfig(t)
	basicUsers(t, cfg)
	var logs syncbuf.Buffer
	s := startServer(t, securedSpec(be.URL, be.URL,
		requires("/any", one(basicAuth)), requires("/read", one(Scheme{Kind: SchemeBasic, Scopes: []string{"read"}}))),
		cfg, Options{Logger: NewLogger(&logs, -8)})

	for _, user := range []string{"alice", "bob", "carol"} {
		resp, body := doBasic(t, s, "/s/any", user, "pw-"+user)
		if resp.StatusCode != 200 || be.lastRequest().Header.Get("Authorization") != "" {
			t.Fatalf("%s: %d %s; the backend got Authorization %q", user, resp.StatusCode, body, be.lastRequest().Header.Get("Authorization"))
		}
	}
	var bodies []string
	for _, c := range [][2]string{{"alice", "wrong"}, {"mallory", "pw-alice"}, {"bob", "pw-alice"}} {
		resp, body := doBasic(t, s, "/s/any", c[0], c[1])
		wantFault(t, resp, body, 401, CodeInvalidCredentials)
		if got := resp.Header.Values("WWW-Authenticate"); !slices.Equal(got, []string{`Basic realm="micro-gw", charset="UTF-8"`}) {
			t.Errorf("WWW-Authenticate %q", got)
		}
		bodies = append(bodies, body)
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Errorf("an unknown user is told apart from a wrong password:\n%s", strings.Join(bodies, "\n"))
	}
	resp, body := do(t, "GET", s.testURL("http", "/s/any"), nil)
	wantFault(t, resp, body, 401, CodeMissingCredentials)
	// Scopes: alice holds read, bob does not.
	if resp, body := doBasic(t, s, "/s/read", "alice", "pw-alice"); resp.StatusCode != 200 {
		t.Errorf("alice on /read: %d %s", resp.StatusCode, body)
	}
	resp, body = doBasic(t, s, "/s/read", "bob", "pw-bob")
	wantFault(t, resp, body, 403, CodeScopeMismatch)

	// The checks so far hashed; alice's later requests do not.
	cached := metricValue(t, s, `microgw_auth_basic_checks_total{result="cached"}`)
	for range 3 {
		doBasic(t, s, "/s/any", "alice", "pw-alice")
	}
	if got := metricValue(t, s, `microgw_auth_basic_checks_total{result="cached"}`); got != cached+3 {
		t.Errorf("cached checks %v, want %v", got, cached+3)
	}
	// A subject rule refuses the user, whatever its cut.
	s.revocation.rules.RevokeRule(revocation.Rule{Kind: revocation.RuleSubject, Key: "alice", IssuedBefore: time.Unix(1, 0)})
	resp, body = doBasic(t, s, "/s/any", "alice", "pw-alice")
	if resp.StatusCode != 401 || body != invalidCredentialsBody {
		t.Errorf("alice under a subject rule: %d %s", resp.StatusCode, body)
	}
	for _, secret := range []string{"pw-alice", "pw-bob", "pw-carol", "wrong"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a password reached the log")
		}
	}
}

func doBasic(t *testing.T, s *Server, path, user, password string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", s.testURL("http", path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	return doRequest(t, http.DefaultClient, req)
}

// TestTwoSchemes: an operation that accepts a token or a user takes
// either; without credentials the 401 carries both challenges; a wrong
// password is reported as such, not as a token of the wrong scheme.
func TestTwoSchemes(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	basicUsers(t, cfg)
	var logs syncbuf.Buffer
	s := startServer(t, securedSpec(be.URL, be.URL,
		requires("/either", one(bearerTok), one(basicAuth)),
		requires("/both", one(headerKey, basicAuth))),
		cfg, Options{Logger: NewLogger(&logs, -8)})
	if resp, body := do(t, "GET", s.testURL("http", "/s/either"), nil, "Authorization", "Bearer "+iss.Token(t, nil)); resp.StatusCode != 200 {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	if resp, body := doBasic(t, s, "/s/either", "bob", "pw-bob"); resp.StatusCode != 200 {
		t.Fatalf("user: %d %s", resp.StatusCode, body)
	}
	resp, body := do(t, "GET", s.testURL("http", "/s/either"), nil)
	wantFault(t, resp, body, 401, CodeMissingCredentials)
	if got := resp.Header.Values("WWW-Authenticate"); !slices.Equal(got, []string{`Bearer realm="micro-gw"`, `Basic realm="micro-gw", charset="UTF-8"`}) {
		t.Errorf("WWW-Authenticate %q", got)
	}
	before := metricValue(t, s, `microgw_auth_failures_total{reason="bad_credentials"}`)
	resp, body = doBasic(t, s, "/s/either", "bob", "nope")
	wantFault(t, resp, body, 401, CodeInvalidCredentials)
	if got := metricValue(t, s, `microgw_auth_failures_total{reason="bad_credentials"}`); got != max(before, 0)+1 {
		t.Errorf("the refusal was not counted as bad_credentials (%v -> %v)", before, got)
	}
	if !strings.Contains(logs.String(), "scheme=basic reason=bad_credentials") {
		t.Errorf("the log does not say which scheme failed:\n%s", logs.String())
	}
	// A refused token keeps RFC 6750's error in its challenge.
	resp, _ = do(t, "GET", s.testURL("http", "/s/either"), nil, "Authorization", "Bearer nope")
	if got := resp.Header.Values("WWW-Authenticate"); len(got) != 2 || !strings.HasPrefix(got[0], `Bearer realm="micro-gw", error="invalid_token"`) {
		t.Errorf("WWW-Authenticate %q", got)
	}

	// A combination needs both.
	_, kcfg := issuerConfig(t)
	ki := apiKeyIssuer(t, kcfg)
	basicUsers(t, kcfg)
	k := startServer(t, securedSpec(be.URL, be.URL, requires("/both", one(headerKey, basicAuth))), kcfg, Options{})
	req, _ := http.NewRequest("GET", k.testURL("http", "/s/both"), nil)
	req.Header.Set("X-API-Key", apiKey(t, ki, nil))
	resp, body = doRequest(t, http.DefaultClient, req)
	wantFault(t, resp, body, 401, CodeMissingCredentials)
	req.SetBasicAuth("bob", "pw-bob")
	if resp, body := doRequest(t, http.DefaultClient, req); resp.StatusCode != 200 {
		t.Errorf("key and user: %d %s", resp.StatusCode, body)
	}
}

// TestMutualTLS: with sslVerifyClient = "optional", an operation that
// requires a client certificate refuses a request without one (900902),
// with an untrusted one, an expired one, one not for clients, or one whose
// chain does not end at the trust store (900901), and one revoked by its
// fingerprint; other operations take requests with or without one. With
// "require" the handshake itself refuses a client without a trusted
// certificate.
func TestMutualTLS(t *testing.T) {
	be := newBackend(t, "prod")
	_, cfg := issuerConfig(t)
	trusted := authtest.NewCA(t, "clients", cfg.Listener.TrustStorePath)
	untrusted := authtest.NewCA(t, "stranger", "")
	cfg.MutualSSL.SSLVerifyClient = config.VerifyClientOptional
	cfg.Listener.CertFile, cfg.Listener.KeyFile = writeTLSPair(t, t.TempDir())
	spec := securedSpec(be.URL, be.URL, requires("/cert", one(clientTLS)))
	spec.APIs[0].Resources = append(spec.APIs[0].Resources, Resource{Method: "GET", Path: "/open"})
	s := startServer(t, spec, cfg, Options{HTTPSAddr: "127.0.0.1:0"})
	good := trusted.ClientCert(t, "good", time.Hour)

	get := func(path string, cert *tls.Certificate) (*http.Response, string) {
		t.Helper()
		return doWith(t, certClient(cert), "GET", s.testURL("https", path), nil)
	}
	if resp, body := get("/s/cert", &good); resp.StatusCode != 200 {
		t.Fatalf("trusted certificate: %d %s", resp.StatusCode, body)
	}
	resp, body := get("/s/cert", nil)
	wantFault(t, resp, body, 401, CodeMissingCredentials)
	if got := resp.Header.Values("WWW-Authenticate"); !slices.Equal(got, []string{`MutualTLS realm="micro-gw"`}) {
		t.Errorf("WWW-Authenticate %q", got)
	}
	stranger := untrusted.ClientCert(t, "stranger", time.Hour)
	viaStranger := untrusted.Intermediate(t, "stranger-intermediate").ClientCert(t, "chained", time.Hour)
	expired := trusted.ClientCert(t, "expired", -time.Minute)
	serverOnly := trusted.ServerOnlyCert(t, "server")
	for name, cert := range map[string]*tls.Certificate{
		"untrusted": &stranger, "chain to an untrusted root": &viaStranger, "expired": &expired, "not for clients": &serverOnly,
	} {
		resp, body := get("/s/cert", cert)
		wantFault(t, resp, body, 401, CodeInvalidCredentials)
		if name == "untrusted" && !strings.Contains(body, "The client certificate is not trusted") {
			t.Errorf("%s: %s", name, body)
		}
	}
	// Other operations do not look at certificates.
	for _, cert := range []*tls.Certificate{nil, &stranger} {
		if resp, body := get("/s/open", cert); resp.StatusCode != 200 {
			t.Errorf("open operation: %d %s", resp.StatusCode, body)
		}
	}
	// Plain HTTP has no certificate.
	resp, body = do(t, "GET", s.testURL("http", "/s/cert"), nil)
	wantFault(t, resp, body, 401, CodeMissingCredentials)

	// Revoked by its fingerprint, at once.
	s.revocation.rules.RevokeRule(revocation.Rule{Kind: revocation.RuleCertificate, Key: revocation.CertificateFingerprint(good.Leaf.Raw)})
	resp, body = get("/s/cert", &good)
	if resp.StatusCode != 401 || body != invalidCredentialsBody {
		t.Errorf("revoked certificate: %d %s", resp.StatusCode, body)
	}
	other := trusted.ClientCert(t, "other", time.Hour)
	if resp, body := get("/s/cert", &other); resp.StatusCode != 200 {
		t.Errorf("another certificate of the same CA: %d %s", resp.StatusCode, body)
	}

	// "require": the handshake refuses a client without a trusted certificate.
	cfg.MutualSSL.SSLVerifyClient = config.VerifyClientRequire
	r := startServer(t, spec, cfg, Options{HTTPSAddr: "127.0.0.1:0"})
	for _, cert := range []*tls.Certificate{nil, &stranger} {
		if resp, err := certClient(cert).Get(r.testURL("https", "/s/open")); err == nil {
			resp.Body.Close()
			t.Errorf("require: a client with certificate %v was served (%d)", cert != nil, resp.StatusCode)
		}
	}
	if resp, body := doWith(t, certClient(&other), "GET", r.testURL("https", "/s/cert"), nil); resp.StatusCode != 200 {
		t.Errorf("require, trusted: %d %s", resp.StatusCode, body)
	}
}

// certClient is a client of the test's HTTPS listener that sends cert
// (none when nil) whatever certificate authorities the server names, as
// curl does: Go's client otherwise keeps back a certificate of another CA.
func certClient(cert *tls.Certificate) *http.Client {
	tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the test's own server
	if cert != nil {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
}
