package codegen

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// swagger2Doc is a small Swagger 2.0 document; each test replaces one part.
// Line numbers matter: the tests name them.
const swagger2Doc = `swagger: "2.0"
info: {title: Old, version: "2"}
host: petstore.example
basePath: /v2
securityDefinitions:
  oauth:
    type: oauth2
    flow: application
    tokenUrl: https://localhost:9443/oauth2/token
    scopes: {read: read}
paths:
  /pet/{id}:
    post:
      security:
        - oauth: [read]
      parameters:
        - {name: body, in: body, schema: {$ref: "#/definitions/Pet"}}
        - {name: id, in: path, required: true, type: string}
        - {name: q, in: query, type: integer, default: 1}
      responses:
        200:
          description: ok
          schema:
            type: integer
            example: 1
definitions:
  Pet:
    type: object
    properties:
      name: {type: integer, example: 1}
responses:
  gone: {description: gone}
`

// TestSwagger2FaultLocations: a fault in a Swagger 2.0 definition is found
// in its OpenAPI 3 conversion, and named with the path and line it has in
// the 2.0 file, not those of the conversion ($.components.schemas.X at line
// 1).
func TestSwagger2FaultLocations(t *testing.T) {
	tests := []struct {
		name, old, new string
		// error: the load fails; else the first warning is checked
		error              bool
		wantLine           int
		wantPath, wantText string
	}{{
		name: "warning in a definition", old: "name: {type: integer, example: 1}", new: "name: {type: integer, example: one}",
		wantLine: 27, wantPath: "$.definitions.Pet", wantText: "invalid example",
	}, {
		name: "warning in a response schema", old: "            example: 1\n", new: "            example: one\n",
		wantLine: 13, wantPath: `$.paths["/pet/{id}"].post`, wantText: "invalid example",
	}, {
		name: "warning in a parameter", old: "default: 1}", new: "default: one}",
		wantLine: 13, wantPath: `$.paths["/pet/{id}"].post`, wantText: `parameter "q" schema is invalid: invalid default`,
	}, {
		name: "error in a security scheme", old: "    tokenUrl: https://localhost:9443/oauth2/token\n", new: "",
		error: true, wantLine: 6, wantPath: "$.securityDefinitions.oauth", wantText: "tokenUrl",
	}, {
		name: "warning in a reusable response", old: "  gone: {description: gone}", new: "  gone: {description: gone, headers: {X: {type: nope}}}",
		wantLine: 32, wantPath: "$.responses.gone", wantText: "nope",
	}, {
		// The converter's fault carries only the $ref, in its 3.0 form: it
		// is named as written, at the line of the $ref under a schema.
		name: "converter fault naming a $ref", old: "            type: integer\n            example: 1\n", new: "            $ref: '#/responses/gone'\n",
		error: true, wantLine: 24, wantText: `"#/responses/gone" (expecting ref to schema object)`,
	}, {
		name: "$ref to a file that is not there", old: `{$ref: "#/definitions/Pet"}`, new: `{$ref: "The pet."}`,
		error: true, wantLine: 17, wantText: "The pet.",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(swagger2Doc, tt.old) {
				t.Fatalf("the document lacks %q", tt.old)
			}
			file := writeDef(t, "v2.yaml", strings.Replace(swagger2Doc, tt.old, tt.new, 1))
			d, err := LoadDefinition(context.Background(), file)
			var got *DefinitionError
			switch {
			case tt.error && err == nil:
				t.Fatal("loaded, want an error")
			case tt.error:
				got = err.(*DefinitionError)
			case err != nil:
				t.Fatal(err)
			case len(d.Warnings()) == 0:
				t.Fatal("no warning")
			default:
				got = d.Warnings()[0]
			}
			if got.Line != tt.wantLine || got.Path != tt.wantPath || !strings.Contains(got.Error(), tt.wantText) {
				t.Errorf("got  %d %s %q\nwant %d %s ...%s...", got.Line, got.Path, got.Error(), tt.wantLine, tt.wantPath, tt.wantText)
			}
			if strings.Contains(got.Error(), "components") {
				t.Errorf("a 2.0 fault named in 3.0 terms: %v", got)
			}
		})
	}
}

