package devservices

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/micro-gw/micro-gw/internal/revocationtest"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

func start(t *testing.T, cfg Config) *Services {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loopbackConfig puts every service on a free loopback port, data in dir.
func loopbackConfig(t *testing.T, dir string) Config {
	t.Helper()
	free := func() string {
		a, err := resolvePort("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	return Config{DataDir: dir, EtcdAddr: free(), EtcdPeerAddr: free(), StompAddr: "127.0.0.1:0", TokenServiceAddr: "127.0.0.1:0"}
}

func etcdClient(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// revoke posts token to the token service's /revoke and returns the status.
func revoke(t *testing.T, client *http.Client, revokeURL, user, pass, token string) int {
	t.Helper()
	return postForm(t, client, revokeURL, user, pass, url.Values{"token": {token}})
}

// postForm posts form to the token service with the client credentials user and pass, and
// returns the status.
func postForm(t *testing.T, client *http.Client, to, user, pass string, form url.Values) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, to, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRevokeOverHTTPSReachesBrokerAndEtcd is the seed's flow against the dev
// services: POST /revoke with a JWT puts its jti on the topic and in etcd.
func TestRevokeOverHTTPSReachesBrokerAndEtcd(t *testing.T) {
	s := start(t, loopbackConfig(t, t.TempDir()))
	defer s.Close()
	if !strings.HasPrefix(s.RevokeURL, "https://localhost:") {
		t.Errorf("RevokeURL = %s, want https://localhost:PORT/revoke (the name in the certificate and in the seed)", s.RevokeURL)
	}
	sub := revocationtest.Subscribe(t, strings.TrimPrefix(s.StompURL, "stomp://"), "tokenRevocation")
	cli := etcdClient(t, s.EtcdEndpoint)
	client := authtest.TrustingClient(t, s.CertFile)

	if code := revoke(t, client, s.RevokeURL, "admin", "wrong", "x"); code != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d, want 401", code)
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := issuer.Sign(key, "wso2apim", issuer.Claims{JTI: "dev-jti-1", TTL: 20 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if code := revoke(t, client, s.RevokeURL, DefaultClientID, DefaultClientSecret, tok); code != http.StatusOK {
		t.Fatalf("revoke: %d, want 200", code)
	}
	m := revocationtest.Next(t, sub)
	msg, err := revocation.DecodeMessage(m.Body, nil)
	n := msg.Notice
	if err != nil || n.JTI != "dev-jti-1" || n.TTL <= revocation.ExpiryLeeway || n.TTL > 20*time.Minute+revocation.ExpiryLeeway {
		t.Errorf("published %s -> %+v, %v; want jti dev-jti-1 with the token's remaining lifetime", m.Body, n, err)
	}
	if v, _, ok := revocationtest.Key(t, cli, KeyPrefix+"dev-jti-1"); !ok || v == "" {
		t.Errorf("etcd key %sdev-jti-1 missing", KeyPrefix)
	}
}

// TestDataSurvivesRestart: what etcd holds is still there when the services
// start again on the same data folder.
func TestDataSurvivesRestart(t *testing.T) {
	cfg := loopbackConfig(t, t.TempDir())
	s := start(t, cfg)
	client := authtest.TrustingClient(t, s.CertFile)
	if code := revoke(t, client, s.RevokeURL, DefaultClientID, DefaultClientSecret, "kept-jti"); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	s.Close()

	s = start(t, cfg)
	defer s.Close()
	v, _, ok := revocationtest.Key(t, etcdClient(t, s.EtcdEndpoint), KeyPrefix+"kept-jti")
	if !ok || v != "3600" {
		t.Errorf("after a restart, key %skept-jti = %q (present %v), want \"3600\"", KeyPrefix, v, ok)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "etcd", "member")); err != nil {
		t.Errorf("etcd data not under the data folder: %v", err)
	}
}

// TestConfSnippetPointsAGatewayAtTheServices: the printed snippet is a valid
// part of micro-gw.conf and yields the services' addresses.
func TestConfSnippetPointsAGatewayAtTheServices(t *testing.T) {
	s := start(t, loopbackConfig(t, t.TempDir()))
	defer s.Close()
	conf := "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\ncertificateAlias = \"wso2apim\"\n\n" + s.ConfSnippet()
	dir := filepath.Join(t.TempDir(), "conf")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "micro-gw.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatalf("the snippet does not load:\n%s\n%v", conf, err)
	}
	rt, p := cfg.Revocation.Realtime, cfg.Revocation.Persistent
	if !rt.Enabled || rt.ProviderURL != s.StompURL || rt.Topic != "tokenRevocation" {
		t.Errorf("realtime = %+v", rt)
	}
	if !p.Enabled || !p.UseDefault || p.Hostname != s.EtcdEndpoint+"/v2/keys/jti/" || p.Username != "" {
		t.Errorf("persistent = %+v", p)
	}
}

func TestStartErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, Config{}); err == nil {
		t.Error("no data folder accepted")
	}
	cfg := loopbackConfig(t, t.TempDir())
	s := start(t, cfg)
	defer s.Close()
	// The same ports again: the second one cannot start, and says why.
	cfg2 := cfg
	cfg2.DataDir = t.TempDir()
	cfg2.StompAddr = strings.TrimPrefix(s.StompURL, "stomp://")
	cfg2.EtcdAddr, cfg2.EtcdPeerAddr = "127.0.0.1:0", "127.0.0.1:0"
	if s2, err := Start(ctx, cfg2); err == nil {
		s2.Close()
		t.Error("a second instance started on a port in use")
	} else if !strings.Contains(err.Error(), "STOMP") {
		t.Errorf("error %v does not name the STOMP broker", err)
	}
	cfg3 := loopbackConfig(t, t.TempDir())
	cfg3.CertFile = filepath.Join(t.TempDir(), "missing.crt")
	cfg3.KeyFile = cfg3.CertFile
	if s3, err := Start(ctx, cfg3); err == nil {
		s3.Close()
		t.Error("a missing certificate accepted")
	}
}

// TestProjectCertificate: with a project's TLS pair the token service is
// trusted by whoever trusts the project's gateway certificate.
func TestProjectCertificate(t *testing.T) {
	root := t.TempDir()
	if err := project.WriteSecurity(root); err != nil {
		t.Fatal(err)
	}
	p := project.Project{Root: root}
	cfg := loopbackConfig(t, t.TempDir())
	cfg.CertFile, cfg.KeyFile = p.Path(project.TLSCertFile), p.Path(project.TLSKeyFile)
	s := start(t, cfg)
	defer s.Close()
	if s.CertFile != cfg.CertFile {
		t.Errorf("CertFile = %s, want the project's %s", s.CertFile, cfg.CertFile)
	}
	if code := revoke(t, authtest.TrustingClient(t, cfg.CertFile), s.RevokeURL, DefaultClientID, DefaultClientSecret, "via-project-cert"); code != http.StatusOK {
		t.Errorf("revoke: %d", code)
	}
}

// TestRevokeRuleOverHTTPS: POST /revoke/rules puts the rule on the topic and
// in etcd under the rules prefix, with a lease; a bad form is a 400.
func TestRevokeRuleOverHTTPS(t *testing.T) {
	s := start(t, loopbackConfig(t, t.TempDir()))
	defer s.Close()
	sub := revocationtest.Subscribe(t, strings.TrimPrefix(s.StompURL, "stomp://"), "tokenRevocation")
	cli := etcdClient(t, s.EtcdEndpoint)
	client := authtest.TrustingClient(t, s.CertFile)
	if code := postForm(t, client, s.RulesURL, "admin", "wrong", url.Values{"subject": {"alice"}}); code != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d, want 401", code)
	}
	for _, bad := range []url.Values{{}, {"subject": {"a"}, "client": {"b"}}, {"issuer": {"x"}, "ttl": {"0"}}, {"subject": {"a"}, "issued_before": {"soon"}}} {
		if code := postForm(t, client, s.RulesURL, DefaultClientID, DefaultClientSecret, bad); code != http.StatusBadRequest {
			t.Errorf("form %v: %d, want 400", bad, code)
		}
	}
	if code := postForm(t, client, s.RulesURL, DefaultClientID, DefaultClientSecret, url.Values{
		"issuer": {"https://localhost:9443/oauth2/token"}, "issued_before": {"2026-11-28T10:00:00Z"}, "ttl": {"2h"},
	}); code != http.StatusOK {
		t.Fatalf("revoke rule: %d, want 200", code)
	}
	m, err := revocation.DecodeMessage(revocationtest.Next(t, sub).Body, nil)
	cut := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	want := revocation.RuleNotice{Kind: revocation.RuleIssuer, Key: "https://localhost:9443/oauth2/token", IssuedBefore: cut, TTL: 2 * time.Hour}
	if err != nil || m.Rule.Kind != want.Kind || m.Rule.Key != want.Key || !m.Rule.IssuedBefore.Equal(cut) || m.Rule.TTL != want.TTL {
		t.Errorf("published rule %+v, %v; want %+v", m.Rule, err, want)
	}
	if v, _, ok := revocationtest.Key(t, cli, "revocation-rules/iss/https:%2F%2Flocalhost:9443%2Foauth2%2Ftoken"); !ok || v != `{"issuedBefore":`+strconv.FormatInt(cut.Unix(), 10)+`,"ttl":7200}` {
		t.Errorf("etcd rule key = %q (present %v)", v, ok)
	}
	// The email kind takes its name as the form field.
	if code := postForm(t, client, s.RulesURL, DefaultClientID, DefaultClientSecret, url.Values{"email": {"dana@example.com"}}); code != http.StatusOK {
		t.Fatalf("revoke email rule: %d, want 200", code)
	}
	if m, err := revocation.DecodeMessage(revocationtest.Next(t, sub).Body, nil); err != nil || m.Rule.Kind != revocation.RuleEmail || m.Rule.Key != "dana@example.com" {
		t.Errorf("published email rule %+v, %v", m.Rule, err)
	}
	if _, _, ok := revocationtest.Key(t, cli, "revocation-rules/email/dana@example.com"); !ok {
		t.Error("no etcd key for the email rule")
	}
}
