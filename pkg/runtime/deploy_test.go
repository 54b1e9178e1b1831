package runtime

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// claimAll passes each -e KEY=VALUE to the claim of o for spec, as the
// configuration's loader does, and returns the first error.
func claimAll(t *testing.T, o *EndpointOverrides, spec Spec, kvs ...string) error {
	t.Helper()
	claim := o.Claim(spec)
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		ok, err := claim(k, v)
		if err != nil {
			return err
		}
		if !ok {
			t.Fatalf("%s not claimed", k)
		}
	}
	return nil
}

// backendOf is the "backend" name in a test backend's answer.
func backendOf(t *testing.T, s *Server, path string, headers ...string) string {
	t.Helper()
	resp, body := do(t, "GET", s.testURL("http", path), nil, headers...)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	for _, name := range []string{"compiled", "conf", "named", "op", "sandbox"} {
		if strings.Contains(body, `"backend":"`+name+`"`) {
			return name
		}
	}
	t.Fatalf("GET %s: %s", path, body)
	return ""
}

// The deployment's endpoints replace the compiled ones without a rebuild:
// [apiEndpoints] the API's own, -e <name>_prod_endpoint_<i> a named one
// wherever it is used; an operation's own endpoint is not the API's.
func TestDeployedEndpoints(t *testing.T) {
	compiled, conf, named, op := newBackend(t, "compiled"), newBackend(t, "conf"), newBackend(t, "named"), newBackend(t, "op")
	shared := &Endpoint{Name: "orders", URLs: []string{compiled.URL}}
	spec := Spec{Name: "p", APIs: []API{{Title: "Pets", BasePath: "/pets", Production: ep(compiled.URL),
		Resources: []Resource{
			{Method: "GET", Path: "/a"},
			{Method: "GET", Path: "/own", Production: ep(op.URL)},
			{Method: "GET", Path: "/orders", Production: shared},
			{Method: "GET", Path: "/orders/2", Production: shared},
		}}}}

	s := startServer(t, spec, testConfig(t), Options{})
	for _, path := range []string{"/pets/a", "/pets/orders"} {
		if got := backendOf(t, s, path); got != "compiled" {
			t.Errorf("no deployment: %s went to %s", path, got)
		}
	}

	cfg := testConfig(t)
	cfg.Endpoints = map[string]config.APIEndpoints{"/pets": {Production: []string{conf.URL + "/"}, Type: "failover"}}
	o := &EndpointOverrides{}
	if err := claimAll(t, o, spec, "orders_prod_endpoint_0="+named.URL, "orders_prod_endpoint_1="+deadURL(t)); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, spec, cfg, Options{Endpoints: o})
	for path, want := range map[string]string{"/pets/a": "conf", "/pets/own": "op", "/pets/orders": "named", "/pets/orders/2": "named"} {
		if got := backendOf(t, s, path); got != want {
			t.Errorf("%s went to %s, want %s", path, got, want)
		}
	}
	if got := s.spec.APIs[0].Production; got.Type != "failover" || len(got.URLs) != 1 || got.URLs[0] != conf.URL {
		t.Errorf("the API's endpoint is %+v", got)
	}
	if r := s.spec.APIs[0].Resources; r[2].Production != r[3].Production || len(r[2].Production.URLs) != 2 {
		t.Errorf("a shared named endpoint is not shared: %+v %+v", r[2].Production, r[3].Production)
	}
	if spec.APIs[0].Production.URLs[0] != compiled.URL || shared.URLs[0] != compiled.URL {
		t.Error("the compiled spec was changed")
	}
}

// sandbox = [] takes the API's sandbox endpoint away; a sandbox list gives
// one to an API that had none.
func TestDeployedSandbox(t *testing.T) {
	prod, sandbox := newBackend(t, "compiled"), newBackend(t, "sandbox")
	iss, cfg := issuerConfig(t)
	spec := petstore(ep(prod.URL), ep(sandbox.URL))
	sandboxToken := "Bearer " + iss.Token(t, map[string]any{"keytype": "SANDBOX"})

	cfg.Endpoints = map[string]config.APIEndpoints{"/petstore/v1": {Sandbox: []string{}}}
	s := startServer(t, spec, cfg, Options{})
	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil, "Authorization", sandboxToken)
	wantFault(t, resp, body, 401, CodeInvalidCredentials)

	given := *cfg
	given.Endpoints = map[string]config.APIEndpoints{"/petstore/v1": {Sandbox: []string{sandbox.URL}}}
	s = startServer(t, petstore(ep(prod.URL), nil), &given, Options{})
	if got := backendOf(t, s, "/petstore/v1/pet/1", "Authorization", sandboxToken); got != "sandbox" {
		t.Errorf("sandbox token went to %s", got)
	}
}

