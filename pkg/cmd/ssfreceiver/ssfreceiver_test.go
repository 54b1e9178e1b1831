package ssfreceiver

import (
	"bytes"
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/devservices/stompbroker"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
	"github.com/micro-gw/micro-gw/pkg/runtime"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/ssf"
	"github.com/micro-gw/micro-gw/pkg/ssf/ssftest"
)

const aud = "https://gw.example.com"

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestSessionRevokedOnTwoGateways: micro-gw ssf-receiver, polling a
// transmitter built from the specifications' examples or pushed to by it
// over HTTPS, turns a CAEP session-revoked for a subject (iss_sub of a
// trusted issuer) into a rule that two running gateways, fed by the same
// broker and etcd, apply: the subject's tokens issued before the event are
// refused on both, another subject's and the subject's newer ones pass. A
// SET with a bad signature or an unknown event changes nothing, and is
// refused (setErrs when polled, 400 when pushed); the event is acknowledged
// (ack, 202) once stored.
func TestSessionRevokedOnTwoGateways(t *testing.T) {
	for _, delivery := range []string{"poll", "push"} {
		t.Run(delivery, func(t *testing.T) { sessionRevokedOnTwoGateways(t, delivery) })
	}
}

func sessionRevokedOnTwoGateways(t *testing.T, delivery string) {
	etcd, _ := etcdtest.Start(t)
	broker, err := stompbroker.Start("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close() })
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer backend.Close()
	iss := authtest.NewIssuer(t)
	tx := ssftest.NewTransmitter(t, aud)

	var gws []string
	for range 2 {
		cfg := iss.Config()
		cfg.Revocation.Realtime.Enabled, cfg.Revocation.Realtime.ProviderURL = true, "stomp://"+broker.Addr()
		p := &cfg.Revocation.Persistent
		p.Enabled, p.Hostname, p.Username, p.Password = true, etcd+"/v2/keys/jti/", "", ""
		spec := runtime.Spec{Name: "pets", Version: "test", APIs: []runtime.API{{Title: "Pets", Version: "1", Source: "pets.yaml",
			BasePath: "/pets/v1", Production: &runtime.Endpoint{URLs: []string{backend.URL}},
			Resources: []runtime.Resource{{Method: "GET", Path: "/pet", Secured: true}}}}}
		addr := freeAddr(t)
		gw, err := runtime.New(spec, cfg, runtime.Options{HTTPAddr: addr, HTTPSAddr: "-", AdminAddr: "-"})
		if err != nil {
			t.Fatal(err)
		}
		if err := gw.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = gw.Shutdown(context.Background()) })
		gws = append(gws, "http://"+addr+"/pets/v1/pet")
	}

	dir := t.TempDir()
	conf := filepath.Join(dir, "conf", "micro-gw.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	// The push endpoint serves HTTPS with the TLS pair micro-gw init makes
	// (valid for 127.0.0.1), which the transmitter trusts.
	if err := project.WriteSecurity(dir); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, project.TLSCertFile), filepath.Join(dir, project.TLSKeyFile)
	deliveryConf := "delivery = \"poll\"\n"
	if delivery == "push" {
		pushAddr := freeAddr(t)
		deliveryConf = fmt.Sprintf("delivery = \"push\"\npushListen = %q\npushEndpointUrl = \"https://%s%s\"\npushAuthorizationHeader = \"Bearer push-secret\"\n",
			pushAddr, pushAddr, ssf.PushPath)
		tx.PushClient = authtest.TrustingClient(t, certFile)
	}
	if err := os.WriteFile(conf, fmt.Appendf(nil, `[listenerConfig]
trustStorePath = %q
certFile = %q
keyFile = %q

[[jwtTokenConfig]]
issuer = %q
audience = %q
certificateAlias = %q

[tokenRevocationConfig.realtime]
enableRealtimeMessageRetrieval = true
jmsConnectionProviderUrl = "stomp://%s"

[tokenRevocationConfig.persistent]
enablePersistentStorageRetrieval = true
hostname = "%s/v2/keys/jti/"
username = ""
password = ""

[ssfReceiver]
transmitter = %q
authorizationHeader = "Bearer tx-token"
audience = %q
pollInterval = 100
ruleTtl = 3600
%s`, iss.TrustStore, certFile, keyFile, iss.Name, iss.Audience, iss.Alias, broker.Addr(), etcd, tx.URL, aud, deliveryConf), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncbuf.Buffer
	ready := make(chan struct{})
	opts := &Options{Out: io.Discard, ErrOut: &stderr, Getwd: os.Getwd, ConfigFile: conf, LogLevel: "DEBUG",
		started: func(string) { close(ready) }}
	done := make(chan error, 1)
	go func() { done <- run(ctx, opts) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("ssf-receiver stopped: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("ssf-receiver not set up in 30 s\n%s", stderr.String())
	}

	now := time.Now()
	tok := func(sub string, iat time.Time) string {
		return iss.Token(t, map[string]any{"sub": sub, "iat": iat.Unix(), "nbf": now.Add(-time.Hour).Unix()})
	}
	aliceOld, aliceOlder := tok("alice", now.Add(-time.Minute)), tok("alice", now.Add(-30*time.Minute))
	aliceNew, bob := tok("alice", now.Add(10*time.Second)), tok("bob", now.Add(-time.Minute))
	call := func(url, token string) int {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, gw := range gws {
		for _, tk := range []string{aliceOld, aliceOlder, aliceNew, bob} {
			if code := call(gw, tk); code != 200 {
				t.Fatalf("before any event: %d", code)
			}
		}
	}

	alice := map[string]any{"format": "iss_sub", "iss": iss.Name, "sub": "alice"}
	tx.Deliver(t, tx.Set(t, "bad-sig", ssf.EventSessionRevoked, map[string]any{"event_timestamp": now.Unix()}, alice,
		func(_ jwt.MapClaims, k **rsa.PrivateKey) { *k = tx.Other }))
	tx.Deliver(t, tx.Set(t, "unknown", "https://schemas.openid.net/secevent/caep/event-type/token-claims-change",
		map[string]any{"event_timestamp": now.Unix()}, alice, nil))
	deadline := time.Now().Add(3 * time.Second)
	if delivery == "poll" {
		for time.Now().Before(deadline) && (tx.SetErr("bad-sig").Err == "" || tx.SetErr("unknown").Err == "") {
			time.Sleep(20 * time.Millisecond)
		}
		if tx.SetErr("bad-sig").Err != "invalid_key" || tx.SetErr("unknown").Err != "invalid_request" {
			t.Errorf("setErrs %v %v, want invalid_key and invalid_request", tx.SetErr("bad-sig"), tx.SetErr("unknown"))
		}
	} else {
		for time.Now().Before(deadline) && (tx.Pushed("bad-sig") == 0 || tx.Pushed("unknown") == 0) {
			time.Sleep(20 * time.Millisecond)
		}
		if tx.Pushed("bad-sig") != http.StatusBadRequest || tx.Pushed("unknown") != http.StatusBadRequest {
			t.Errorf("pushes of a bad signature and an unknown event answered %d and %d, want 400", tx.Pushed("bad-sig"), tx.Pushed("unknown"))
		}
	}
	for _, gw := range gws {
		if code := call(gw, aliceOld); code != 200 {
			t.Errorf("refused SETs revoked alice: %d", code)
		}
	}

	sent := time.Now()
	tx.Deliver(t, tx.Set(t, "sr-1", ssf.EventSessionRevoked, map[string]any{"event_timestamp": now.Unix(),
		"initiating_entity": "policy", "reason_admin": map[string]any{"en": "Landspeed Policy Violation: C076E82F"}}, alice, nil))
	for i, gw := range gws {
		for _, tk := range []string{aliceOld, aliceOlder} {
			deadline := time.Now().Add(10 * time.Second)
			for call(gw, tk) != 401 {
				if time.Now().After(deadline) {
					t.Fatalf("gateway %d still serves alice's token 10 s after the event\n%s", i, stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		for _, tk := range []string{aliceNew, bob} {
			if code := call(gw, tk); code != 200 {
				t.Errorf("gateway %d: a token the event does not name: %d", i, code)
			}
		}
	}
	t.Logf("session-revoked refused on both gateways %v after the transmitter queued it", time.Since(sent).Round(time.Millisecond))
	acked := func() bool {
		if delivery == "push" {
			return tx.Pushed("sr-1") == http.StatusAccepted
		}
		return slices.Contains(tx.Acked(), "sr-1")
	}
	deadline = time.Now().Add(5 * time.Second)
	for !acked() {
		if time.Now().After(deadline) {
			t.Fatalf("the event was not acknowledged (acks %v, push answer %d)\n%s", tx.Acked(), tx.Pushed("sr-1"), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(conf), ssf.StateFileName)); err != nil {
		t.Errorf("no state file beside the conf: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ssf-receiver: %v", err)
	}
}

func TestFlags(t *testing.T) {
	f := &factory.Factory{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	var got *Options
	cmd := NewCmdSSFReceiver(f, func(o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--config", "c.conf", "-e", "ssfReceiver.delivery=push"})
	if err := cmd.Execute(); err != nil || got.ConfigFile != "c.conf" || len(got.Overrides) != 1 {
		t.Fatalf("%v %+v", err, got)
	}
	cmd = NewCmdSSFReceiver(f, func(*Options) error { return nil })
	cmd.SetArgs(nil)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil {
		t.Error("no --config accepted")
	}
}
