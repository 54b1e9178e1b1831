package runtime

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// backend is an httptest server that records what reaches it.
type backend struct {
	*httptest.Server
	name string
	hits atomic.Int64

	mu   sync.Mutex
	last *http.Request // a copy of the last request's URL and headers
	body string        // the last request's body
}

func (b *backend) lastBody() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.body
}

func newBackend(t testing.TB, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.last = r.Clone(context.Background())
		b.body = string(body)
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"backend": name, "uri": r.URL.RequestURI()})
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) lastRequest() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// deadURL is the URL of a server that no longer listens.
func deadURL(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

// petstore is the spec of the tests: a secured and an unsecured API.
func petstore(prod, sandbox *Endpoint) Spec {
	return Spec{Name: "petstore", Version: "test", APIs: []API{{
		Title: "Swagger Petstore", Version: "1.0.0", Source: "petstore.yaml", BasePath: "/petstore/v1",
		Production: prod, Sandbox: sandbox,
		Resources: []Resource{
			{Method: "GET", Path: "/pet/{petId}", OperationID: "getPetById", Secured: true},
			{Method: "DELETE", Path: "/pet/{petId}", Secured: true, Scopes: []string{"write:pets"}},
			{Method: "POST", Path: "/pet", Secured: true, Scopes: []string{"write:pets", "read:pets"}},
			{Method: "GET", Path: "/pet/findByStatus", Secured: false},
			{Method: "POST", Path: "/store/order", Secured: false},
			{Method: "GET", Path: "/slow", Secured: false},
		},
	}}}
}

func ep(urls ...string) *Endpoint { return &Endpoint{URLs: urls} }

// testConfig is the configuration of a gateway that trusts a fresh test
// issuer, with every listener off (tests put them on ephemeral ports through
// Options).
func testConfig(t testing.TB) *config.Config {
	_, c := issuerConfig(t)
	return c
}

// issuerConfig makes a trusted issuer (RSA unless opts say otherwise) and the
// configuration that trusts it.
func issuerConfig(t testing.TB, opts ...authtest.Option) (*authtest.Issuer, *config.Config) {
	t.Helper()
	iss := authtest.NewIssuer(t, opts...)
	c := iss.Config()
	c.Listener.HTTPPort, c.Listener.HTTPSPort, c.Listener.AdminPort = 0, 0, 0
	return iss, c
}

// startServer provisions and starts a server with the HTTP and admin
// listeners on ephemeral loopback ports; it is shut down when the test ends.
func startServer(t testing.TB, spec Spec, cfg *config.Config, opts Options) *Server {
	t.Helper()
	if opts.HTTPAddr == "" {
		opts.HTTPAddr = "127.0.0.1:0"
	}
	if opts.AdminAddr == "" {
		opts.AdminAddr = "127.0.0.1:0"
	}
	s, err := New(spec, cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func (s *Server) testURL(listener, path string) string {
	scheme := "http"
	if listener == "https" {
		scheme = "https"
	}
	return scheme + "://" + s.addr(listener).String() + path
}

// do sends a request with optional headers (name, value pairs) and returns
// the response and its body.
func do(t testing.TB, method, url string, body io.Reader, headers ...string) (*http.Response, string) {
	t.Helper()
	return doWith(t, http.DefaultClient, method, url, body, headers...)
}

// doWith is do with client.
func doWith(t testing.TB, client *http.Client, method, url string, body io.Reader, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return doRequest(t, client, req)
}

// doRequest sends req with client and returns the response and its body.
func doRequest(t testing.TB, client *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// wantFault checks the status, the exact fault code and the JSON shape.
func wantFault(t testing.TB, resp *http.Response, body string, status, code int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var f faultBody
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("fault body %q: %v", body, err)
	}
	if f.Fault.Code != code {
		t.Fatalf("fault code %d, want %d; body %s", f.Fault.Code, code, body)
	}
	if !strings.HasPrefix(f.Fault.Description, f.Fault.Message+". ") {
		t.Errorf("description %q does not start with the message %q", f.Fault.Description, f.Fault.Message)
	}
}
