package codegen

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// securityDoc is an OpenAPI 3.0 definition (3.1 with v31) with every kind
// of scheme, top spliced in at the top level and op into GET /items.
func securityDoc(version, top, op string) string {
	return `openapi: ` + version + `
info:
  title: Secured
  version: "1"
x-wso2-production-endpoints:
  urls: [https://backend.example]
` + top + `
paths:
  /items:
    get:
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
          tokenUrl: https://idp.example/token
          scopes: {read: read, write: write}
    headerKey:
      type: apiKey
      in: header
      name: X-API-Key
    queryKey:
      type: apiKey
      in: query
      name: key
    cookieKey:
      type: apiKey
      in: cookie
      name: session-key
    basic:
      type: http
      scheme: basic
    bearer:
      type: http
      scheme: bearer
    digest:
      type: http
      scheme: digest
`
}

var (
	bearer  = runtime.Scheme{Kind: runtime.SchemeOAuth2}
	basic   = runtime.Scheme{Kind: runtime.SchemeBasic}
	mtls    = runtime.Scheme{Kind: runtime.SchemeMutualTLS}
	hdrKey  = runtime.Scheme{Kind: runtime.SchemeAPIKey, In: "header", Name: "X-API-Key"}
	wso2Key = runtime.Scheme{Kind: runtime.SchemeAPIKey, In: "header", Name: "apikey"}
)

func alt(schemes ...runtime.Scheme) runtime.Requirement { return runtime.Requirement{Schemes: schemes} }

func scoped(s runtime.Scheme, scopes ...string) runtime.Scheme { s.Scopes = scopes; return s }

