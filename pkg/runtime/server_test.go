package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

func TestProxyPathAndQuery(t *testing.T) {
	be := newBackend(t, "prod")
	s := startServer(t, petstore(ep(be.URL+"/v2"), nil), testConfig(t), Options{})

	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus?status=sold&x=a%20b"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if want := "/v2/pet/findByStatus?status=sold&x=a%20b"; got["uri"] != want {
		t.Errorf("backend got %q, want %q", got["uri"], want)
	}
	if xff := be.lastRequest().Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For %q, want 127.0.0.1", xff)
	}
	if xfh := be.lastRequest().Header.Get("X-Forwarded-Host"); xfh != s.addr("http").String() {
		t.Errorf("X-Forwarded-Host %q, want %q", xfh, s.addr("http"))
	}

	// A trailing slash is matched and passed on as sent; an encoded
	// character stays encoded.
	resp, body = do(t, "POST", s.testURL("http", "/petstore/v1/store/order/"), strings.NewReader(`{"id":1}`))
	if resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/v2/store/order/"`) {
		t.Errorf("trailing slash: %d %s", resp.StatusCode, body)
	}
}

// With listenerConfig.allowEncodedSlash, a parameter's %2F reaches the
// backend as sent, never decoded into a path separator.
func TestEncodedSlashProxied(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.Listener.AllowEncodedSlash = true
	s := startServer(t, petstore(ep(be.URL+"/v2"), nil), cfg, Options{})
	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/heads%2Fmain"), nil, "Authorization", "Bearer "+iss.Token(t, nil))
	if resp.StatusCode != 200 || !strings.Contains(body, `"uri":"/v2/pet/heads%2Fmain"`) {
		t.Errorf("encoded slash: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", s.testURL("http", "/petstore/v1/pet/a%2F..%2Fadmin"), nil, "Authorization", "Bearer "+iss.Token(t, nil))
	wantFault(t, resp, body, 404, CodeNoMatchingResource)
}

func TestEndpointWithoutPath(t *testing.T) {
	be := newBackend(t, "prod")
	s := startServer(t, petstore(ep(be.URL), nil), testConfig(t), Options{})
	_, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus?q=1"), nil)
	if !strings.Contains(body, `"uri":"/pet/findByStatus?q=1"`) {
		t.Errorf("backend got %s", body)
	}
}

func TestNoMatchAndMethodNotAllowed(t *testing.T) {
	be := newBackend(t, "prod")
	s := startServer(t, petstore(ep(be.URL), nil), testConfig(t), Options{})

	for _, path := range []string{"/nothing", "/petstore/v1/cat/1", "/petstore/v1/pet/1/2", "/petstore/v1//pet/1", "/petstore/v1/pet/a%2F..%2F..%2Fadmin"} {
		// A token or not, the route is matched first.
		resp, body := do(t, "GET", s.testURL("http", path), nil, "Authorization", "Bearer x.y.z")
		wantFault(t, resp, body, 404, CodeNoMatchingResource)
		if want := `{"fault":{"code":900906,"message":"No matching resource found in the API for the given request","description":"No matching resource found in the API for the given request. Check the API's base path, the resource path and the method"}}` + "\n"; body != want {
			t.Errorf("%s: body\n%s\nwant\n%s", path, body, want)
		}
	}
	resp, body := do(t, "PATCH", s.testURL("http", "/petstore/v1/pet/1"), nil)
	wantFault(t, resp, body, 405, CodeMethodNotAllowed)
	if allow := resp.Header.Get("Allow"); allow != "DELETE, GET, HEAD" {
		t.Errorf("Allow %q", allow)
	}
	if be.hits.Load() != 0 {
		t.Errorf("the backend saw %d requests", be.hits.Load())
	}
}

func TestSecuredWithoutToken(t *testing.T) {
	be := newBackend(t, "prod")
	s := startServer(t, petstore(ep(be.URL), nil), testConfig(t), Options{})
	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil)
	wantFault(t, resp, body, 401, CodeMissingCredentials)
	if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="micro-gw"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	if be.hits.Load() != 0 {
		t.Errorf("the backend saw %d requests", be.hits.Load())
	}
}

