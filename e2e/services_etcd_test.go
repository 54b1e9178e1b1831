//go:build e2e_services

// Issue 5, end to end: the persistent notifier of a built gateway against Debian's etcd 3.4, fed
// with etcdctl as an operator would; and issue 6's `micro-gw revoke` against Debian's etcd and
// RabbitMQ together.
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svcEtcdHostname is the persistent section's hostname for Debian's etcd (plain HTTP) and the
// key prefix jti/ (docs/revocation.md: the /v2/keys/ part only marks where the prefix starts).
func svcEtcdHostname(s svcServices) string { return "http://" + s.Etcd + "/v2/keys/jti/" }

// Keys put with etcdctl before the gateway starts and while it runs, with and without a lease,
// are refused; throughout a gateway restart and an etcd restart no revoked token is ever served;
// a deleted key, a revoked lease and an expired lease each let their token in again.
func TestServicesEtcdPersistent(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	conf := p.writeConf(t, "svc-etcd", svcConf{EtcdHostname: svcEtcdHostname(s)})
	guard := svcStartGuard(t)

	type tok struct{ jti, token string }
	mk := func(label string) tok {
		jti := svcJTI(label)
		return tok{jti, p.issueToken(t, jti)}
	}
	put := func(k tok, lease string) {
		args := []string{"put", "jti/" + k.jti, "3600"}
		if lease != "" {
			args = append(args, "--lease="+lease)
		}
		svcEtcdctl(t, s, args...)
	}

	// Before the gateway starts.
	a, b, c := mk("etcd-a-nolease"), mk("etcd-b-lease"), mk("etcd-c-never")
	put(a, "")
	leaseB := svcLeaseGrant(t, s, 3600)
	put(b, leaseB)

	gw := p.startGateway(t, "etcd", conf)
	guard.watchGateway(gw)
	if ans := gw.call(a.token); !ans.revoked() {
		t.Errorf("key put without a lease before start: token got %s as soon as the gateway was ready, want 401 fault 900901", ans)
	}
	if ans := gw.call(b.token); !ans.revoked() {
		t.Errorf("key put with a lease before start: token got %s as soon as the gateway was ready, want 401 fault 900901", ans)
	}
	guard.add("a", a.token)
	guard.add("b", b.token)
	gw.expectAccepted(t, "a token never revoked", c.token)

	// While it runs.
	d, e := mk("etcd-d-nolease"), mk("etcd-e-lease")
	gw.expectAccepted(t, "token d before its key is put", d.token)
	gw.expectAccepted(t, "token e before its key is put", e.token)
	start := time.Now()
	put(d, "")
	gw.expectRevoked(t, "a key put without a lease while running", d.token, start)
	guard.add("d", d.token)
	leaseE := svcLeaseGrant(t, s, 3600)
	start = time.Now()
	put(e, leaseE)
	gw.expectRevoked(t, "a key put with a lease while running", e.token, start)
	guard.add("e", e.token)

	// The gateway restarted: everything is loaded again at start.
	gw.Stop()
	guard.forgetGateway(gw)
	gw2 := p.startGateway(t, "etcd-restarted", conf)
	guard.watchGateway(gw2)
	for _, k := range []struct {
		label string
		tok
	}{{"a", a}, {"b", b}, {"d", d}, {"e", e}} {
		if ans := gw2.call(k.token); !ans.revoked() {
			t.Errorf("after the gateway restart, token %s got %s, want 401 fault 900901", k.label, ans)
		}
	}
	gw2.expectAccepted(t, "a token never revoked, after the gateway restart", c.token)

	// etcd restarted under the running gateway: the watch must resume.
	svcRestartService(t, s, "etcd")
	f := mk("etcd-f-after-etcd-restart")
	start = time.Now()
	put(f, "")
	svcPollLong(t, gw2, "a key put after etcd restarted", f.token, start)
	guard.add("f", f.token)

	// Un-revoking: a deleted key, a revoked lease, an expired lease.
	guard.remove("a")
	start = time.Now()
	svcEtcdctl(t, s, "del", "jti/"+a.jti)
	gw2.expectAccepted(t, "token a after its key was deleted", a.token)
	t.Logf("token a accepted %v after its key was deleted", time.Since(start).Round(time.Millisecond))

	guard.remove("e")
	start = time.Now()
	svcEtcdctl(t, s, "lease", "revoke", leaseE)
	gw2.expectAccepted(t, "token e after its lease was revoked", e.token)
	t.Logf("token e accepted %v after its lease was revoked", time.Since(start).Round(time.Millisecond))

	g := mk("etcd-g-short-lease")
	leaseG := svcLeaseGrant(t, s, 4)
	start = time.Now()
	put(g, leaseG)
	gw2.expectRevoked(t, "a key with a 4 s lease", g.token, start)
	svcPoll(t, "token g served again once its 4 s lease expired", 20*time.Second, func() (bool, string) {
		ans := gw2.call(g.token)
		return ans.accepted(), ans.String()
	})
	t.Logf("token g accepted again %v after its key was put with a 4 s lease", time.Since(start).Round(time.Millisecond))

	// The rest are still refused, and c still served.
	for _, k := range []struct {
		label string
		tok
	}{{"b", b}, {"d", d}, {"f", f}} {
		if ans := gw2.call(k.token); !ans.revoked() {
			t.Errorf("at the end, token %s got %s, want 401 fault 900901", k.label, ans)
		}
	}
	gw2.expectAccepted(t, "a token never revoked, at the end", c.token)
	guard.Stop()
	svcEtcdctl(t, s, "del", "jti/"+b.jti)
	svcEtcdctl(t, s, "del", "jti/"+d.jti)
	svcEtcdctl(t, s, "del", "jti/"+f.jti)
}

