//go:build e2e_services

// Issue 15, end to end (docs/authentication.md): every kind of credential against the built
// gateway — API keys in a header and a query parameter, basic auth with each kind of hash, client
// certificates, an operation that takes either of two schemes — and opaque and JWT access tokens
// of an independent OpenID provider, the certified oidc-provider package from npm
// (e2e/oidc/provider.mjs; .ci/run installs it with npm ci). Each credential is revoked the way an
// operator would: micro-gw revoke, through the broker; an opaque token also at the provider.
//
// One gateway and one provider serve the whole suite: CI time is counted.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

// svcAuthAPIDefinition is the shared project's second API (svcSharedProject builds it beside
// svcAPIDefinition): one resource per way of authenticating. OpenAPI 3.1, for mutualTLS.
const svcAuthAPIDefinition = `openapi: 3.1.0
info:
  title: Services E2E authentication
  version: 1.0.0
x-wso2-basePath: /svc/auth/v1
x-wso2-production-endpoints:
  urls:
    - %s/backend
components:
  securitySchemes:
    keyHeader:
      type: apiKey
      in: header
      name: X-Api-Key
    keyQuery:
      type: apiKey
      in: query
      name: api_key
    basic:
      type: http
      scheme: basic
    cert:
      type: mutualTLS
paths:
  /key:
    get:
      operationId: withKey
      security:
        - keyHeader: []
        - keyQuery: []
      responses:
        "200":
          description: an API key in the X-Api-Key header or the api_key parameter
  /basic:
    get:
      operationId: withBasic
      security:
        - basic: []
      responses:
        "200":
          description: a user of the conf
  /cert:
    get:
      operationId: withCert
      security:
        - cert: []
      responses:
        "200":
          description: a client certificate of the trust store
  /either:
    get:
      operationId: withBasicOrKey
      security:
        - basic: []
        - keyHeader: []
      responses:
        "200":
          description: a user, or an API key in the X-Api-Key header
`

// The challenges docs/authentication.md ("Refusals") gives each scheme of svcAuthAPIDefinition.
const (
	svcChallengeKeyHeader = `APIKey realm="micro-gw", in="header", name="X-Api-Key"`
	svcChallengeKeyQuery  = `APIKey realm="micro-gw", in="query", name="api_key"`
	svcChallengeBasic     = `Basic realm="micro-gw", charset="UTF-8"`
	svcChallengeCert      = `MutualTLS realm="micro-gw"`
)

// svcAuthCacheExpiry is the suite's tokenCacheExpiryTime: how long an introspection's answer is
// trusted, so how long a token revoked at the provider alone may still pass.
const svcAuthCacheExpiry = 2 * time.Second

// --------------------------------------------------------------------------------- the provider

// svcOIDC is e2e/oidc/provider.mjs running: clients app (tokens) and gateway (introspection).
type svcOIDC struct {
	Issuer string
	client *http.Client
}

// The resource for which the provider issues JWT access tokens (provider.mjs).
const svcOIDCResource = "urn:micro-gw:e2e"

// svcStartOIDC runs provider.mjs until the end of the test (its stdin closed ends it).
func svcStartOIDC(t *testing.T) *svcOIDC {
	t.Helper()
	if _, err := os.Stat(filepath.Join("oidc", "node_modules", "oidc-provider")); err != nil {
		t.Fatalf("oidc-provider is not installed: run `npm ci` in e2e/oidc (.ci/run does): %v", err)
	}
	start := time.Now()
	var hello struct {
		Issuer string `json:"issuer"`
	}
	logs := startHelper(t, exec.Command("node", filepath.Join("oidc", "provider.mjs")), &hello)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("----- stderr of oidc/provider.mjs\n%s", svcTail(logs.String(), 50))
		}
	})
	if hello.Issuer == "" {
		t.Fatalf("oidc/provider.mjs printed no issuer:\n%s", logs.String())
	}
	t.Logf("oidc-provider at %s, up %v after its start", hello.Issuer, time.Since(start).Round(time.Millisecond))
	return &svcOIDC{Issuer: hello.Issuer, client: &http.Client{Timeout: 10 * time.Second}}
}

