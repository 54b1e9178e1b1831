package runtime

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

// twoAPIs is a spec of two APIs on one backend, each with a secured and an
// unsecured resource; change adjusts the first.
func twoAPIs(backendURL string, change func(a *API)) Spec {
	api := func(title, base string) API {
		return API{Title: title, Version: "1", Source: title + ".yaml", BasePath: base, Production: ep(backendURL),
			Resources: []Resource{
				{Method: "GET", Path: "/pet/{id}", Secured: true},
				{Method: "GET", Path: "/open", Secured: false},
			}}
	}
	spec := Spec{Name: "p", APIs: []API{api("A", "/a"), api("B", "/b")}}
	if change != nil {
		change(&spec.APIs[0])
	}
	return spec
}

func TestAuthHeaderPerAPI(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	s := startServer(t, twoAPIs(be.URL, func(a *API) { a.AuthHeader = "x-api-token" }), cfg, Options{})
	tok := "Bearer " + iss.Token(t, nil)

	resp, body := do(t, "GET", s.testURL("http", "/a/pet/1"), nil, "X-Api-Token", tok)
	if resp.StatusCode != 200 {
		t.Fatalf("token in the API's header: %d %s", resp.StatusCode, body)
	}
	if got := be.lastRequest().Header.Get("X-Api-Token"); got != "" {
		t.Errorf("the API's header reached the backend: %q", got)
	}
	// In Authorization alone the token is missing for this API, and the
	// Authorization header is the client's own, passed on.
	resp, body = do(t, "GET", s.testURL("http", "/a/pet/1"), nil, "Authorization", tok)
	wantFault(t, resp, body, 401, CodeMissingCredentials)

	// The other API keeps [authConfig]'s header.
	resp, body = do(t, "GET", s.testURL("http", "/b/pet/1"), nil, "Authorization", tok)
	if resp.StatusCode != 200 {
		t.Fatalf("B with Authorization: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", s.testURL("http", "/b/pet/1"), nil, "X-Api-Token", tok)
	wantFault(t, resp, body, 401, CodeMissingCredentials)
}

// startTLSServer is startServer with an HTTPS listener too.
func startTLSServer(t *testing.T, spec Spec, opts Options) (*Server, *http.Client, string) {
	t.Helper()
	iss, cfg := issuerConfig(t)
	cfg.Listener.CertFile, cfg.Listener.KeyFile = writeTLSPair(t, t.TempDir())
	opts.HTTPSAddr = "127.0.0.1:0"
	s := startServer(t, spec, cfg, opts)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test's own pair
	return s, client, "Bearer " + iss.Token(t, nil)
}

// A request on a listener the API does not list is 404 900906 before
// anything else is looked at (a wrong method too, which would be 405 where
// the API is served), and never reaches the backend.
func TestTransports(t *testing.T) {
	be := newBackend(t, "prod")
	spec := twoAPIs(be.URL, func(a *API) { a.Transports = []string{TransportHTTPS} })
	spec.APIs[1].Transports = []string{TransportHTTP}
	s, client, tok := startTLSServer(t, spec, Options{})

	for _, tc := range []struct {
		listener, method, path string
	}{{"http", "GET", "/a/pet/1"}, {"http", "GET", "/a/open"}, {"http", "DELETE", "/a/open"}, {"https", "GET", "/b/open"}} {
		resp, body := doWith(t, client, tc.method, s.testURL(tc.listener, tc.path), nil, "Authorization", tok)
		wantFault(t, resp, body, 404, CodeNoMatchingResource)
	}
	if n := be.hits.Load(); n != 0 {
		t.Fatalf("the backend was reached %d times", n)
	}
	for _, tc := range []struct{ listener, path string }{{"https", "/a/pet/1"}, {"https", "/a/open"}, {"http", "/b/open"}, {"http", "/b/pet/1"}} {
		if resp, body := doWith(t, client, "GET", s.testURL(tc.listener, tc.path), nil, "Authorization", tok); resp.StatusCode != 200 {
			t.Errorf("%s %s: %d %s", tc.listener, tc.path, resp.StatusCode, body)
		}
	}
	resp, body := doWith(t, client, "DELETE", s.testURL("https", "/a/open"), nil)
	wantFault(t, resp, body, 405, CodeMethodNotAllowed)
}

// corsBackend answers with CORS headers of its own, which the gateway
// replaces for an API whose CORS it answers.
func corsBackend(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "DELETE")
		w.Header().Set("Access-Control-Expose-Headers", "X-Total")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"backend":"cors"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// acHeaders are the response's Access-Control-* headers and its Vary.
func acHeaders(resp *http.Response) http.Header {
	out := http.Header{}
	for k, v := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
			out[k] = v
		}
	}
	return out
}

