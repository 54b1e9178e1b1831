package block

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/revocationtest"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/devservices/stompbroker"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
	"github.com/micro-gw/micro-gw/templates"
)

func run(t *testing.T, wd string, lift bool, runF func(*BlockOptions) error, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &factory.Factory{Out: &out, ErrOut: &errOut, Getwd: func() (string, error) { return wd, nil }}
	cmd := NewCmdBlock(f, runF)
	if lift {
		cmd = NewCmdUnblock(f, runF)
	}
	cmd.SetArgs(args)
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	cmd.SetContext(context.Background())
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestBlockFlags(t *testing.T) {
	var got *BlockOptions
	capture := func(o *BlockOptions) error { got = o; return nil }
	if _, _, err := run(t, "", false, capture, "--config", "c.conf", "--iprange", "10.0.0.0/8", "--ttl", "1h"); err != nil {
		t.Fatal(err)
	}
	if kind, value, _ := got.condition(); kind != revocation.BlockIPRange || value != "10.0.0.0/8" || got.TTL != time.Hour || got.Lift {
		t.Errorf("options %+v", got)
	}
	if _, _, err := run(t, "", true, capture, "--config", "c.conf", "--user", "mallory"); err != nil || !got.Lift {
		t.Fatalf("unblock: %v %+v", err, got)
	}
	for _, c := range []struct {
		lift bool
		args []string
		want string
	}{
		{false, []string{"--ip", "192.0.2.1"}, "--config is required"},
		{false, []string{"--config", "c", "--ip", "192.0.2.1", "--user", "u"}, "exactly one of --ip"},
		{false, []string{"--config", "c"}, "exactly one of --ip"},
		{false, []string{"--config", "c", "--ip", "host.example"}, "--ip: ip is not an IP address"},
		{false, []string{"--config", "c", "--api", "petstore"}, "--api: api is an API's base path"},
		{false, []string{"--config", "c", "--ip", "192.0.2.1", "--ttl", "0"}, "at least 1 second"},
		{true, []string{"--config", "c", "--ip", "192.0.2.1", "--ttl", "60"}, "unknown flag: --ttl"},
	} {
		if _, _, err := run(t, "", c.lift, capture, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// micro-gw block publishes to the topic and writes etcd; unblock publishes the lifting and deletes
// the key; an unreachable broker exits 1 after etcd did its part.
func TestBlockRun(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	b, err := stompbroker.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	sub := revocationtest.Subscribe(t, b.Addr(), "tokenRevocation")
	wd := t.TempDir()
	conf := writeConf(t, wd, "p", "stomp://"+b.Addr(), endpoint+"/v2/keys/jti/")
	out, errOut, err := run(t, wd, false, nil, "--config", conf, "--ip", "2001:DB8::7", "--ttl", "600")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(out, "published blocking condition ip 2001:db8::7 (ttl 600s)") || !strings.Contains(out, "stored blocking condition ip 2001:db8::7 (ttl 600s) in etcd key blocking/ip/2001:db8::7") {
		t.Errorf("printed %q", out)
	}
	m, err := revocation.DecodeMessage(revocationtest.Next(t, sub).Body, nil)
	if err != nil || m.Block != (revocation.BlockNotice{Kind: revocation.BlockIP, Value: "2001:db8::7", Enabled: true, TTL: 10 * time.Minute}) {
		t.Errorf("published %+v, %v", m.Block, err)
	}
	if _, ttl, ok := revocationtest.Key(t, cli, "blocking/ip/2001:db8::7"); !ok || ttl < 599 {
		t.Errorf("etcd key: lease %d, present %v", ttl, ok)
	}
	if _, errOut, err := run(t, wd, true, nil, "--config", conf, "--ip", "2001:db8::7"); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if m, _ := revocation.DecodeMessage(revocationtest.Next(t, sub).Body, nil); m.Block.Enabled || m.Block.Value != "2001:db8::7" {
		t.Errorf("the lifting published %+v", m.Block)
	}
	if _, _, ok := revocationtest.Key(t, cli, "blocking/ip/2001:db8::7"); ok {
		t.Error("the etcd key is still there")
	}
	dead := writeConf(t, wd, "dead", "stomp://127.0.0.1:1", endpoint+"/v2/keys/jti/")
	out, _, err = run(t, wd, false, nil, "--config", dead, "--user", "mallory", "--timeout", "2s")
	var exit *factory.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 || !strings.Contains(err.Error(), "blocking of user mallory incomplete") || !strings.Contains(out, "blocking/user/mallory") {
		t.Errorf("an unreachable broker: %v\n%s", err, out)
	}
}

// writeConf writes the scaffold's micro-gw.conf with both notifiers on into wd/name and returns
// its path relative to wd.
func writeConf(t *testing.T, wd, name, stompURL, etcdHostname string) string {
	t.Helper()
	conf, err := templates.Project.ReadFile("project/" + project.ConfFile)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(conf), "enableRealtimeMessageRetrieval = false", "enableRealtimeMessageRetrieval = true", 1)
	s = strings.Replace(s, `jmsConnectionProviderUrl = "amqp://admin:admin@carbon/carbon?brokerlist='tcp://localhost:5672'"`, fmt.Sprintf("jmsConnectionProviderUrl = %q", stompURL), 1)
	s = strings.Replace(s, "enablePersistentStorageRetrieval = false", "enablePersistentStorageRetrieval = true", 1)
	s = strings.Replace(s, `hostname = "https://127.0.0.1:2379/v2/keys/jti/"`, fmt.Sprintf("hostname = %q", etcdHostname), 1)
	root := filepath.Join(wd, name)
	if err := project.WriteSecurity(root); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, project.ConfFile), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(name, project.ConfFile)
}
