package codegen

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDefinitionErrors(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		content  string
		wantLine int
		wantPath string
		wantMsg  string
	}{{
		name:     "yaml syntax",
		file:     "api.yaml",
		content:  "openapi: 3.0.0\ninfo:\n  title: x\n   version: 1\n",
		wantLine: 4,
		wantMsg:  "not valid YAML",
	}, {
		name:     "duplicate key",
		file:     "api.yaml",
		content:  "openapi: 3.0.0\nopenapi: 3.0.1\n",
		wantLine: 2,
		wantMsg:  `the key "openapi" is given twice in the same mapping (first at line 1)`,
	}, {
		// The loaders keep one of two equal keys without a word: a path
		// pasted twice would lose an operation, here the secured GET.
		name:     "duplicate path",
		file:     "api.yaml",
		content:  strings.Replace(doc30(prodTop, ""), "\ncomponents:\n", "\n  /pet/{petId}:\n    delete:\n      responses: {'200': {description: ok}}\ncomponents:\n", 1),
		wantLine: 22,
		wantMsg:  `the key "/pet/{petId}" is given twice in the same mapping (first at line 9)`,
	}, {
		name:     "duplicate response code, quoted and not",
		file:     "api.yaml",
		content:  strings.Replace(doc30(prodTop, ""), "        '200':\n", "        200:\n          description: a\n        '200':\n", 1),
		wantLine: 21,
		wantMsg:  `the key "200" is given twice in the same mapping (first at line 19)`,
	}, {
		name:     "duplicate key in JSON",
		file:     "api.json",
		content:  "{\"openapi\": \"3.0.0\",\n \"info\": {\"title\": \"a\",\n  \"title\": \"b\", \"version\": \"1\"}, \"paths\": {}}",
		wantLine: 3,
		wantMsg:  `the key "title" is given twice in the same mapping (first at line 2)`,
	}, {
		// yaml.v3 names the line where the enclosing sequence began (line
		// 13, the parameter) for this fault; the build names the fault's.
		name:     "yaml key indented one space too few",
		file:     "api.yaml",
		content:  strings.Replace(doc30(prodTop, ""), "          required: true\n", "          required: true\n         oops: 1\n", 1),
		wantLine: 16,
		wantMsg:  "not valid YAML or JSON: did not find expected '-' indicator",
	}, {
		name:     "yaml sequence item indented too few",
		file:     "api.yaml",
		content:  "openapi: 3.0.0\ntags:\n  - name: a\n  - name: b\n - name: c\n  - name: d\n",
		wantLine: 5,
		wantMsg:  "not valid YAML or JSON: did not find expected key",
	}, {
		name:     "version read as a number",
		file:     "api.yaml",
		content:  strings.Replace(doc30(prodTop, ""), "  version: 1.0.0\n", "  version: 1.0\n", 1),
		wantLine: 4,
		wantPath: "$.info.version",
		wantMsg:  "the version 1.0 is read as a number, and it must be a string: quote it (\"1.0\")",
	}, {
		name:     "version read as a number, Swagger 2.0",
		file:     "api.yaml",
		content:  "swagger: '2.0'\ninfo:\n  title: t\n  version: 2\npaths: {}\n",
		wantLine: 4,
		wantPath: "$.info.version",
		wantMsg:  "quote it (\"2\")",
	}, {
		name:     "version read as a number, JSON",
		file:     "api.json",
		content:  "{\"openapi\": \"3.0.0\",\n \"info\": {\"title\": \"t\",\n  \"version\": 1}, \"paths\": {}}",
		wantLine: 3,
		wantPath: "$.info.version",
		wantMsg:  "quote it (\"1\")",
	}, {
		name:     "json syntax",
		file:     "api.json",
		content:  "{\"openapi\": \"3.0.0\",\n \"info\": {\n}",
		wantLine: 3,
		wantMsg:  "not valid JSON",
	}, {
		name:    "not a definition",
		file:    "api.yaml",
		content: "hello: world\n",
		wantMsg: "neither an openapi nor a swagger",
	}, {
		name:     "unsupported version",
		file:     "api.yaml",
		content:  "openapi: 4.0.0\n",
		wantLine: 1,
		wantPath: "$.openapi",
		wantMsg:  "not supported",
	}, {
		name:    "wrong file type",
		file:    "api.txt",
		content: doc30(prodTop, ""),
		wantMsg: ".yaml, .yml or .json",
	}, {
		// validateSubscription matches the title against the token's
		// subscribedAPIs: an empty one is no API.
		name:     "invalid info",
		file:     "api.yaml",
		content:  strings.Replace(doc30(prodTop, ""), "  title: Pets\n", "", 1),
		wantLine: 2,
		wantPath: "$.info",
		wantMsg:  "title",
	}, {
		name:     "invalid operation",
		file:     "api.yaml",
		content:  strings.Replace(doc30(prodTop, ""), "          required: true\n", "", 1),
		wantLine: 10,
		wantPath: `$.paths["/pet/{petId}"].get`,
		wantMsg:  "required",
	}, {
		name:     "disable-security not a boolean",
		file:     "api.yaml",
		content:  doc30(prodTop, "x-wso2-disable-security: \"yes\"\n"),
		wantLine: 21,
		wantPath: `$.paths["/pet/{petId}"].get.x-wso2-disable-security`,
		wantMsg:  "must be a boolean",
	}, {
		name:     "endpoint type",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints:\n  urls: [http://a]\n  type: random\n", ""),
		wantLine: 7,
		wantPath: "$.x-wso2-production-endpoints.type",
		wantMsg:  "load_balance",
	}, {
		name:     "endpoint url scheme",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints:\n  urls:\n    - http://ok\n    - ftp://nope\n", ""),
		wantLine: 8,
		wantPath: "$.x-wso2-production-endpoints.urls[1]",
		wantMsg:  "http or https",
	}, {
		name:     "endpoint timeout not a whole number",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints:\n  urls: [http://a]\n  advanceEndpointConfig:\n    timeoutInMillis: 1.5\n", ""),
		wantLine: 8,
		wantPath: "$.x-wso2-production-endpoints.advanceEndpointConfig.timeoutInMillis",
		wantMsg:  "must be a whole number from 1 to 86400000, got the number 1.5",
	}, {
		name:     "endpoint retry status out of range",
		file:     "api.yaml",
		content:  doc30(prodTop, "x-wso2-production-endpoints:\n  urls: [http://a]\n  advanceEndpointConfig:\n    retryConfig:\n      count: 1\n      statusCodes: [502, 200]\n"),
		wantLine: 26,
		wantPath: `$.paths["/pet/{petId}"].get.x-wso2-production-endpoints.advanceEndpointConfig.retryConfig.statusCodes[1]`,
		wantMsg:  "must be a whole number from 400 to 599",
	}, {
		name:     "endpoint retry without count",
		file:     "api.yaml",
		content:  doc30("x-wso2-endpoints:\n  - a:\n      urls: [http://a]\n      advanceEndpointConfig: {retryConfig: {statusCodes: [503]}}\n"+prodTop, ""),
		wantLine: 8,
		wantPath: "$.x-wso2-endpoints[0].a.advanceEndpointConfig.retryConfig.count",
		wantMsg:  "is required",
	}, {
		name:     "endpoint advanced config unknown key",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints:\n  urls: [http://a]\n  advanceEndpointConfig:\n    circuitBreakers: {}\n", ""),
		wantLine: 8,
		wantPath: "$.x-wso2-production-endpoints.advanceEndpointConfig.circuitBreakers",
		wantMsg:  "unknown key: advanceEndpointConfig has timeoutInMillis and retryConfig",
	}, {
		name:     "endpoint without urls",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints: {type: failover}\n", ""),
		wantPath: "$.x-wso2-production-endpoints.urls",
		wantMsg:  "at least one URL",
	}, {
		name:     "unknown endpoint reference",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints: '#/x-wso2-endpoints/nope'\n", ""),
		wantPath: "$.x-wso2-production-endpoints",
		wantMsg:  `no endpoint "nope"`,
	}, {
		name:     "a password written in the definition",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints:\n  urls: [http://a]\n  securityConfig:\n    type: basic\n    username: u\n    password: s3cret\n", ""),
		wantLine: 10,
		wantPath: "$.x-wso2-production-endpoints.securityConfig.password",
		wantMsg:  "would be compiled into the executable (the value is not shown)",
	}, {
		name:     "a password partly written",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints: {urls: [http://a], securityConfig: {type: basic, password: 'pre${PW}'}}\n", ""),
		wantPath: "$.x-wso2-production-endpoints.securityConfig.password",
		wantMsg:  `must be "${NAME}"`,
	}, {
		name:     "backend credentials of another kind",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints: {urls: [http://a], securityConfig: {type: digest}}\n", ""),
		wantPath: "$.x-wso2-production-endpoints.securityConfig.type",
		wantMsg:  `must be "basic"`,
	}, {
		name:     "backend credentials without a type",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints: {urls: [http://a], securityConfig: {username: u}}\n", ""),
		wantPath: "$.x-wso2-production-endpoints.securityConfig.type",
		wantMsg:  "is required",
	}, {
		name:     "a user name with a colon",
		file:     "api.yaml",
		content:  doc30("x-wso2-endpoints:\n  - a: {urls: [http://a], securityConfig: {type: basic, username: 'a:b'}}\nx-wso2-production-endpoints: '#/x-wso2-endpoints/a'\n", ""),
		wantPath: "$.x-wso2-endpoints[0].a.securityConfig.username",
		wantMsg:  "colon",
	}, {
		name:     "credentials in an endpoint URL",
		file:     "api.yaml",
		content:  doc30("x-wso2-production-endpoints: {urls: ['https://u:s3cret@a/v2']}\n", ""),
		wantPath: "$.x-wso2-production-endpoints.urls[0]",
		wantMsg:  "securityConfig",
	}, {
		name:     "auth header not a header name",
		file:     "api.yaml",
		content:  doc30(prodTop+"x-wso2-auth-header: 'X Token'\n", ""),
		wantLine: 7,
		wantPath: "$.x-wso2-auth-header",
		wantMsg:  `"X Token" is not an HTTP header name`,
	}, {
		name:     "transport unknown",
		file:     "api.yaml",
		content:  doc30(prodTop+"x-wso2-transports: [https, ws]\n", ""),
		wantLine: 7,
		wantPath: "$.x-wso2-transports[1]",
		wantMsg:  `must be "http" or "https", got the string "ws"`,
	}, {
		name:     "transports empty",
		file:     "api.yaml",
		content:  doc30(prodTop+"x-wso2-transports: []\n", ""),
		wantPath: "$.x-wso2-transports",
		wantMsg:  "is empty",
	}, {
		name:     "CORS without corsConfigurationEnabled",
		file:     "api.yaml",
		content:  doc30(prodTop+"x-wso2-cors:\n  accessControlAllowOrigins: ['*']\n", ""),
		wantPath: "$.x-wso2-cors.corsConfigurationEnabled",
		wantMsg:  "is required",
	}, {
		name:     "CORS origin with a path",
		file:     "api.yaml",
		content:  doc30(prodTop+"x-wso2-cors:\n  corsConfigurationEnabled: true\n  accessControlAllowOrigins:\n    - https://a.example\n    - https://b.example/app\n", ""),
		wantLine: 11,
		wantPath: "$.x-wso2-cors.accessControlAllowOrigins[1]",
		wantMsg:  "without a path",
	}, {
		name:     "CORS unknown key",
		file:     "api.yaml",
		content:  doc30(prodTop+"x-wso2-cors:\n  corsConfigurationEnabled: true\n  accessControlExposeHeaders: [X-Total]\n", ""),
		wantLine: 9,
		wantPath: "$.x-wso2-cors.accessControlExposeHeaders",
		wantMsg:  "unknown key",
	}, {
		name:     "CORS credentials not a boolean",
		file:     "api.yaml",
		content:  doc30(prodTop+"x-wso2-cors: {corsConfigurationEnabled: true, accessControlAllowCredentials: 'yes'}\n", ""),
		wantPath: "$.x-wso2-cors.accessControlAllowCredentials",
		wantMsg:  "must be a boolean",
	}, {
		name:     "CORS method list of numbers",
		file:     "api.yaml",
		content:  doc30(prodTop+"x-wso2-cors: {corsConfigurationEnabled: true, accessControlAllowMethods: [GET, 1]}\n", ""),
		wantPath: "$.x-wso2-cors.accessControlAllowMethods[1]",
		wantMsg:  "must be a string, got the number 1",
	}, {
		name:     "base path with a template",
		file:     "api.yaml",
		content:  doc30("x-wso2-basePath: /pets/{version}\n"+prodTop, ""),
		wantLine: 5,
		wantPath: "$.x-wso2-basePath",
		wantMsg:  "plain path",
	}, {
		name:     "two parameters with nothing between them",
		file:     "api.yaml",
		content:  strings.NewReplacer("/pet/{petId}:", "/pet/{petId}{ext}:", "            type: string\n", "            type: string\n        - {name: ext, in: path, required: true, schema: {type: string}}\n").Replace(doc30(prodTop, "")),
		wantPath: `$.paths["/pet/{petId}{ext}"]`,
		wantMsg:  "two parameters need text between them",
	}, {
		// A host without a scheme is a relative path to RFC 3986, and no
		// base path can be read from it.
		name:     "a server URL that is a host without a scheme",
		file:     "api.yaml",
		content:  doc30("servers:\n  - url: api.example.com\n", ""),
		wantLine: 6,
		wantPath: "$.servers[0].url",
		wantMsg:  `server URL "api.example.com" is neither an absolute URL nor a path from the root (/...)`,
	}, {
		name:    "reference outside the folder refused",
		file:    "api.yaml",
		content: strings.Replace(doc30(prodTop, ""), "            type: string\n", "            $ref: '/etc/passwd'\n", 1),
		wantMsg: "outside the folder of the definition",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeDef(t, tt.file, tt.content)
			_, err := loadAPI(context.Background(), file)
			var de *DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("got %v (%T), want a *DefinitionError", err, err)
			}
			if de.File != file {
				t.Errorf("file = %q, want %q", de.File, file)
			}
			if tt.wantLine != 0 && de.Line != tt.wantLine {
				t.Errorf("line = %d, want %d (%v)", de.Line, tt.wantLine, err)
			}
			if de.Path != tt.wantPath {
				t.Errorf("path = %q, want %q (%v)", de.Path, tt.wantPath, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}

func TestDuplicateBasePath(t *testing.T) {
	a := writeDef(t, "a.yaml", doc30("x-wso2-basePath: /same/\n"+prodTop, ""))
	b := writeDef(t, "b.yaml", doc30("x-wso2-basePath: /same\n"+prodTop, ""))
	_, err := LoadAll(context.Background(), []string{a, b})
	var dup *DuplicateBasePathError
	if !errors.As(err, &dup) || dup.First != a || dup.Other != b || dup.BasePath != "/same" {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Errorf("%q does not name both files", err)
	}
}

// What the gateway never reads (a parameter's name: the router binds none;
// an empty server URL: no endpoint) warns instead of failing, as real
// definitions leave them empty.
func TestEmptyNamesWarn(t *testing.T) {
	doc := strings.NewReplacer("        - name: petId\n", "        - {name: '', in: query, schema: {type: string}}\n        - name: petId\n").Replace(doc30(prodTop, "")) +
		"servers:\n  - url: ''\n"
	d, err := LoadDefinition(context.Background(), writeDef(t, "api.yaml", doc))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range d.Warnings() {
		got = append(got, w.Error())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"parameter name can't be blank", "$.servers: value of url must be a non-empty string"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings do not say %q:\n%s", want, all)
		}
	}
}
