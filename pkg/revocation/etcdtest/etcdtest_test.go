package etcdtest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

func TestStartPutGet(t *testing.T) {
	_, cli := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("get k = %v, want v", resp.Kvs)
	}
}

func TestAuth(t *testing.T) {
	endpoint, cli := etcdtest.Start(t, etcdtest.WithAuth("s3cret"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "k", "v"); err != nil {
		t.Fatalf("root put: %v", err)
	}

	anon, err := etcdtest.NewClient(endpoint, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.Get(ctx, "k"); !errors.Is(err, rpctypes.ErrUserEmpty) {
		t.Fatalf("anonymous get: err = %v, want %v", err, rpctypes.ErrUserEmpty)
	}

	if _, err := etcdtest.NewClient(endpoint, etcdtest.RootUser, "wrong"); !errors.Is(err, rpctypes.ErrAuthFailed) {
		t.Fatalf("wrong password: err = %v, want %v", err, rpctypes.ErrAuthFailed)
	}
}

func TestRestartKeepsData(t *testing.T) {
	s := etcdtest.StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Restart()
	resp, err := s.Client.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("k lost across restart")
	}
}

func TestProxyCut(t *testing.T) {
	s := etcdtest.StartServer(t)
	p := etcdtest.NewProxy(t, s.Endpoint)
	cli, err := etcdtest.NewClient(p.Endpoint, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "k", "1"); err != nil {
		t.Fatalf("put through proxy: %v", err)
	}

	p.Cut()
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = cli.Get(short, "k")
	cancelShort()
	if err == nil {
		t.Fatal("get through a cut proxy succeeded")
	}

	p.Restore()
	resp, err := cli.Get(ctx, "k")
	if err != nil {
		t.Fatalf("get after restore: %v", err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatal("k not found after restore")
	}
}

func TestTLS(t *testing.T) {
	s := etcdtest.StartServer(t, etcdtest.WithTLS(), etcdtest.WithAuth("pw"))
	if !strings.HasPrefix(s.Endpoint, "https://") {
		t.Fatalf("endpoint %q is not https", s.Endpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Client.Put(ctx, "k", "v"); err != nil {
		t.Fatalf("put over TLS: %v", err)
	}

	// A client that does not trust the certificate gets nowhere.
	untrusting, err := clientv3.New(clientv3.Config{
		Endpoints: []string{s.Endpoint}, TLS: &tls.Config{MinVersion: tls.VersionTLS12},
		Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer untrusting.Close()
	short, cancelShort := context.WithTimeout(ctx, time.Second)
	defer cancelShort()
	if _, err := untrusting.Get(short, "k"); err == nil {
		t.Fatal("a client that does not trust the certificate could read")
	}
}
