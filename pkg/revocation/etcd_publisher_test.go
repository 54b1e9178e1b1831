package revocation

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

func TestEtcdPublisherRoundTrip(t *testing.T) {
	endpoint, cli := etcdtest.Start(t, etcdtest.WithAuth("pw"))
	ctx := storeTestCtx(t)
	pub, err := DialEtcdPublisher(ctx, EtcdConfig{
		Hostname: endpoint + "/v2/keys/jti/",
		Username: etcdtest.RootUser, Password: "pw",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	if err := pub.Revoke(ctx, "with-ttl", 90*time.Second+time.Millisecond); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, "jti/with-ttl")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get jti/with-ttl: %v, %v", resp, err)
	}
	kv := resp.Kvs[0]
	if string(kv.Value) != "91" {
		t.Errorf("value = %q, want the ttl in whole seconds rounded up, 91", kv.Value)
	}
	if kv.Lease == 0 {
		t.Fatal("key has no lease")
	}
	ttl, err := cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
	if err != nil {
		t.Fatal(err)
	}
	if ttl.GrantedTTL != 91 || ttl.TTL <= 0 || ttl.TTL > 91 {
		t.Errorf("lease granted %d s, %d s left; want 91 and (0, 91]", ttl.GrantedTTL, ttl.TTL)
	}

	if err := pub.Revoke(ctx, "forever", 0); err != nil {
		t.Fatal(err)
	}
	resp, err = cli.Get(ctx, "jti/forever")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get jti/forever: %v, %v", resp, err)
	}
	if kv := resp.Kvs[0]; kv.Lease != 0 || string(kv.Value) != "0" {
		t.Errorf("ttl 0: lease %d value %q, want no lease and 0", kv.Lease, kv.Value)
	}

	if err := pub.Unrevoke(ctx, "with-ttl"); err != nil {
		t.Fatal(err)
	}
	if err := pub.Unrevoke(ctx, "never-revoked"); err != nil {
		t.Errorf("unrevoke of an absent key: %v", err)
	}
	resp, err = cli.Get(ctx, "jti/with-ttl")
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("after Unrevoke, get = %v, %v; want no key", resp.Kvs, err)
	}
	if err := pub.Revoke(ctx, "", time.Second); err == nil {
		t.Error("empty jti accepted")
	}
}

func TestEtcdPublisherFeedsSource(t *testing.T) {
	endpoint, _ := etcdtest.Start(t)
	src, _ := newTestEtcdSource(t, endpoint, nil)
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)

	pub, err := DialEtcdPublisher(storeTestCtx(t), EtcdConfig{Hostname: endpoint + "/v2/keys/jti/"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Revoke(storeTestCtx(t), "j1", time.Hour); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "j1 revoked", func() bool { return sink.has("j1") })
	if err := pub.Unrevoke(storeTestCtx(t), "j1"); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "j1 un-revoked", func() bool { return !sink.has("j1") })
}

func TestDialEtcdPublisherUnreachable(t *testing.T) {
	srv := etcdtest.StartServer(t)
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := DialEtcdPublisher(ctx, EtcdConfig{Hostname: srv.Endpoint + "/v2/keys/jti/"})
	if err == nil {
		t.Fatal("dial of a stopped etcd succeeded")
	}
	if !strings.Contains(err.Error(), srv.Endpoint) {
		t.Errorf("error %q does not name the endpoint", err)
	}
}

func TestDialEtcdPublisherWrongPassword(t *testing.T) {
	endpoint, _ := etcdtest.Start(t, etcdtest.WithAuth("pw"))
	_, err := DialEtcdPublisher(storeTestCtx(t), EtcdConfig{
		Hostname: endpoint + "/v2/keys/jti/", Username: etcdtest.RootUser, Password: "nope",
	})
	if err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("err = %v, want an authentication failure", err)
	}
}
