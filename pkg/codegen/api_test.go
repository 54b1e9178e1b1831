package codegen

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// writeDef writes a definition into a temporary folder and returns its path.
func writeDef(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// doc30 is a minimal OpenAPI 3.0 document with top and op spliced in: top
// at the top level, op inside GET /pet/{petId}.
// loadAPI loads, validates and extracts one definition, as a build does.
func loadAPI(ctx context.Context, file string) (runtime.API, error) {
	d, err := LoadDefinition(ctx, file)
	if err != nil {
		return runtime.API{}, err
	}
	return d.API()
}

func doc30(top, op string) string {
	return `openapi: 3.0.0
info:
  title: Pets
  version: 1.0.0
` + top + `
paths:
  /pet/{petId}:
    get:
      operationId: getPet
      parameters:
        - name: petId
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: ok
` + indent(op, "      ") + `
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://localhost:9443/oauth2/token
          scopes:
            read: read
            write: write
    key:
      type: apiKey
      name: X-Key
      in: header
`
}

func indent(s, pre string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

const prodTop = "x-wso2-production-endpoints:\n  urls: [https://backend.example/v2/]\n"

var prod = &runtime.Endpoint{URLs: []string{"https://backend.example/v2"}, Type: "load_balance"}

func TestAPIExtraction(t *testing.T) {
	tests := []struct {
		name string
		top  string
		op   string
		want runtime.API
	}{{
		name: "base path from x-wso2-basePath, normalised",
		top:  "x-wso2-basePath: petstore/v1/\n" + prodTop,
		want: runtime.API{BasePath: "/petstore/v1", Production: prod, Resources: []runtime.Resource{
			{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true}}},
	}, {
		name: "base path and failover endpoint from servers",
		top:  "servers:\n  - url: https://a.example/v2/\n  - url: http://b.example/v2\n  - url: /relative\n",
		want: runtime.API{BasePath: "/v2",
			Production: &runtime.Endpoint{URLs: []string{"https://a.example/v2", "http://b.example/v2"}, Type: "failover"},
			Resources:  []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true}}},
	}, {
		name: "server variables take their defaults",
		top:  "servers:\n  - url: '{scheme}://h.example/{base}'\n    variables:\n      scheme: {default: https}\n      base: {default: api}\n",
		want: runtime.API{BasePath: "/api",
			Production: &runtime.Endpoint{URLs: []string{"https://h.example/api"}, Type: "failover"},
			Resources:  []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true}}},
	}, {
		name: "operation endpoints override, sandbox, failover type",
		top:  "x-wso2-basePath: /\n" + prodTop + "x-wso2-sandbox-endpoints:\n  urls: [http://sandbox.example]\n",
		op:   "x-wso2-production-endpoints:\n  urls: [http://op1.example, http://op2.example]\n  type: failover\n",
		want: runtime.API{BasePath: "/", Production: prod,
			Sandbox: &runtime.Endpoint{URLs: []string{"http://sandbox.example"}, Type: "load_balance"},
			Resources: []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true,
				Production: &runtime.Endpoint{URLs: []string{"http://op1.example", "http://op2.example"}, Type: "failover"}}}},
	}, {
		name: "advanceEndpointConfig: timeout and retries, also of a named endpoint",
		top: "x-wso2-basePath: /p\nx-wso2-endpoints:\n  - slow:\n      urls: [http://slow.example]\n      advanceEndpointConfig: {timeoutInMillis: 120000}\n" +
			"x-wso2-production-endpoints:\n  urls: [http://a.example, http://b.example]\n  advanceEndpointConfig:\n    timeoutInMillis: 5000\n" +
			"    retryConfig: {count: 2, statusCodes: [502, 503, 504], intervalInMillis: 100, backOffFactor: 1.5, maxWaitIntervalInMillis: 1000}\n",
		op: "x-wso2-sandbox-endpoints: '#/x-wso2-endpoints/slow'\n",
		want: runtime.API{BasePath: "/p", Production: &runtime.Endpoint{URLs: []string{"http://a.example", "http://b.example"}, Type: "load_balance",
			Timeout: 5 * time.Second, Retry: &runtime.Retry{Count: 2, StatusCodes: []int{502, 503, 504},
				Interval: 100 * time.Millisecond, BackOffFactor: 1.5, MaxInterval: time.Second}},
			Resources: []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true,
				Sandbox: &runtime.Endpoint{Name: "slow", URLs: []string{"http://slow.example"}, Type: "load_balance", Timeout: 2 * time.Minute}}}},
	}, {
		name: "named endpoints by reference",
		top: "x-wso2-basePath: /p\nx-wso2-endpoints:\n  - main:\n      urls: [http://main.example]\n  - other:\n      urls: [http://other.example]\n" +
			"x-wso2-production-endpoints: '#/x-wso2-endpoints/main'\n",
		op: "x-wso2-production-endpoints: '#/x-wso2-endpoints/other'\n",
		want: runtime.API{BasePath: "/p", Production: &runtime.Endpoint{Name: "main", URLs: []string{"http://main.example"}, Type: "load_balance"},
			Resources: []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true,
				Production: &runtime.Endpoint{Name: "other", URLs: []string{"http://other.example"}, Type: "load_balance"}}}},
	}, {
		name: "backend credentials: a user name and the variable of the password, or none",
		top: "x-wso2-basePath: /p\nx-wso2-endpoints:\n  - main:\n      urls: [http://main.example]\n      securityConfig: {type: BASIC, username: gw}\n" +
			"x-wso2-production-endpoints: '#/x-wso2-endpoints/main'\n" +
			"x-wso2-sandbox-endpoints:\n  urls: [http://s.example]\n  securityConfig: {type: basic, username: sandbox, password: '${SANDBOX_PW}'}\n",
		want: runtime.API{BasePath: "/p",
			Production: &runtime.Endpoint{Name: "main", URLs: []string{"http://main.example"}, Type: "load_balance", Basic: &runtime.BasicAuth{Username: "gw"}},
			Sandbox: &runtime.Endpoint{URLs: []string{"http://s.example"}, Type: "load_balance",
				Basic: &runtime.BasicAuth{Username: "sandbox", Password: "${SANDBOX_PW}"}},
			Resources: []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true}}},
	}, {
		name: "no endpoint at all: built, the endpoint is given at deploy time",
		top:  "servers:\n  - url: /v3\n",
		want: runtime.API{BasePath: "/v3",
			Resources: []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true}}},
	}, {
		name: "an empty server URL: the definition's own location, base path /",
		top:  "servers:\n  - url: ''\n",
		want: runtime.API{BasePath: "/",
			Resources: []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true}}},
	}, {
		name: "security disabled for the API",
		top:  "x-wso2-basePath: /p\nx-wso2-disable-security: true\n" + prodTop,
		want: runtime.API{BasePath: "/p", Production: prod, Resources: []runtime.Resource{
			{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: false}}},
	}, {
		name: "operation turns security back on, with its scopes",
		top:  "x-wso2-basePath: /p\nx-wso2-disable-security: true\n" + prodTop,
		op:   "x-wso2-disable-security: false\nsecurity:\n  - oauth: [write, read, read]\n",
		want: runtime.API{BasePath: "/p", Production: prod, Resources: []runtime.Resource{
			{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true, Scopes: []string{"read", "write"}}}},
	}, {
		name: "explicit security: [] on the operation",
		top:  "x-wso2-basePath: /p\nsecurity:\n  - oauth: [read]\n" + prodTop,
		op:   "security: []\n",
		want: runtime.API{BasePath: "/p", Production: prod, Resources: []runtime.Resource{
			{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: false}}},
	}, {
		name: "top-level alternatives: an API key or a token with its scopes",
		top:  "x-wso2-basePath: /p\nsecurity:\n  - key: []\n  - oauth: [read]\n" + prodTop,
		want: runtime.API{BasePath: "/p", Production: prod, Resources: []runtime.Resource{
			{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true, Security: []runtime.Requirement{
				{Schemes: []runtime.Scheme{{Kind: runtime.SchemeAPIKey, In: "header", Name: "X-Key"}}},
				{Schemes: []runtime.Scheme{{Kind: runtime.SchemeOAuth2, Scopes: []string{"read"}}}},
			}}}},
	}, {
		name: "auth header, transports, CORS with WSO2's defaults for what it leaves out",
		top: "x-wso2-basePath: /p\n" + prodTop + "x-wso2-auth-header: X-Api-Token\nx-wso2-transports: [HTTPS, https]\n" +
			"x-wso2-cors:\n  corsConfigurationEnabled: true\n  accessControlAllowOrigins: https://app.example\n  accessControlAllowCredentials: true\n",
		want: runtime.API{BasePath: "/p", Production: prod, AuthHeader: "X-Api-Token", Transports: []string{"https"},
			CORS: &runtime.CORS{Enabled: true, AllowOrigins: []string{"https://app.example"}, AllowCredentials: true,
				AllowHeaders: []string{"authorization", "Content-Type", "SOAPAction", "apikey"},
				AllowMethods: []string{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"}},
			Resources: []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true}}},
	}, {
		name: "both transports is the default; CORS switched off",
		top: "x-wso2-basePath: /p\n" + prodTop + "x-wso2-transports: [http, https]\n" +
			"x-wso2-cors: {corsConfigurationEnabled: false, accessControlAllowOrigins: [], accessControlAllowHeaders: ['*'], accessControlAllowMethods: [get]}\n",
		want: runtime.API{BasePath: "/p", Production: prod,
			CORS:      &runtime.CORS{AllowOrigins: []string{}, AllowHeaders: []string{"*"}, AllowMethods: []string{"get"}},
			Resources: []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true}}},
	}, {
		name: "throttling tier, operation wins",
		top:  "x-wso2-basePath: /p\nx-wso2-throttling-tier: Unlimited\n" + prodTop,
		op:   "x-wso2-throttling-tier: 10PerMin\n",
		want: runtime.API{BasePath: "/p", Production: prod, ThrottlingTier: "Unlimited", Resources: []runtime.Resource{
			{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true, ThrottlingTier: "10PerMin"}}},
	}, {
		name: "throttling tier of the API only: the operation has none of its own",
		top:  "x-wso2-basePath: /p\nx-wso2-throttling-tier: 10kPerMin\n" + prodTop,
		want: runtime.API{BasePath: "/p", Production: prod, ThrottlingTier: "10kPerMin", Resources: []runtime.Resource{
			{Method: "GET", Path: "/pet/{petId}", OperationID: "getPet", Secured: true}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeDef(t, "api.yaml", doc30(tt.top, tt.op))
			got, err := loadAPI(context.Background(), file)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Title, tt.want.Version, tt.want.Source = "Pets", "1.0.0", "api.yaml"
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSwagger2(t *testing.T) {
	file := writeDef(t, "v2.yaml", `swagger: "2.0"
info: {title: Old, version: "2"}
host: petstore.example
basePath: /v2/
schemes: [http]
securityDefinitions:
  oauth:
    type: oauth2
    flow: application
    tokenUrl: https://localhost:9443/oauth2/token
    scopes: {read: read}
paths:
  /pet/{id}:
    get:
      security:
        - oauth: [read]
      parameters:
        - {name: id, in: path, required: true, type: string}
      responses:
        200: {description: ok}
    delete:
      x-wso2-disable-security: true
      parameters:
        - {name: id, in: path, required: true, type: string}
      responses:
        204: {description: gone}
`)
	got, err := loadAPI(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.API{Title: "Old", Version: "2", Source: "v2.yaml", BasePath: "/v2",
		Production: &runtime.Endpoint{URLs: []string{"http://petstore.example/v2"}, Type: "failover"},
		Resources: []runtime.Resource{
			{Method: "GET", Path: "/pet/{id}", Secured: true, Scopes: []string{"read"}},
			{Method: "DELETE", Path: "/pet/{id}", Secured: false},
		}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestJSONDefinitionAndSample(t *testing.T) {
	file := writeDef(t, "api.json", `{"openapi": "3.0.1", "info": {"title": "J", "version": "1"},
  "x-wso2-basePath": "/j", "x-wso2-production-endpoints": {"urls": ["http://127.0.0.1:1"]},
  "paths": {"/x": {"get": {"security": [], "responses": {"200": {"description": "ok"}}}}}}`)
	got, err := loadAPI(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	if got.BasePath != "/j" || len(got.Resources) != 1 || got.Resources[0].Secured {
		t.Errorf("got %+v", got)
	}

	// JSON that YAML refuses (tab indentation and the escape \/) loads, in
	// 3.x and 2.0 alike.
	for _, doc := range []string{
		"{\n\t\"openapi\": \"3.0.0\",\n\t\"info\": {\"title\": \"a\\/b\", \"version\": \"1\"},\n\t\"x-wso2-basePath\": \"/t\",\n\t\"x-wso2-production-endpoints\": {\"urls\": [\"http:\\/\\/a\"]},\n\t\"paths\": {}\n}",
		"{\n\t\"swagger\": \"2.0\",\n\t\"info\": {\"title\": \"a\\/b\", \"version\": \"1\"},\n\t\"host\": \"a\",\n\t\"basePath\": \"\\/t\",\n\t\"paths\": {\"/x\": {\"get\": {\"responses\": {\"200\": {\"description\": \"ok\"}}}}}\n}",
	} {
		got, err := loadAPI(context.Background(), writeDef(t, "escaped.json", doc))
		if err != nil || got.Title != "a/b" || got.BasePath != "/t" {
			t.Errorf("%s: %+v, %v", doc, got, err)
		}
	}

	sample, err := loadAPI(context.Background(), "../../samples/petstore_basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sample.BasePath != "/petstore/v1" || !reflect.DeepEqual(sample.Production.URLs, []string{"https://petstore.swagger.io/v2"}) {
		t.Errorf("sample: %+v", sample)
	}
	paths := map[string]bool{}
	for _, r := range sample.Resources {
		paths[r.Method+" "+r.Path] = r.Secured
	}
	for _, want := range []string{"GET /pet/findByStatus", "GET /pet/{petId}"} {
		if secured, ok := paths[want]; !ok || !secured {
			t.Errorf("sample: %s missing or unsecured in %v", want, paths)
		}
	}
}

var discard = slog.New(slog.DiscardHandler)

func TestUnsupportedExtensions(t *testing.T) {
	file := writeDef(t, "api.yaml", doc30("x-wso2-request-interceptor: intercept\n"+prodTop+
		"x-wso2-cors: {corsConfigurationEnabled: true}\nx-wso2-transports: [https]\nx-wso2-auth-header: X-Token\n",
		"x-wso2-basePath: /nope\nx-wso2-throttling-tier: Gold\nx-wso2-cors: {corsConfigurationEnabled: true}\n"))
	loaded, err := LoadAll(context.Background(), []string{file})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range loaded[0].Warnings {
		if strings.Contains(w.Path, "x-wso2") {
			got = append(got, fmt.Sprintf("%d %s", w.Line, w.Path))
		}
	}
	want := []string{"5 $.x-wso2-request-interceptor", `25 $.paths["/pet/{petId}"].get.x-wso2-basePath`,
		`27 $.paths["/pet/{petId}"].get.x-wso2-cors`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings %v, want %v", got, want)
	}
}

// Parameters with literal text around them in their segment route as the
// runtime's router matches them ({name}.json, v{major}, {base}...{head}).
func TestPartialSegmentParameter(t *testing.T) {
	for _, path := range []string{"/pet/id-{petId}", "/pet/{petId}.json", "/v{petId}/pet", "/pet/{petId}...{ext}"} {
		content := strings.ReplaceAll(doc30(prodTop, ""), "/pet/{petId}:", path+":")
		if strings.Contains(path, "{ext}") {
			content = strings.Replace(content, "            type: string\n", "            type: string\n        - {name: ext, in: path, required: true, schema: {type: string}}\n", 1)
		}
		file := writeDef(t, "api.yaml", content)
		api, err := loadAPI(context.Background(), file)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(api.Resources) != 1 || api.Resources[0].Path != path {
			t.Fatalf("%s: resources %+v", path, api.Resources)
		}
	}
}

// A definition without an endpoint builds with a warning that names the
// API (title and base path) and the key that gives its endpoint.
func TestNoEndpointWarns(t *testing.T) {
	for _, tc := range []struct {
		name, top, op string
		line          int
		want          string
	}{{
		name: "relative server URL", top: "servers:\n  - url: /v3\n", line: 5,
		want: `$.servers: API "Pets" (/v3) has no endpoint: no x-wso2-production-endpoints and no absolute http(s) URL in servers; ` +
			`it builds, but the gateway will not start until one is given: apiEndpoints."/v3".production = ["https://..."] in micro-gw.conf, ` +
			`-e 'apiEndpoints."/v3".production=https://...', or MGW_APIENDPOINTS__V3_PRODUCTION=https://...`,
	}, {
		name: "no servers", top: "", line: 1,
		want: `: API "Pets" (/) has no endpoint: `,
	}, {
		name: "an operation without one", top: "servers:\n  - url: /v3\n",
		op: "x-wso2-production-endpoints: {urls: [http://a]}\n", line: 0, want: "",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeDef(t, "api.yaml", doc30(tc.top, tc.op))
			loaded, err := LoadAll(context.Background(), []string{file})
			if err != nil {
				t.Fatal(err)
			}
			var got []*DefinitionError
			for _, w := range loaded[0].Warnings {
				if strings.Contains(w.Error(), "apiEndpoints") {
					got = append(got, w)
				}
			}
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("warned %v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Line != tc.line || !strings.Contains(got[0].Error(), tc.want) {
				t.Fatalf("warnings %v, want line %d with %q", got, tc.line, tc.want)
			}
		})
	}
	// Some operations with their own endpoint, others without: those are named.
	content := strings.Replace(doc30("servers:\n  - url: /v3\n", "x-wso2-production-endpoints: {urls: [http://a]}\n"),
		"\ncomponents:\n", "\n  /other:\n    post:\n      responses: {'200': {description: ok}}\ncomponents:\n", 1)
	loaded, err := LoadAll(context.Background(), []string{writeDef(t, "api.yaml", content)})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range loaded[0].Warnings {
		found = found || strings.Contains(w.Error(), `API "Pets" (/v3) has no production endpoint for POST /other; it builds`)
	}
	if !found {
		t.Errorf("warnings %v", loaded[0].Warnings)
	}
}
