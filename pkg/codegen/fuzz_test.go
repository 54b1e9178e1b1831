package codegen

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
	"golang.org/x/net/http/httpguts"

	"github.com/micro-gw/micro-gw/pkg/runtime"
	"github.com/micro-gw/micro-gw/pkg/runtime/cors"
)

// FuzzExtensions feeds arbitrary YAML or JSON values to every x-wso2-*
// extension, at the API and the operation level: extraction must return an
// error or a well-formed API, and never panic.
func FuzzExtensions(f *testing.F) {
	for _, seed := range []string{
		`{x-wso2-basePath: /p, x-wso2-production-endpoints: {urls: [http://a]}}`,
		`{x-wso2-production-endpoints: {urls: http://a, type: failover}, x-wso2-disable-security: true}`,
		`{x-wso2-endpoints: [{a: {urls: [https://a/x/]}}], x-wso2-production-endpoints: "#/x-wso2-endpoints/a"}`,
		`{x-wso2-endpoints: {a: {urls: []}}, x-wso2-sandbox-endpoints: "#/x-wso2-endpoints/b"}`,
		`{x-wso2-basePath: "../x", x-wso2-throttling-tier: 5, x-wso2-disable-security: "yes"}`,
		`{"x-wso2-production-endpoints": [1, null, {"urls": [{}]}], "x-wso2-basePath": "//a//"}`,
		`x-wso2-basePath: [1, 2]`,
		`{x-wso2-production-endpoints: {urls: [http://a], advanceEndpointConfig: {timeoutInMillis: 5000, retryConfig: {count: 2, statusCodes: [502, 504], intervalInMillis: 10, backOffFactor: 2, maxWaitIntervalInMillis: 50}}}}`,
		`{x-wso2-endpoints: [{a: {urls: [http://a], advanceEndpointConfig: {timeoutInMillis: 1e30, retryConfig: {count: -1, statusCodes: 503}}}}], x-wso2-sandbox-endpoints: "#/x-wso2-endpoints/a"}`,
		`{x-wso2-production-endpoints: {urls: [http://a]}, x-wso2-auth-header: X-Token, x-wso2-transports: [HTTPS]}`,
		`{x-wso2-production-endpoints: {urls: [http://a]}, x-wso2-transports: "http", x-wso2-auth-header: "a b"}`,
		`{x-wso2-production-endpoints: {urls: [http://a]}, x-wso2-cors: {corsConfigurationEnabled: true, accessControlAllowOrigins: ["https://A:443/", "*", "null"], accessControlAllowCredentials: true, accessControlAllowHeaders: ["*"], accessControlAllowMethods: [get]}}`,
		`{x-wso2-production-endpoints: {urls: [http://a]}, x-wso2-cors: {corsConfigurationEnabled: 1, accessControlAllowOrigins: [{}], x: y}}`,
		`{x-wso2-endpoints: [{a: {urls: [http://a], securityConfig: {type: basic, username: u, password: "${PW}"}}}], x-wso2-production-endpoints: "#/x-wso2-endpoints/a"}`,
		`{x-wso2-production-endpoints: {urls: [http://a], securityConfig: {type: Basic, username: "a:b", password: plain}}}`,
		`{x-wso2-production-endpoints: {urls: ["http://u:p@a"], securityConfig: {username: 1, password: "${A}${B}"}}}`,
		`{x-wso2-production-endpoints: {urls: [http://a]}, x-wso2-application-security: {security-types: [oauth2, api_key, basic_auth], optional: false}, x-wso2-mutual-ssl: optional}`,
		`{x-wso2-production-endpoints: {urls: [http://a]}, x-wso2-application-security: {security-types: [api_key], optional: true}, x-wso2-mutual-ssl: mandatory}`,
		`{x-wso2-production-endpoints: {urls: [http://a]}, x-wso2-application-security: {security-types: api_key, optional: "yes", x: 1}, x-wso2-mutual-ssl: [1]}`,
		`null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var exts map[string]any
		if err := yaml.Unmarshal(data, &exts); err != nil {
			return
		}
		for k, v := range exts {
			exts[k] = jsonValue(v)
		}
		doc := &openapi3.T{
			OpenAPI:    "3.0.0",
			Info:       &openapi3.Info{Title: "t", Version: "1"},
			Extensions: exts,
			Paths:      openapi3.NewPaths(),
		}
		op := openapi3.NewOperation()
		op.Extensions = exts
		item := &openapi3.PathItem{}
		item.SetOperation("GET", op)
		doc.Paths.Set("/a/{b}", item)

		api, err := extractAPI(doc)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if !strings.HasPrefix(api.BasePath, "/") || (api.BasePath != "/" && strings.HasSuffix(api.BasePath, "/")) {
			t.Fatalf("base path %q", api.BasePath)
		}
		if len(api.Resources) != 1 {
			t.Fatalf("resources %+v", api.Resources)
		}
		r := api.Resources[0]
		if api.AuthHeader != "" && !httpguts.ValidHeaderFieldName(api.AuthHeader) {
			t.Fatalf("auth header %q", api.AuthHeader)
		}
		if len(api.Transports) != 0 && (len(api.Transports) != 1 || api.Transports[0] != "http" && api.Transports[0] != "https") {
			t.Fatalf("transports %q", api.Transports)
		}
		if c := api.CORS; c != nil {
			if _, err := cors.New(cors.Config{AllowOrigins: c.AllowOrigins, AllowHeaders: c.AllowHeaders, AllowMethods: c.AllowMethods}); err != nil {
				t.Fatalf("CORS %+v: %v", c, err)
			}
		}
		// The security compiled is what the gateway takes.
		if r.Security != nil && (!r.Secured || len(r.Security) == 0) {
			t.Fatalf("security %+v (secured %v)", r.Security, r.Secured)
		}
		if err := (&runtime.Spec{APIs: []runtime.API{api}}).CheckRoutes(); err != nil {
			t.Fatalf("the gateway refuses the compiled API: %v", err)
		}
		for _, ep := range endpointsOf(api.Production, api.Sandbox, r.Production, r.Sandbox) {
			if len(ep.URLs) == 0 || (ep.Type != endpointLoadBalance && ep.Type != endpointFailover) {
				t.Fatalf("endpoint %+v", ep)
			}
			if b := ep.Basic; b != nil && (strings.Contains(b.Username, ":") || b.Password != "" && !envReference.MatchString(b.Password)) {
				t.Fatalf("credentials %+v", b)
			}
			if ep.Timeout < 0 || ep.Timeout > maxMillis*time.Millisecond {
				t.Fatalf("timeout %v", ep.Timeout)
			}
			if r := ep.Retry; r != nil {
				if r.Count < 0 || r.Count > maxRetries || r.Interval < 0 || r.MaxInterval < 0 || (r.BackOffFactor != 0 && r.BackOffFactor < 1) {
					t.Fatalf("retry %+v", r)
				}
				for _, c := range r.StatusCodes {
					if c < 400 || c > 599 {
						t.Fatalf("retry status %d", c)
					}
				}
			}
		}
	})
}

func endpointsOf(eps ...*runtime.Endpoint) []*runtime.Endpoint {
	var out []*runtime.Endpoint
	for _, ep := range eps {
		if ep != nil {
			out = append(out, ep)
		}
	}
	return out
}

// FuzzLoadDefinition feeds arbitrary documents to the whole of loading:
// syntax, version, kin-openapi's loader and validation, extraction. It must
// end in an error or an API, never a panic.
func FuzzLoadDefinition(f *testing.F) {
	for _, seed := range []string{
		doc30(prodTop, ""),
		doc30("x-wso2-basePath: /a\n"+prodTop, "security: []\n"),
		`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"x"}}}}}}`,
		"swagger: '2.0'\ninfo: {title: t, version: '1'}\nhost: h\npaths:\n  /a:\n    get:\n      responses:\n        200: {description: ok}\n",
		"openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
		"a: &a [*a]\n",
		"openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a: {}\n  /a: {}\n",
		"openapi: 3.0.0\ntags:\n  - name: a\n - name: b\n",
		"b: &b {x: 1}\nc:\n  <<: *b\n  <<: *b\n",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := LoadDefinition(context.Background(), file)
		if err != nil {
			return
		}
		if _, err := d.API(); err == nil {
			d.Unsupported()
		}
	})
}
