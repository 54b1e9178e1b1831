//go:build e2e_services

// Issue 14, end to end: throttling counted in Debian's Redis by two gateways, and its fallback to
// local counters while Redis is down.
package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

// throttled is a 429 with the fault code.
func (a gatewayAnswer) throttled(code int) bool {
	return a.Err == nil && a.Status == http.StatusTooManyRequests && a.Code == code
}

// TestServicesThrottlingRedis: two gateways sharing Redis under one application policy (init's
// 10PerMin, named by the token's application.tier) admit 10 in total; with Redis stopped both
// keep serving, each on its own counters (10 each), and the mode metric says local; once Redis is
// back both count in it again (10 in total). Each phase is a new application, so a new counter.
func TestServicesThrottlingRedis(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	tag := fmt.Sprintf("%08x", rand.Uint32())
	conf := p.writeConf(t, "svc-throttle", svcConf{Tables: []string{fmt.Sprintf(
		"[throttlingConfig.global]\nenabled = true\nredisUrl = \"redis://%s/0\"\nkeyPrefix = \"svc-%s:\"", s.Redis, tag)}})
	gws := []*svcGateway{p.startGateway(t, "throttle-a", conf), p.startGateway(t, "throttle-b", conf)}
	t.Cleanup(func() { svcService(t, s, "start", "redis") }) // whatever happened, leave Redis up
	waitMode := func(mode string) {
		t.Helper()
		for _, g := range gws {
			svcPoll(t, g.Name+": throttling counts in "+mode, 30*time.Second, func() (bool, string) {
				v := g.metric(`microgw_throttling_mode{mode="` + mode + `"}`)
				return v == 1, fmt.Sprintf("microgw_throttling_mode{mode=%q} = %v", mode, v)
			})
		}
	}
	// admitted sends 30 requests of a new application, alternating between the gateways, and
	// counts the 200s per gateway; every other answer must be the application's 429.
	phase := 0
	admitted := func() (total int, per []int) {
		t.Helper()
		phase++
		tok := svcRuleToken(t, p, "svc-user", map[string]any{
			"application": map[string]any{"id": fmt.Sprintf("svc-app-%s-%d", tag, phase), "tier": "10PerMin"},
		}, time.Now())
		per = make([]int, len(gws))
		for i := range 30 {
			g := gws[i%len(gws)]
			switch a := g.call(tok); {
			case a.accepted():
				per[i%len(gws)]++
				total++
			case !a.throttled(900803):
				t.Fatalf("%s: request %d of phase %d got %s, want 200 or 429 fault 900803", g.Name, i, phase, a)
			}
		}
		return total, per
	}

	waitMode("redis")
	if n, per := admitted(); n != 10 {
		t.Fatalf("two gateways sharing Redis admitted %d (%v) of 30 under 10PerMin, want 10 in total", n, per)
	}
	svcService(t, s, "stop", "redis")
	if n, per := admitted(); n != 20 || per[0] != 10 || per[1] != 10 {
		t.Fatalf("with Redis stopped, the gateways admitted %v of 30, want 10 each: each counts alone", per)
	}
	waitMode("local")
	for _, g := range gws {
		if a := g.call(svcRuleToken(t, p, "svc-other", nil, time.Now())); !a.accepted() {
			t.Fatalf("%s does not serve while Redis is down: %s", g.Name, a)
		}
		if code, err := g.ready(); err != nil || code != http.StatusOK {
			t.Fatalf("%s not ready while Redis is down (%d, %v): readiness must not depend on Redis", g.Name, code, err)
		}
	}
	svcService(t, s, "start", "redis")
	waitMode("redis")
	if n, per := admitted(); n != 10 {
		t.Fatalf("with Redis back, the gateways admitted %d (%v) of 30, want 10 in total", n, per)
	}
}

// blocked is exactly the fault of a blocking condition.
func (a gatewayAnswer) blocked() bool {
	return a.Err == nil && a.Status == http.StatusForbidden && a.Code == 900805
}

