package tokenservice

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/revocationtest"
	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// TestRevokeRuleBothSides: a rule reaches the topic (as the gateway's
// subscriber decodes it) and etcd (key under the rules prefix, value
// {"issuedBefore","ttl"}, a lease that lasts until its tokens have expired),
// with the cut now and the default ttl of a day when none are given.
func TestRevokeRuleBothSides(t *testing.T) {
	s := startServices(t)
	r := newRevoker(t, s.revocationConf())
	now := time.Unix(time.Now().Unix(), 0)
	r.Now = func() time.Time { return now.Add(300 * time.Millisecond) }

	res, err := r.RevokeRule(context.Background(), RuleRequest{Kind: revocation.RuleSubject, Key: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	cut := now.Add(time.Second)
	if !res.Rule.IssuedBefore.Equal(cut) || res.Rule.TTL != DefaultRuleTTL {
		t.Errorf("rule = %+v, want the cut at the next whole second and a ttl of %v", res.Rule, DefaultRuleTTL)
	}
	if len(res.Done) != 2 || !strings.Contains(res.Done[0], "published revocation rule for subject \"alice\"") ||
		!strings.Contains(res.Done[1], "etcd key revocation-rules/sub/alice") {
		t.Errorf("report:\n%s", strings.Join(res.Done, "\n"))
	}
	m, err := revocation.DecodeMessage(revocationtest.Next(t, s.sub).Body, nil)
	if err != nil || m.Rule.Kind != revocation.RuleSubject || m.Rule.Key != "alice" || !m.Rule.IssuedBefore.Equal(cut) || m.Rule.TTL != DefaultRuleTTL {
		t.Errorf("published %+v, %v", m.Rule, err)
	}
	value, lease, ok := s.key(t, "revocation-rules/sub/alice")
	if !ok || value != `{"issuedBefore":`+strconv.FormatInt(cut.Unix(), 10)+`,"ttl":86400}` {
		t.Errorf("etcd value %q (present %v)", value, ok)
	}
	if lease < 86400 {
		t.Errorf("lease of %ds, want at least the ttl", lease)
	}
}

// TestRevokeCertificateRuleForm: the development token service's
// /revoke/rules takes certificate= (a fingerprint) and revokes it on both
// sides, with no cut.
func TestRevokeCertificateRuleForm(t *testing.T) {
	s := startServices(t)
	r := newRevoker(t, s.revocationConf())
	fp := revocation.CertificateFingerprint([]byte("client certificate"))
	req, err := ruleRequestFromForm(url.Values{"certificate": {fp}, "ttl": {"3600"}}.Get)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.RevokeRule(context.Background(), req)
	if err != nil || !res.Rule.IssuedBefore.IsZero() {
		t.Fatalf("RevokeRule = %+v, %v", res.Rule, err)
	}
	m, err := revocation.DecodeMessage(revocationtest.Next(t, s.sub).Body, nil)
	if err != nil || m.Rule != (revocation.RuleNotice{Kind: revocation.RuleCertificate, Key: fp, TTL: time.Hour}) {
		t.Errorf("published %+v, %v", m.Rule, err)
	}
	if value, lease, ok := s.key(t, "revocation-rules/cert/"+fp); !ok || value != `{"ttl":3600}` || lease < 3600 {
		t.Errorf("etcd value %q lease %d (present %v)", value, lease, ok)
	}
	if _, err := ruleRequestFromForm(url.Values{"certificate": {fp}, "subject": {"alice"}}.Get); err == nil {
		t.Error("certificate and subject together were accepted")
	}
}

func TestRevokeRuleRefusesBadRules(t *testing.T) {
	r := NewRevoker(nil, unusedSide{t})
	for _, req := range []RuleRequest{
		{Kind: revocation.RuleSubject},
		{Kind: revocation.RuleNone, Key: "x"},
		{Kind: revocation.RuleClient, Key: "a\x01b"},
		{Kind: revocation.RuleCertificate, Key: "not a fingerprint"},
		{Kind: revocation.RuleCertificate, Key: revocation.CertificateFingerprint(nil), IssuedBefore: time.Now()},
	} {
		_, err := r.RevokeRule(context.Background(), req)
		var invalid *InvalidTokenError
		if !errors.As(err, &invalid) {
			t.Errorf("RevokeRule(%+v) = %v, want an InvalidTokenError", req, err)
		}
	}
}

func TestParseIssuedBeforeAndTTL(t *testing.T) {
	if got, err := ParseIssuedBefore("1764300000"); err != nil || got.Unix() != 1764300000 {
		t.Errorf("epoch: %v, %v", got, err)
	}
	if got, err := ParseIssuedBefore("2025-11-28T03:20:00Z"); err != nil || got.Unix() != 1764300000 {
		t.Errorf("RFC 3339: %v (%d), %v", got, got.Unix(), err)
	}
	for _, bad := range []string{"", "0", "yesterday", "2025-11-28"} {
		if _, err := ParseIssuedBefore(bad); err == nil {
			t.Errorf("ParseIssuedBefore(%q) accepted", bad)
		}
	}
	for in, want := range map[string]time.Duration{"3600": time.Hour, "24h": 24 * time.Hour, "1.5s": 2 * time.Second} {
		if got, err := ParseTTL(in); err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"0", "-5", "500ms", "forever", "999999999999"} {
		if _, err := ParseTTL(bad); err == nil {
			t.Errorf("ParseTTL(%q) accepted", bad)
		}
	}
}
