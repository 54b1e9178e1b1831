package revoke

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/micro-gw/micro-gw/internal/revocationtest"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/devservices/stompbroker"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
	"github.com/micro-gw/micro-gw/templates"
)

type env struct {
	wd        string
	etcd      *clientv3.Client
	etcdURL   string
	stompAddr string
	sub       *stomp.Subscription
}

func newEnv(t *testing.T) *env {
	t.Helper()
	endpoint, cli := etcdtest.Start(t)
	b, err := stompbroker.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &env{wd: t.TempDir(), etcd: cli, etcdURL: endpoint, stompAddr: b.Addr(), sub: revocationtest.Subscribe(t, b.Addr(), "tokenRevocation")}
}

func (e *env) next(t *testing.T) *stomp.Message { return revocationtest.Next(t, e.sub) }

// writeConf writes the scaffold's micro-gw.conf into a project under wd
// with both notifiers on, pointing at stompURL and etcdHostname ("" leaves a
// notifier off).
func (e *env) writeConf(t *testing.T, name, stompURL, etcdHostname string) string {
	t.Helper()
	conf, err := templates.Project.ReadFile("project/" + project.ConfFile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(conf)
	if stompURL != "" {
		s = strings.Replace(s, "enableRealtimeMessageRetrieval = false", "enableRealtimeMessageRetrieval = true", 1)
		s = strings.Replace(s, `jmsConnectionProviderUrl = "amqp://admin:admin@carbon/carbon?brokerlist='tcp://localhost:5672'"`,
			fmt.Sprintf("jmsConnectionProviderUrl = %q", stompURL), 1)
	}
	if etcdHostname != "" {
		s = strings.Replace(s, "enablePersistentStorageRetrieval = false", "enablePersistentStorageRetrieval = true", 1)
		s = strings.Replace(s, `hostname = "https://127.0.0.1:2379/v2/keys/jti/"`, fmt.Sprintf("hostname = %q", etcdHostname), 1)
	}
	root := filepath.Join(e.wd, name)
	if err := project.WriteSecurity(root); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, project.ConfFile), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(name, project.ConfFile) // relative to wd, as a user types it
}

func (e *env) run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &factory.Factory{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut, Getwd: func() (string, error) { return e.wd, nil }}
	cmd := NewCmdRevoke(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	cmd.SetContext(context.Background())
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

// lease returns the value of key in etcd and the ttl of its lease, failing
// the test when there is no such key or it has no lease.
func (e *env) lease(t *testing.T, key string) (value string, ttl int64) {
	t.Helper()
	value, ttl, ok := revocationtest.Key(t, e.etcd, key)
	if !ok {
		t.Fatalf("no etcd key %s", key)
	}
	if ttl == 0 {
		t.Fatalf("key %s has no lease", key)
	}
	return value, ttl
}

func TestRevokeJTI(t *testing.T) {
	e := newEnv(t)
	conf := e.writeConf(t, "p", "stomp://"+e.stompAddr, e.etcdURL+"/v2/keys/jti/")
	stdout, stderr, err := e.run(t, "", "--config", conf, "--jti", "3ad5672a-afca-4387-9ec5-fcf28785f803", "--ttl", "120")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := "published revocation of jti 3ad5672a-afca-4387-9ec5-fcf28785f803 to stomp://" + e.stompAddr + " topic tokenRevocation\n" +
		"stored revocation of jti 3ad5672a-afca-4387-9ec5-fcf28785f803 in etcd key jti/3ad5672a-afca-4387-9ec5-fcf28785f803 at " + e.etcdURL + " with a lease of 120s\n"
	if stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
	}
	m := e.next(t)
	msg, err := revocation.DecodeMessage(m.Body, nil)
	n := msg.Notice
	if err != nil || n.JTI != "3ad5672a-afca-4387-9ec5-fcf28785f803" || n.TTL != 120*time.Second {
		t.Errorf("published %s: %+v %v", m.Body, n, err)
	}
	if v, ttl := e.lease(t, "jti/3ad5672a-afca-4387-9ec5-fcf28785f803"); v != "120" || ttl != 120 {
		t.Errorf("etcd value %q lease %ds, want \"120\" and 120s", v, ttl)
	}
}

