package runtime

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

// TestRevocationRules runs the gateway against a real (embedded) etcd and the
// real STOMP server: a subject rule stored before the start, a client rule
// published to the topic (and stored, as the token service does), an issuer
// rule stored while the gateway runs. Each refuses two different tokens of
// its key issued before the cut, cached or not, and a token without iat;
// each accepts a token issued after the cut. A restarted gateway still
// refuses them all (the rules are persistent).
func TestRevocationRules(t *testing.T) {
	srv := etcdtest.StartServer(t)
	broker := startStomp(t)
	ctx := context.Background()
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	other := authtest.NewIssuer(t, authtest.WithName("https://other-idp/token"), authtest.WithAlias("other"),
		authtest.WithTrustStore(iss.TrustStore))
	cfg.JWT = append(cfg.JWT, other.JWTConfig())
	p := &cfg.Revocation.Persistent
	p.Enabled, p.UseDefault = true, true
	p.Hostname = srv.Endpoint + "/v2/keys/jti/"
	p.Username, p.Password = "", ""
	cfg.Revocation.Realtime.Enabled = true
	cfg.Revocation.Realtime.ProviderURL = "stomp://" + broker.addr

	now := time.Now()
	cut := now.Add(-10 * time.Minute)
	before1, before2, after := cut.Add(-time.Second).Unix(), cut.Add(-50*time.Minute).Unix(), now.Add(-time.Minute).Unix()

	etcdPub, err := revocation.DialEtcdPublisher(ctx, revocation.EtcdConfig{Hostname: p.Hostname})
	if err != nil {
		t.Fatal(err)
	}
	defer etcdPub.Close()
	rule := func(kind revocation.RuleKind, key string) revocation.RuleNotice {
		return revocation.RuleNotice{Kind: kind, Key: key, IssuedBefore: cut, TTL: 2 * time.Hour}
	}
	if err := etcdPub.RevokeRule(ctx, rule(revocation.RuleSubject, "alice")); err != nil {
		t.Fatal(err)
	}

	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, s)
	url := s.testURL("http", "/petstore/v1/pet/1")
	type probe struct {
		name string
		tok  string
	}
	tokens := func(claims map[string]any) (refused []probe, accepted probe) {
		with := func(iat any) map[string]any {
			m := map[string]any{"iat": iat, "jti": authtest.NewJTI()}
			for k, v := range claims {
				m[k] = v
			}
			return m
		}
		signer := iss
		if claims["iss"] == other.Name {
			signer = other
		}
		return []probe{
				{"issued before the cut", signer.Token(t, with(before1))},
				{"issued long before the cut", signer.Token(t, with(before2))},
				{"without iat", signer.Token(t, with(nil))},
			},
			probe{"issued after the cut", signer.Token(t, with(after))}
	}
	check := func(what string, refused []probe, accepted probe) {
		t.Helper()
		for _, pr := range refused {
			if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+pr.tok); resp.StatusCode != 401 || body != invalidCredentialsBody {
				t.Errorf("%s, token %s: %d %s, want the 900901 fault", what, pr.name, resp.StatusCode, body)
			}
		}
		if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+accepted.tok); resp.StatusCode != 200 {
			t.Errorf("%s, token %s: %d %s, want 200", what, accepted.name, resp.StatusCode, body)
		}
	}

	// Subject: stored before the start, loaded before ready.
	subRefused, subAccepted := tokens(map[string]any{"sub": "alice"})
	check("subject rule from etcd", subRefused, subAccepted)
	if resp, _ := do(t, "GET", url, nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"sub": "bob", "iat": before2})); resp.StatusCode != 200 {
		t.Errorf("another subject is refused: %d", resp.StatusCode)
	}

	// Client: the tokens are used (and cached) first, then the rule arrives
	// on the topic; azp, client_id and WSO2's consumerKey all name it.
	cliRefused, cliAccepted := tokens(map[string]any{"azp": "app-1"})
	cliRefused = append(cliRefused, probe{"with client_id", iss.Token(t, map[string]any{"client_id": "app-1", "iat": before1})},
		probe{"with consumerKey", iss.Token(t, map[string]any{"consumerKey": "app-1", "iat": before1})},
		probe{"with application.id", iss.Token(t, map[string]any{"application": map[string]any{"id": "app-1"}, "iat": before1})})
	for _, pr := range cliRefused {
		if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+pr.tok); resp.StatusCode != 200 {
			t.Fatalf("client token %s before the rule: %d %s", pr.name, resp.StatusCode, body)
		}
	}
	pub, err := revocation.DialBrokerPublisher(ctx, revocation.BrokerConfig{URL: "stomp://" + broker.addr, Topic: cfg.Revocation.Realtime.Topic, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.PublishRule(ctx, rule(revocation.RuleClient, "app-1")); err != nil {
		t.Fatal(err)
	}
	if err := etcdPub.RevokeRule(ctx, rule(revocation.RuleClient, "app-1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.revocation.rules.Len() == 2 })
	check("client rule from the topic, tokens cached", cliRefused, cliAccepted)

	// Issuer: stored while the gateway runs, reaches it through the watch.
	issRefused, issAccepted := tokens(map[string]any{"iss": other.Name})
	if err := etcdPub.RevokeRule(ctx, rule(revocation.RuleIssuer, other.Name)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.revocation.rules.Len() == 3 })
	check("issuer rule through the etcd watch", issRefused, issAccepted)
	if resp, _ := do(t, "GET", url, nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"iat": before2})); resp.StatusCode != 200 {
		t.Errorf("a token of the other issuer is refused: %d", resp.StatusCode)
	}

	// A restarted gateway loads every rule from etcd before it is ready.
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, s)
	url = s.testURL("http", "/petstore/v1/pet/1")
	if n := s.revocation.rules.Len(); n != 3 {
		t.Fatalf("after the restart the gateway holds %d rules, want 3", n)
	}
	if _, metrics := do(t, "GET", s.testURL("admin", "/metrics"), nil); !strings.Contains(metrics, "\nmicrogw_revocation_rules 3\n") {
		t.Errorf("metrics lack microgw_revocation_rules 3")
	}
	check("subject rule after a restart", subRefused, subAccepted)
	check("client rule after a restart", cliRefused, cliAccepted)
	check("issuer rule after a restart", issRefused, issAccepted)

	// Deleting a rule's key accepts its tokens again.
	if err := etcdPub.UnrevokeRule(ctx, revocation.RuleSubject, "alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.revocation.rules.Len() == 2 })
	for _, pr := range subRefused {
		if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+pr.tok); resp.StatusCode != 200 {
			t.Errorf("after the subject rule was deleted, %s: %d %s", pr.name, resp.StatusCode, body)
		}
	}
}

// TestRevocationRulesCachedPathDoesNotAllocate: the rule check on the
// request path allocates nothing, with rules loaded and a token that matches
// none of them.
func TestRevocationRulesCheckDoesNotAllocate(t *testing.T) {
	rs := revocation.NewRuleSet()
	for i := range 1000 {
		rs.RevokeRule(revocation.Rule{Kind: revocation.RuleSubject, Key: authtest.NewJTI(), IssuedBefore: time.Now().Add(time.Duration(i) * time.Second)})
	}
	c := &claimsCredential{Subject: "admin", Client: "app", Issuer: "https://idp", IssuedAt: time.Now()}
	var cred credential = c
	rv := &revocationRuntime{set: revocation.NewSet(), rules: rs}
	if n := testing.AllocsPerRun(100, func() {
		if cred.revokedBy(rv) != "" {
			t.Fatal("revoked")
		}
	}); n != 0 {
		t.Errorf("the rule check allocates %v times", n)
	}
}