func TestCORS(t *testing.T) {
	be, hits := corsBackend(t)
	iss, cfg := issuerConfig(t)
	// [corsConfig] is the default of API B; A has its own, C switches it off.
	cfg.CORS.Enabled = true
	cfg.CORS.AllowOrigins = []string{"*"}
	spec := twoAPIs(be.URL, func(a *API) {
		a.CORS = &CORS{Enabled: true, AllowOrigins: []string{"https://app.example"}, AllowCredentials: true,
			AllowHeaders: []string{"Authorization", "Content-Type"}, AllowMethods: []string{"GET", "POST"}}
	})
	spec.APIs = append(spec.APIs, API{Title: "C", Version: "1", BasePath: "/c", Production: ep(be.URL), CORS: &CORS{},
		Resources: []Resource{{Method: "GET", Path: "/open"}}})
	s := startServer(t, spec, cfg, Options{})
	app := "https://app.example"
	allowed := http.Header{"Access-Control-Allow-Origin": {app}, "Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Allow-Methods": {"GET, POST"}, "Access-Control-Allow-Headers": {"Authorization, Content-Type"},
		"Vary": {"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}}

	// Preflights are the gateway's: no token, never the backend, for a
	// resource or any other path of the API.
	for _, path := range []string{"/a/pet/1", "/a/open", "/a/not/a/resource"} {
		resp, body := do(t, "OPTIONS", s.testURL("http", path), nil,
			"Origin", app, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
		if resp.StatusCode != 200 || body != "" || !reflect.DeepEqual(acHeaders(resp), allowed) {
			t.Errorf("preflight %s: %d %q %v", path, resp.StatusCode, body, acHeaders(resp))
		}
	}
	for _, bad := range [][]string{
		{"Origin", "https://evil.example", "Access-Control-Request-Method", "GET"},
		{"Origin", app, "Access-Control-Request-Method", "DELETE"},
		{"Origin", app, "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-debug"},
	} {
		resp, _ := do(t, "OPTIONS", s.testURL("http", "/a/pet/1"), nil, bad...)
		if got := acHeaders(resp); resp.StatusCode != 200 || len(got) != 1 || got.Get("Vary") == "" {
			t.Errorf("refused preflight %v: %d %v", bad, resp.StatusCode, got)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("preflights reached the backend %d times", n)
	}

	// Every other response to the allowed origin carries its headers, the
	// faults too (the page must read a 401), and the backend's own go.
	withOrigin := http.Header{"Access-Control-Allow-Origin": {app}, "Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Expose-Headers": {"X-Total"}, "Vary": {"Origin"}}
	resp, body := do(t, "GET", s.testURL("http", "/a/open"), nil, "Origin", app)
	if resp.StatusCode != 200 || !reflect.DeepEqual(acHeaders(resp), withOrigin) {
		t.Errorf("backend response: %d %s %v", resp.StatusCode, body, acHeaders(resp))
	}
	resp, body = do(t, "GET", s.testURL("http", "/a/pet/1"), nil, "Origin", app, "Authorization", "Bearer "+iss.Token(t, nil))
	if resp.StatusCode != 200 || !reflect.DeepEqual(acHeaders(resp), withOrigin) {
		t.Errorf("secured backend response: %d %s %v", resp.StatusCode, body, acHeaders(resp))
	}
	faultHeaders := http.Header{"Access-Control-Allow-Origin": {app}, "Access-Control-Allow-Credentials": {"true"}, "Vary": {"Origin"}}
	for _, tc := range []struct {
		method, path string
		status, code int
	}{{"GET", "/a/pet/1", 401, CodeMissingCredentials}, {"GET", "/a/nothing", 404, CodeNoMatchingResource}, {"DELETE", "/a/open", 405, CodeMethodNotAllowed}} {
		resp, body = do(t, tc.method, s.testURL("http", tc.path), nil, "Origin", app)
		wantFault(t, resp, body, tc.status, tc.code)
		if !reflect.DeepEqual(acHeaders(resp), faultHeaders) {
			t.Errorf("%s %s: %v", tc.method, tc.path, acHeaders(resp))
		}
	}
	// Another origin, or none, gets no Access-Control-Allow-* at all, not
	// even the backend's.
	for _, origin := range []string{"https://evil.example", ""} {
		resp, _ = do(t, "GET", s.testURL("http", "/a/open"), nil, "Origin", origin)
		if got := acHeaders(resp); resp.StatusCode != 200 || got.Get("Access-Control-Allow-Origin") != "" || got.Get("Vary") != "Origin" {
			t.Errorf("origin %q: %v", origin, got)
		}
	}

	// B takes [corsConfig]: any origin, no credentials.
	resp, _ = do(t, "OPTIONS", s.testURL("http", "/b/open"), nil, "Origin", "https://x.example", "Access-Control-Request-Method", "GET")
	if got := acHeaders(resp); got.Get("Access-Control-Allow-Origin") != "*" || got.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("B preflight: %v", got)
	}
	resp, _ = do(t, "GET", s.testURL("http", "/b/pet/1"), nil, "Origin", "https://x.example")
	if got := resp.Header.Get("Access-Control-Allow-Origin"); resp.StatusCode != 401 || got != "*" {
		t.Errorf("B 401: %d %q", resp.StatusCode, got)
	}

	// C has CORS off: its OPTIONS is an ordinary request (405: it has no
	// OPTIONS resource) and the backend's headers pass as they are.
	resp, body = do(t, "OPTIONS", s.testURL("http", "/c/open"), nil, "Origin", app, "Access-Control-Request-Method", "GET")
	wantFault(t, resp, body, 405, CodeMethodNotAllowed)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("C preflight: %q", got)
	}
	resp, _ = do(t, "GET", s.testURL("http", "/c/open"), nil, "Origin", app)
	if got := resp.Header.Values("Access-Control-Allow-Origin"); !reflect.DeepEqual(got, []string{"*"}) {
		t.Errorf("C backend's header: %q", got)
	}
}

// Without any API with CORS the stage is not in the chain: a preflight is an
// ordinary request.
func TestCORSOffIsAbsent(t *testing.T) {
	be, _ := corsBackend(t)
	s := startServer(t, twoAPIs(be.URL, nil), testConfig(t), Options{})
	resp, body := do(t, "OPTIONS", s.testURL("http", "/a/open"), nil, "Origin", "https://app.example", "Access-Control-Request-Method", "GET")
	wantFault(t, resp, body, 405, CodeMethodNotAllowed)
	if len(acHeaders(resp)) != 0 {
		t.Errorf("headers %v", acHeaders(resp))
	}
}

// An API that only listeners that are off would serve is named in a
// warning when the gateway starts.
func TestTransportsOnlyOnAClosedListener(t *testing.T) {
	logs := &syncbuf.Buffer{}
	spec := twoAPIs("http://127.0.0.1:1", func(a *API) { a.Transports = []string{TransportHTTPS} })
	startServer(t, spec, testConfig(t), Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	var warned []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, "no open listener serves the API") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "api=A basePath=/a") {
		t.Errorf("warnings %q", warned)
	}
}
