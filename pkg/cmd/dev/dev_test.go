package dev

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/devservices"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runDev runs `micro-gw dev ARGS` until stop is called; with the services up
// it calls use. It returns the command's error and output.
func runDev(t *testing.T, wd string, args []string, use func(*devservices.Services)) (string, error) {
	t.Helper()
	out := &syncbuf.Buffer{}
	f := &factory.Factory{Out: out, ErrOut: &syncbuf.Buffer{}, Getwd: func() (string, error) { return wd, nil },
		Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := NewCmdDev(f, func(o *DevOptions) error {
		o.started = func(s *devservices.Services) {
			use(s)
			cancel() // what Ctrl-C does
		}
		return devRun(ctx, o)
	})
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	return out.String(), err
}

// TestDevServesAndKeepsData: `micro-gw dev` prints its services and the
// conf snippet, revokes over RFC 7009, stops on a signal, and on a restart
// with the same --data still has what was revoked.
func TestDevServesAndKeepsData(t *testing.T) {
	wd := t.TempDir()
	etcdAddr, peerAddr := freeAddr(t), freeAddr(t)
	args := []string{"--data", "devdata", "--etcd-addr", etcdAddr, "--etcd-peer-addr", peerAddr,
		"--stomp-addr", "127.0.0.1:0", "--token-service-addr", "127.0.0.1:0", "--client-id", "app", "--client-secret", "not-the-default-secret"}

	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 30 * time.Second}
	var revokeURL string
	out, err := runDev(t, wd, args, func(s *devservices.Services) {
		revokeURL = s.RevokeURL
		resp, err := insecure.PostForm(strings.Replace(s.RevokeURL, "https://", "https://app:not-the-default-secret@", 1), url.Values{"token": {"kept-across-restarts"}})
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("revoke: %d", resp.StatusCode)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"development services are running",
		"http://" + etcdAddr,
		"data in " + wd + "/devdata/etcd",
		"enableRealtimeMessageRetrieval = true",
		`hostname = "http://` + etcdAddr + `/v2/keys/jti/"`,
		"curl -k -u app:<secret> -d \"token=<jti>\" " + revokeURL,
		"curl -k -u app:<secret> -d \"subject=<sub>\" " + revokeURL + "/rules",
		"micro-gw dev: stopped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "not-the-default-secret") {
		t.Errorf("output shows a client secret that is not the default:\n%s", out)
	}
	// Stopped: nothing answers on the etcd port any more.
	if c, err := net.DialTimeout("tcp", etcdAddr, time.Second); err == nil {
		c.Close()
		t.Error("etcd still listening after the command returned")
	}

	_, err = runDev(t, wd, args, func(s *devservices.Services) {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{s.EtcdEndpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			t.Error(err)
			return
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, devservices.KeyPrefix+"kept-across-restarts")
		if err != nil {
			t.Error(err)
			return
		}
		if len(resp.Kvs) != 1 {
			t.Error("the revocation stored before the restart is gone")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDevFlags(t *testing.T) {
	f := &factory.Factory{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	var got *DevOptions
	cmd := NewCmdDev(f, func(o *DevOptions) error { got = o; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.EtcdAddr != "127.0.0.1:2379" || got.StompAddr != "127.0.0.1:61613" || got.TokenServiceAddr != "127.0.0.1:8243" ||
		got.ClientID != "admin" || got.ClientSecret != "admin" || got.DefaultTTL != time.Hour || got.DataDir != "" {
		t.Errorf("defaults = %+v", got)
	}
	for _, bad := range [][]string{{"x"}, {"--default-ttl", "0s"}, {"--client-id", ""}} {
		cmd = NewCmdDev(f, func(*DevOptions) error { t.Errorf("%v ran", bad); return nil })
		cmd.SetArgs(bad)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestDefaultDataDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if d, _ := DefaultDataDir(env(map[string]string{"XDG_DATA_HOME": "/x", "HOME": "/h"})); d != "/x/micro-gw/dev" {
		t.Errorf("with XDG_DATA_HOME: %s", d)
	}
	if d, _ := DefaultDataDir(env(map[string]string{"HOME": "/h"})); d != "/h/.local/share/micro-gw/dev" {
		t.Errorf("with HOME: %s", d)
	}
	if _, err := DefaultDataDir(env(nil)); err == nil {
		t.Error("no HOME and no XDG_DATA_HOME accepted")
	}
}

// TestDevAddressInUse: an address already taken (most often by another
// `micro-gw dev`) is named with the flag that moves it.
func TestDevAddressInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for flag, addrs := range map[string][4]string{
		"--etcd-addr":          {taken.Addr().String(), freeAddr(t), freeAddr(t), freeAddr(t)},
		"--etcd-peer-addr":     {freeAddr(t), taken.Addr().String(), freeAddr(t), freeAddr(t)},
		"--stomp-addr":         {freeAddr(t), freeAddr(t), taken.Addr().String(), freeAddr(t)},
		"--token-service-addr": {freeAddr(t), freeAddr(t), freeAddr(t), taken.Addr().String()},
	} {
		_, err := runDev(t, t.TempDir(), []string{"--data", t.TempDir(), "--etcd-addr", addrs[0], "--etcd-peer-addr", addrs[1],
			"--stomp-addr", addrs[2], "--token-service-addr", addrs[3]}, func(*devservices.Services) { t.Errorf("%s: started", flag) })
		if err == nil || !strings.Contains(err.Error(), "another `micro-gw dev` may be running") || !strings.Contains(err.Error(), flag+" ") {
			t.Errorf("%s taken: %v", flag, err)
		}
	}
}
