package runtime

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// throttledPetstore is petstore with policies: GET /pet/{petId} has a tier of its own (3 a
// minute), the API a tier (5 a minute) that the other operations share; application and
// subscription policies of 2 a minute.
func throttledPetstore(prod *Endpoint) Spec {
	s := petstore(prod, nil)
	s.Policies = Policies{
		Resource:     []Policy{{Name: "3PerMin", Count: 3, Unit: time.Minute}, {Name: "5PerMin", Count: 5, Unit: time.Minute}},
		Application:  []Policy{{Name: "2PerMin", Count: 2, Unit: time.Minute}},
		Subscription: []Policy{{Name: "Gold", Count: 2, Unit: time.Hour}},
	}
	s.APIs[0].ThrottlingTier = "5PerMin"
	s.APIs[0].Resources[0].ThrottlingTier = "3PerMin"
	return s
}

// wantThrottled checks a 429 with the code and a Retry-After of 1..max seconds.
func wantThrottled(t *testing.T, resp *http.Response, body string, code int, max time.Duration) {
	t.Helper()
	wantFault(t, resp, body, http.StatusTooManyRequests, code)
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 1 || time.Duration(ra)*time.Second > max {
		t.Errorf("Retry-After %q, want 1..%v seconds", resp.Header.Get("Retry-After"), max)
	}
	if !strings.Contains(body, `"message":"Message throttled out","description":"Message throttled out. You have exceeded your quota. You can access the API again after `) {
		t.Errorf("body %s", body)
	}
}