// post sends form to the provider's path as client (secret "<client>-secret") in HTTP Basic, and
// decodes the JSON answer into out (when not nil). It fails the test on any status but 200.
func (o *svcOIDC) post(t *testing.T, path, client string, form url.Values, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, o.Issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, client+"-secret")
	resp, err := o.client.Do(req)
	if err != nil {
		t.Fatalf("oidc-provider %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("oidc-provider %s: %s %s", path, resp.Status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("oidc-provider %s: %v in %s", path, err, body)
		}
	}
}

// token gets an access token for client app with the client credentials grant: opaque, or a JWT
// when resource is svcOIDCResource.
func (o *svcOIDC) token(t *testing.T, resource string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:pets"}}
	if resource != "" {
		form.Set("resource", resource)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	o.post(t, "/token", "app", form, &tok)
	if tok.AccessToken == "" {
		t.Fatal("oidc-provider /token gave no access_token")
	}
	return tok.AccessToken
}

// revoke revokes tok at the provider's RFC 7009 endpoint.
func (o *svcOIDC) revoke(t *testing.T, tok string) {
	t.Helper()
	o.post(t, "/token/revocation", "app", url.Values{"token": {tok}, "token_type_hint": {"access_token"}}, nil)
}

// active asks the provider's RFC 7662 endpoint, as the gateway does, whether tok is active.
func (o *svcOIDC) active(t *testing.T, tok string) bool {
	t.Helper()
	var a struct {
		Active bool `json:"active"`
	}
	o.post(t, "/token/introspection", "gateway", url.Values{"token": {tok}}, &a)
	return a.Active
}

// rotate has the provider sign with a new key from now on (provider.mjs's /test/rotate); the
// new kid.
func (o *svcOIDC) rotate(t *testing.T) string {
	t.Helper()
	var r struct {
		Kid string `json:"kid"`
	}
	o.post(t, "/test/rotate", "app", nil, &r)
	return r.Kid
}

// svcJWTKid is the kid of a JWT's header.
func svcJWTKid(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	var h struct {
		Kid string `json:"kid"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil {
		t.Fatalf("the provider's token has no JOSE header: %v", err)
	}
	return h.Kid
}

// ------------------------------------------------------------------------------- the credentials

// svcHashPassword runs `micro-gw hash-password ARGS...` with password on stdin.
func svcHashPassword(t *testing.T, password string, args ...string) string {
	t.Helper()
	microgw, _ := svcBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, microgw, append([]string{"hash-password"}, args...)...)
	cmd.Stdin = strings.NewReader(password + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("micro-gw hash-password %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// svcAPIKey runs `micro-gw apikey issue` for the project with the given jti.
func svcAPIKey(t *testing.T, p *svcProject, jti string) string {
	t.Helper()
	microgw, _ := svcBinaries(t)
	out, err := runTimed(p.Work, time.Minute, nil, microgw, "apikey", "issue", p.Name, "--jti", jti, "--ttl", "1h")
	key := strings.TrimSpace(out)
	if err != nil || strings.Count(key, ".") != 2 {
		t.Fatalf("micro-gw apikey issue %s --jti %s: %v\n%s", p.Name, jti, err, out)
	}
	return key
}

// svcTrustStore is a trust store folder of the project's own (the development issuer's
// certificate, as in security/truststore) and a CA of the test's, whose client certificates it
// trusts; the folder, relative to the project root, and the CA.
func svcTrustStore(t *testing.T, p *svcProject) (string, *authtest.CA) {
	t.Helper()
	rel := filepath.Join("security", fmt.Sprintf("truststore-auth-%08x", rand.Uint32()))
	dir := filepath.Join(p.Root, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	src := filepath.Join(p.Root, "security", "truststore")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return rel, authtest.NewCA(t, "svc-auth-clients", dir)
}

// svcHTTPSClient is a client of the gateway's HTTPS listener presenting cert (none when nil),
// whatever CAs the gateway names as acceptable, as a client that tries its luck does (Go's client
// would send only a certificate of those CAs). The gateway's development certificate is
// self-signed for localhost: what is tested here is the client's certificate, not the server's,
// so the server's is not verified.
func svcHTTPSClient(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{InsecureSkipVerify: true}
	if cert != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// authAsk is GET path of the gateway (http, or https with client) with the headers.
func (g *svcGateway) authAsk(client *http.Client, path string, header ...string) gatewayAnswer {
	u := fmt.Sprintf("http://127.0.0.1:%d%s", g.HTTP, path)
	if client != g.client {
		u = fmt.Sprintf("https://127.0.0.1:%d%s", g.HTTPS, path)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return askRequest(client, req)
}

// svcBasic is an Authorization header value of HTTP Basic.
func svcBasic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// svcRefusal says what is wrong with a, which should be 401 with fault code and exactly the
// challenges (in any order); "" when nothing is.
func svcRefusal(a gatewayAnswer, code int, challenges ...string) string {
	got := strings.Split(a.Challenges, "\n")
	ok := a.Err == nil && a.Status == http.StatusUnauthorized && a.Code == code && len(got) == len(challenges)
	for _, c := range challenges {
		ok = ok && strings.Contains("\n"+a.Challenges+"\n", "\n"+c+"\n")
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("got %s with WWW-Authenticate %q, want 401 fault %d with %q", a, a.Challenges, code, challenges)
}

// ------------------------------------------------------------------------------------- the suite

// Every kind of credential of docs/authentication.md against one built gateway, and each one
// revoked: an API key (header, query), three users (bcrypt, argon2id, @sha256), client
// certificates (none, of an untrusted CA, trusted, revoked by fingerprint), an operation taking
// a user or an API key, opaque tokens of oidc-provider (revoked at the provider: refused once the
// introspection cache lets go; by micro-gw revoke --token: at once) and its JWT access tokens
// across a signing key rotation (a token of the new key accepted at its first request).
func TestServicesAuthentication(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	idp := svcStartOIDC(t)
	topic := fmt.Sprintf("svcAuth%08x", rand.Uint32())
	trustStore, ca := svcTrustStore(t, p)

	users := []struct{ name, kind, password, hash string }{
		{"alice", "bcrypt", "alice-pw-" + svcJTI("a"), ""},
		{"bob", "argon2id", "bob-pw-" + svcJTI("b"), ""},
		{"carol", "sha256", "carol-pw-" + svcJTI("c"), ""},
	}
	users[0].hash = svcHashPassword(t, users[0].password)
	users[1].hash = svcHashPassword(t, users[1].password, "--algorithm", "argon2id")
	sum := sha256.Sum256([]byte(users[2].password))
	users[2].hash = "@sha256:{" + hex.EncodeToString(sum[:]) + "}"
	if !strings.HasPrefix(users[0].hash, "$2") || !strings.HasPrefix(users[1].hash, "$argon2id$") {
		t.Fatalf("micro-gw hash-password printed %q and %q, not a bcrypt and an argon2id hash", users[0].hash, users[1].hash)
	}

	q := strconv.Quote
	tables := []string{
		fmt.Sprintf("[[jwtTokenConfig]]\nissuer = %s\naudience = %s\njwksUrl = %s", q(idp.Issuer), q(svcOIDCResource), q(idp.Issuer+"/jwks")),
		"[[apiKeyConfig]]\nissuer = \"https://localhost:9443/apikey\"\ncertificateAlias = \"wso2apim\"",
		fmt.Sprintf("[keyManager]\nintrospectionUrl = %s\nusername = \"gateway\"\npassword = \"gateway-secret\"", q(idp.Issuer+"/token/introspection")),
		"[mutualSSLConfig]\nsslVerifyClient = \"optional\"",
	}
	for _, u := range users {
		tables = append(tables, fmt.Sprintf("[b7a.users.%s]\npassword = %s", u.name, q(u.hash)))
	}
	conf := p.writeConf(t, "svc-auth", svcConf{BrokerURL: s.amqpURL("/"), Topic: topic, TrustStore: trustStore,
		TokenCacheExpiry: svcAuthCacheExpiry, Tables: tables})
	gw := p.startGateway(t, "auth", conf)
	if !strings.Contains(gw.logs.String(), "b7a.users.carol.password") {
		t.Errorf("no warning names b7a.users.carol.password, the unsalted @sha256 hash (docs/authentication.md)")
	}
	revoke := func(args ...string) {
		t.Helper()
		if out, err := p.revoke(t, conf, append(args, "--ttl", "3600")...); err != nil {
			t.Fatalf("micro-gw revoke %s: %v\n%s", args[0], err, out)
		}
	}
	// refusedSoon polls until ask gets 401 900901, at most within, and returns how long it took.
	refusedSoon := func(what string, within time.Duration, ask func() gatewayAnswer) time.Duration {
		t.Helper()
		start := time.Now()
		svcPoll(t, what, within, func() (bool, string) { a := ask(); return a.revoked(), a.String() })
		d := time.Since(start)
		t.Logf("%s: refused %v after it was revoked", what, d.Round(time.Millisecond))
		return d
	}

	t.Run("api key", func(t *testing.T) {
		key := svcAPIKey(t, p, svcJTI("apikey"))
		inHeader := func() gatewayAnswer { return gw.authAsk(gw.client, "/svc/auth/v1/key", "X-Api-Key", key) }
		inQuery := func() gatewayAnswer {
			return gw.authAsk(gw.client, "/svc/auth/v1/key?api_key="+url.QueryEscape(key))
		}
		if a := inHeader(); !a.accepted() {
			t.Errorf("an API key in X-Api-Key: %s", a)
		}
		if a := inQuery(); !a.accepted() {
			t.Errorf("an API key in ?api_key=: %s", a)
		}
		if msg := svcRefusal(gw.authAsk(gw.client, "/svc/auth/v1/key"), 900902, svcChallengeKeyHeader, svcChallengeKeyQuery); msg != "" {
			t.Errorf("no API key: %s", msg)
		}
		// An access token of the same signing key is no API key: another issuer.
		if msg := svcRefusal(gw.authAsk(gw.client, "/svc/auth/v1/key", "X-Api-Key", p.issueToken(t, svcJTI("notakey"))), 900901,
			svcChallengeKeyHeader, svcChallengeKeyQuery); msg != "" {
			t.Errorf("an access token in X-Api-Key: %s", msg)
		}
		revoke("--token", key)
		refusedSoon("the API key in X-Api-Key", svcPollDeadline, inHeader)
		if a := inQuery(); !a.revoked() {
			t.Errorf("the revoked API key in ?api_key=: %s", a)
		}
	})

	t.Run("basic", func(t *testing.T) {
		for _, u := range users {
			if a := gw.authAsk(gw.client, "/svc/auth/v1/basic", "Authorization", svcBasic(u.name, u.password)); !a.accepted() {
				t.Errorf("%s (%s) with the right password: %s", u.name, u.kind, a)
			}
			if msg := svcRefusal(gw.authAsk(gw.client, "/svc/auth/v1/basic", "Authorization", svcBasic(u.name, u.password+"x")),
				900901, svcChallengeBasic); msg != "" {
				t.Errorf("%s (%s) with a wrong password: %s", u.name, u.kind, msg)
			}
		}
		if msg := svcRefusal(gw.authAsk(gw.client, "/svc/auth/v1/basic", "Authorization", svcBasic("mallory", users[0].password)),
			900901, svcChallengeBasic); msg != "" {
			t.Errorf("an unknown user: %s", msg)
		}
		if msg := svcRefusal(gw.authAsk(gw.client, "/svc/auth/v1/basic"), 900902, svcChallengeBasic); msg != "" {
			t.Errorf("no user: %s", msg)
		}
		// A user has no jti: a subject rule refuses it (docs/authentication.md, "Basic auth").
		revoke("--sub", users[2].name)
		refusedSoon("carol after micro-gw revoke --sub carol", svcPollDeadline, func() gatewayAnswer {
			return gw.authAsk(gw.client, "/svc/auth/v1/basic", "Authorization", svcBasic(users[2].name, users[2].password))
		})
	})

	t.Run("mutual TLS", func(t *testing.T) {
		trusted := ca.ClientCert(t, "svc-client", time.Hour)
		other := ca.ClientCert(t, "svc-client-2", time.Hour)
		untrusted := authtest.NewCA(t, "svc-untrusted", "").ClientCert(t, "svc-client", time.Hour)
		withTrusted := svcHTTPSClient(&trusted)
		if msg := svcRefusal(gw.authAsk(svcHTTPSClient(nil), "/svc/auth/v1/cert"), 900902, svcChallengeCert); msg != "" {
			t.Errorf("no client certificate: %s", msg)
		}
		if msg := svcRefusal(gw.authAsk(svcHTTPSClient(&untrusted), "/svc/auth/v1/cert"), 900901, svcChallengeCert); msg != "" {
			t.Errorf("a client certificate of a CA the trust store does not hold: %s", msg)
		}
		if a := gw.authAsk(withTrusted, "/svc/auth/v1/cert"); !a.accepted() {
			t.Errorf("a client certificate of the trust store's CA: %s", a)
		}
		file := filepath.Join(t.TempDir(), "client.crt")
		if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: trusted.Certificate[0]}), 0o644); err != nil {
			t.Fatal(err)
		}
		revoke("--cert", file)
		refusedSoon("the client certificate revoked by micro-gw revoke --cert", svcPollDeadline, func() gatewayAnswer {
			return gw.authAsk(withTrusted, "/svc/auth/v1/cert")
		})
		if a := gw.authAsk(svcHTTPSClient(&other), "/svc/auth/v1/cert"); !a.accepted() {
			t.Errorf("another client certificate of the same CA, after the first was revoked: %s", a)
		}
	})

	t.Run("two schemes", func(t *testing.T) {
		key := svcAPIKey(t, p, svcJTI("either"))
		if a := gw.authAsk(gw.client, "/svc/auth/v1/either", "Authorization", svcBasic(users[0].name, users[0].password)); !a.accepted() {
			t.Errorf("a user where a user or an API key will do: %s", a)
		}
		if a := gw.authAsk(gw.client, "/svc/auth/v1/either", "X-Api-Key", key); !a.accepted() {
			t.Errorf("an API key where a user or an API key will do: %s", a)
		}
		if a := gw.authAsk(gw.client, "/svc/auth/v1/either", "Authorization", svcBasic(users[0].name, "wrong"), "X-Api-Key", key); !a.accepted() {
			t.Errorf("a wrong password and a good API key: the API key's alternative passes: %s", a)
		}
		if msg := svcRefusal(gw.authAsk(gw.client, "/svc/auth/v1/either"), 900902, svcChallengeBasic, svcChallengeKeyHeader); msg != "" {
			t.Errorf("nothing where a user or an API key will do: %s", msg)
		}
		if msg := svcRefusal(gw.authAsk(gw.client, "/svc/auth/v1/either", "Authorization", svcBasic(users[0].name, "wrong")),
			900901, svcChallengeBasic, svcChallengeKeyHeader); msg != "" {
			t.Errorf("a wrong password alone: %s", msg)
		}
	})

	t.Run("opaque tokens", func(t *testing.T) {
		// Revoked at the provider (RFC 7009): refused once the cached introspection expires.
		tok := idp.token(t, "")
		if strings.Count(tok, ".") == 2 {
			t.Fatalf("the provider gave a JWT, not an opaque token: %.20s...", tok)
		}
		gw.expectAccepted(t, "an opaque token of oidc-provider", tok)
		idp.revoke(t, tok)
		if idp.active(t, tok) {
			t.Fatal("oidc-provider still says the token it revoked is active")
		}
		d := refusedSoon("an opaque token revoked at the provider", svcAuthCacheExpiry+svcPollDeadline, func() gatewayAnswer { return gw.call(tok) })
		t.Logf("(tokenCacheExpiryTime is %v: the gateway trusted its cached answer for at most that long, then asked again; took %v)", svcAuthCacheExpiry, d.Round(time.Millisecond))

		// Revoked at the gateway: at once, while the provider still says active.
		tok = idp.token(t, "")
		gw.expectAccepted(t, "a second opaque token", tok)
		since := time.Now()
		revoke("--token", tok)
		gw.expectRevoked(t, "an opaque token revoked by micro-gw revoke --token", tok, since)
		if !idp.active(t, tok) {
			t.Error("oidc-provider says the token is inactive: the refusal above proves nothing about micro-gw revoke")
		}
	})

	t.Run("key rotation", func(t *testing.T) {
		old := idp.token(t, svcOIDCResource)
		gw.expectAccepted(t, "a JWT access token of oidc-provider", old)
		kid := idp.rotate(t)
		fresh := idp.token(t, svcOIDCResource)
		if got := svcJWTKid(t, fresh); got != kid {
			t.Fatalf("after the rotation the provider signed with kid %q, not the new %q", got, kid)
		}
		// At its first request: the gateway refetches the JWKS for a kid it does not know.
		if a := gw.call(fresh); !a.accepted() {
			t.Errorf("a token of the rotated-in key at its first request: %s (docs/authentication.md, \"JWKS and key rotation\")", a)
		}
		if a := gw.call(old); !a.accepted() {
			t.Errorf("a token of the old key, still published: %s", a)
		}
		if !strings.Contains(gw.logs.String(), "unknown_kid") {
			t.Error("the gateway's log has no JWKS fetch for reason unknown_kid")
		}
	})
}
