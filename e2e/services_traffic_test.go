//go:build e2e_services

// Issue 14, end to end: throttling counted in Debian's Redis by two gateways, and its fallback to
// local counters while Redis is down.
package e2e

import (
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
