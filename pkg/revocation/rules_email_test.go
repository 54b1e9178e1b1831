package revocation

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

// TestEmailRuleTravelsAndMatches follows an email rule through each of its
// forms: the message (revokedEmail), the etcd key (email/<address>), and the
// match on a token's email claim, in any case.
func TestEmailRuleTravelsAndMatches(t *testing.T) {
	want := RuleNotice{RuleEmail, "Alice@Example.COM", ruleTestCut, time.Hour}
	for _, body := range []string{
		`{"revokedEmail":"Alice@Example.COM","issuedBefore":1764300000,"ttl":3600}`,
		`{"event":{"payloadData":{"revokedEmail":"Alice@Example.COM","issuedBefore":"1764300000","ttl":"3600"}}}`,
		`{"map":{"entry":[{"string":["revokedEmail","Alice@Example.COM"]},{"string":"issuedBefore","long":1764300000},{"string":["ttl",3600]}]}}`,
	} {
		m, err := DecodeMessage([]byte(body), nil)
		if err != nil || m.Rule != want {
			t.Errorf("DecodeMessage(%s) = %+v, %v; want %+v", body, m.Rule, err, want)
		}
	}
	headers := messageHeaders(map[string]string{"revokedEmail": "Alice@Example.COM", "issuedBefore": "1764300000", "ttl": "3600"})
	if m, err := DecodeMessage(nil, headers); err != nil || m.Rule != want {
		t.Errorf("the header form reads as %+v, %v", m.Rule, err)
	}
	if back, err := DecodeMessage(EncodeRuleNotice(want), nil); err != nil || back.Rule != want {
		t.Errorf("round trip = %+v, %v", back.Rule, err)
	}
	if _, err := DecodeMessage([]byte(`{"revokedEmail":"a@b","revokedSubject":"a","issuedBefore":1764300000}`), nil); !errors.Is(err, ErrInvalidNotice) {
		t.Errorf("two kinds in one message accepted: %v", err)
	}

	if rel := RuleEtcdKey(RuleEmail, "alice@example.com"); rel != "email/alice@example.com" {
		t.Errorf("etcd key = %q", rel)
	}
	if kind, key, err := parseRuleEtcdKey("email/bob@example.com"); err != nil || kind != RuleEmail || key != "bob@example.com" {
		t.Errorf("parseRuleEtcdKey = %v %q %v", kind, key, err)
	}

	rules := NewRuleSet()
	rules.RevokeRule(want.Rule(time.Now()))
	old := ruleTestCut.Add(-time.Minute).Unix()
	for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM"} {
		tok := &RuleToken{Subject: "someone", Email: email, IssuedAt: old, HasIssuedAt: true}
		if got := rules.Match(tok); got != RuleEmail {
			t.Errorf("a token with email %q issued before the cut: Match = %v, want email", email, got)
		}
	}
	recent := &RuleToken{Subject: "someone", Email: "alice@example.com", IssuedAt: ruleTestCut.Unix(), HasIssuedAt: true}
	if got := rules.Match(recent); got != RuleNone {
		t.Errorf("a token issued at the cut is refused (%v)", got)
	}
	other := &RuleToken{Subject: "alice@example.com", Email: "bob@example.com", IssuedAt: old, HasIssuedAt: true}
	if got := rules.Match(other); got != RuleNone {
		t.Errorf("an email rule matched another claim (%v)", got)
	}
	rules.UnrevokeRule(RuleEmail, "ALICE@example.com")
	if rules.Len() != 0 {
		t.Error("UnrevokeRule in another case did not remove the rule")
	}
}

// TestEtcdEmailRule: an email rule written by the publisher reaches a rule
// source through etcd, and its deletion lifts it.
func TestEtcdEmailRule(t *testing.T) {
	endpoint, _ := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := EtcdConfig{Hostname: endpoint + "/v2/keys/jti/"}
	pub, err := DialEtcdPublisher(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	n := RuleNotice{Kind: RuleEmail, Key: "carol@example.com", IssuedBefore: ruleTestCut, TTL: time.Hour}
	if err := pub.RevokeRule(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got := pub.RuleKey(RuleEmail, n.Key); got != DefaultRulesPrefix+"email/carol@example.com" {
		t.Errorf("key = %q", got)
	}
	src, _ := newTestRuleSource(t, endpoint)
	rules := Revocations{Tokens: NewSet(), Rules: NewRuleSet()}
	run := startStoreSource(t, src, rules)
	run.waitReady(t)
	tok := &RuleToken{Subject: "c", Email: "carol@example.com", IssuedAt: ruleTestCut.Unix() - 1, HasIssuedAt: true}
	if rules.Rules.Match(tok) != RuleEmail {
		t.Fatal("the email rule stored in etcd is not loaded")
	}
	if err := pub.UnrevokeRule(ctx, RuleEmail, n.Key); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for rules.Rules.Match(tok) != RuleNone {
		if time.Now().After(deadline) {
			t.Fatal("the deleted email rule still refuses")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
