package issue

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/cmd/credential"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/statuslist"
	"github.com/micro-gw/micro-gw/templates"
)

// newProject makes a project as `micro-gw init` does: fresh security files
// and the default conf of the scaffold, with replace applied to the conf.
func newProject(t *testing.T, replace ...string) (wd, name string) {
	t.Helper()
	wd = t.TempDir()
	name = "petstore"
	root := filepath.Join(wd, name)
	if err := project.WriteSecurity(root); err != nil {
		t.Fatal(err)
	}
	conf, err := templates.Project.ReadFile("project/" + project.ConfFile)
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.NewReplacer(replace...).Replace(string(conf)))
	if err := os.MkdirAll(filepath.Join(root, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, project.ConfFile), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	return wd, name
}

// trustedKey is the public key the project's gateway verifies tokens with:
// the certificate in its trust store.
func trustedKey(t *testing.T, wd, name string) any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(wd, name, project.IssuerCertFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM in the trust store certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert.PublicKey
}

func run(t *testing.T, wd string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &factory.Factory{Out: &out, ErrOut: &errOut, Getwd: func() (string, error) { return wd, nil }}
	cmd := NewCmdIssue(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestIssueFlags(t *testing.T) {
	var got *IssueOptions
	f := &factory.Factory{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	cmd := NewCmdIssue(f, func(o *IssueOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"p", "--sub", "alice", "--scope", "a b", "--ttl", "5m", "--jti", "j1", "--aud", "A", "--iss", "I", "--keytype", "sandbox"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := IssueOptions{Options: credential.Options{Project: "p", Subject: "alice", TTL: 5 * time.Minute, JTI: "j1", KeyType: "sandbox"},
		Scopes: "a b", Audience: "A", Issuer: "I"}
	got.Out, got.ErrOut, got.Getwd = nil, nil, nil
	if got.Project != want.Project || got.Subject != want.Subject || got.Scopes != want.Scopes || got.TTL != want.TTL ||
		got.JTI != want.JTI || got.Audience != want.Audience || got.Issuer != want.Issuer || got.KeyType != want.KeyType {
		t.Errorf("options = %+v, want %+v", *got, want)
	}

	cmd = NewCmdIssue(f, func(o *IssueOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"p"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Subject != "admin" || got.TTL != time.Hour || got.KeyType != "PRODUCTION" || got.JTI != "" {
		t.Errorf("defaults = %+v", *got)
	}

	for _, bad := range [][]string{{}, {"p", "--ttl", "0s"}, {"p", "--keytype", "STAGING"}, {"a", "b"}} {
		cmd = NewCmdIssue(f, func(*IssueOptions) error { t.Errorf("%v: run despite bad arguments", bad); return nil })
		cmd.SetArgs(bad)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

// TestIssuedTokenValidatesWithProjectTrust checks the point of the command:
// the printed token verifies with the project's trust store certificate and
// carries the issuer and audience of the project's conf and every claim the
// gateway requires.
func TestIssuedTokenValidatesWithProjectTrust(t *testing.T) {
	wd, name := newProject(t)
	stdout, stderr, err := run(t, wd, name, "--scope", "read:pets write:pets", "--jti", "jti-1", "--ttl", "10m")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") {
		t.Fatalf("stdout is not one line: %q", stdout)
	}
	tok := strings.TrimSpace(stdout)
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return trustedKey(t, wd, name), nil },
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(project.IssuerName), jwt.WithAudience(project.IssuerAudience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil {
		t.Fatalf("issued token does not validate with the project's trust store: %v", err)
	}
	if parsed.Header["kid"] != project.IssuerAlias {
		t.Errorf("kid = %v, want %s", parsed.Header["kid"], project.IssuerAlias)
	}
	for k, want := range map[string]any{"sub": "admin", "scope": "read:pets write:pets", "jti": "jti-1", "keytype": "PRODUCTION"} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if d := exp.Sub(iat.Time); d != 10*time.Minute {
		t.Errorf("exp - iat = %s, want 10m", d)
	}
}

// TestIssuerFromConf: the issuer and audience follow the conf's table for
// the development key, so an edited conf still accepts the tokens.
func TestIssuerFromConf(t *testing.T) {
	wd, name := newProject(t,
		`issuer = "https://localhost:9443/oauth2/token"`, `issuer = "https://idp.example/token"`,
		`audience = "http://org.wso2.apimgt/gateway"`, `audience = "petstore"`)
	stdout, stderr, err := run(t, wd, name)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	_, err = jwt.Parse(strings.TrimSpace(stdout), func(*jwt.Token) (any, error) { return trustedKey(t, wd, name), nil },
		jwt.WithIssuer("https://idp.example/token"), jwt.WithAudience("petstore"))
	if err != nil {
		t.Fatalf("token does not carry the conf's issuer and audience: %v", err)
	}

	stdout, stderr, err = run(t, wd, name, "--iss", "https://other/", "--aud", "x")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	_, err = jwt.Parse(strings.TrimSpace(stdout), func(*jwt.Token) (any, error) { return trustedKey(t, wd, name), nil },
		jwt.WithIssuer("https://other/"), jwt.WithAudience("x"))
	if err != nil {
		t.Fatalf("--iss and --aud not applied: %v", err)
	}
}

func TestIssueErrors(t *testing.T) {
	wd, name := newProject(t)
	if _, _, err := run(t, wd, "nope"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing project: err = %v", err)
	}
	if err := os.Remove(filepath.Join(wd, name, project.IssuerKeyFile)); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := run(t, wd, name)
	if err == nil || !strings.Contains(err.Error(), "issuer key") {
		t.Errorf("missing key: err = %v", err)
	}
	if stdout != "" {
		t.Errorf("stdout = %q on error, want nothing", stdout)
	}
}

// TestIssuedTokenPassesGatewayValidator runs the token through the gateway's
// own validator, configured by the project's default conf.
func TestIssuedTokenPassesGatewayValidator(t *testing.T) {
	wd, name := newProject(t)
	stdout, stderr, err := run(t, wd, name, "--sub", "alice", "--scope", "read:pets", "--keytype", "SANDBOX", "--jti", "j-42")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	cfg, err := config.Load(filepath.Join(wd, name, project.ConfFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.New(cfg, auth.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Validate(context.Background(), strings.TrimSpace(stdout))
	if err != nil {
		t.Fatalf("the gateway refuses the issued token: %v", err)
	}
	if claims.Subject != "alice" || claims.JTI != "j-42" || claims.KeyType != "SANDBOX" || !claims.HasScopes([]string{"read:pets"}) {
		t.Errorf("claims = %+v", claims)
	}
}

// TestIssueStatusClaim: --status-uri and --status-idx give the token the
// status claim of the Token Status List draft; one without the other is
// refused.
func TestIssueStatusClaim(t *testing.T) {
	wd, name := newProject(t)
	stdout, stderr, err := run(t, wd, name, "--status-uri", "https://idp.example/statuslists/1", "--status-idx", "0")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(strings.TrimSpace(stdout), claims, func(*jwt.Token) (any, error) { return trustedKey(t, wd, name), nil },
		jwt.WithJSONNumber()); err != nil {
		t.Fatal(err)
	}
	ref, ok, err := statuslist.ReadReference(claims)
	if !ok || err != nil || ref != (statuslist.Reference{Index: 0, URI: "https://idp.example/statuslists/1"}) {
		t.Errorf("status claim read as %+v %v %v", ref, ok, err)
	}
	for _, args := range [][]string{
		{name, "--status-uri", "https://idp.example/statuslists/1"},
		{name, "--status-idx", "3"},
		{name, "--status-uri", "https://idp.example/statuslists/1", "--status-idx", "-1"},
	} {
		if _, _, err := run(t, wd, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