var svcTTLRE = regexp.MustCompile(`remaining\((\d+)s\)`)

// svcPollLong is expectRevoked with a longer deadline, for right after a service restart, when
// the client's reconnect backoff may add a few seconds.
func svcPollLong(t *testing.T, gw *svcGateway, what, token string, since time.Time) {
	t.Helper()
	svcPoll(t, gw.Name+": "+what+" refused as revoked", 30*time.Second, func() (bool, string) {
		a := gw.call(token)
		return a.revoked(), a.String()
	})
	t.Logf("%s: %s refused %v after the put", gw.Name, what, time.Since(since).Round(time.Millisecond))
}

// `micro-gw revoke` with a conf that has both notifiers on, against Debian's RabbitMQ (STOMP) and
// etcd: a running gateway refuses the token at once (broker), the key jti/<jti> holds the ttl with
// a lease of about that ttl, and a gateway started afterwards refuses it too (etcd). Revoking a
// whole JWT keys it by its jti. An unreachable store is an error, exit 1.
func TestServicesRevokeCommand(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	both := p.writeConf(t, "svc-both", svcConf{
		BrokerURL: "stomp://" + s.STOMP, BrokerUser: "guest", BrokerPass: "guest",
		EtcdHostname: svcEtcdHostname(s)})
	gw := p.startGateway(t, "both", both)

	checkKey := func(t *testing.T, jti string, ttl int) {
		t.Helper()
		k, ok := svcEtcdGet(t, s, "jti/"+jti)
		if !ok {
			t.Errorf("micro-gw revoke wrote no key jti/%s", jti)
			return
		}
		if strings.TrimSpace(k.Value) != strconv.Itoa(ttl) {
			t.Errorf("key jti/%s holds %q, want the ttl %d (docs/revocation.md)", jti, k.Value, ttl)
		}
		if k.Lease == 0 {
			t.Errorf("key jti/%s has no lease: it would stay revoked for ever (docs/revocation.md)", jti)
			return
		}
		out := svcEtcdctl(t, s, "lease", "timetolive", strconv.FormatInt(k.Lease, 16))
		t.Logf("key jti/%s = %q, %s", jti, k.Value, strings.TrimSpace(out))
		if m := svcTTLRE.FindStringSubmatch(out); m != nil {
			if left, _ := strconv.Atoi(m[1]); left < ttl-120 || left > ttl {
				t.Errorf("lease of jti/%s: %ds left, want about %d", jti, left, ttl)
			}
		}
	}

	jti := svcJTI("revoke-jti")
	tok := p.issueToken(t, jti)
	gw.expectAccepted(t, "the token before micro-gw revoke", tok)
	start := time.Now()
	out, err := p.revoke(t, both, "--jti", jti, "--ttl", "3600")
	if err != nil {
		t.Fatalf("micro-gw revoke --jti: %v\n%s", err, out)
	}
	t.Logf("micro-gw revoke --jti said:\n%s", out)
	gw.expectRevoked(t, "micro-gw revoke --jti", tok, start)
	checkKey(t, jti, 3600)

	jti2 := svcJTI("revoke-token")
	tok2 := p.issueToken(t, jti2)
	gw.expectAccepted(t, "the token before micro-gw revoke --token", tok2)
	start = time.Now()
	out, err = p.revoke(t, both, "--token", tok2, "--ttl", "600")
	if err != nil {
		t.Fatalf("micro-gw revoke --token: %v\n%s", err, out)
	}
	if strings.Contains(out, tok2) {
		t.Errorf("micro-gw revoke printed the whole token; tokens never appear in output or logs (docs/runtime.md)")
	}
	gw.expectRevoked(t, "micro-gw revoke --token", tok2, start)
	checkKey(t, jti2, 600)

	// A gateway that starts now learns both from etcd.
	later := p.startGateway(t, "started-after-revoke", p.writeConf(t, "svc-etcd-only", svcConf{EtcdHostname: svcEtcdHostname(s)}))
	for _, tk := range []string{tok, tok2} {
		if a := later.call(tk); !a.revoked() {
			t.Errorf("a gateway started after micro-gw revoke served a revoked token: %s, want 401 fault 900901", a)
		}
	}

	// Unreachable sides are errors.
	dead := freePorts(t, 1)[0]
	for _, c := range []struct {
		name string
		conf svcConf
	}{
		{"an unreachable etcd", svcConf{BrokerURL: "stomp://" + s.STOMP, BrokerUser: "guest", BrokerPass: "guest",
			EtcdHostname: fmt.Sprintf("http://127.0.0.1:%d/v2/keys/jti/", dead)}},
		{"an unreachable broker", svcConf{BrokerURL: fmt.Sprintf("stomp://127.0.0.1:%d", dead), EtcdHostname: svcEtcdHostname(s)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := p.writeConf(t, "svc-dead", c.conf)
			begin := time.Now()
			out, err := p.revoke(t, conf, "--jti", svcJTI("dead"), "--ttl", "60")
			if err == nil {
				t.Fatalf("micro-gw revoke with %s exited 0, want 1 (issue 6):\n%s", c.name, out)
			}
			if !strings.Contains(err.Error(), "exit status 1") {
				t.Errorf("micro-gw revoke with %s: %v, want exit status 1", c.name, err)
			}
			t.Logf("micro-gw revoke with %s failed in %v: %s", c.name, time.Since(begin).Round(time.Millisecond), strings.TrimSpace(out))
		})
	}
	svcEtcdctl(t, s, "del", "jti/"+jti)
	svcEtcdctl(t, s, "del", "jti/"+jti2)
}