// callFrom sends GET /svc/v1/pets with the token as if from addr, through the trusted proxy.
func (g *svcGateway) callFrom(token, addr string) gatewayAnswer {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/svc/v1/pets", g.HTTP), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := g.client.Do(req)
	if err != nil {
		return gatewayAnswer{Err: err}
	}
	defer resp.Body.Close()
	a := gatewayAnswer{Status: resp.StatusCode}
	var f struct {
		Fault struct {
			Code int `json:"code"`
		} `json:"fault"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&f)
	a.Code = f.Fault.Code
	return a
}

// TestServicesBlocking: two gateways on RabbitMQ and etcd, traffic flowing from a client address
// (X-Forwarded-For through a trusted proxy): `micro-gw block --ip` is enforced on both within the
// revocation target (timed, as a revocation is), a user blocked the same way survives a gateway's
// restart through etcd, and `micro-gw unblock` lifts both, on the running gateways and the
// restarted one alike. A bystander is served all along.
func TestServicesBlocking(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	tag := fmt.Sprintf("%08x", rand.Uint32())
	prefix := "svc-blocking-" + tag + "/"
	conf := p.writeConf(t, "svc-blocking", svcConf{
		BrokerURL: s.amqpURL("/"), Topic: "svcBlocking" + tag, EtcdHostname: svcEtcdHostname(s),
		Persistent: []string{fmt.Sprintf("blockingPrefix = %q", prefix)},
		Tables:     []string{"[throttlingConfig]\ntrustedProxies = [\"127.0.0.1\"]"},
	})
	t.Cleanup(func() { svcEtcdctl(t, s, "del", prefix, "--prefix") })
	gws := []*svcGateway{p.startGateway(t, "blocking-a", conf), p.startGateway(t, "blocking-b", conf)}
	client := fmt.Sprintf("203.0.113.%d", 1+rand.IntN(250))
	bystander := svcRuleToken(t, p, "svc-bystander", nil, time.Now())
	mallory := svcRuleToken(t, p, "svc-mallory-"+tag, nil, time.Now())
	for _, g := range gws {
		if a := g.callFrom(bystander, client); !a.accepted() {
			t.Fatalf("%s before any condition: %s", g.Name, a)
		}
	}
	// Traffic flows from the client while the condition is published.
	stop := make(chan struct{})
	flowing := make(chan int)
	go func() {
		n := 0
		defer func() { flowing <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, g := range gws {
				g.callFrom(bystander, client)
				n++
			}
		}
	}()
	start := time.Now()
	if out, err := p.block(t, "block", conf, "--ip", client); err != nil {
		t.Fatalf("micro-gw block --ip: %v\n%s", err, out)
	}
	for _, g := range gws {
		g.expectAnswer(t, "the client blocked by address", start, func() bool { return g.callFrom(bystander, client).blocked() })
	}
	close(stop)
	t.Logf("%d requests flowed from %s while it was blocked", <-flowing, client)
	if out, err := p.block(t, "block", conf, "--user", "svc-mallory-"+tag); err != nil {
		t.Fatalf("micro-gw block --user: %v\n%s", err, out)
	}
	if _, ok := svcEtcdGet(t, s, prefix+"user/svc-mallory-"+tag); !ok {
		t.Fatalf("no etcd key %suser/svc-mallory-%s", prefix, tag)
	}
	for _, g := range gws {
		g.expectAnswer(t, "a blocked user", time.Now(), func() bool { return g.callFrom(mallory, "198.51.100.1").blocked() })
		if a := g.callFrom(bystander, "198.51.100.1"); !a.accepted() {
			t.Fatalf("%s: a bystander from elsewhere: %s", g.Name, a)
		}
	}
	// A restarted gateway knows both from etcd as soon as it is ready.
	gws[1].Stop()
	gws[1] = p.startGateway(t, "blocking-b-restarted", conf)
	if a := gws[1].callFrom(mallory, "198.51.100.1"); !a.blocked() {
		t.Fatalf("after the restart, the blocked user got %s", a)
	}
	if a := gws[1].callFrom(bystander, client); !a.blocked() {
		t.Fatalf("after the restart, the blocked address got %s", a)
	}
	start = time.Now()
	for _, args := range [][]string{{"--ip", client}, {"--user", "svc-mallory-" + tag}} {
		if out, err := p.block(t, "unblock", conf, args...); err != nil {
			t.Fatalf("micro-gw unblock %v: %v\n%s", args, err, out)
		}
	}
	for _, g := range gws {
		g.expectAnswer(t, "the lifted address", start, func() bool { return g.callFrom(bystander, client).accepted() })
		g.expectAnswer(t, "the lifted user", start, func() bool { return g.callFrom(mallory, "198.51.100.1").accepted() })
	}
}

// block runs `micro-gw VERB --config CONF ARGS...` (block or unblock).
func (p *svcProject) block(t *testing.T, verb, conf string, args ...string) (string, error) {
	t.Helper()
	microgw, _ := svcBinaries(t)
	return runTimed(p.Work, time.Minute, nil, microgw, append([]string{verb, "--config", conf}, args...)...)
}

// expectAnswer polls cond until it holds and logs how long that took from since, against the
// revocation target.
func (g *svcGateway) expectAnswer(t *testing.T, what string, since time.Time, cond func() bool) {
	t.Helper()
	svcPoll(t, g.Name+": "+what, svcPollDeadline, func() (bool, string) { return cond(), "no" })
	d := time.Since(since)
	verdict := "within"
	if d > svcTarget {
		verdict = "OVER"
	}
	t.Logf("%s: %s %v after the command started (%s the %v target)", g.Name, what, d.Round(time.Millisecond), verdict, svcTarget)
}
