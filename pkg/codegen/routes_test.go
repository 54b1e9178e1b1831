package codegen

import (
	"context"
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

func TestRoutesTheGatewayCannotTellApart(t *testing.T) {
	tests := []struct {
		name  string
		files []string
	}{
		{"same method, other parameter name", []string{defWithPaths("/a",
			"  /pets/{id}:\n"+op("get", "id")+"  /pets/{name}:\n"+op("get", "name"))}},
		{"with and without a trailing slash", []string{defWithPaths("/a",
			"  /pets:\n"+op("get")+"  /pets/:\n"+op("get"))}},
		{"two APIs adding up to one route", []string{
			defWithPaths("/a", "  /b/{x}:\n"+op("get", "x")),
			defWithPaths("/a/b", "  /{y}:\n"+op("get", "y")),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var files []string
			for i, content := range tt.files {
				files = append(files, writeDef(t, string(rune('a'+i))+".yaml", content))
			}
			_, err := LoadAll(context.Background(), files)
			if err == nil || !strings.Contains(err.Error(), "is defined twice") || !strings.Contains(err.Error(), "could not route") {
				t.Fatalf("got %v, want an error naming the route defined twice", err)
			}
		})
	}
}
