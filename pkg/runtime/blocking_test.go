package runtime

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

// TestBlockingConditions runs the gateway against a real (embedded) etcd and the real STOMP
// server: an ip condition published to the topic blocks the address X-Forwarded-For names
// through a trusted proxy (unsecured resources too); a user condition stored in etcd blocks that
// user's tokens and no other; an application condition, an iprange and an api condition; each
// lifted the way it came, and what etcd holds survives a restart of the gateway.
func TestBlockingConditions(t *testing.T) {
	srv := etcdtest.StartServer(t)
	broker := startStomp(t)
	ctx := context.Background()
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	p := &cfg.Revocation.Persistent
	p.Enabled, p.UseDefault = true, true
	p.Hostname = srv.Endpoint + "/v2/keys/jti/"
	p.Username, p.Password = "", ""
	cfg.Revocation.Realtime.Enabled = true
	cfg.Revocation.Realtime.ProviderURL = "stomp://" + broker.addr
	cfg.Throttling.TrustedProxies = []string{"127.0.0.1"}

	etcdPub, err := revocation.DialEtcdPublisher(ctx, revocation.EtcdConfig{Hostname: p.Hostname})
	if err != nil {
		t.Fatal(err)
	}
	defer etcdPub.Close()
	brokerPub, err := revocation.DialBrokerPublisher(ctx, revocation.BrokerConfig{URL: "stomp://" + broker.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer brokerPub.Close()
	if err := etcdPub.Block(ctx, revocation.BlockNotice{Kind: revocation.BlockUser, Value: "mallory", Enabled: true, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}

	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, s)
	secured, open := s.testURL("http", "/petstore/v1/pet/1"), s.testURL("http", "/petstore/v1/pet/findByStatus")
	alice, mallory := iss.Token(t, map[string]any{"sub": "alice", "azp": "app-a"}), iss.Token(t, map[string]any{"sub": "mallory"})
	call := func(url, tok, xff string) (*http.Response, string) {
		h := []string{}
		if tok != "" {
			h = append(h, "Authorization", "Bearer "+tok)
		}
		if xff != "" {
			h = append(h, "X-Forwarded-For", xff)
		}
		return do(t, "GET", url, nil, h...)
	}
	blocked := func(what, url, tok, xff string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, body := call(url, tok, xff)
			if resp.StatusCode == http.StatusForbidden {
				wantFault(t, resp, body, http.StatusForbidden, CodeBlocked)
				if !strings.Contains(body, `"message":"Message blocked"`) {
					t.Errorf("%s: %s", what, body)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not blocked after 10 s: %d %s", what, resp.StatusCode, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	passes := func(what, url, tok, xff string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, body := call(url, tok, xff)
			if resp.StatusCode == 200 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not served after 10 s: %d %s", what, resp.StatusCode, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	blocked("a user blocked in etcd before the start", secured, mallory, "")
	passes("another user", secured, alice, "")

	publish := func(n revocation.BlockNotice) {
		t.Helper()
		if err := brokerPub.PublishBlock(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	publish(revocation.BlockNotice{Kind: revocation.BlockIP, Value: "203.0.113.7", Enabled: true})
	blocked("the address named by a trusted proxy, secured", secured, alice, "198.51.100.1, 203.0.113.7")
	blocked("the address named by a trusted proxy, unsecured", open, "", "203.0.113.7")
	passes("another address", open, "", "203.0.113.8")
	publish(revocation.BlockNotice{Kind: revocation.BlockIP, Value: "203.0.113.7"})
	passes("the address once lifted", open, "", "203.0.113.7")

	publish(revocation.BlockNotice{Kind: revocation.BlockIPRange, Value: "10.0.0.0/8", Enabled: true, TTL: time.Hour})
	publish(revocation.BlockNotice{Kind: revocation.BlockApplication, Value: "app-a", Enabled: true})
	blocked("an address in a blocked range", open, "", "10.20.30.40")
	blocked("a blocked application", secured, alice, "")
	passes("a token of another application", secured, iss.Token(t, map[string]any{"sub": "alice", "azp": "app-b"}), "")
	if err := etcdPub.Block(ctx, revocation.BlockNotice{Kind: revocation.BlockAPI, Value: "/petstore/v1", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	blocked("a blocked API, unsecured resource", open, "", "192.0.2.1")
	for _, want := range []string{
		`microgw_blocked_requests_total{api="Swagger Petstore 1.0.0",kind="user"}`,
		`microgw_blocked_requests_total{api="Swagger Petstore 1.0.0",kind="iprange"}`,
		`microgw_blocking_conditions 4`,
		`microgw_revocation_source_ready{source="etcd-blocking"} 1`,
	} {
		if m := metricsText(t, s); !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// A restarted gateway knows what etcd holds (the user and the API), not what came over the
	// topic alone.
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, s)
	secured, open = s.testURL("http", "/petstore/v1/pet/1"), s.testURL("http", "/petstore/v1/pet/findByStatus")
	blocked("after the restart, the API blocked in etcd", open, "", "10.20.30.40")
	if err := etcdPub.Unblock(ctx, revocation.BlockAPI, "/petstore/v1"); err != nil {
		t.Fatal(err)
	}
	passes("after the restart, a range known from the topic alone is gone", open, "", "10.20.30.40")
	blocked("after the restart, the user blocked in etcd", secured, mallory, "")
	if err := etcdPub.Unblock(ctx, revocation.BlockUser, "mallory"); err != nil {
		t.Fatal(err)
	}
	passes("the user once the key is deleted", secured, mallory, "")
}