// Resource and API tiers: an operation's own tier counts it alone, the API's counts once for the
// others; both are shared by every caller; the refused requests never reach the backend.
func TestThrottleResourceAndAPI(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	s := startServer(t, throttledPetstore(ep(be.URL)), cfg, Options{})
	alice, bob := iss.Token(t, map[string]any{"sub": "alice"}), iss.Token(t, map[string]any{"sub": "bob"})
	pet := s.testURL("http", "/petstore/v1/pet/1")
	for i, tok := range []string{alice, bob, alice} {
		if resp, body := do(t, "GET", pet, nil, "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := do(t, "GET", pet, nil, "Authorization", "Bearer "+bob)
	wantThrottled(t, resp, body, CodeThrottledResource, time.Minute)
	// The API's tier: the unsecured operations share 5 a minute, the resource's 3 left aside.
	for i := range 5 {
		path := "/petstore/v1/pet/findByStatus"
		if i%2 == 1 {
			path = "/petstore/v1/store/order"
		}
		method := map[bool]string{true: "POST", false: "GET"}[i%2 == 1]
		if resp, body := do(t, method, s.testURL("http", path), nil); resp.StatusCode != 200 {
			t.Fatalf("API request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body = do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil)
	wantThrottled(t, resp, body, CodeThrottledResource, time.Minute)
	if n := be.hits.Load(); n != 8 {
		t.Errorf("the backend saw %d requests, want the 8 admitted", n)
	}
	for _, want := range []string{
		`microgw_throttled_requests_total{api="Swagger Petstore 1.0.0",level="resource",policy="3PerMin"} 1`,
		`microgw_throttled_requests_total{api="Swagger Petstore 1.0.0",level="api",policy="5PerMin"} 1`,
		`microgw_throttling_counters 2`,
	} {
		if m := metricsText(t, s); !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Application policies count per application and user across the APIs; subscription policies
// per application and API; a token without tiers is limited by the route alone.
func TestThrottleApplicationAndSubscription(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	spec := throttledPetstore(ep(be.URL))
	spec.APIs[0].Resources[0].ThrottlingTier = Unlimited
	spec.APIs[0].ThrottlingTier = ""
	s := startServer(t, spec, cfg, Options{})
	pet := s.testURL("http", "/petstore/v1/pet/1")
	appTok := func(sub, app string) string {
		return iss.Token(t, map[string]any{"sub": sub, "application": map[string]any{"id": app, "tier": "2PerMin"}})
	}
	get := func(tok string) (*http.Response, string) {
		return do(t, "GET", pet, nil, "Authorization", "Bearer "+tok)
	}
	a1 := appTok("alice", "app1")
	for range 2 {
		if resp, body := get(a1); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	resp, body := get(appTok("alice", "app1")) // another token of the same application and user
	wantThrottled(t, resp, body, CodeThrottledApplication, time.Minute)
	for _, other := range []string{appTok("bob", "app1"), appTok("alice", "app2"), iss.Token(t, map[string]any{"sub": "alice"})} {
		if resp, body := get(other); resp.StatusCode != 200 {
			t.Fatalf("another user, application or a token without a tier: %d %s", resp.StatusCode, body)
		}
	}
	sub := func(app, tier string) string {
		return iss.Token(t, map[string]any{"sub": "carol", "azp": app, "subscribedAPIs": []any{
			map[string]any{"name": "Swagger Petstore", "version": "1.0.0", "subscriptionTier": tier},
			map[string]any{"name": "Other", "version": "1.0.0", "subscriptionTier": "Bronze"},
		}})
	}
	for range 2 {
		if resp, body := get(sub("app3", "Gold")); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	resp, body = get(sub("app3", "Gold"))
	wantThrottled(t, resp, body, CodeThrottledSubscription, time.Hour)
	if resp, body := get(sub("app4", "Gold")); resp.StatusCode != 200 {
		t.Fatalf("another application's subscription: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(sub("app3", "NoSuchTier")); resp.StatusCode != 200 {
		t.Fatalf("a tier that names no policy limits nothing: %d %s", resp.StatusCode, body)
	}
}

// Without a policy that can apply, the stage is absent; a tier naming no policy fails New.
func TestThrottleAbsentAndUnknownTier(t *testing.T) {
	be := newBackend(t, "prod")
	_, cfg := issuerConfig(t)
	spec := petstore(ep(be.URL), nil)
	spec.Policies.Resource = []Policy{{Name: "1PerMin", Count: 1, Unit: time.Minute}}
	spec.APIs[0].ThrottlingTier = Unlimited
	s, err := New(spec, cfg, Options{})
	if err != nil || s.throttling != nil {
		t.Fatalf("no tier in use: throttling %v, %v", s.throttling, err)
	}
	spec.APIs[0].Resources[2].ThrottlingTier = "Platinum"
	if _, err := New(spec, cfg, Options{}); err == nil || !strings.Contains(err.Error(), `throttling tier "Platinum" names no resource policy`) {
		t.Fatalf("got %v", err)
	}
}

// [throttlingConfig.global]: two gateways sharing a Redis admit N in total; with Redis away
// each counts on its own (the mode metric says so) and they go back when it returns.
func TestThrottleGlobal(t *testing.T) {
	m := miniredis.RunT(t)
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.Throttling.Global.Enabled = true
	cfg.Throttling.Global.RedisURL = "redis://" + m.Addr() + "/0"
	cfg.Throttling.Global.Timeout = time.Second
	cfg.Throttling.Global.KeyPrefix = "gw:"
	spec := throttledPetstore(ep(be.URL))
	gws := []*Server{startServer(t, spec, cfg, Options{}), startServer(t, spec, cfg, Options{})}
	tok := iss.Token(t, nil)
	admitted := func() int {
		n := 0
		for i := range 8 {
			if resp, _ := do(t, "GET", gws[i%2].testURL("http", "/petstore/v1/pet/1"), nil, "Authorization", "Bearer "+tok); resp.StatusCode == 200 {
				n++
			}
		}
		return n
	}
	waitMode := func(g *Server, mode string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for metricValue(t, g, `microgw_throttling_mode{mode="`+mode+`"}`) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("mode %s not in force after 20 s", mode)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, g := range gws {
		waitMode(g, "redis")
	}
	if n := admitted(); n != 3 {
		t.Fatalf("two gateways sharing Redis admitted %d of 8, want 3", n)
	}
	if v, _ := m.Get("gw:resource:3PerMin:GET:/petstore/v1/pet/{petId}"); v != "3" {
		t.Errorf("the Redis counter is %q, want 3 (keys %v)", v, m.Keys())
	}
	m.Close()
	if n := admitted(); n != 6 {
		t.Fatalf("with Redis away, the two admitted %d of 8, want 3 each", n)
	}
	for _, g := range gws {
		waitMode(g, "local")
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	m.FlushAll() // a Redis restarted without persistence
	for _, g := range gws {
		waitMode(g, "redis")
	}
	// The local counters are used up: 3 admitted means the count is in Redis again.
	if n := admitted(); n != 3 {
		t.Fatalf("back on Redis (empty after its restart), the two admitted %d of 8, want 3", n)
	}
}
