// The toolkit end to end, as a user runs it: the real micro-gw and gateway
// binaries, built once by TestMain, make, build and run a project whose API
// points at a backend of the test. It runs with `go test ./...` (about a
// minute when the Go build cache is cold); -short skips it.
package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
)

// toolkitBin holds the micro-gw and gateway binaries built by TestMain; ""
// in -short mode.
var toolkitBin string

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if testing.Short() {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "micro-gw-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// internal/bareproxy is Go's own proxy, which the proxy-semantics
		// suite compares the gateway with.
		for _, cmd := range []string{"cmd/micro-gw", "cmd/gateway", "internal/bareproxy"} {
			// Built as micro-gw builds gateways (-trimpath, CGO_ENABLED=0),
			// so that the gateway builds of the tests find every dependency
			// in the Go build cache even when it starts empty.
			build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, filepath.Base(cmd)), "./"+cmd)
			build.Dir = ".."
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n%s", cmd, err, out)
				return 1
			}
		}
		toolkitBin = dir
		return m.Run()
	}()
	os.Exit(code)
}

// toolkitBuildEnv is the environment of a micro-gw build in a test: its
// caches go to a fresh folder (nothing left in the user's), the Go build
// cache stays the user's so that the build is warm.
func toolkitBuildEnv(t *testing.T) []string {
	t.Helper()
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	return []string{"XDG_CACHE_HOME=" + t.TempDir(), "GOCACHE=" + strings.TrimSpace(string(gocache))}
}

// toolkitRun runs a toolkit binary in dir and returns its output and exit code.
func toolkitRun(t *testing.T, dir string, env []string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(toolkitBin, name), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out), code
}

// toolkitDefinition is an API whose endpoint is backendURL + "/base": an
// unsecured operation, one that needs the scope "read", and one secured
// without scopes.
func toolkitDefinition(backendURL string) string {
	return `openapi: 3.0.0
info: {title: E2E, version: "1"}
x-wso2-basePath: /e2e/v1
x-wso2-production-endpoints:
  urls: ["` + backendURL + `/base"]
paths:
  /open/{id}:
    get:
      security: []
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses: {'200': {description: ok}}
  /scoped:
    get:
      security:
        - oauth: [read]
      responses: {'200': {description: ok}}
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://localhost:9443/oauth2/token
          scopes: {read: read things}
`
}

// toolkitBackend answers with what it received.
func toolkitBackend(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"path": r.URL.Path, "query": r.URL.RawQuery, "auth": r.Header.Get("Authorization"),
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestToolkitInitBuildRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gateway")
	}
	wd := t.TempDir()
	env := toolkitBuildEnv(t)

	out, code := toolkitRun(t, wd, env, "micro-gw", "init", "proj")
	if code != 0 || !strings.Contains(out, "Project 'proj' is initialized successfully.") {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	backend := toolkitBackend(t)
	def := filepath.Join(wd, "proj", project.DefinitionsDir, "e2e.yaml")
	if err := os.WriteFile(def, []byte(toolkitDefinition(backend.URL)), 0o644); err != nil {
		t.Fatal(err)
	}

	out, code = toolkitRun(t, wd, env, "micro-gw", "build", "proj")
	exe := filepath.Join(wd, "proj", "target", "proj")
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, out)
	}
	for _, want := range []string{"Compiling source", "Generating executable", exe, "BUILD SUCCESSFUL"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}

	gw := toolkitStart(t, wd, "proj/target/proj")
	get := func(path, token string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, gw.http+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return toolkitDo(t, http.DefaultClient, req)
	}

	status, body := get("/e2e/v1/open/42?x=y", "")
	if status != http.StatusOK || body["path"] != "/base/open/42" || body["query"] != "x=y" {
		t.Errorf("unsecured operation: %d %v", status, body)
	}
	status, body = get("/e2e/v1/nothing/here", "")
	if status != http.StatusNotFound || toolkitFaultCode(body) != 900906 {
		t.Errorf("a path that matches nothing: %d %v", status, body)
	}
	status, body = get("/e2e/v1/scoped", "")
	if status != http.StatusUnauthorized || toolkitFaultCode(body) != 900902 {
		t.Errorf("secured operation without a token: %d %v", status, body)
	}
	key, err := issuer.LoadKey(project.New(wd, "proj").Path(project.IssuerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	status, body = get("/e2e/v1/scoped", toolkitToken(t, key, "read"))
	if status != http.StatusOK || body["path"] != "/base/scoped" || body["auth"] != "" {
		t.Errorf("secured operation with a token: %d %v (the backend must not see the token)", status, body)
	}
	status, body = get("/e2e/v1/scoped", toolkitToken(t, key, "write"))
	if status != http.StatusForbidden || toolkitFaultCode(body) != 900910 {
		t.Errorf("a token without the scope: %d %v", status, body)
	}

	// The HTTPS listener, with the certificate made at init.
	pemData, err := os.ReadFile(filepath.Join(wd, "proj", project.TLSCertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest(http.MethodGet, gw.https+"/e2e/v1/open/7", nil)
	if status, body := toolkitDo(t, httpsClient, req); status != http.StatusOK || body["path"] != "/base/open/7" {
		t.Errorf("HTTPS: %d %v", status, body)
	}

	if code := gw.stop(t); code != 0 {
		t.Errorf("the gateway exited %d on SIGTERM, want 0", code)
	}
}

// TestToolkitSample checks docs/build.md: a new project with the sample
// definition builds and runs as it is (its backend is on the internet, so
// only what the gateway answers itself is asked).
func TestToolkitSample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gateway")
	}
	wd := t.TempDir()
	sample, err := filepath.Abs("../samples/petstore_basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if out, code := toolkitRun(t, wd, nil, "micro-gw", "init", "petstore", "-a", sample); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	if out, code := toolkitRun(t, wd, nil, "micro-gw", "build", "petstore", "--keep-source", "--offline"); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, out)
	}
	// --keep-source leaves the generated package: the route table, the
	// project's extension behind its //line directive, and a go.mod that
	// replaces the toolkit with the source micro-gw carries.
	gen := filepath.Join(wd, "petstore", project.GenDir)
	for file, want := range map[string]string{
		"main.go":                           `"/petstore/v1",`,
		"ext_token_revocation_extension.go": "//line extensions/token_revocation_extension.go:1:1\n",
		"go.mod":                            "replace github.com/micro-gw/micro-gw => ",
	} {
		data, err := os.ReadFile(filepath.Join(gen, file))
		if err != nil || !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %q (%v)", file, want, err)
		}
	}

	gw := toolkitStart(t, wd, "petstore/target/petstore")
	for path, want := range map[string]int{
		"/petstore/v1/pet/findByStatus?status=available": 900902,
		"/petstore/v1/pet/1":                             900902,
		"/petstore/v1/store/inventory":                   900906,
	} {
		req, _ := http.NewRequest(http.MethodGet, gw.http+path, nil)
		if _, body := toolkitDo(t, http.DefaultClient, req); toolkitFaultCode(body) != want {
			t.Errorf("%s: %v, want fault %d", path, body, want)
		}
	}
	gw.stop(t)
}

