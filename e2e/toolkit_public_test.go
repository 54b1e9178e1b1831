package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/codegen"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// publicDefinitions are the OpenAPI Initiative's examples of testdata/oai,
// for 2.0, 3.0 and 3.1, none with an absolute server URL.
var publicDefinitions = []struct {
	file, title string
}{
	{"link-example.yaml", "Link Example"},
	{"api-with-examples.yaml", "Simple API overview"},
	{"non-oauth-scopes.yaml", "Non-oAuth Scopes example"},
}

// TestToolkitPublicDefinitions: definitions published as they are, without
// an absolute server URL, load with the warning that names the API and the
// key of its endpoint, and their gateway source is generated; one of them
// is made into a project, built and run with the endpoint given at deploy
// time (one build is enough: the others differ only in the route table,
// and a build takes some 20 s here).
func TestToolkitPublicDefinitions(t *testing.T) {
	for _, d := range publicDefinitions {
		loaded, err := codegen.LoadAll(context.Background(), []string{filepath.Join("testdata", "oai", d.file)})
		if err != nil {
			t.Fatalf("%s: %v", d.file, err)
		}
		var notice *codegen.NoEndpointError
		for _, w := range loaded[0].Warnings {
			if errors.As(w, &notice) {
				break
			}
		}
		if notice == nil || notice.Title != d.title || notice.BasePath != "/" {
			t.Errorf("%s: no warning about its endpoint: %v", d.file, loaded[0].Warnings)
		}
		if _, err := codegen.MainSource(runtime.Spec{Name: "p", APIs: []runtime.API{loaded[0].API}}); err != nil {
			t.Errorf("%s: %v", d.file, err)
		}
	}
	if testing.Short() {
		t.Skip("builds and runs a gateway")
	}

	wd := t.TempDir()
	env := toolkitBuildEnv(t)
	def, err := filepath.Abs(filepath.Join("testdata", "oai", "link-example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	warning := `API "Link Example" (/) has no endpoint`
	out, code := toolkitRun(t, wd, env, "micro-gw", "init", "proj", "-a", def)
	if code != 0 || !strings.Contains(out, warning) {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	if out, code = toolkitRun(t, wd, env, "micro-gw", "build", "proj"); code != 0 || !strings.Contains(out, warning) {
		t.Fatalf("build: exit %d\n%s", code, out)
	}
	backend := toolkitBackend(t)
	gw := toolkitStart(t, wd, "proj/target/proj", "-e", `apiEndpoints."/".production=`+backend.URL+"/link")
	key, err := issuer.LoadKey(project.New(wd, "proj").Path(project.IssuerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, gw.http+"/2.0/users/alice", nil)
	req.Header.Set("Authorization", "Bearer "+toolkitToken(t, key, ""))
	if status, body := toolkitDo(t, http.DefaultClient, req); status != http.StatusOK || body["path"] != "/link/2.0/users/alice" {
		t.Errorf("GET /2.0/users/alice: %d %v, want the backend's /link/2.0/users/alice", status, body)
	}
	gw.stop(t)
	if _, err := os.Stat(filepath.Join(wd, "proj", "api_definitions", "link-example.yaml")); err != nil {
		t.Error(err)
	}
}