// TestOddComponentNames: OpenAPI 3 allows only ^[a-zA-Z0-9._-]+$ as a
// component name; Swagger 2.0 allows any, and real ones use names with
// spaces and brackets. The gateway uses a name only to resolve $refs and
// security requirements, so such a name is a warning at its line, in 2.0
// and 3.x alike, and the scopes of a scheme so named are still required.
func TestOddComponentNames(t *testing.T) {
	v2 := `swagger: "2.0"
info: {title: Odd, version: "1"}
host: api.example
schemes: [http]
securityDefinitions:
  OAuth2 Application:
    type: oauth2
    flow: application
    tokenUrl: https://localhost:9443/oauth2/token
    scopes: {read: read}
paths:
  /items:
    get:
      security:
        - OAuth2 Application: [read]
      responses:
        200:
          description: ok
          schema: {$ref: "#/definitions/Stream result of Item"}
definitions:
  Stream result of Item:
    type: object
    properties:
      result: {$ref: "#/definitions/Response[Item]"}
  Response[Item]: {type: object}
`
	v3 := `openapi: 3.0.3
info: {title: Odd, version: "1"}
servers: [{url: "http://api.example"}]
paths:
  /items:
    get:
      security:
        - OAuth2 Application: [read]
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Response[Item]"}
components:
  schemas:
    Response[Item]: {type: object}
  securitySchemes:
    OAuth2 Application:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://localhost:9443/oauth2/token
          scopes: {read: read}
`
	want := runtime.API{Title: "Odd", Version: "1", BasePath: "/",
		Production: &runtime.Endpoint{URLs: []string{"http://api.example"}, Type: "failover"},
		Resources:  []runtime.Resource{{Method: "GET", Path: "/items", Secured: true, Scopes: []string{"read"}}}}
	tests := []struct {
		name, file, content string
		wantWarnings        []string
	}{{
		name: "swagger 2.0", file: "v2.yaml", content: v2,
		wantWarnings: []string{
			`:25: $.definitions["Response[Item]"]: the name "Response[Item]" is not a component name of OpenAPI 3`,
			`:21: $.definitions["Stream result of Item"]: the name "Stream result of Item"`,
			`:6: $.securityDefinitions["OAuth2 Application"]: the name "OAuth2 Application"`,
		},
	}, {
		name: "openapi 3.0", file: "v3.yaml", content: v3,
		wantWarnings: []string{
			`:17: $.components.schemas["Response[Item]"]: the name "Response[Item]"`,
			`:19: $.components.securitySchemes["OAuth2 Application"]: the name "OAuth2 Application"`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeDef(t, tt.file, tt.content)
			loaded, err := LoadAll(context.Background(), []string{file})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			var got []string
			for _, w := range loaded[0].Warnings {
				got = append(got, w.Error())
			}
			if len(got) != len(tt.wantWarnings) {
				t.Fatalf("warnings:\n%s\nwant %d", strings.Join(got, "\n"), len(tt.wantWarnings))
			}
			for i, w := range tt.wantWarnings {
				if !strings.HasPrefix(got[i], file+w) {
					t.Errorf("warning %d: %s\nwant      %s%s...", i, got[i], file, w)
				}
			}
			api := loaded[0].API
			w := want
			w.Source = tt.file
			if !reflect.DeepEqual(api, w) {
				t.Errorf("got  %+v %+v\nwant %+v", api, api.Production, w)
			}
			src, err := MainSource(runtime.Spec{Name: "odd", Version: "v1", APIs: []runtime.API{api}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(src), `Scopes:         []string{"read"},`) {
				t.Errorf("the route table lost the scopes:\n%s", src)
			}
		})
	}
}

// TestOddComponentNameValueStillChecked: kin-openapi skips the value of a
// component whose name it refuses; the build checks it, since the gateway
// uses a security scheme's type.
func TestOddComponentNameValueStillChecked(t *testing.T) {
	v3 := `openapi: 3.0.3
info: {title: Odd, version: "1"}
servers: [{url: "http://api.example"}]
paths: {}
components:
  securitySchemes:
    My Scheme:
      type: oauth2
`
	_, err := LoadDefinition(context.Background(), writeDef(t, "v3.yaml", v3))
	if err == nil || !strings.Contains(err.Error(), `:7: $.components.securitySchemes["My Scheme"]: invalid OpenAPI definition`) {
		t.Fatalf("got %v, want the scheme without flows refused", err)
	}
}

// TestV2Path: the paths the build itself makes (and any deeper one
// kin-openapi may give) are mapped element by element onto the 2.0 file.
func TestV2Path(t *testing.T) {
	d, err := LoadDefinition(context.Background(), writeDef(t, "v2.yaml", swagger2Doc))
	if err != nil {
		t.Fatal(err)
	}
	op := jsonPath{"paths", "/pet/{id}", "post"}
	tests := []struct {
		v3, v2 jsonPath
	}{
		{jsonPath{"components", "schemas", "Pet", "properties", "name"}, jsonPath{"definitions", "Pet", "properties", "name"}},
		{jsonPath{"components", "securitySchemes", "oauth", "flows", "clientCredentials", "tokenUrl"}, jsonPath{"securityDefinitions", "oauth", "tokenUrl"}},
		{jsonPath{"components", "responses", "gone", "description"}, jsonPath{"responses", "gone", "description"}},
		{jsonPath{"components", "headers", "X"}, nil},
		{jsonPath{"servers", index(0), "url"}, jsonPath{"host"}},
		{op.child("x-wso2-throttling-tier"), op},
		// the body became the request body: the 3.0 parameters are [id, q]
		{op.child("parameters", index(1), "schema", "default"), op.child("parameters", index(2), "default")},
		{op.child("requestBody", "content", "application/json", "schema", "$ref"), op.child("parameters", index(0), "schema", "$ref")},
		{op.child("responses", "200", "content", "application/json", "schema", "example"), op.child("responses", "200", "schema", "example")},
	}
	for _, tt := range tests {
		if got := v2Path(d.root, tt.v3); !reflect.DeepEqual(got, tt.v2) {
			t.Errorf("v2Path(%s) = %s, want %s", tt.v3, got, tt.v2)
		}
	}
}
