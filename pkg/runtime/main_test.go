package runtime

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

func TestParseFlags(t *testing.T) {
	f, err := parseFlags([]string{"--config", "/x/micro-gw.conf", "-e", "listenerConfig.httpPort=9190", "--override", "b7a.log.level=TRACE"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if f.config != "/x/micro-gw.conf" || strings.Join(f.overrides, ";") != "listenerConfig.httpPort=9190;log.level=TRACE" {
		t.Errorf("parsed %+v", f)
	}
	for _, bad := range [][]string{{"-e", "novalue"}, {"-e", "=v"}, {"--nope"}, {"stray"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestRunVersionAndBadConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), Spec{Name: "petstore", Version: "1.2.3"}, []string{"--version"}, &out, &errOut); code != 0 || out.String() != "petstore (micro-gw 1.2.3)\n" {
		t.Errorf("--version: %d %q", code, out.String())
	}
	missing := filepath.Join(t.TempDir(), "conf", "micro-gw.conf")
	out.Reset()
	if code := run(t.Context(), Spec{}, []string{"--config", missing}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "micro-gw.conf") {
		t.Errorf("missing conf: %d %q", code, errOut.String())
	}
	conf := writeProject(t, "[listenerConfig]\nhttpPort = \"not a number\"\n")
	errOut.Reset()
	if code := run(t.Context(), Spec{}, []string{"--config", conf}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "httpPort") {
		t.Errorf("bad key: %d %q", code, errOut.String())
	}
	// A fault of the conf found when the server is made reads like one the
	// loader found: "error: FILE:LINE: KEY: ...".
	conf = writeProject(t, "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\ncertificateAlias = \"nope\"\n")
	errOut.Reset()
	if code := run(t.Context(), Spec{}, []string{"--config", conf}, &out, &errOut); code != 1 ||
		!strings.HasPrefix(errOut.String(), "error: "+conf+":4: jwtTokenConfig[0].certificateAlias: ") {
		t.Errorf("alias missing from the trust store: %d %q", code, errOut.String())
	}
	if code := run(t.Context(), Spec{}, []string{"-e", "bad"}, &out, &errOut); code != 2 {
		t.Errorf("bad flag: %d", code)
	}
}

// The gateway reads its MGW_ variables: a bad one stops it, named.
func TestRunEnvironment(t *testing.T) {
	conf := writeProject(t, "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\ncertificateAlias = \"c\"\n")
	for env, want := range map[string]string{
		"MGW_LISTENERCONFIG_HTTPPORT=nine": ": listenerConfig.httpPort: environment variable MGW_LISTENERCONFIG_HTTPPORT: must be an integer",
		"MGW_PORT=tcp://10.0.0.1:9090":     ": environment variable MGW_PORT: unknown key",
	} {
		name, value, _ := strings.Cut(env, "=")
		t.Setenv(name, value)
		var out, errOut bytes.Buffer
		if code := run(t.Context(), Spec{}, []string{"--config", conf}, &out, &errOut); code != 1 || !strings.HasPrefix(errOut.String(), "error: "+conf+want) {
			t.Errorf("%s: %d %q", env, code, errOut.String())
		}
		os.Unsetenv(name)
	}
}

// --print-config prints the configuration in effect and starts nothing.
func TestRunPrintConfig(t *testing.T) {
	conf := writeProject(t, "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\ncertificateAlias = \"not-in-the-store\"\n")
	t.Setenv("MGW_TOKENREVOCATIONCONFIG_PERSISTENT_PASSWORD", "s3cret")
	var out, errOut bytes.Buffer
	code := run(t.Context(), Spec{}, []string{"--config", conf, "-e", "listenerConfig.httpPort=1", "--print-config"}, &out, &errOut)
	if code != 0 || errOut.Len() != 0 || !strings.HasPrefix(out.String(), "# The configuration in effect for "+conf) ||
		!strings.Contains(out.String(), "httpPort = 1 ") || !strings.Contains(out.String(), "# environment MGW_TOKENREVOCATIONCONFIG_PERSISTENT_PASSWORD") ||
		strings.Contains(out.String(), "s3cret") {
		t.Errorf("exit %d, stderr %q, stdout:\n%s", code, errOut.String(), out.String())
	}
}

// writeProject writes conf as NAME/conf/micro-gw.conf with a TLS pair in
// NAME/security and returns the conf's path.
func writeProject(t *testing.T, conf string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"conf", "security/truststore"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeTLSPair(t, filepath.Join(root, "security"))
	if err := os.WriteFile(filepath.Join(root, "conf", "micro-gw.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "conf", "micro-gw.conf")
}

// writeTLSPair writes a self-signed pair for localhost as gateway.crt and
// gateway.key in dir and returns their paths.
func writeTLSPair(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := authtest.SelfSigned(t, key, "localhost")
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "gateway.crt"), filepath.Join(dir, "gateway.key")
	for name, data := range map[string][]byte{
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
	} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// TestMainProcess runs Main in a child process (this test binary) with a
// real conf: the listeners come up on the configured ports (HTTPS with the
// conf's pair), the process answers, and SIGTERM makes it drain and exit 0.
func TestMainProcess(t *testing.T) {
	if os.Getenv("MICROGW_TEST_MAIN") == "1" {
		be := os.Getenv("MICROGW_TEST_BACKEND")
		os.Exit(Main(petstore(ep(be), nil), strings.Fields(os.Getenv("MICROGW_TEST_ARGS"))))
	}
	be := newBackend(t, "prod")
	iss := authtest.NewIssuer(t)
	p := freePorts(t, 3)
	conf := writeProject(t, fmt.Sprintf(`[listenerConfig]
host = "127.0.0.1"
httpPort = %d
httpsPort = %d
adminPort = %d

[[jwtTokenConfig]]
issuer = %q
audience = %q
certificateAlias = "wso2apim"

[log]
level = "INFO"
`, p[0], p[1], p[2], iss.Name, iss.Audience))
	// The issuer's certificate goes into the project's trust store.
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Cert.Raw})
	if err := os.WriteFile(filepath.Join(filepath.Dir(filepath.Dir(conf)), "security", "truststore", "wso2apim.pem"), pemCert, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestMainProcess$")
	cmd.Env = append(os.Environ(), "MICROGW_TEST_MAIN=1", "MICROGW_TEST_BACKEND="+be.URL,
		"MICROGW_TEST_ARGS=--config "+conf+" -e b7a.log.level=DEBUG")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Read the log until the listeners are up, then keep draining it.
	logs := &syncbuf.Buffer{}
	sc := bufio.NewScanner(stderr)
	var seen []string
	for len(seen) < 3 && sc.Scan() {
		line := sc.Text()
		logs.Write([]byte(line + "\n"))
		for _, want := range []string{
			"HTTPS listener is active on port " + strconv.Itoa(p[1]),
			"HTTP listener is active on port " + strconv.Itoa(p[0]),
			"Admin listener is active on port " + strconv.Itoa(p[2]),
		} {
			if strings.Contains(line, want) {
				seen = append(seen, want)
			}
		}
	}
	if len(seen) < 3 {
		t.Fatalf("the listeners did not come up:\n%s", logs.String())
	}
	done := make(chan struct{})
	go func() {
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
		}
		close(done)
	}()

	tok := iss.Token(t, nil)
	resp, body := do(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/petstore/v1/pet/1", p[0]), nil, "Authorization", "Bearer "+tok)
	if resp.StatusCode != 200 {
		t.Errorf("http: %d %s", resp.StatusCode, body)
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the test's own self-signed pair
		ForceAttemptHTTP2: true,
	}}
	hresp, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/petstore/v1/pet/findByStatus", p[1]))
	if err != nil {
		t.Fatalf("https: %v", err)
	}
	hresp.Body.Close()
	if hresp.StatusCode != 200 || hresp.TLS == nil || hresp.ProtoMajor != 2 {
		t.Errorf("https: %d %s", hresp.StatusCode, hresp.Proto)
	}
	if resp, _ := do(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/health/ready", p[2]), nil); resp.StatusCode != 200 {
		t.Errorf("ready: %d", resp.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	out := logs.String()
	for _, want := range []string{"level=DEBUG", "draining in-flight requests", "the gateway has stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, tok) || strings.Contains(out, strings.Split(tok, ".")[2]) {
		t.Error("the token was logged")
	}
}

// The gateway takes its APIs' endpoints from the deployment: an MGW_
// variable for a base path the conf does not write, the original's -e form
// for a named endpoint; without any, it does not start, naming the API and
// the key.
func TestRunDeployedEndpoints(t *testing.T) {
	conf := writeProject(t, "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\ncertificateAlias = \"c\"\n")
	spec := Spec{Name: "p", APIs: []API{{Title: "Relative", BasePath: "/rel/v1", Resources: []Resource{{Method: "GET", Path: "/a"}},
		Sandbox: &Endpoint{Name: "sb", URLs: []string{"http://s"}}}}}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), spec, []string{"--config", conf}, &out, &errOut); code != 1 ||
		!strings.HasPrefix(errOut.String(), "error: "+conf+`: apiEndpoints."/rel/v1".production: API "Relative" (/rel/v1) has no production endpoint`) {
		t.Errorf("no endpoint: %d %q", code, errOut.String())
	}

	errOut.Reset()
	if code := run(t.Context(), spec, []string{"--config", conf, "-e", "nope_sand_endpoint_0=http://x"}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), `nope_sand_endpoint_0: -e override: no endpoint named "nope" in x-wso2-endpoints (the gateway's are sb_sand)`) {
		t.Errorf("unknown name: %d %q", code, errOut.String())
	}

	t.Setenv("MGW_APIENDPOINTS__REL_V1_PRODUCTION", "https://from-env/v1")
	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), spec, []string{"--config", conf, "-e", "sb_sand_endpoint_0=http://x", "--print-config"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "[apiEndpoints.\"/rel/v1\"]\nproduction = ['https://from-env/v1']  # environment MGW_APIENDPOINTS__REL_V1_PRODUCTION") {
		t.Errorf("environment: %d %q\n%s", code, errOut.String(), out.String())
	}
}