// Issue 5's custom store, end to end: the example store that `micro-gw init` writes into
// extensions/ (a file of revoked jtis, watched), compiled in by `micro-gw build`, on with
// useDefault = false and its own key revokedTokensFile. It needs no service, but it is the same
// user story as etcd's: revoked before start, revoked while running, un-revoked, restarted.
func TestServicesCustomStoreFile(t *testing.T) {
	p := svcSharedProject(t)
	rel := fmt.Sprintf("extensions/svc_revoked_%08x.txt", time.Now().UnixNano()&0xffffffff)
	file := filepath.Join(p.Root, rel)
	// Written as an editor does: a new file renamed over the old one.
	write := func(lines ...string) {
		t.Helper()
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	a, b, c := svcJTI("file-a"), svcJTI("file-b"), svcJTI("file-c")
	ta, tb, tc := p.issueToken(t, a), p.issueToken(t, b), p.issueToken(t, c)
	write("# revoked by the e2e services suite", a+" 3600")
	conf := p.writeConf(t, "svc-file", svcConf{CustomStore: true,
		Persistent: []string{"revokedTokensFile = " + strconv.Quote(rel)}})
	guard := svcStartGuard(t)

	gw := p.startGateway(t, "file-store", conf)
	guard.watchGateway(gw)
	if ans := gw.call(ta); !ans.revoked() {
		t.Errorf("a jti listed in %s before start got %s as soon as the gateway was ready, want 401 fault 900901", rel, ans)
	}
	guard.add("a", ta)
	gw.expectAccepted(t, "a token not in the file", tb)

	start := time.Now()
	write("# revoked by the e2e services suite", a+" 3600", b)
	gw.expectRevoked(t, "a jti added to the file while running", tb, start)
	guard.add("b", tb)

	gw.Stop()
	guard.forgetGateway(gw)
	gw2 := p.startGateway(t, "file-store-restarted", conf)
	guard.watchGateway(gw2)
	for _, tk := range []string{ta, tb} {
		if ans := gw2.call(tk); !ans.revoked() {
			t.Errorf("after the gateway restart a jti listed in the file got %s, want 401 fault 900901", ans)
		}
	}
	gw2.expectAccepted(t, "a token never listed", tc)

	guard.remove("a")
	start = time.Now()
	write("# a was taken out", b)
	gw2.expectAccepted(t, "a jti taken out of the file", ta)
	t.Logf("token a accepted %v after its line was removed", time.Since(start).Round(time.Millisecond))
	if ans := gw2.call(tb); !ans.revoked() {
		t.Errorf("token b, still listed, got %s, want 401 fault 900901", ans)
	}
	guard.Stop()
	os.Remove(file)
}

// A gateway that starts while etcd is down must not let a revoked token in: it is not ready, and
// (serveBeforeLoaded = false, the default) refuses secured requests with 503 until its first load;
// once etcd is back it loads, turns ready, refuses the revoked token and serves the others.
func TestServicesEtcdDownAtStart(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	conf := p.writeConf(t, "svc-etcd-down", svcConf{EtcdHostname: svcEtcdHostname(s)})
	a, c := svcJTI("down-a"), svcJTI("down-c")
	ta, tc := p.issueToken(t, a), p.issueToken(t, c)
	svcEtcdctl(t, s, "put", "jti/"+a, "3600")
	t.Cleanup(func() { svcEtcdctl(t, s, "del", "jti/"+a) })

	out, err := runTimed("", 2*time.Minute, nil, "bash", s.Script, "stop", "etcd")
	if err != nil {
		t.Fatalf("scripts/services.sh stop etcd: %v\n%s", err, out)
	}
	etcdUp := false
	t.Cleanup(func() {
		if !etcdUp {
			runTimed("", 3*time.Minute, nil, "bash", s.Script, "start", "etcd")
		}
	})

	gw := p.launchGateway(t, "etcd-down", conf)
	guard := svcStartGuard(t)
	guard.watchGateway(gw)
	guard.add("a", ta)
	gw.expectUnloaded(t, "etcd is down", tc)

	start := time.Now()
	out, err = runTimed("", 3*time.Minute, nil, "bash", s.Script, "start", "etcd")
	if err != nil {
		t.Fatalf("scripts/services.sh start etcd: %v\n%s", err, out)
	}
	etcdUp = true
	gw.waitReady(t, 60*time.Second)
	t.Logf("ready %v after etcd was started again", time.Since(start).Round(time.Millisecond))
	if ans := gw.call(ta); !ans.revoked() {
		t.Errorf("revoked token got %s once the gateway was ready, want 401 fault 900901", ans)
	}
	gw.expectAccepted(t, "a token never revoked", tc)
	guard.Stop()
}

// The persistent section's username and password against Debian's etcd: the conf that
// `micro-gw init` writes says root/root, which must also work while etcd's auth is off (most
// development etcds); then with auth on (root:root), keys put before start and while running are
// refused, `micro-gw revoke` writes its key, and a wrong password keeps the gateway unready.
func TestServicesEtcdAuth(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	withCreds := func(name, user, pass string) string {
		return p.writeConf(t, name, svcConf{EtcdHostname: svcEtcdHostname(s),
			Persistent: []string{"username = " + strconv.Quote(user), "password = " + strconv.Quote(pass)}})
	}

	t.Run("root/root while auth is off", func(t *testing.T) {
		jti := svcJTI("auth-off")
		tok := p.issueToken(t, jti)
		svcEtcdctl(t, s, "put", "jti/"+jti, "3600")
		defer svcEtcdctl(t, s, "del", "jti/"+jti)
		gw := p.startGateway(t, "etcd-auth-off", withCreds("svc-etcd-root-noauth", "root", "root"))
		if a := gw.call(tok); !a.revoked() {
			t.Errorf("revoked token got %s, want 401 fault 900901", a)
		}
	})

	root := "--user=root:root"
	// Leave etcd as the other suites expect it: auth off, no user, no role (`auth enable` makes
	// the role root). Done first too, in case an earlier run was cut short.
	undo := func() {
		for _, args := range [][]string{{root, "auth", "disable"}, {"user", "delete", "root"}, {"role", "delete", "root"}} {
			runTimed("", 30*time.Second, []string{"ETCDCTL_API=3"}, "etcdctl", append([]string{"--endpoints=" + s.Etcd}, args...)...)
		}
	}
	undo()
	t.Cleanup(undo)
	svcEtcdctl(t, s, "user", "add", "root:root")
	svcEtcdctl(t, s, "auth", "enable")

	before, during, viaRevoke := svcJTI("auth-before"), svcJTI("auth-during"), svcJTI("auth-revoke")
	tb, td, tr := p.issueToken(t, before), p.issueToken(t, during), p.issueToken(t, viaRevoke)
	svcEtcdctl(t, s, root, "put", "jti/"+before, "3600")
	conf := withCreds("svc-etcd-auth", "root", "root")
	gw := p.startGateway(t, "etcd-auth-on", conf)
	if a := gw.call(tb); !a.revoked() {
		t.Errorf("auth on: a key put before start: token got %s, want 401 fault 900901", a)
	}
	gw.expectAccepted(t, "auth on: a token not yet revoked", td)
	start := time.Now()
	svcEtcdctl(t, s, root, "put", "jti/"+during, "3600")
	gw.expectRevoked(t, "auth on: a key put while running", td, start)

	start = time.Now()
	if out, err := p.revoke(t, conf, "--jti", viaRevoke, "--ttl", "600"); err != nil {
		t.Errorf("micro-gw revoke with etcd auth on: %v\n%s", err, out)
	} else {
		gw.expectRevoked(t, "auth on: micro-gw revoke", tr, start)
	}

	t.Run("a wrong password", func(t *testing.T) {
		bad := p.launchGateway(t, "etcd-auth-wrong", withCreds("svc-etcd-auth-wrong", "root", "wrong"))
		bad.expectUnloaded(t, "the etcd password is wrong", tb)
	})

	for _, j := range []string{before, during, viaRevoke} {
		svcEtcdctl(t, s, root, "del", "jti/"+j)
	}
}
