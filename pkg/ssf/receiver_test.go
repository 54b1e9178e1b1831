package ssf_test

import (
	"context"
	"crypto/rsa"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/golang-jwt/jwt/v5"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/micro-gw/micro-gw/internal/revocationtest"
	"github.com/micro-gw/micro-gw/pkg/devservices/stompbroker"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/ssf"
	"github.com/micro-gw/micro-gw/pkg/ssf/ssftest"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

const testAud = "https://sp.example.com/caep"

// sides are a real broker (go-stomp's server) and a real etcd (embedded)
// and the Revoker of `micro-gw revoke` over them.
type sides struct {
	rev  *tokenservice.Revoker
	sub  *stomp.Subscription
	etcd *clientv3.Client
}

func newSides(t *testing.T) *sides {
	endpoint, cli := etcdtest.Start(t)
	broker, err := stompbroker.Start("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close() })
	rc := config.Revocation{
		Realtime:   config.Realtime{Enabled: true, Topic: "tokenRevocation", ProviderURL: "stomp://" + broker.Addr()},
		Persistent: config.Persistent{Enabled: true, UseDefault: true, Hostname: endpoint + "/v2/keys/jti/"},
	}
	rev, err := tokenservice.FromConfig(rc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rev.Close)
	return &sides{rev: rev, sub: revocationtest.Subscribe(t, broker.Addr(), "tokenRevocation"), etcd: cli}
}

func newTestReceiver(t *testing.T, tx *ssftest.Transmitter, sd *sides, stateFile string, push string, use ...func(*ssf.Receiver)) *ssf.Receiver {
	t.Helper()
	st, err := ssf.LoadState(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default().SSF
	c.Transmitter, c.AuthorizationHeader, c.Audience = tx.URL, "Bearer tx-token", testAud
	c.RuleTTL, c.PollInterval = time.Hour, 100*time.Millisecond
	if push != "" {
		c.Delivery, c.PushEndpointURL, c.PushAuthorizationHeader = "push", push, "Bearer push-secret"
	}
	r, err := ssf.NewReceiver(ssf.Config{SSF: c, Issuers: []string{"https://localhost:9443/oauth2/token"}, State: st,
		Revoker: sd.rev})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range use {
		u(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// The CAEP 1.0 example subject and time.
var (
	exampleSubject = map[string]any{"format": "opaque", "id": "dMTlD|1600802906337.16|16008.16"}
	exampleTime    = int64(1615304991)
)

// expectRule reads the rule the broker carried and checks the etcd key.
func (sd *sides) expectRule(t *testing.T, kind revocation.RuleKind, key string, cut int64) {
	t.Helper()
	m, err := revocation.DecodeMessage(revocationtest.Next(t, sd.sub).Body, nil)
	if err != nil || m.Rule.Kind != kind || m.Rule.Key != key || m.Rule.IssuedBefore.Unix() != cut || m.Rule.TTL != time.Hour {
		t.Fatalf("published %+v, %v; want a %s rule for %q cut at %d", m.Rule, err, kind, key, cut)
	}
	if _, _, ok := revocationtest.Key(t, sd.etcd, revocation.DefaultRulesPrefix+revocation.RuleEtcdKey(kind, key)); !ok {
		t.Fatalf("etcd has no key for the %s rule %q", kind, key)
	}
}

// expectNothing checks that no rule was published for a while.
func (sd *sides) expectNothing(t *testing.T, what string) {
	t.Helper()
	select {
	case m := <-sd.sub.C:
		t.Errorf("%s: a message was published: %s", what, m.Body)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestPollDelivery: the receiver creates its stream, asks for and
// acknowledges the verification event, turns the specification's
// session-revoked example into a subject rule stored on both sides before
// acknowledging it, refuses a SET with a bad signature, a wrong aud, a wrong
// iss or an unknown event with RFC 8935's codes (setErrs) and revokes
// nothing for them; restarted on the same state file, it reuses the stream
// and acknowledges a SET delivered again without revoking twice.
func TestPollDelivery(t *testing.T) {
	sd := newSides(t)
	tx := ssftest.NewTransmitter(t, testAud)
	stateFile := filepath.Join(t.TempDir(), ssf.StateFileName)
	r := newTestReceiver(t, tx, sd, stateFile, "")
	ctx := context.Background()
	poll := func() {
		t.Helper()
		if _, _, err := r.PollOnce(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}

	revoked := tx.Set(t, "24c63fb56e5a2d77a6b512616ca9fa24", ssf.EventSessionRevoked,
		map[string]any{"event_timestamp": exampleTime}, exampleSubject, nil)
	tx.Deliver(t, revoked)
	var errs map[string]ssf.SetError
	var err error
	if _, errs, err = r.PollOnce(ctx, nil); err != nil {
		t.Fatal(err)
	}
	sd.expectRule(t, revocation.RuleSubject, "dMTlD|1600802906337.16|16008.16", exampleTime+1)
	if _, _, err := r.PollOnce(ctx, errs); err != nil { // sends the acks
		t.Fatal(err)
	}
	acked := strings.Join(tx.Acked(), ",")
	if !strings.Contains(acked, "24c63fb56e5a2d77a6b512616ca9fa24") || !strings.Contains(acked, "verify-") {
		t.Errorf("acknowledged %s; want the event and the verification", acked)
	}

	// SETs that must change nothing.
	bad := map[string]struct {
		set  string
		code string
	}{
		"bad-sig": {tx.Set(t, "bad-sig", ssf.EventSessionRevoked, map[string]any{}, exampleSubject,
			func(_ jwt.MapClaims, k **rsa.PrivateKey) { *k = tx.Other }), "invalid_key"},
		"bad-aud": {tx.Set(t, "bad-aud", ssf.EventSessionRevoked, map[string]any{}, exampleSubject,
			func(c jwt.MapClaims, _ **rsa.PrivateKey) { c["aud"] = "https://someone-else" }), "invalid_audience"},
		"bad-iss": {tx.Set(t, "bad-iss", ssf.EventSessionRevoked, map[string]any{}, exampleSubject,
			func(c jwt.MapClaims, _ **rsa.PrivateKey) { c["iss"] = "https://idp.example.com/123456789/" }), "invalid_issuer"},
		"unknown": {tx.Set(t, "unknown", "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change",
			map[string]any{"current_status": "not-compliant"}, exampleSubject, nil), "invalid_request"},
	}
	for _, b := range bad {
		tx.Deliver(t, b.set)
	}
	if _, errs, err = r.PollOnce(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.PollOnce(ctx, errs); err != nil {
		t.Fatal(err)
	}
	sd.expectNothing(t, "refused SETs")
	for jti, b := range bad {
		if got := tx.SetErr(jti).Err; got != b.code {
			t.Errorf("SET %s: setErr %q, want %q", jti, got, b.code)
		}
	}

	// A restart: the stream is reused, a SET delivered again is acknowledged, not applied twice.
	r2 := newTestReceiver(t, tx, sd, stateFile, "")
	created := tx.Created()
	tx.Requeue("24c63fb56e5a2d77a6b512616ca9fa24", revoked)
	if created != 1 {
		t.Errorf("%d streams created across a restart, want 1", created)
	}
	r = r2
	poll()
	poll()
	sd.expectNothing(t, "a SET delivered again after a restart")
	if left := tx.Queued(); left != 0 {
		t.Errorf("%d SETs still unacknowledged after the restart", left)
	}
}

// TestPushDelivery: RFC 8935's answers: 202 once the revocation is stored
// (an email subject becomes an email rule), 400 with invalid_key,
// invalid_audience, invalid_issuer or invalid_request for a SET refused, 401
// without the push Authorization; the refused ones revoke nothing.
func TestPushDelivery(t *testing.T) {
	sd := newSides(t)
	tx := ssftest.NewTransmitter(t, testAud)
	var r atomic.Pointer[ssf.Receiver]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.Load().ServeHTTP(w, req) }))
	defer srv.Close()
	newTestReceiver(t, tx, sd, filepath.Join(t.TempDir(), ssf.StateFileName), srv.URL+ssf.PushPath, func(rc *ssf.Receiver) { r.Store(rc) })
	push := srv.URL + ssf.PushPath

	email := tx.Set(t, "e-1", ssf.EventCredentialChange, map[string]any{"credential_type": "password", "change_type": "update", "event_timestamp": exampleTime},
		map[string]any{"format": "email", "email": "user@example.com"}, nil)
	if code := tx.Push(t, push, "Bearer push-secret", email); code != http.StatusAccepted {
		t.Fatalf("a good SET: %d, want 202", code)
	}
	sd.expectRule(t, revocation.RuleEmail, "user@example.com", exampleTime+1)
	if code := tx.Push(t, push, "Bearer push-secret", email); code != http.StatusAccepted {
		t.Errorf("the same SET again: %d, want 202", code)
	}
	sd.expectNothing(t, "a SET pushed twice")

	for _, tc := range []struct {
		name, auth string
		set        string
		code       int
	}{
		{"bad signature", "Bearer push-secret", tx.Set(t, "p-sig", ssf.EventSessionRevoked, map[string]any{}, exampleSubject,
			func(_ jwt.MapClaims, k **rsa.PrivateKey) { *k = tx.Other }), 400},
		{"wrong aud", "Bearer push-secret", tx.Set(t, "p-aud", ssf.EventSessionRevoked, map[string]any{}, exampleSubject,
			func(c jwt.MapClaims, _ **rsa.PrivateKey) { c["aud"] = []any{"https://a", "https://b"} }), 400},
		{"unknown event", "Bearer push-secret", tx.Set(t, "p-ev", "https://example.com/event-type/other", map[string]any{}, exampleSubject, nil), 400},
		{"no authorization", "", email, 401},
		{"wrong authorization", "Bearer nope", email, 401},
	} {
		if code := tx.Push(t, push, tc.auth, tc.set); code != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.code)
		}
	}
	sd.expectNothing(t, "refused pushes")
}