// TestRevokeWholeToken: --token (also from stdin) revokes by the token's jti
// for its remaining lifetime, and never prints the token.
func TestRevokeWholeToken(t *testing.T) {
	e := newEnv(t)
	conf := e.writeConf(t, "p", "stomp://"+e.stompAddr, e.etcdURL+"/v2/keys/jti/")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for i, viaStdin := range []bool{false, true} {
		jti := fmt.Sprintf("whole-%d", i)
		tok, err := issuer.Sign(key, "wso2apim", issuer.Claims{JTI: jti, TTL: 15 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		args, stdin := []string{"--config", conf, "--token", tok}, ""
		if viaStdin {
			args, stdin = []string{"--config", conf, "--token", "-"}, tok+"\n"
		}
		stdout, stderr, err := e.run(t, stdin, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if strings.Contains(stdout+stderr, tok) {
			t.Error("the token was printed")
		}
		if !strings.Contains(stdout, "published revocation of jti "+jti) || !strings.Contains(stdout, "in etcd key jti/"+jti) {
			t.Errorf("stdout = %q", stdout)
		}
		msg, err := revocation.DecodeMessage(e.next(t).Body, nil)
		n := msg.Notice
		if err != nil || n.JTI != jti || n.TTL <= revocation.ExpiryLeeway || n.TTL > 15*time.Minute+revocation.ExpiryLeeway {
			t.Errorf("notice %+v %v, want %s with at most 15m past the 60s leeway", n, err, jti)
		}
		if _, ttl := e.lease(t, "jti/"+jti); ttl <= 60 || ttl > 960 {
			t.Errorf("lease %ds, want the token's remaining lifetime (at most 900s, and the 60s leeway)", ttl)
		}
	}

	expired, err := issuer.Sign(key, "wso2apim", issuer.Claims{JTI: "old", TTL: time.Minute, IssuedAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := e.run(t, "", "--config", conf, "--token", expired)
	if err != nil {
		t.Fatalf("an expired token is not an error: %v\n%s", err, stderr)
	}
	if !strings.HasPrefix(stdout, "the token with jti old expired at ") || !strings.Contains(stdout, "nothing to revoke") {
		t.Errorf("stdout = %q", stdout)
	}
}

// TestRevokeOpaqueToken: --token with a token that is no JWT revokes it as
// an opaque token, by its SHA-256, which is what the message and the etcd
// key carry (never the token), and says so.
func TestRevokeOpaqueToken(t *testing.T) {
	e := newEnv(t)
	conf := e.writeConf(t, "p", "stomp://"+e.stompAddr, e.etcdURL+"/v2/keys/jti/")
	opaque := "SlAV32hkKG_opaque-token~1"
	key := revocation.OpaqueTokenKey(opaque)
	stdout, stderr, err := e.run(t, "", "--config", conf, "--token", opaque, "--ttl", "600")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "revoked as an opaque token, by its SHA-256 "+key) || strings.Contains(stdout+stderr, opaque) {
		t.Errorf("stdout = %q", stdout)
	}
	body := e.next(t).Body
	msg, err := revocation.DecodeMessage(body, nil)
	if err != nil || msg.Notice.JTI != key || msg.Notice.TTL != 10*time.Minute || strings.Contains(string(body), opaque) {
		t.Errorf("published %s: %+v %v", body, msg.Notice, err)
	}
	if _, ttl := e.lease(t, "jti/"+key); ttl < 600 {
		t.Errorf("lease %ds", ttl)
	}
}

// TestRevokeRefusesTokenMixups: a whole token given as --jti, or a token
// cut short given as --token, is refused before anything is sent: revoked
// as a jti, such a string would be published and stored as it is (a token
// on the broker), and the real token would stay valid.
func TestRevokeRefusesTokenMixups(t *testing.T) {
	e := newEnv(t)
	conf := e.writeConf(t, "p", "stomp://"+e.stompAddr, e.etcdURL+"/v2/keys/jti/")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := issuer.Sign(key, "wso2apim", issuer.Claims{JTI: "mixup", TTL: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	headerAndPayload := tok[:strings.LastIndexByte(tok, '.')]
	for _, args := range [][]string{
		{"--jti", tok},
		{"--token", headerAndPayload},
		{"--token", tok[:strings.IndexByte(tok, '.')+12]},
		{"--token", "two words"},
	} {
		stdout, stderr, err := e.run(t, "", append([]string{"--config", conf}, args...)...)
		if err == nil {
			t.Errorf("%s %.20s... accepted: %s", args[0], args[1], stdout)
		}
		if strings.Contains(stdout+stderr+fmt.Sprint(err), headerAndPayload[:30]) {
			t.Errorf("%s: the token was printed: %s %s %v", args[0], stdout, stderr, err)
		}
		if strings.Contains(stdout, "published") || strings.Contains(stdout, "stored") {
			t.Errorf("%s: something was revoked: %s", args[0], stdout)
		}
	}
}

// TestRevokeUnreachableSide: exit 1 naming the failed side, after the other
// side did its part.
func TestRevokeUnreachableSide(t *testing.T) {
	e := newEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	conf := e.writeConf(t, "p", "stomp://"+dead, e.etcdURL+"/v2/keys/jti/")
	stdout, _, err := e.run(t, "", "--config", conf, "--jti", "half")
	var exit *factory.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 {
		t.Fatalf("err = %v, want exit 1", err)
	}
	if !strings.Contains(err.Error(), "broker stomp://"+dead) {
		t.Errorf("error does not name the broker: %v", err)
	}
	if !strings.HasPrefix(stdout, "stored revocation of jti half in etcd key jti/half") {
		t.Errorf("stdout = %q, want the etcd side done", stdout)
	}
	if v, ttl := e.lease(t, "jti/half"); v != "3600" || ttl != 3600 {
		t.Errorf("a bare jti without --ttl: value %q lease %ds, want 3600", v, ttl)
	}
}

func TestRevokeConfErrors(t *testing.T) {
	e := &env{wd: t.TempDir()}
	off := e.writeConf(t, "off", "", "")
	if _, _, err := e.run(t, "", "--config", off, "--jti", "x"); err == nil || !strings.Contains(err.Error(), "revocation is off") {
		t.Errorf("both off: %v", err)
	}
	if _, _, err := e.run(t, "", "--config", "missing/conf/micro-gw.conf", "--jti", "x"); err == nil {
		t.Error("a missing conf accepted")
	}
}

func TestRevokeFlags(t *testing.T) {
	f := &factory.Factory{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	var got *RevokeOptions
	cmd := NewCmdRevoke(f, func(o *RevokeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--config", "c", "--jti", "j", "--ttl", "90m", "-e", "a.b=1", "--override", "c.d=2"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.ConfigFile != "c" || got.JTI != "j" || got.TTL != 90*time.Minute || strings.Join(got.Overrides, ",") != "a.b=1,c.d=2" {
		t.Errorf("options = %+v", got)
	}
	cmd = NewCmdRevoke(f, func(o *RevokeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--config", "c", "--token", "t", "--ttl", "3600"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.TTL != time.Hour || got.Token != "t" {
		t.Errorf("options = %+v", got)
	}
	refuseFlags(t, f, [][]string{
		{"--jti", "j"},    // no --config
		{"--config", "c"}, // neither --jti nor --token
		{"--config", "c", "--jti", "j", "--token", "t"}, // both
		{"--config", "c", "--jti", "j", "--ttl", "0"},
		{"--config", "c", "--jti", "j", "--ttl", "soon"},
		{"--config", "c", "--jti", "j", "--ttl", "99999999999"},
		{"--config", "c", "--jti", "j", "extra"},
	})
}

// refuseFlags checks that every argument list in bad is refused before revokeRun would run.
func refuseFlags(t *testing.T, f *factory.Factory, bad [][]string) {
	t.Helper()
	for _, args := range bad {
		cmd := NewCmdRevoke(f, func(*RevokeOptions) error { t.Errorf("%v: ran", args); return nil })
		cmd.SetArgs(args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
