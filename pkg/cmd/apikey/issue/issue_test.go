package issue

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/templates"
)

// newProject makes a project as `micro-gw init` does, with the sample
// definition, and conf replaced as replace says.
func newProject(t *testing.T, replace ...string) (wd, name string) {
	t.Helper()
	wd, name = t.TempDir(), "petstore"
	root := filepath.Join(wd, name)
	if err := project.WriteSecurity(root); err != nil {
		t.Fatal(err)
	}
	conf, err := templates.Project.ReadFile("project/" + project.ConfFile)
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.NewReplacer(replace...).Replace(string(conf)))
	sample, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "samples", "petstore_basic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for file, data := range map[string][]byte{project.ConfFile: conf, "api_definitions/petstore_basic.yaml": sample} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, file)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, file), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return wd, name
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
	cmd.SetArgs([]string{"p"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Project != "p" || got.TTL != DefaultTTL || got.Subject != "admin" || got.KeyType != "PRODUCTION" || got.Application != DefaultApplication {
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

// TestIssuedKeyValidatesAsTheGatewayDoes: the key printed is accepted by
// the gateway's API key validator of the project's conf, carries WSO2's
// claims with the project's APIs subscribed, is refused as an access token,
// and reads as a jti for micro-gw revoke.
func TestIssuedKeyValidatesAsTheGatewayDoes(t *testing.T) {
	wd, name := newProject(t)
	stdout, stderr, err := run(t, wd, name, "--ttl", "2h", "--sub", "alice", "--jti", "key-1", "--keytype", "SANDBOX")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	key := strings.TrimSpace(stdout)
	cfg, err := config.Load(filepath.Join(wd, name, project.ConfFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewAPIKeys(cfg, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Validate(context.Background(), key)
	if err != nil {
		t.Fatalf("the gateway refuses the key: %v", err)
	}
	if c.Subject != "alice" || c.JTI != "key-1" || c.KeyType != "SANDBOX" || len(c.Audience) != 0 ||
		c.ExpiresAt.Sub(c.IssuedAt) != 2*time.Hour || c.Issuer != config.DefaultAPIKeyIssuer {
		t.Errorf("claims %+v", c)
	}
	if len(c.SubscribedAPIs) != 1 || c.SubscribedAPIs[0].Name != "Swagger Petstore" || c.SubscribedAPIs[0].Context != "/petstore/v1" {
		t.Errorf("subscribedAPIs %+v", c.SubscribedAPIs)
	}
	if err := v.ValidateSubscription(c, "Swagger Petstore", c.SubscribedAPIs[0].Version); err != nil {
		t.Errorf("not subscribed to the project's API: %v", err)
	}
	jv, err := auth.New(cfg, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jv.Validate(context.Background(), key); err == nil {
		t.Error("the API key passes as an access token")
	}
	if rt, err := revocation.ReadRevokedToken(key); err != nil || rt.JTI != "key-1" || !rt.IsJWT {
		t.Errorf("ReadRevokedToken = %+v, %v", rt, err)
	}
}

// TestIssueWithoutAPIKeyIssuer: a conf that trusts no API key issuer of
// the development key is told what to add.
func TestIssueWithoutAPIKeyIssuer(t *testing.T) {
	wd, name := newProject(t, `certificateAlias = "wso2apim"

# Basic-auth`, `certificateAlias = "other"

# Basic-auth`)
	_, _, err := run(t, wd, name)
	if err == nil || !strings.Contains(err.Error(), "trusts no API key issuer") || !strings.Contains(err.Error(), "[[apiKeyConfig]]") {
		t.Errorf("got %v", err)
	}
}