func TestLoadBalance(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	s := startServer(t, petstore(&Endpoint{URLs: []string{a.URL, b.URL}, Type: EndpointLoadBalance}, nil), testConfig(t), Options{})
	for range 10 {
		if resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	if a.hits.Load() != 5 || b.hits.Load() != 5 {
		t.Errorf("round robin: a %d, b %d; want 5 and 5", a.hits.Load(), b.hits.Load())
	}
}

func TestLoadBalanceSkipsDeadURL(t *testing.T) {
	a := newBackend(t, "a")
	s := startServer(t, petstore(&Endpoint{URLs: []string{deadURL(t), a.URL}}, nil), testConfig(t), Options{})
	for range 6 {
		if resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	if a.hits.Load() != 6 {
		t.Errorf("the live URL saw %d of 6 requests", a.hits.Load())
	}
}

func TestFailover(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	s := startServer(t, petstore(&Endpoint{URLs: []string{a.URL, b.URL}, Type: EndpointFailover}, nil), testConfig(t), Options{})
	for range 4 {
		do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil)
	}
	if a.hits.Load() != 4 || b.hits.Load() != 0 {
		t.Errorf("failover with both up: a %d, b %d; want 4 and 0", a.hits.Load(), b.hits.Load())
	}
	a.Close()
	for range 3 {
		if resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil); resp.StatusCode != 200 || !strings.Contains(body, `"backend":"b"`) {
			t.Fatalf("after the first URL died: %d %s", resp.StatusCode, body)
		}
	}
	if b.hits.Load() != 3 {
		t.Errorf("the second URL saw %d of 3 requests", b.hits.Load())
	}
}

func TestFailoverSendsAnUnreadBodyOn(t *testing.T) {
	b := newBackend(t, "b")
	s := startServer(t, petstore(&Endpoint{URLs: []string{deadURL(t), b.URL}, Type: EndpointFailover}, nil), testConfig(t), Options{})
	// The dead URL refused the connection before any of the body was read:
	// the POST goes to the next URL with its body whole.
	for i := range 2 {
		resp, body := do(t, "POST", s.testURL("http", "/petstore/v1/store/order"), strings.NewReader(`{"id":1}`))
		if resp.StatusCode != 200 {
			t.Fatalf("POST %d: %d %s", i, resp.StatusCode, body)
		}
		if got := b.lastBody(); got != `{"id":1}` {
			t.Errorf("POST %d: the backend got the body %q", i, got)
		}
	}
	if b.hits.Load() != 2 {
		t.Errorf("live URL hits %d", b.hits.Load())
	}
}

func TestDeadBackend(t *testing.T) {
	s := startServer(t, petstore(ep(deadURL(t)), nil), testConfig(t), Options{})
	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil)
	wantFault(t, resp, body, 503, CodeBackendUnreachable)
	if want := `{"fault":{"code":101503,"message":"Error connecting to the back end","description":"Error connecting to the back end. The backend service could not be reached"}}` + "\n"; body != want {
		t.Errorf("body %s", body)
	}
}

// panicDial is a backend dialer with a bug.
func panicDial(context.Context, string, string) (net.Conn, error) { panic("dialer bug") }

func TestPanicIsAFault(t *testing.T) {
	s := startServer(t, petstore(ep("http://backend.invalid"), nil), testConfig(t), Options{Dial: panicDial})
	for range 2 { // the server lives on
		resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil)
		wantFault(t, resp, body, 500, CodeInternalError)
	}
	_, metrics := do(t, "GET", s.testURL("admin", "/metrics"), nil)
	if !strings.Contains(metrics, "microgw_panics_total 2") {
		t.Errorf("panics not counted")
	}
}

