package codegen

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// defWithPaths is a 3.0 definition at basePath with the given paths block.
func defWithPaths(basePath, paths string) string {
	return "openapi: 3.0.0\ninfo: {title: T, version: '1'}\nx-wso2-basePath: " + basePath +
		"\nx-wso2-production-endpoints: {urls: ['http://b']}\npaths:\n" + paths
}

// op is an operation of method with the given path parameters.
func op(method string, params ...string) string {
	s := "    " + method + ":\n      responses: {'200': {description: ok}}\n"
	for i, p := range params {
		if i == 0 {
			s += "      parameters:\n"
		}
		s += "        - {name: " + p + ", in: path, required: true, schema: {type: string}}\n"
	}
	return s
}

// Paths that differ only in parameter names are what kin-openapi calls
// conflicting; GitHub's definition has them, with different methods, and the
// router tells those apart.
func TestPathsDifferingInParameterNames(t *testing.T) {
	content := defWithPaths("/gh",
		"  /orgs/{org}/attestations/{subject_digest}:\n"+op("get", "org", "subject_digest")+
			"  /orgs/{org}/attestations/{attestation_id}:\n"+op("delete", "org", "attestation_id")+
			"  /orgs/{org}:\n"+op("get", "org"))
	file := writeDef(t, "api.yaml", content)
	loaded, err := LoadAll(context.Background(), []string{file})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(loaded[0].API.Resources); n != 3 {
		t.Fatalf("%d resources, want 3", n)
	}
	// What the layers share is validated, and warned about, once.
	withBadExample := content + "components:\n  schemas:\n    X: {type: integer, example: nope}\n"
	loaded, err = LoadAll(context.Background(), []string{writeDef(t, "api.yaml", withBadExample)})
	if err != nil {
		t.Fatal(err)
	}
	examples := 0
	for _, w := range loaded[0].Warnings {
		if strings.Contains(w.Error(), "invalid example") {
			examples++
		}
	}
	if examples != 1 {
		t.Fatalf("a component's fault beside conflicting paths: warnings %v; want one about the example", loaded[0].Warnings)
	}
	// Each layer is still validated: a fault in the second path is found.
	bad := strings.Replace(content, "    delete:\n", "    delete:\n      security: [{nope: []}]\n", 1)
	if _, err := LoadAll(context.Background(), []string{writeDef(t, "api.yaml", bad)}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("a fault in the second of two conflicting paths: %v", err)
	}
}

// Two operations the router cannot tell apart fail the build with both path
// templates as written, the line of each, and why they collide.
func TestRoutesTheGatewayCannotTellApart(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"same method, other parameter name", []string{defWithPaths("/a",
			"  /pets/{id}:\n"+op("get", "id")+"  /pets/{name}:\n"+op("get", "name"))},
			`a.yaml:12: $.paths["/pets/{name}"].get: GET /pets/{name} and GET /pets/{id} (line 7) cannot both be routed: ` +
				`two templates of the same shape with different parameter names match the same requests ` +
				`(with the base path: /a/pets/{name} and /a/pets/{id}); keep one of the two`},
		{"with and without a trailing slash", []string{defWithPaths("/",
			"  /pets:\n"+op("get")+"  /pets/:\n"+op("get"))},
			`a.yaml:10: $.paths["/pets/"].get: GET /pets/ and GET /pets (line 7) cannot both be routed: ` +
				`the gateway's router treats a trailing slash as the same resource, so both would receive the same requests; keep one of the two`},
		{"both", []string{defWithPaths("/",
			"  /pets/{id}:\n"+op("get", "id")+"  /pets/{name}/:\n"+op("get", "name"))},
			`a.yaml:12: $.paths["/pets/{name}/"].get: GET /pets/{name}/ and GET /pets/{id} (line 7) cannot both be routed: ` +
				`the gateway's router treats a trailing slash as the same resource, and two templates of the same shape with different parameter names match the same requests; keep one of the two`},
		{"two APIs adding up to one route", []string{
			defWithPaths("/a", "  /b/{x}:\n"+op("get", "x")),
			defWithPaths("/a/b", "  /{x}:\n"+op("get", "x")),
		}, `b.yaml:7: $.paths["/{x}"].get: GET /{x} and GET /b/{x} (a.yaml:7) cannot both be routed: ` +
			`with their base paths both are the route /a/b/{x}; keep one of the two`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := map[string]string{}
			var names []string
			for i, content := range tt.files {
				name := string(rune('a'+i)) + ".yaml"
				tree[name] = content
				names = append(names, name)
			}
			dir := writeTree(t, tree)
			var files []string
			for _, name := range names {
				files = append(files, filepath.Join(dir, name))
			}
			_, err := LoadAll(context.Background(), files)
			var conflict *RouteConflictError
			if !errors.As(err, &conflict) {
				t.Fatalf("got %v, want a *RouteConflictError", err)
			}
			if got := strings.TrimPrefix(err.Error(), dir+string(filepath.Separator)); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The gateway's rules on templates come before kin-openapi's validation, whose
// word on a path holding a query is only that its parameters do not match;
// and a parameter's name may be in any script.
func TestPathTemplateRules(t *testing.T) {
	query := "  /send?to={x}:\n    get:\n      parameters:\n        - {name: x, in: query, schema: {type: string}}\n      responses: {'200': {description: ok}}\n"
	file := writeDef(t, "api.yaml", defWithPaths("/a", query))
	_, err := LoadAll(context.Background(), []string{file})
	if err == nil || !strings.Contains(err.Error(), `api.yaml:6: $.paths["/send?to={x}"]: a path must not hold a query, a fragment`) {
		t.Errorf("a path with a query: %v", err)
	}
	loaded, err := LoadAll(context.Background(), []string{writeDef(t, "api.yaml", defWithPaths("/a", "  /users/{名前}:\n"+op("get", "名前")))})
	if err != nil {
		t.Fatalf("a parameter named in Japanese: %v", err)
	}
	if r := loaded[0].API.Resources; len(r) != 1 || r[0].Path != "/users/{名前}" {
		t.Errorf("resources %+v", r)
	}
	if _, err := LoadAll(context.Background(), []string{writeDef(t, "api.yaml", defWithPaths("/a", "  /users/{a:b}:\n"+op("get", "\"a:b\"")))}); err == nil ||
		!strings.Contains(err.Error(), "a name is letters and digits (of any script)") {
		t.Errorf("a parameter name with a space: %v", err)
	}
}
