package tokenservice

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/revocationtest"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// A blocking condition reaches the topic (as the gateway decodes it) and etcd (key under the
// blocking prefix, with a lease of its ttl), in its canonical form; lifting it publishes
// enabled:false and deletes the key; a bad value reaches no side.
func TestBlockBothSides(t *testing.T) {
	s := startServices(t)
	r := newRevoker(t, s.revocationConf())
	res, err := r.Block(context.Background(), BlockRequest{Kind: revocation.BlockIPRange, Value: "10.1.2.3/8", TTL: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := revocation.BlockNotice{Kind: revocation.BlockIPRange, Value: "10.0.0.0/8", Enabled: true, TTL: 90 * time.Second}
	if res.Condition != want || len(res.Done) != 2 || !strings.Contains(res.Done[1], "etcd key blocking/iprange/10.0.0.0%2F8") {
		t.Errorf("result %+v\n%s", res.Condition, strings.Join(res.Done, "\n"))
	}
	if m, err := revocation.DecodeMessage(revocationtest.Next(t, s.sub).Body, nil); err != nil || m.Block != want {
		t.Errorf("published %+v, %v", m.Block, err)
	}
	if value, lease, ok := s.key(t, "blocking/iprange/10.0.0.0%2F8"); !ok || value != "90" || lease < 89 {
		t.Errorf("etcd key %q lease %d present %v", value, lease, ok)
	}
	if _, err := r.Block(context.Background(), BlockRequest{Kind: revocation.BlockIPRange, Value: "10.0.0.0/8", Lift: true}); err != nil {
		t.Fatal(err)
	}
	if m, _ := revocation.DecodeMessage(revocationtest.Next(t, s.sub).Body, nil); m.Block.Enabled || m.Block.Value != "10.0.0.0/8" {
		t.Errorf("the lifting published %+v", m.Block)
	}
	if _, _, ok := s.key(t, "blocking/iprange/10.0.0.0%2F8"); ok {
		t.Error("the etcd key is still there")
	}
	var invalid *InvalidTokenError
	if _, err := r.Block(context.Background(), BlockRequest{Kind: revocation.BlockIP, Value: "not-an-ip"}); !errors.As(err, &invalid) {
		t.Errorf("a bad address: %v", err)
	}
}

// A status list among the sides (micro-gw dev --project) carries tokens
// alone: a blocking condition goes to the others and succeeds.
func TestBlockPassesAStatusListBy(t *testing.T) {
	s := startServices(t)
	r := newRevoker(t, s.revocationConf())
	list, err := OpenStatusList(filepath.Join(t.TempDir(), "statuslist.json"), "http://127.0.0.1:1/statuslists/1",
		Signer{Key: testKey, KeyID: issuer.DefaultKeyID, Issuer: issuer.DefaultIssuer})
	if err != nil {
		t.Fatal(err)
	}
	r.AddSide(list)
	res, err := r.Block(context.Background(), BlockRequest{Kind: revocation.BlockUser, Value: "mallory"})
	if err != nil || len(res.Done) != 2 {
		t.Fatalf("block beside a status list: %v\n%s", err, strings.Join(res.Done, "\n"))
	}
	if _, _, ok := s.key(t, "blocking/user/mallory"); !ok {
		t.Error("no etcd key")
	}
}

// POST /block and /unblock of the development token service.
func TestBlockHandler(t *testing.T) {
	s := startServices(t)
	r := newRevoker(t, s.revocationConf())
	mux := http.NewServeMux()
	ep := Endpoint{Revoker: r, ClientID: "client", ClientSecret: "s3cret"}
	mux.Handle(BlockPath, &BlockHandler{Endpoint: ep})
	mux.Handle(UnblockPath, &BlockHandler{Endpoint: ep, Lift: true})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	send := func(path, user string, form url.Values) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(user, "s3cret")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	code, body := send(BlockPath, "client", url.Values{"type": {"user"}, "value": {"mallory"}, "ttl": {"1h"}})
	if code != 200 || body["type"] != "user" || body["value"] != "mallory" || body["enabled"] != true || body["ttl"] != 3600.0 {
		t.Fatalf("%d %v", code, body)
	}
	if _, _, ok := s.key(t, "blocking/user/mallory"); !ok {
		t.Error("no etcd key")
	}
	if code, body := send(UnblockPath, "client", url.Values{"type": {"user"}, "value": {"mallory"}}); code != 200 || body["enabled"] != false {
		t.Fatalf("unblock: %d %v", code, body)
	}
	for _, f := range []url.Values{{"type": {"country"}, "value": {"x"}}, {"type": {"ip"}}, {"type": {"ip"}, "value": {"x"}}, {"type": {"ip"}, "value": {"192.0.2.1"}, "ttl": {"0"}}} {
		if code, body := send(BlockPath, "client", f); code != 400 || body["error"] != "invalid_request" {
			t.Errorf("%v: %d %v", f, code, body)
		}
	}
	if code, _ := send(BlockPath, "intruder", url.Values{"type": {"ip"}, "value": {"192.0.2.1"}}); code != 401 {
		t.Errorf("bad credentials: %d", code)
	}
}