func TestGracefulDrain(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	slow := newBackend(t, "slow")
	slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		_, _ = w.Write([]byte("done"))
	})
	spec := petstore(ep(slow.URL), nil)
	s, err := New(spec, testConfig(t), Options{HTTPAddr: "127.0.0.1:0", AdminAddr: "-", Sources: []NamedSource{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := s.addr("http").String()

	type result struct {
		status int
		body   string
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/petstore/v1/slow")
		if err != nil {
			got <- result{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- result{resp.StatusCode, string(b)}
	}()
	<-arrived

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	// Wait until the listener is closed: the drain has begun.
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
	}
	close(release)
	r := <-got
	if r.status != 200 || r.body != "done" {
		t.Errorf("in-flight request: %d %q", r.status, r.body)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// gateSource is a revocation source that becomes ready when told.
type gateSource struct {
	load chan struct{}
	jtis []string
}

func (g *gateSource) Run(ctx context.Context, sink revocation.Sink, ready func()) error {
	select {
	case <-g.load:
		for _, j := range g.jtis {
			sink.Revoke(j, time.Time{})
		}
		ready()
	case <-ctx.Done():
		return nil
	}
	<-ctx.Done()
	return nil
}

func TestReadinessAndRevocationGate(t *testing.T) {
	be := newBackend(t, "prod")
	store := &gateSource{load: make(chan struct{}), jtis: []string{"r1", "r2"}}
	broker := &gateSource{load: make(chan struct{})}
	cfg := testConfig(t)
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{Sources: []NamedSource{
		{Name: "store:test", Source: store, Persistent: true},
		{Name: "broker", Source: broker},
	}})

	resp, _ := do(t, "GET", s.testURL("admin", "/health/live"), nil)
	if resp.StatusCode != 200 {
		t.Errorf("live: %d", resp.StatusCode)
	}
	resp, body := do(t, "GET", s.testURL("admin", "/health/ready"), nil)
	if resp.StatusCode != 503 || body != `{"status":"not ready","waiting":["revocation source store:test","revocation source broker"]}`+"\n" {
		t.Errorf("ready before the sources: %d %s", resp.StatusCode, body)
	}
	// Fail closed: a secured request waits for the persistent store; an
	// unsecured one does not.
	resp, body = do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil)
	wantFault(t, resp, body, 503, CodeRevocationNotLoaded)
	if resp, _ := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil); resp.StatusCode != 200 {
		t.Errorf("unsecured before load: %d", resp.StatusCode)
	}

	store.load <- struct{}{}
	waitFor(t, func() bool { return len(s.waiting()) == 1 })
	resp, body = do(t, "GET", s.testURL("admin", "/health/ready"), nil)
	if resp.StatusCode != 503 || !strings.Contains(body, `"waiting":["revocation source broker"]`) {
		t.Errorf("ready with the broker missing: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil)
	wantFault(t, resp, body, 401, CodeMissingCredentials)

	broker.load <- struct{}{}
	waitFor(t, func() bool { return len(s.waiting()) == 0 })
	resp, body = do(t, "GET", s.testURL("admin", "/health/ready"), nil)
	if resp.StatusCode != 200 || body != `{"status":"ready"}`+"\n" {
		t.Errorf("ready: %d %s", resp.StatusCode, body)
	}
	_, metrics := do(t, "GET", s.testURL("admin", "/metrics"), nil)
	for _, want := range []string{
		"microgw_revoked_tokens 2",
		`microgw_revocation_source_ready{source="store:test"} 1`,
		`microgw_revocation_source_ready{source="broker"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestServeBeforeLoaded(t *testing.T) {
	be := newBackend(t, "prod")
	cfg := testConfig(t)
	cfg.Revocation.Persistent.ServeBeforeLoaded = true
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{Sources: []NamedSource{
		{Name: "store:test", Source: &gateSource{load: make(chan struct{})}, Persistent: true},
	}})
	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil)
	wantFault(t, resp, body, 401, CodeMissingCredentials)
}

func TestMetricsExposed(t *testing.T) {
	be := newBackend(t, "prod")
	s := startServer(t, petstore(ep(be.URL), nil), testConfig(t), Options{})
	do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil)
	do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus/"), nil)
	do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil)
	do(t, "GET", s.testURL("http", "/random/raw/path"), nil)
	do(t, "BREW", s.testURL("http", "/petstore/v1/pet/1"), nil)
	resp, metrics := do(t, "GET", s.testURL("admin", "/metrics"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{
		`microgw_requests_total{api="Swagger Petstore 1.0.0",method="GET",resource="/petstore/v1/pet/findByStatus",status="200"} 2`,
		`microgw_requests_total{api="Swagger Petstore 1.0.0",method="GET",resource="/petstore/v1/pet/{petId}",status="401"} 1`,
		`microgw_requests_total{api="",method="GET",resource="",status="404"} 1`,
		`microgw_requests_total{api="",method="OTHER",resource="",status="405"} 1`,
		`microgw_auth_failures_total{reason="missing"} 1`,
		`microgw_request_duration_seconds_count{api="Swagger Petstore 1.0.0",resource="/petstore/v1/pet/findByStatus"} 2`,
		"microgw_revoked_tokens 0",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, "/random/raw/path") {
		t.Error("a raw path became a label")
	}
}

// waitFor polls cond until it holds. The minute is only a guard against a
// hung test, far beyond anything the conditions need.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestResourceEndpointOverridesAPI(t *testing.T) {
	api, op := newBackend(t, "api"), newBackend(t, "operation")
	spec := petstore(ep(api.URL), nil)
	spec.APIs[0].Resources[3].Production = ep(op.URL + "/special") // GET /pet/findByStatus
	s := startServer(t, spec, testConfig(t), Options{})
	_, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/findByStatus"), nil)
	if !strings.Contains(body, `"backend":"operation"`) || !strings.Contains(body, `"uri":"/special/pet/findByStatus"`) {
		t.Errorf("operation endpoint: %s", body)
	}
	_, body = do(t, "POST", s.testURL("http", "/petstore/v1/store/order"), strings.NewReader("{}"))
	if !strings.Contains(body, `"backend":"api"`) {
		t.Errorf("API endpoint: %s", body)
	}
}

func TestNewRejectsBadSpecs(t *testing.T) {
	cfg := testConfig(t)
	for name, spec := range map[string]Spec{
		"relative base path": {APIs: []API{{Title: "a", BasePath: "v1", Resources: []Resource{{Method: "GET", Path: "/x"}}}}},
		"bad endpoint type":  {APIs: []API{{Title: "a", BasePath: "/v1", Production: &Endpoint{URLs: []string{"http://h"}, Type: "random"}, Resources: []Resource{{Method: "GET", Path: "/x"}}}}},
		"endpoint scheme":    {APIs: []API{{Title: "a", BasePath: "/v1", Production: ep("ftp://h"), Resources: []Resource{{Method: "GET", Path: "/x"}}}}},
		"duplicate resource": {APIs: []API{{Title: "a", BasePath: "/v1", Resources: []Resource{{Method: "GET", Path: "/x/{a}"}, {Method: "GET", Path: "/x/{b}"}}}}},
	} {
		if _, err := New(spec, cfg, Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestTraceLevel(t *testing.T) {
	var b strings.Builder
	l := NewLogger(&b, config.LevelTrace)
	l.Log(context.Background(), config.LevelTrace, "deep")
	l.Debug("less deep")
	if !strings.Contains(b.String(), "level=TRACE msg=deep") || !strings.Contains(b.String(), "level=DEBUG") {
		t.Errorf("log:\n%s", b.String())
	}
	b.Reset()
	NewLogger(&b, slog.LevelDebug).Log(context.Background(), config.LevelTrace, "hidden")
	if b.String() != "" {
		t.Errorf("TRACE shown at DEBUG: %s", b.String())
	}
}

// brokenSource fails the way a source does when its configuration can
// never work.
type brokenSource struct{}

func (brokenSource) Run(context.Context, revocation.Sink, func()) error {
	return errors.New("no such topic")
}

func TestFailingSourceStopsTheGateway(t *testing.T) {
	s := startServer(t, petstore(ep("http://backend.invalid"), nil), testConfig(t), Options{Sources: []NamedSource{{Name: "broken", Source: brokenSource{}}}})
	err := <-s.Done()
	if err == nil || !strings.Contains(err.Error(), "revocation source broken stopped: no such topic") {
		t.Errorf("Done: %v", err)
	}
}

func TestShutdownCutsWhatOutlivesTheDrain(t *testing.T) {
	arrived := make(chan struct{})
	stuck := newBackend(t, "stuck")
	stuck.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	s, err := New(petstore(ep(stuck.URL), nil), testConfig(t), Options{HTTPAddr: "127.0.0.1:0", AdminAddr: "-", Sources: []NamedSource{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		resp, err := http.Get(s.testURL("http", "/petstore/v1/slow"))
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	<-arrived
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time at all to drain
	if err := s.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "drain") {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-got; err == nil {
		t.Error("the stuck request was not cut")
	}
}
