package revoke

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

// TestRevokeRules: --sub, --client, --issuer and --email publish the rule message and
// write the etcd rule key with a lease of at least the ttl; --before takes
// RFC 3339 or epoch seconds.
func TestRevokeRules(t *testing.T) {
	e := newEnv(t)
	conf := e.writeConf(t, "p", "stomp://"+e.stompAddr, e.etcdURL+"/v2/keys/jti/")
	cut := time.Now().Add(-time.Hour).Truncate(time.Second)
	iss := "https://localhost:9443/oauth2/token"
	for _, tc := range []struct {
		args  []string
		kind  revocation.RuleKind
		key   string
		etcd  string
		ttl   time.Duration
		exact bool // the cut is the one given
	}{
		{[]string{"--sub", "alice", "--before", cut.UTC().Format(time.RFC3339), "--ttl", "2h"}, revocation.RuleSubject, "alice", "revocation-rules/sub/alice", 2 * time.Hour, true},
		{[]string{"--client", "app-1", "--before", strconv.FormatInt(cut.Unix(), 10)}, revocation.RuleClient, "app-1", "revocation-rules/client/app-1", 24 * time.Hour, true},
		{[]string{"--issuer", iss}, revocation.RuleIssuer, iss, "revocation-rules/iss/" + url.PathEscape(iss), 24 * time.Hour, false},
		{[]string{"--email", "dana@example.com", "--ttl", "3600"}, revocation.RuleEmail, "dana@example.com", "revocation-rules/email/dana@example.com", time.Hour, false},
	} {
		before := time.Now()
		stdout, stderr, err := e.run(t, "", append([]string{"--config", conf}, tc.args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr)
		}
		if lines := strings.Split(strings.TrimSpace(stdout), "\n"); len(lines) != 2 ||
			!strings.HasPrefix(lines[0], "published revocation rule for "+tc.kind.String()) ||
			!strings.Contains(lines[1], "etcd key "+tc.etcd) {
			t.Errorf("%v: stdout:\n%s", tc.args, stdout)
		}
		m, err := revocation.DecodeMessage(e.next(t).Body, nil)
		if err != nil || m.Rule.Kind != tc.kind || m.Rule.Key != tc.key || m.Rule.TTL != tc.ttl {
			t.Errorf("%v: published %+v, %v", tc.args, m.Rule, err)
		}
		if tc.exact && !m.Rule.IssuedBefore.Equal(cut) {
			t.Errorf("%v: cut %v, want %v", tc.args, m.Rule.IssuedBefore, cut)
		}
		if !tc.exact && (m.Rule.IssuedBefore.Before(before.Truncate(time.Second)) || m.Rule.IssuedBefore.After(time.Now().Add(time.Second))) {
			t.Errorf("%v: default cut %v is not now", tc.args, m.Rule.IssuedBefore)
		}
		v, lease := e.lease(t, tc.etcd)
		if string(revocation.EncodeRuleEtcdValue(m.Rule)) != v || lease < int64(tc.ttl/time.Second) {
			t.Errorf("%v: etcd value %s lease %ds", tc.args, v, lease)
		}
	}
}

// TestRevokeCertificate: --cert takes a certificate file (PEM or DER) or
// its fingerprint (colons and capitals allowed, as openssl prints it) and
// publishes a certificate rule without issuedBefore, stored at cert/<hex>.
func TestRevokeCertificate(t *testing.T) {
	e := newEnv(t)
	conf := e.writeConf(t, "p", "stomp://"+e.stompAddr, e.etcdURL+"/v2/keys/jti/")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := authtest.SelfSigned(t, key, "client")
	fp := revocation.CertificateFingerprint(cert.Raw)
	dir := t.TempDir()
	pemFile, derFile := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.der")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(derFile, cert.Raw, 0o600); err != nil {
		t.Fatal(err)
	}
	var colons []string
	for i := 0; i < len(fp); i += 2 {
		colons = append(colons, strings.ToUpper(fp[i:i+2]))
	}
	for _, arg := range []string{pemFile, derFile, fp, strings.Join(colons, ":")} {
		stdout, stderr, err := e.run(t, "", "--config", conf, "--cert", arg, "--ttl", "2h")
		if err != nil {
			t.Fatalf("--cert %s: %v\n%s", arg, err, stderr)
		}
		if !strings.Contains(stdout, "revocation of the client certificate "+fp) || !strings.Contains(stdout, "etcd key revocation-rules/cert/"+fp) {
			t.Errorf("--cert %s: stdout:\n%s", arg, stdout)
		}
		body := e.next(t).Body
		if string(body) != `{"revokedCertificate":"`+fp+`","ttl":7200}` {
			t.Errorf("--cert %s: published %s", arg, body)
		}
		if v, lease := e.lease(t, "revocation-rules/cert/"+fp); v != `{"ttl":7200}` || lease < 7200 {
			t.Errorf("--cert %s: etcd value %s lease %ds", arg, v, lease)
		}
	}
	f := &factory.Factory{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	refuseFlags(t, f, [][]string{
		{"--config", "c", "--cert", pemFile, "--before", "1764300000"},
		{"--config", "c", "--cert", pemFile, "--sub", "alice"},
		{"--config", "c", "--cert", filepath.Join(dir, "absent.crt")},
		{"--config", "c", "--cert", conf}, // not a certificate
		{"--config", "c", "--cert", fp[:40]},
	})
}

func TestRevokeRuleFlags(t *testing.T) {
	f := &factory.Factory{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	var got *RevokeOptions
	cmd := NewCmdRevoke(f, func(o *RevokeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--config", "c", "--client", "app", "--before", "1764300000", "--ttl", "3h"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if k, key := got.rule(); k != revocation.RuleClient || key != "app" || got.Before != "1764300000" || got.TTL != 3*time.Hour {
		t.Errorf("options = %+v", got)
	}
	refuseFlags(t, f, [][]string{
		{"--config", "c", "--sub", "a", "--client", "b"},
		{"--config", "c", "--email", "a@b", "--issuer", "i"},
		{"--config", "c", "--sub", "a", "--jti", "j"},
		{"--config", "c", "--jti", "j", "--before", "1764300000"},
		{"--config", "c", "--sub", "a", "--before", "yesterday"},
		{"--config", "c", "--issuer", "i", "--ttl", "0"},
	})
}