type toolkitGateway struct {
	cmd         *exec.Cmd
	http, https string
	output      *syncbuf.Buffer
	done        chan int
}

// toolkitStart runs the executable through the gateway launcher on free
// loopback ports, with the flags args before it, and waits until it is ready.
func toolkitStart(t *testing.T, wd, exe string, args ...string) *toolkitGateway {
	t.Helper()
	ports := freePorts(t, 3)
	cmd := exec.Command(filepath.Join(toolkitBin, "gateway"), append(append([]string{
		"-e", "listenerConfig.host=127.0.0.1",
		"-e", "listenerConfig.httpPort=" + strconv.Itoa(ports[0]),
		"-e", "listenerConfig.httpsPort=" + strconv.Itoa(ports[1]),
		"-e", "listenerConfig.adminPort=" + strconv.Itoa(ports[2]),
	}, args...), exe)...)
	cmd.Dir = wd
	gw := &toolkitGateway{
		cmd: cmd, output: &syncbuf.Buffer{}, done: make(chan int, 1),
		http:  "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		https: "https://localhost:" + strconv.Itoa(ports[1]),
	}
	cmd.Stdout, cmd.Stderr = gw.output, gw.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		gw.done <- cmd.ProcessState.ExitCode()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("gateway output:\n%s", gw.output)
		}
	})

	ready := "http://127.0.0.1:" + strconv.Itoa(ports[2]) + "/health/ready"
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return gw
			}
		}
		select {
		case code := <-gw.done:
			t.Fatalf("the gateway exited %d before it was ready:\n%s", code, gw.output)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway was not ready within a minute:\n%s", gw.output)
		}
	}
}

// stop sends SIGTERM (the launcher exec'd the gateway, so it is the
// gateway's pid) and returns the exit code.
func (g *toolkitGateway) stop(t *testing.T) int {
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-g.done:
		return code
	case <-time.After(time.Minute):
		t.Fatalf("the gateway did not stop on SIGTERM:\n%s", g.output)
		return -1
	}
}

func toolkitDo(t *testing.T, c *http.Client, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Errorf("%s: not JSON: %q", req.URL, data)
	}
	return resp.StatusCode, body
}

func toolkitFaultCode(body map[string]any) int {
	fault, _ := body["fault"].(map[string]any)
	code, _ := fault["code"].(float64)
	return int(code)
}

// toolkitToken signs a token with the project's development issuer key, as
// the default conf expects it.
func toolkitToken(t *testing.T, key any, scope string) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": project.IssuerName, "aud": project.IssuerAudience, "sub": "e2e",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": fmt.Sprintf("e2e-%d", now.UnixNano()), "scope": scope,
	})
	tok.Header["kid"] = project.IssuerAlias
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