// An API without a production endpoint stops the gateway, naming the API
// (title and base path) and the key, until the deployment gives one.
func TestNoEndpointRefusesToStart(t *testing.T) {
	be := newBackend(t, "conf")
	spec := Spec{Name: "p", APIs: []API{{Title: "Relative", BasePath: "/rel/v1", Resources: []Resource{{Method: "GET", Path: "/a"}}}}}
	_, err := New(spec, testConfig(t), Options{})
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != `apiEndpoints."/rel/v1".production` ||
		!strings.Contains(err.Error(), `API "Relative" (/rel/v1) has no production endpoint`) ||
		!strings.Contains(err.Error(), "MGW_APIENDPOINTS__REL_V1_PRODUCTION") {
		t.Fatalf("error %v", err)
	}

	cfg := testConfig(t)
	cfg.Endpoints = map[string]config.APIEndpoints{"/rel/v1": {Production: []string{be.URL}}}
	s := startServer(t, spec, cfg, Options{})
	if got := backendOf(t, s, "/rel/v1/a"); got != "conf" {
		t.Errorf("went to %s", got)
	}

	// A table for a base path no API has is a mistake, said as such.
	cfg = testConfig(t)
	cfg.Endpoints = map[string]config.APIEndpoints{"/rel/v2": {Production: []string{be.URL}}}
	if _, err := New(spec, cfg, Options{}); err == nil || !strings.Contains(err.Error(), `apiEndpoints."/rel/v2": names no API of this gateway: the base paths of its APIs are /rel/v1`) {
		t.Errorf("unknown base path: %v", err)
	}
}

func TestEndpointClaims(t *testing.T) {
	spec := Spec{APIs: []API{{BasePath: "/p", Production: &Endpoint{Name: "my_ep", URLs: []string{"http://a"}},
		Resources: []Resource{{Method: "GET", Path: "/x", Sandbox: &Endpoint{Name: "sb", URLs: []string{"http://s"}}}}}}}
	claim := (&EndpointOverrides{}).Claim(spec)
	for key, want := range map[string]string{
		"my_ep_prod_endpoint_0":     "",
		"my_ep_prod_basic_password": "",
		"sb_sand_endpoint_1":        "",
		"sb_prod_endpoint_0":        `the endpoint "sb" of x-wso2-endpoints is not used as a production endpoint`,
		"nope_prod_endpoint_0":      `no endpoint named "nope" in x-wso2-endpoints (the gateway's are my_ep_prod, sb_sand)`,
	} {
		ok, err := claim(key, "http://b")
		if !ok || (want == "" && err != nil) || (want != "" && (err == nil || err.Error() != want)) {
			t.Errorf("%s: %v %v, want %q", key, ok, err, want)
		}
	}
	for _, key := range []string{"my_ep_prod_endpoint_x", "my_ep_prod_endpoint_01", "my_ep_staging_endpoint_0", "listenerConfig"} {
		if ok, err := claim(key, "http://b"); ok || err != nil {
			t.Errorf("%s claimed: %v", key, err)
		}
	}
	if _, err := claim("my_ep_prod_endpoint_0", "ftp://b"); err == nil {
		t.Error("an ftp URL was taken")
	}
	if _, err := claim("my_ep_prod_basic_username", "a:b"); err == nil {
		t.Error("a user name with a colon was taken")
	}

	// A gap in the indexes stops the gateway, naming the -e key.
	o := &EndpointOverrides{}
	if err := claimAll(t, o, spec, "my_ep_prod_endpoint_2=http://c"); err != nil {
		t.Fatal(err)
	}
	_, err := New(spec, testConfig(t), Options{Endpoints: o})
	if err == nil || !strings.Contains(err.Error(), "-e override: my_ep_prod_endpoint_2: the endpoint has 1 URL(s), so the next one is my_ep_prod_endpoint_1") {
		t.Errorf("gap: %v", err)
	}
}

