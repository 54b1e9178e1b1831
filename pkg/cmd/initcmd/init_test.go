package initcmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/codegen"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
)

func TestNewCmdInitFlags(t *testing.T) {
	tests := []struct {
		args []string
		want InitOptions
	}{
		{[]string{"pets"}, InitOptions{Name: "pets"}},
		{[]string{"-f", "dir/pets"}, InitOptions{Name: "dir/pets", Force: true}},
		{[]string{"pets", "--force", "-a", "a.yaml", "--api-definition", "b.json"},
			InitOptions{Name: "pets", Force: true, Definitions: []string{"a.yaml", "b.json"}}},
	}
	for _, tt := range tests {
		var got *InitOptions
		cmd := NewCmdInit(&factory.Factory{}, func(o *InitOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		got.Out, got.Getwd = nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%v: got %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestInitRun(t *testing.T) {
	wd := t.TempDir()
	var out bytes.Buffer
	opts := &InitOptions{
		Out:         &out,
		Getwd:       func() (string, error) { return wd, nil },
		Name:        "work/petstore",
		Definitions: []string{"../../../samples/petstore_basic.yaml"},
	}
	// The sample is named relative to wd; put wd where that path works.
	sample, err := filepath.Abs("../../../samples/petstore_basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts.Definitions = []string{sample}
	if err := initRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := "Project 'work/petstore' is initialized successfully.\nNext: micro-gw build work/petstore\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	p := project.New(wd, "work/petstore")
	if _, err := os.Stat(filepath.Join(p.Path(project.DefinitionsDir), "petstore_basic.yaml")); err != nil {
		t.Error(err)
	}
	if _, err := issuer.LoadKey(p.Path(project.IssuerKeyFile)); err != nil {
		t.Error(err)
	}
}

// A definition without an endpoint (here a relative server URL) is taken,
// with the build's warning naming the API and the key that gives one.
func TestInitTakesADefinitionWithoutEndpoint(t *testing.T) {
	wd := t.TempDir()
	writeFiles(t, wd, map[string]string{"rel.yaml": "openapi: 3.0.0\ninfo: {title: Rel, version: '1'}\nservers:\n  - url: /rel/v1\n" +
		"paths:\n  /a:\n    get:\n      security: []\n      responses: {'200': {description: ok}}\n"})
	var out, errOut bytes.Buffer
	opts := &InitOptions{Out: &out, ErrOut: &errOut, Getwd: func() (string, error) { return wd, nil }, Name: "rel", Definitions: []string{"rel.yaml"}}
	if err := initRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := `WARNING: rel.yaml:3: $.servers: API "Rel" (/rel/v1) has no endpoint: no x-wso2-production-endpoints and no absolute http(s) URL in servers; ` +
		`it builds, but the gateway will not start until one is given: apiEndpoints."/rel/v1".production`
	if !strings.HasPrefix(errOut.String(), want) || !strings.HasPrefix(out.String(), "Project 'rel' is initialized successfully.") {
		t.Errorf("stdout %q\nstderr %q", out.String(), errOut.String())
	}
	if _, err := os.Stat(filepath.Join(wd, "rel", "api_definitions", "rel.yaml")); err != nil {
		t.Error(err)
	}
}

// Without a definition the next step is to add one.
func TestInitRunWithoutDefinitions(t *testing.T) {
	wd := t.TempDir()
	var out bytes.Buffer
	opts := &InitOptions{Out: &out, Getwd: func() (string, error) { return wd, nil }, Name: "empty"}
	if err := initRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := "Project 'empty' is initialized successfully.\n" +
		"Next: add API definitions to " + filepath.Join("empty", "api_definitions") + " and run 'micro-gw build empty'\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

// writeFiles writes files (path relative to dir: content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const splitRoot = `openapi: 3.0.0
info: {title: T, version: '1'}
x-wso2-production-endpoints: {urls: ['http://b']}
paths:
  /pet:
    $ref: %s
`

const petPath = `get:
  responses:
    '200':
      $ref: '../components/ok.yaml'
`

// Init runs the build's checks, routes included: a definition that would
// not build is refused, with the build's message, and nothing is written.
func TestInitRefusesWhatBuildRefuses(t *testing.T) {
	wd := t.TempDir()
	writeFiles(t, wd, map[string]string{
		"defs/routes.yaml": `openapi: 3.0.0
info: {title: T, version: '1'}
x-wso2-production-endpoints: {urls: ['http://b']}
paths:
  /jobs:
    get: {responses: {'200': {description: ok}}}
  /jobs/:
    get: {responses: {'200': {description: ok}}}
`,
		"defs/url.yaml":           fmt.Sprintf(splitRoot, "'http://example.com/pet.yaml'"),
		"defs/outside/api.yaml":   fmt.Sprintf(splitRoot, "'../paths/pet.yaml'"),
		"defs/paths/pet.yaml":     petPath,
		"defs/components/ok.yaml": "description: ok\n",
		"defs/beside.yaml":        fmt.Sprintf(splitRoot, "'pet.yaml'"),
		"defs/pet.yaml":           "get: {responses: {'200': {description: ok}}}\n",
		"defs/missing.yaml":       fmt.Sprintf(splitRoot, "'paths/nope.yaml'"),
	})
	tests := []struct{ def, want string }{
		{"defs/routes.yaml", `defs/routes.yaml:8: $.paths["/jobs/"].get: GET /jobs/ and GET /jobs (line 6) cannot both be routed: ` +
			`the gateway's router treats a trailing slash as the same resource, so both would receive the same requests; keep one of the two`},
		{"defs/url.yaml", "$ref to http://example.com/pet.yaml: only files beside the definition can be referenced"},
		{"defs/outside/api.yaml", "outside the folder of the definition"},
		{"defs/beside.yaml", "defs/beside.yaml: $ref to pet.yaml: a file the definition references must be in a subfolder of the definition's folder, " +
			"since every file directly in api_definitions/ is taken for an API; move defs/pet.yaml into a subfolder (e.g. parts/pet.yaml) and change the $refs to it"},
		{"defs/missing.yaml", "defs/missing.yaml:6: "},
	}
	for _, tt := range tests {
		opts := &InitOptions{Out: io.Discard, Getwd: func() (string, error) { return wd, nil }, Name: "proj", Definitions: []string{tt.def}}
		err := initRun(context.Background(), opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.def, err, tt.want)
		}
		if _, err := os.Stat(filepath.Join(wd, "proj")); !os.IsNotExist(err) {
			t.Fatalf("%s: a refused init left the project", tt.def)
		}
	}
}

// Init copies, with a split definition, every file it references at the
// same relative path, so that the project builds; files it does not
// reference are left.
func TestInitCopiesParts(t *testing.T) {
	wd := t.TempDir()
	writeFiles(t, wd, map[string]string{
		"split/openapi.yaml":           fmt.Sprintf(splitRoot, "paths/pet.yaml"),
		"split/paths/pet.yaml":         petPath,
		"split/components/ok.yaml":     "description: ok\n",
		"split/components/unused.yaml": "description: unused\n",
	})
	opts := &InitOptions{Out: io.Discard, Getwd: func() (string, error) { return wd, nil }, Name: "proj", Definitions: []string{"split/openapi.yaml"}}
	if err := initRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	p := project.New(wd, "proj")
	for _, name := range []string{"openapi.yaml", "paths/pet.yaml", "components/ok.yaml"} {
		if _, err := os.Stat(filepath.Join(p.Path(project.DefinitionsDir), name)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(p.Path(project.DefinitionsDir), "components", "unused.yaml")); !os.IsNotExist(err) {
		t.Error("a file the definition does not reference was copied")
	}
	files, err := p.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := codegen.LoadAll(context.Background(), files); err != nil {
		t.Fatalf("the project does not load as the build loads it: %v", err)
	}
}
