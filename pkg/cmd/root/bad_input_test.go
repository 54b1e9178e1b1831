package root

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/project"
)

const goodDef = `openapi: 3.0.0
info: {title: T, version: "1"}
x-wso2-basePath: /same
x-wso2-production-endpoints: {urls: ["http://127.0.0.1:9"]}
paths:
  /x:
    get:
      responses:
        '200': {description: ok}
`

// TestBadInputs runs init and build on bad input through the root command:
// each fails with its exit code and a message naming the fault, and a
// failed build leaves no executable.
func TestBadInputs(t *testing.T) {
	type setup func(t *testing.T, wd string)
	file := func(rel, content string) setup {
		return func(t *testing.T, wd string) {
			p := filepath.Join(wd, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	proj := func(t *testing.T, wd string) {
		if err := project.Scaffold(project.New(wd, "pets"), project.ScaffoldOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	noGo := func(t *testing.T, _ string) { t.Setenv("PATH", t.TempDir()) }

	tests := []struct {
		name     string
		setup    []setup
		args     []string
		slow     bool
		wantCode int
		want     []string
	}{{
		name: "init without a name", args: []string{"init"},
		wantCode: ExitUsage, want: []string{"accepts 1 arg(s)"},
	}, {
		name: "init with an unknown flag", args: []string{"init", "pets", "--bogus"},
		wantCode: ExitUsage, want: []string{"unknown flag: --bogus"},
	}, {
		name: "init over an existing project", setup: []setup{file("pets/notes.txt", "x")}, args: []string{"init", "pets"},
		wantCode: ExitFailure, want: []string{"Project name `pets` already exist.", "-f or --force"},
	}, {
		name: "init with a missing definition", args: []string{"init", "pets", "-a", "missing.yaml"},
		wantCode: ExitFailure, want: []string{"missing.yaml", "no such file"},
	}, {
		name: "init with a definition that is not YAML", setup: []setup{file("bad.yaml", "openapi: 3.0.0\ninfo:\n  title: [\n")},
		args: []string{"init", "pets", "--api-definition", "bad.yaml"}, wantCode: ExitFailure, want: []string{"bad.yaml:3: not valid YAML"},
	}, {
		name: "init with a bad extension value", setup: []setup{file("def.yaml", goodDef+"x-wso2-disable-security: maybe\n")},
		args: []string{"init", "pets", "-a", "def.yaml"}, wantCode: ExitFailure, want: []string{"def.yaml:10: $.x-wso2-disable-security", "must be a boolean"},
	}, {
		name: "build a missing project", args: []string{"build", "nope"},
		wantCode: ExitFailure, want: []string{"Project nope does not exist.", "BUILD FAILED"},
	}, {
		name: "build with an empty api_definitions", setup: []setup{proj}, args: []string{"build", "pets"},
		wantCode: ExitFailure, want: []string{"Nothing to build. API definitions does not exist.", "BUILD FAILED"},
	}, {
		name: "build YAML that does not parse", setup: []setup{proj, file("pets/api_definitions/a.yaml", "openapi: 3.0.0\ninfo:\n  title: x\n   version: 1\n")},
		args: []string{"build", "pets"}, wantCode: ExitFailure, want: []string{filepath.Join("pets", "api_definitions", "a.yaml") + ":4:", "not valid YAML"},
	}, {
		name: "build an invalid OpenAPI document", setup: []setup{proj, file("pets/api_definitions/a.yaml", strings.Replace(goodDef, `{title: T, version: "1"}`, `{title: T}`, 1))},
		args: []string{"build", "pets"}, wantCode: ExitFailure, want: []string{"a.yaml:2: $.info", "version"},
	}, {
		name: "build two APIs with one base path", setup: []setup{proj, file("pets/api_definitions/a.yaml", goodDef), file("pets/api_definitions/b.json", `{"openapi":"3.0.0","info":{"title":"B","version":"1"},"x-wso2-basePath":"/same/","x-wso2-production-endpoints":{"urls":["http://b"]},"paths":{}}`)},
		args: []string{"build", "pets"}, wantCode: ExitFailure, want: []string{"a.yaml and", "b.json both have the base path /same"},
	}, {
		name: "build a bad endpoint type", setup: []setup{proj, file("pets/api_definitions/a.yaml", strings.Replace(goodDef, `{urls: ["http://127.0.0.1:9"]}`, `{urls: ["http://h"], type: roundrobin}`, 1))},
		args: []string{"build", "pets"}, wantCode: ExitFailure, want: []string{"a.yaml:4: $.x-wso2-production-endpoints.type", "load_balance"},
	}, {
		name: "build a file that is not a definition", setup: []setup{proj, file("pets/api_definitions/a.yaml", goodDef), file("pets/api_definitions/notes.txt", "hi")},
		args: []string{"build", "pets"}, wantCode: ExitFailure, want: []string{"notes.txt", ".yaml, .yml or .json"},
	}, {
		name: "build a backend password written in the definition",
		setup: []setup{proj, file("pets/api_definitions/a.yaml", strings.Replace(goodDef, `{urls: ["http://127.0.0.1:9"]}`,
			`{urls: ["http://127.0.0.1:9"], securityConfig: {type: basic, username: u, password: hunter2}}`, 1))},
		args: []string{"build", "pets"}, wantCode: ExitFailure, want: []string{"a.yaml:4: $.x-wso2-production-endpoints.securityConfig.password", "would be compiled into the executable"},
	}, {
		name: "build without a Go toolchain", setup: []setup{proj, file("pets/api_definitions/a.yaml", goodDef), noGo},
		args: []string{"build", "pets"}, wantCode: ExitFailure, want: []string{"micro-gw build needs the Go toolchain (go 1.26 or later) on PATH", "BUILD FAILED"},
	}, {
		name: "build with two projects", args: []string{"build", "a", "b"},
		wantCode: ExitUsage, want: []string{"accepts 1 arg(s), received 2"},
	}, {
		name: "build an extension that does not compile", slow: true,
		setup: []setup{proj, file("pets/api_definitions/a.yaml", goodDef), file("pets/extensions/broken.go", "package main\n\nfunc broken() int {\n\treturn notDefined\n}\n")},
		args:  []string{"build", "pets"}, wantCode: ExitFailure,
		want: []string{filepath.Join("pets", "extensions", "broken.go") + ":4:9: undefined: notDefined", "BUILD FAILED"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.slow && testing.Short() {
				t.Skip("compiles a gateway")
			}
			wd := t.TempDir()
			for _, s := range tt.setup {
				s(t, wd)
			}
			f, out, errOut := testFactory(wd)
			args := tt.args
			if args[0] == "build" && len(args) == 2 {
				args = append(args, "--keep-source") // generate inside the project, not the user's cache
			}
			code := Run(f, args)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if args[0] == "build" {
				target, _ := os.ReadDir(filepath.Join(wd, "pets", "target"))
				for _, e := range target {
					if e.Name() != "gen" {
						t.Errorf("a failed build left target/%s", e.Name())
					}
				}
			}
		})
	}
}
