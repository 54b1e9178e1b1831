package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

// TestRevocationRuleByEmail: an email rule in etcd refuses the tokens whose
// email claim is the address, in any case, issued before the cut, cached or
// not; a token issued after the cut, or with another address, passes.
func TestRevocationRuleByEmail(t *testing.T) {
	srv := etcdtest.StartServer(t)
	ctx := context.Background()
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	p := &cfg.Revocation.Persistent
	p.Enabled, p.UseDefault = true, true
	p.Hostname = srv.Endpoint + "/v2/keys/jti/"
	p.Username, p.Password = "", ""

	cut := time.Now().Add(-10 * time.Minute)
	tok := func(email string, iat time.Time) string {
		return iss.Token(t, map[string]any{"email": email, "iat": iat.Unix(), "jti": authtest.NewJTI()})
	}
	before := []string{tok("dana@example.com", cut.Add(-time.Minute)), tok("Dana@Example.com", cut.Add(-time.Hour))}
	after, other := tok("dana@example.com", time.Now()), tok("erin@example.com", cut.Add(-time.Minute))

	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, s)
	url := s.testURL("http", "/petstore/v1/pet/1")
	for _, tk := range append(before, after, other) {
		if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+tk); resp.StatusCode != 200 {
			t.Fatalf("before any rule: %d %s", resp.StatusCode, body)
		}
	}
	pub, err := revocation.DialEtcdPublisher(ctx, revocation.EtcdConfig{Hostname: p.Hostname})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.RevokeRule(ctx, revocation.RuleNotice{Kind: revocation.RuleEmail, Key: "DANA@example.com", IssuedBefore: cut, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.revocation.rules.Len() == 1 })
	for i, tk := range before {
		if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+tk); resp.StatusCode != 401 || body != invalidCredentialsBody {
			t.Errorf("token %d with the revoked email, issued before the cut: %d %s", i, resp.StatusCode, body)
		}
	}
	for _, tk := range []string{after, other} {
		if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+tk); resp.StatusCode != 200 {
			t.Errorf("a token the email rule does not name: %d %s", resp.StatusCode, body)
		}
	}
}
