package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// toolkitDeployedDefinition is an API as many published definitions are:
// a relative server URL, so no endpoint; one operation uses a named
// endpoint whose backend wants Basic credentials, the password from the
// environment.
const toolkitDeployedDefinition = `openapi: 3.0.0
info: {title: Deployed, version: "1"}
servers:
  - url: /deployed/v1
x-wso2-endpoints:
  - orders:
      urls: ["http://127.0.0.1:9/compiled-orders"]
      securityConfig: {type: basic, username: gw, password: "${E2E_ORDERS_PASSWORD}"}
paths:
  /pets:
    get:
      security: []
      responses: {'200': {description: ok}}
  /orders:
    get:
      security: []
      x-wso2-production-endpoints: "#/x-wso2-endpoints/orders"
      responses: {'200': {description: ok}}
`

// TestToolkitDeployedEndpoints: one executable, built once, serves the
// backends its deployment names — [apiEndpoints] in the conf, -e at start,
// an MGW_ variable, the original's -e <name>_prod_endpoint_<i> — and refuses
// to start while its API has no endpoint, naming the API and the key.
func TestToolkitDeployedEndpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gateway")
	}
	wd := t.TempDir()
	env := toolkitBuildEnv(t)
	if err := os.WriteFile(filepath.Join(wd, "deployed.yaml"), []byte(toolkitDeployedDefinition), 0o644); err != nil {
		t.Fatal(err)
	}
	warning := `API "Deployed" (/deployed/v1) has no production endpoint for GET /pets`
	out, code := toolkitRun(t, wd, env, "micro-gw", "init", "proj", "-a", "deployed.yaml")
	if code != 0 || !strings.Contains(out, "WARNING: deployed.yaml:3: $.servers: "+warning) {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	out, code = toolkitRun(t, wd, env, "micro-gw", "build", "proj")
	if code != 0 || !strings.Contains(out, warning) || !strings.Contains(out, `apiEndpoints."/deployed/v1".production`) {
		t.Fatalf("build: exit %d\n%s", code, out)
	}
	exe := filepath.Join(wd, "proj", "target", "proj")
	built := fileSum(t, exe)

	t.Setenv("E2E_ORDERS_PASSWORD", "orders-s3cret")
	ports := freePorts(t, 3)
	out, code = toolkitRun(t, wd, nil, "gateway", "-e", "listenerConfig.host=127.0.0.1",
		"-e", "listenerConfig.httpPort="+strconv.Itoa(ports[0]), "-e", "listenerConfig.httpsPort="+strconv.Itoa(ports[1]),
		"-e", "listenerConfig.adminPort="+strconv.Itoa(ports[2]), "proj/target/proj")
	if code != 1 || !strings.Contains(out, `apiEndpoints."/deployed/v1".production: API "Deployed" (/deployed/v1) has no production endpoint for GET /pets`) {
		t.Fatalf("without an endpoint: exit %d\n%s", code, out)
	}

	a, b := toolkitBackend(t), toolkitBackend(t)
	get := func(gw *toolkitGateway, path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, gw.http+path, nil)
		return toolkitDo(t, http.DefaultClient, req)
	}
	expect := func(gw *toolkitGateway, path, wantPath, wantAuth string) {
		t.Helper()
		status, body := get(gw, path)
		if status != http.StatusOK || body["path"] != wantPath || body["auth"] != wantAuth {
			t.Errorf("%s: %d %v, want the backend's %s (auth %q)", path, status, body, wantPath, wantAuth)
		}
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("gw:orders-s3cret"))

	// The conf's [apiEndpoints].
	conf := filepath.Join(wd, "proj", "conf", "micro-gw.conf")
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte("\n[apiEndpoints.\"/deployed/v1\"]\nproduction = [\""+a.URL+"/a\"]\n")...)
	if err := os.WriteFile(conf, data, 0o644); err != nil {
		t.Fatal(err)
	}
	gw := toolkitStart(t, wd, "proj/target/proj")
	expect(gw, "/deployed/v1/pets", "/a/pets", "")
	if status, body := get(gw, "/deployed/v1/orders"); status != http.StatusServiceUnavailable || toolkitFaultCode(body) != 101503 {
		t.Errorf("the compiled orders endpoint (nothing listens): %d %v", status, body)
	}
	gw.stop(t)

	// -e over the conf, for the API and for the named endpoint.
	gw = toolkitStart(t, wd, "proj/target/proj", "-e", `apiEndpoints."/deployed/v1".production=`+b.URL+"/b",
		"-e", "orders_prod_endpoint_0="+a.URL+"/orders-a")
	expect(gw, "/deployed/v1/pets", "/b/pets", "")
	expect(gw, "/deployed/v1/orders", "/orders-a/orders", basic)
	gw.stop(t)

	// The environment over the conf.
	t.Setenv("MGW_APIENDPOINTS__DEPLOYED_V1_PRODUCTION", b.URL+"/env")
	gw = toolkitStart(t, wd, "proj/target/proj")
	expect(gw, "/deployed/v1/pets", "/env/pets", "")
	if strings.Contains(gw.output.String(), "orders-s3cret") {
		t.Errorf("the password was logged:\n%s", gw.output)
	}
	gw.stop(t)

	if !bytes.Equal(fileSum(t, exe), built) {
		t.Error("the executable changed")
	}
}

func fileSum(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return sum[:]
}