// TestSecurityCompiled: a definition's security requirements, WSO2's
// x-wso2-application-security and x-wso2-mutual-ssl, become the
// alternatives the gateway checks (docs/authentication.md).
func TestSecurityCompiled(t *testing.T) {
	for _, tc := range []struct {
		name, version, top, op string
		want                   []runtime.Requirement // nil: one bearer token with wantScopes
		wantScopes             []string
	}{
		{name: "nothing declared: a bearer token", want: nil},
		{name: "alternatives and a combination",
			top: "security:\n  - oauth: [write, read]\n    headerKey: []\n  - basic: []\n",
			want: []runtime.Requirement{
				alt(hdrKey, scoped(bearer, "read", "write")),
				alt(basic),
			}},
		{name: "the operation's requirement wins; query and cookie keys; http bearer",
			top: "security:\n  - basic: []\n",
			op:  "security:\n  - queryKey: []\n  - cookieKey: []\n  - bearer: []\n",
			want: []runtime.Requirement{
				alt(runtime.Scheme{Kind: runtime.SchemeAPIKey, In: "query", Name: "key"}),
				alt(runtime.Scheme{Kind: runtime.SchemeAPIKey, In: "cookie", Name: "session-key"}),
				alt(bearer),
			}},
		{name: "an alternative micro-gw cannot check is left out",
			top:  "security:\n  - digest: []\n  - oauth: [read]\n",
			want: nil, wantScopes: []string{"read"}},
		{name: "an empty requirement grants nothing",
			top:  "security:\n  - {}\n  - basic: []\n",
			want: []runtime.Requirement{alt(basic)}},
		{name: "application security at the API: the definition's scopes and API key",
			top: "security:\n  - oauth: [read]\n  - headerKey: []\nx-wso2-application-security:\n  security-types: [oauth2, api_key, basic_auth]\n",
			want: []runtime.Requirement{
				alt(scoped(bearer, "read")),
				alt(hdrKey),
				alt(scoped(basic, "read")),
			}},
		{name: "application security without an apiKey scheme: the apikey header",
			top:  "x-wso2-application-security: {security-types: [api_key]}\n",
			want: []runtime.Requirement{alt(wso2Key)}},
		{name: "the operation's application security wins",
			top:  "x-wso2-application-security: {security-types: [api_key]}\n",
			op:   "x-wso2-application-security: {security-types: [basic_auth, oauth2], optional: false}\n",
			want: []runtime.Requirement{alt(basic), alt(bearer)}},
		{name: "mutual SSL mandatory: a certificate and the application security",
			top:  "x-wso2-mutual-ssl: mandatory\nsecurity:\n  - oauth: []\n  - basic: []\n",
			want: []runtime.Requirement{alt(bearer, mtls), alt(basic, mtls)}},
		{name: "mutual SSL mandatory, application security optional: the certificate alone",
			top:  "x-wso2-mutual-ssl: mandatory\nx-wso2-application-security: {security-types: [oauth2], optional: true}\n",
			want: []runtime.Requirement{alt(mtls)}},
		{name: "mutual SSL optional: a certificate, or else the application security",
			top:  "x-wso2-mutual-ssl: optional\n",
			want: []runtime.Requirement{alt(mtls), alt(bearer)}},
		{name: "OpenAPI 3.1 mutualTLS with a token",
			version: "3.1.0",
			top:     "security:\n  - oauth: [read]\n    mtls: []\n",
			want:    []runtime.Requirement{alt(mtls, scoped(bearer, "read"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			version := tc.version
			doc := securityDoc("3.0.3", tc.top, tc.op)
			if version != "" {
				doc = strings.Replace(securityDoc(version, tc.top, tc.op), "    digest:\n", "    mtls:\n      type: mutualTLS\n    digest:\n", 1)
			}
			api, err := loadAPI(context.Background(), writeDef(t, "api.yaml", doc))
			if err != nil {
				t.Fatal(err)
			}
			r := api.Resources[0]
			if !r.Secured || !reflect.DeepEqual(r.Security, tc.want) || (tc.want == nil && !reflect.DeepEqual(r.Scopes, tc.wantScopes)) {
				t.Errorf("security %+v scopes %v\nwant     %+v scopes %v", r.Security, r.Scopes, tc.want, tc.wantScopes)
			}
			// What the build compiles, the gateway takes.
			spec := runtime.Spec{APIs: []runtime.API{api}}
			if err := spec.CheckRoutes(); err != nil {
				t.Errorf("the gateway refuses the compiled security: %v", err)
			}
		})
	}
}

// TestSecurityFaults: a security extension that is wrong fails the build
// at its file, line and JSON path.
func TestSecurityFaults(t *testing.T) {
	for _, tc := range []struct {
		name, top, op, path string
		line                int
		contain             string
	}{
		{"unknown application security type", "x-wso2-application-security:\n  security-types: [oauth2, saml]\n", "",
			"$.x-wso2-application-security.security-types[1]", 8, `"oauth2", "api_key" or "basic_auth"`},
		{"application security not an object", "x-wso2-application-security: oauth2\n", "",
			"$.x-wso2-application-security", 7, "must be an object"},
		{"application security with an unknown key", "x-wso2-application-security: {security-types: [oauth2], mandatory: true}\n", "",
			"$.x-wso2-application-security.mandatory", 7, "unknown key"},
		{"optional without mandatory mutual SSL", "x-wso2-application-security: {security-types: [oauth2], optional: true}\n", "",
			"$.x-wso2-application-security.optional", 7, "x-wso2-mutual-ssl is mandatory"},
		{"optional on the operation without mutual SSL", "", "x-wso2-application-security: {security-types: [api_key], optional: true}\n",
			`$.paths["/items"].get.x-wso2-application-security.optional`, 14, "x-wso2-mutual-ssl is mandatory"},
		{"no security type", "x-wso2-application-security: {security-types: []}\n", "",
			"$.x-wso2-application-security.security-types", 7, "names no security type"},
		{"mutual SSL value", "x-wso2-mutual-ssl: required\n", "",
			"$.x-wso2-mutual-ssl", 7, `"mandatory" or "optional"`},
		{"only an alternative micro-gw cannot check", "security:\n  - digest: []\n", "",
			"$.security", 7, "can check none of these security alternatives"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadAPI(context.Background(), writeDef(t, "api.yaml", securityDoc("3.0.3", tc.top, tc.op)))
			var de *DefinitionError
			if !errors.As(err, &de) || de.Path != tc.path || de.Line != tc.line || !strings.Contains(err.Error(), tc.contain) {
				t.Fatalf("got %v (path %q line %d); want %s at line %d saying %q", err, pathOf(de), lineOf2(de), tc.path, tc.line, tc.contain)
			}
		})
	}
	// mutualTLS is an OpenAPI 3.1 scheme: a 3.0 definition is refused.
	doc := strings.Replace(securityDoc("3.0.3", "", ""), "    digest:\n", "    mtls:\n      type: mutualTLS\n    digest:\n", 1)
	if _, err := loadAPI(context.Background(), writeDef(t, "api.yaml", doc)); err == nil || !strings.Contains(err.Error(), "mutualTLS") {
		t.Errorf("a 3.0 mutualTLS scheme: %v", err)
	}
}

func pathOf(e *DefinitionError) string {
	if e == nil {
		return ""
	}
	return e.Path
}

func lineOf2(e *DefinitionError) int {
	if e == nil {
		return 0
	}
	return e.Line
}

// TestSecuritySwagger2: Swagger 2.0's basic and apiKey security
// definitions are checked as such.
func TestSecuritySwagger2(t *testing.T) {
	file := writeDef(t, "v2.yaml", `swagger: "2.0"
info: {title: Old, version: "2"}
host: petstore.example
basePath: /v2
schemes: [https]
securityDefinitions:
  basic: {type: basic}
  key: {type: apiKey, in: query, name: api_key}
x-wso2-mutual-ssl: optional
paths:
  /pet:
    get:
      security:
        - basic: []
        - key: []
      responses:
        200: {description: ok}
`)
	api, err := loadAPI(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	want := []runtime.Requirement{alt(mtls), alt(basic), alt(runtime.Scheme{Kind: runtime.SchemeAPIKey, In: "query", Name: "api_key"})}
	if got := api.Resources[0].Security; !reflect.DeepEqual(got, want) {
		t.Errorf("security %+v, want %+v", got, want)
	}
}
