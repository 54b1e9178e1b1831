package tokenservice

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

func newRevoker(t *testing.T, rev config.Revocation) *Revoker {
	t.Helper()
	r, err := FromConfig(rev, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// TestRevokeJTIBothSides: a bare jti reaches the topic (as the gateway's
// subscriber decodes it) and etcd (key jti/<jti>, value the ttl, a lease of
// the ttl), with the default ttl of one hour.
func TestRevokeJTIBothSides(t *testing.T) {
	s := startServices(t)
	r := newRevoker(t, s.revocationConf())
	jti := uniqueJTI("bare")

	res, err := r.Revoke(context.Background(), Request{JTI: jti})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"published revocation of jti " + jti + " to stomp://" + s.stompAddr + " topic tokenRevocation",
		"stored revocation of jti " + jti + " in etcd key jti/" + jti + " at " + s.etcdEndpoint + " with a lease of 3600s",
	}
	if strings.Join(res.Done, "\n") != strings.Join(want, "\n") {
		t.Errorf("report:\n%s\nwant:\n%s", strings.Join(res.Done, "\n"), strings.Join(want, "\n"))
	}
	if n := s.nextNotice(t); n.JTI != jti || n.TTL != time.Hour {
		t.Errorf("published notice = %+v, want jti %s ttl 1h", n, jti)
	}
	value, lease, ok := s.key(t, "jti/"+jti)
	if !ok {
		t.Fatalf("no etcd key jti/%s", jti)
	}
	if value != "3600" || lease != 3600 {
		t.Errorf("etcd key = %q with a lease of %ds, want \"3600\" with 3600s", value, lease)
	}
}

// TestRevokeJWTUsesRemainingLifetime: a whole JWT is keyed by its jti and
// its revocation lasts as long as the token has left.
func TestRevokeJWTUsesRemainingLifetime(t *testing.T) {
	s := startServices(t)
	r := newRevoker(t, s.revocationConf())
	iat := time.Now().Truncate(time.Second)
	jti := uniqueJTI("jwt")
	tok := jwtFor(t, jti, iat, 10*time.Minute)
	r.Now = func() time.Time { return iat.Add(time.Minute) }

	res, err := r.Revoke(context.Background(), Request{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	if res.TTL != 9*time.Minute+revocation.ExpiryLeeway || res.Token.JTI != jti || !res.Token.IsJWT {
		t.Errorf("result = %+v, want jti %s and ttl 10m (9m left, and the gateways' 60s leeway)", res, jti)
	}
	for _, line := range res.Done {
		if strings.Contains(line, tok) {
			t.Errorf("the report shows the whole token: %s", line)
		}
	}
	if n := s.nextNotice(t); n.JTI != jti || n.TTL != 9*time.Minute+revocation.ExpiryLeeway {
		t.Errorf("published notice = %+v, want jti %s ttl 10m", n, jti)
	}
	if value, lease, ok := s.key(t, "jti/"+jti); !ok || value != "600" || lease != 600 {
		t.Errorf("etcd key jti/%s = %q lease %d (present %v), want \"600\" with 600s", jti, value, lease, ok)
	}

	// An explicit ttl wins over the token's lifetime.
	res, err = r.Revoke(context.Background(), Request{Token: tok, TTL: 2 * time.Hour})
	if err != nil || res.TTL != 2*time.Hour {
		t.Fatalf("explicit ttl: %+v, %v", res, err)
	}
	if n := s.nextNotice(t); n.TTL != 2*time.Hour {
		t.Errorf("notice ttl = %s, want 2h", n.TTL)
	}
}

// TestRevokeExpiredJWTDoesNothing: an expired token needs no revocation;
// nothing is stored and nothing published.
func TestRevokeExpiredJWTDoesNothing(t *testing.T) {
	s := startServices(t)
	r := newRevoker(t, s.revocationConf())
	jti := uniqueJTI("expired")
	tok := jwtFor(t, jti, time.Now().Add(-2*time.Hour), time.Hour)

	res, err := r.Revoke(context.Background(), Request{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Expired || len(res.Done) != 0 {
		t.Errorf("result = %+v, want Expired and nothing done", res)
	}
	if res, err := r.Revoke(context.Background(), Request{Token: tok, TTL: time.Hour}); err != nil || !res.Expired {
		t.Errorf("with an explicit ttl: %+v, %v; want Expired all the same", res, err)
	}
	if _, _, ok := s.key(t, "jti/"+jti); ok {
		t.Errorf("an expired token was stored in etcd")
	}
	// The next message on the topic is the next revocation: nothing was
	// published for the expired one in between.
	next := uniqueJTI("next")
	if _, err := r.Revoke(context.Background(), Request{JTI: next}); err != nil {
		t.Fatal(err)
	}
	if n := s.nextNotice(t); n.JTI != next {
		t.Errorf("next message is for %q, want %q: something was published for the expired token", n.JTI, next)
	}
}

// TestRevokeUnreachableSide: an unreachable etcd is an error naming it, and
// the broker side is still done.
func TestRevokeUnreachableSide(t *testing.T) {
	s := startServices(t)
	rev := s.revocationConf()
	rev.Persistent.Hostname = "http://" + deadAddr(t) + "/v2/keys/jti/"
	r := newRevoker(t, rev)
	r.SideTimeout = 5 * time.Second
	jti := uniqueJTI("half")

	res, err := r.Revoke(context.Background(), Request{JTI: jti})
	if err == nil {
		t.Fatal("no error with etcd unreachable")
	}
	if !strings.Contains(err.Error(), "etcd http://") {
		t.Errorf("error does not name the etcd side: %v", err)
	}
	if len(res.Done) != 1 || !strings.HasPrefix(res.Done[0], "published revocation of jti "+jti) {
		t.Errorf("done = %q, want the broker's line", res.Done)
	}
	if n := s.nextNotice(t); n.JTI != jti {
		t.Errorf("notice for %q, want %q", n.JTI, jti)
	}

	// And the other way round: a dead broker, a live etcd.
	rev = s.revocationConf()
	rev.Realtime.ProviderURL = "stomp://" + deadAddr(t)
	r = newRevoker(t, rev)
	res, err = r.Revoke(context.Background(), Request{JTI: jti + "-2"})
	if err == nil || !strings.Contains(err.Error(), "broker stomp://") {
		t.Errorf("error = %v, want one naming the broker", err)
	}
	if len(res.Done) != 1 || !strings.HasPrefix(res.Done[0], "stored revocation of jti "+jti+"-2") {
		t.Errorf("done = %q, want the etcd line", res.Done)
	}
	if _, _, ok := s.key(t, "jti/"+jti+"-2"); !ok {
		t.Error("etcd side not done while the broker was down")
	}
}

func TestRevokeOneSideOnly(t *testing.T) {
	s := startServices(t)
	rev := s.revocationConf()
	rev.Realtime.Enabled = false
	r := newRevoker(t, rev)
	jti := uniqueJTI("etcd-only")
	res, err := r.Revoke(context.Background(), Request{JTI: jti, TTL: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Done) != 1 || !strings.HasPrefix(res.Done[0], "stored revocation of jti "+jti+" in etcd key jti/"+jti) {
		t.Errorf("done = %q", res.Done)
	}
	if v, lease, ok := s.key(t, "jti/"+jti); !ok || v != "90" || lease != 90 {
		t.Errorf("key = %q lease %d present %v", v, lease, ok)
	}
}

func TestFromConfigErrors(t *testing.T) {
	off := config.Default().Revocation
	if _, err := FromConfig(off, nil, nil); err == nil || !strings.Contains(err.Error(), "revocation is off") {
		t.Errorf("both off: %v", err)
	}
	custom := config.Default().Revocation
	custom.Persistent.Enabled, custom.Persistent.UseDefault = true, false
	if _, err := FromConfig(custom, nil, nil); err == nil || !strings.Contains(err.Error(), "custom") {
		t.Errorf("custom store only: %v", err)
	}
	custom.Realtime.Enabled = true
	custom.Realtime.ProviderURL = "stomp://127.0.0.1:61613"
	r, err := FromConfig(custom, nil, nil)
	if err != nil {
		t.Fatalf("broker plus custom store: %v", err)
	}
	if len(r.Sides()) != 1 || len(r.Notes) != 1 {
		t.Errorf("sides %d notes %q, want the broker and a note on the custom store", len(r.Sides()), r.Notes)
	}
	badHost := config.Default().Revocation
	badHost.Persistent.Enabled = true
	badHost.Persistent.Hostname = "http://127.0.0.1:2379/v2/keys/"
	if _, err := FromConfig(badHost, nil, nil); err == nil || !strings.Contains(err.Error(), "hostname") {
		t.Errorf("hostname without prefix: %v", err)
	}
	badURL := config.Default().Revocation
	badURL.Realtime.Enabled = true
	badURL.Realtime.ProviderURL = "ftp://x"
	if _, err := FromConfig(badURL, nil, nil); err == nil {
		t.Error("an ftp:// broker URL accepted")
	}
}

func TestRevokeRefusesUnrevocableTokens(t *testing.T) {
	r := NewRevoker(nil, unusedSide{t})
	for _, tok := range []string{"", "a b", "e30.!!!.y", "e30.e30.sig" /* {} has no jti */} {
		_, err := r.Revoke(context.Background(), Request{Token: tok})
		var invalid *InvalidTokenError
		if !errors.As(err, &invalid) {
			t.Errorf("%q: err = %v, want an InvalidTokenError", tok, err)
		}
	}
}

// unusedSide fails the test if a revocation reaches it.
type unusedSide struct{ t *testing.T }

func (u unusedSide) Name() string { return "unused" }
func (u unusedSide) Revoke(context.Context, string, time.Duration) (string, error) {
	u.t.Error("a side was called for a token that cannot be revoked")
	return "", nil
}
func (unusedSide) Close() {}

// A Revoker with no side, or none that takes rules and blocking
// conditions (a status list of tokens alone), says so instead of reporting
// a revocation that went nowhere as done.
func TestNothingSentWhereNoSideTakesIt(t *testing.T) {
	ctx := context.Background()
	if _, err := NewRevoker(nil).Revoke(ctx, Request{JTI: "j-1"}); err == nil || !strings.Contains(err.Error(), "no revocation side is configured") {
		t.Errorf("Revoke without sides: %v", err)
	}
	r := NewRevoker(nil, unusedSide{t})
	_, err := r.RevokeRule(ctx, RuleRequest{Kind: revocation.RuleSubject, Key: "alice"})
	if err == nil || !strings.Contains(err.Error(), "no configured revocation side takes this (there is only unused)") {
		t.Errorf("RevokeRule with a side of tokens alone: %v", err)
	}
	_, err = r.Block(ctx, BlockRequest{Kind: revocation.BlockIP, Value: "10.1.2.3"})
	if err == nil || !strings.Contains(err.Error(), "no configured revocation side takes this") {
		t.Errorf("Block with a side of tokens alone: %v", err)
	}
}