// basicOf is the Basic credentials the backend received, "" for none.
func basicOf(t *testing.T, be *backend) string {
	t.Helper()
	h := be.lastRequest().Header.Get("Authorization")
	if h == "" {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	if err != nil || !strings.HasPrefix(h, "Basic ") {
		t.Fatalf("Authorization %q", h)
	}
	return string(raw)
}

// securityConfig's credentials reach the backend, the password read from
// the environment when the gateway starts, or given by the deployment;
// never logged, never in an error.
func TestBackendCredentials(t *testing.T) {
	be := newBackend(t, "compiled")
	t.Setenv("MICROGW_TEST_BACKEND_PW", "env-s3cret")
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: config.LevelTrace}))
	spec := func(b *BasicAuth) Spec {
		return Spec{Name: "p", APIs: []API{{Title: "Pets", BasePath: "/pets",
			Production: &Endpoint{Name: "pets", URLs: []string{be.URL}, Basic: b},
			Resources:  []Resource{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/b", Secured: true}}}}}
	}

	iss, cfg := issuerConfig(t)
	s := startServer(t, spec(&BasicAuth{Username: "gw", Password: "${MICROGW_TEST_BACKEND_PW}"}), cfg, Options{Logger: logger})
	backendOf(t, s, "/pets/a", "Authorization", "Bearer client-token")
	if got := basicOf(t, be); got != "gw:env-s3cret" {
		t.Errorf("backend got %q", got)
	}
	backendOf(t, s, "/pets/b", "Authorization", "Bearer "+iss.Token(t, nil))
	if got := basicOf(t, be); got != "gw:env-s3cret" {
		t.Errorf("secured: backend got %q", got)
	}

	// -e over the definition, [apiEndpoints] over -e.
	o := &EndpointOverrides{}
	if err := claimAll(t, o, spec(nil), "pets_prod_basic_username=e-user", "pets_prod_basic_password=e-s3cret"); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, spec(&BasicAuth{Username: "gw", Password: "${MICROGW_TEST_UNSET_PW}"}), testConfig(t), Options{Endpoints: o, Logger: logger})
	backendOf(t, s, "/pets/a")
	if got := basicOf(t, be); got != "e-user:e-s3cret" {
		t.Errorf("-e: backend got %q", got)
	}
	cfg = testConfig(t)
	cfg.Endpoints = map[string]config.APIEndpoints{"/pets": {BasicPassword: "conf-s3cret"}}
	s = startServer(t, spec(nil), cfg, Options{Endpoints: o, Logger: logger})
	backendOf(t, s, "/pets/a")
	if got := basicOf(t, be); got != "e-user:conf-s3cret" {
		t.Errorf("conf: backend got %q", got)
	}

	// No password, or an unset variable: the gateway does not start, and
	// says where to give it.
	for _, tc := range []struct {
		b    *BasicAuth
		want string
	}{
		{&BasicAuth{Username: "gw"}, `apiEndpoints."/pets".basicPassword: API "Pets" (/pets): the production endpoint "pets" sends Basic credentials and has no password: give it with apiEndpoints."/pets".basicPassword or -e pets_prod_basic_password=...`},
		{&BasicAuth{Username: "gw", Password: "${MICROGW_TEST_UNSET_PW}"}, `securityConfig.password: environment variable MICROGW_TEST_UNSET_PW is not set`},
	} {
		_, err := New(spec(tc.b), testConfig(t), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.b, err)
		}
	}

	// The backend failing makes the gateway log the endpoint: by its URL.
	be.Close()
	resp, _ := do(t, "GET", s.testURL("http", "/pets/a"), nil)
	if resp.StatusCode != 503 {
		t.Errorf("closed backend: %d", resp.StatusCode)
	}
	out := logs.String()
	if !strings.Contains(out, "backend request failed") {
		t.Fatalf("no backend failure logged:\n%s", out)
	}
	for _, secret := range []string{"s3cret", base64.StdEncoding.EncodeToString([]byte("e-user:conf-s3cret")), "Basic "} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
}

// FuzzEndpointClaim feeds arbitrary -e KEY=VALUE pairs to the claim of the
// original's endpoint forms: it never panics, takes only keys of the form,
// and every URL it keeps is one the gateway can use.
func FuzzEndpointClaim(f *testing.F) {
	spec := Spec{APIs: []API{{BasePath: "/p", Production: &Endpoint{Name: "a_b", URLs: []string{"http://a"}},
		Sandbox: &Endpoint{Name: "s", URLs: []string{"http://s"}}}}}
	for _, seed := range [][2]string{
		{"a_b_prod_endpoint_0", "https://x/v2/"}, {"a_b_prod_endpoint_999", "http://y"}, {"s_sand_basic_password", "${HOME}"},
		{"a_b_prod_basic_username", "u:p"}, {"x_prod_endpoint_0", "http://z"}, {"a_b_sand_endpoint_0", "http://q"}, {"_prod_endpoint_0", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		o := &EndpointOverrides{}
		ok, err := o.Claim(spec)(key, value)
		if ok != namedKey.MatchString(key) {
			t.Fatalf("%q claimed %v", key, ok)
		}
		for _, no := range o.roles {
			for _, u := range no.urls {
				if _, err := config.CheckEndpointURL(u); err != nil {
					t.Fatalf("kept %q: %v", u, err)
				}
			}
		}
		if err == nil && ok {
			if _, err := New(spec, testConfig(t), Options{Endpoints: o}); err != nil && !strings.Contains(err.Error(), "-e override") && !strings.Contains(err.Error(), "Basic") {
				t.Fatalf("New: %v", err)
			}
		}
	})
}
