// The proxy-semantics suite: what a client and a backend see of the
// gateway as an HTTP intermediary (RFC 9110, RFC 9112), checked against the
// built gateway and, in the same test, against a bare
// httputil.ReverseProxy, so that every way micro-gw differs from Go's own
// proxy is deliberate. Each check states what both do; where they differ,
// docs/runtime.md ("Differences from httputil.ReverseProxy") must name the
// check, and TestProxyDifferencesDocumented holds it to that.
//
// It runs with `go test ./...` (a backend and clients of its own, no
// service); -short skips it.
package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/project"
)

// proxyUnderTest is one of the two proxies the suite runs against.
type proxyUnderTest struct {
	name    string
	addr    string // host:port of the plain HTTP listener
	http    string // http://addr
	https   string // https://host:port
	tls     *tls.Config
	pid     int // the process whose memory is measured
	a, b    *recordingBackend
	gateway bool
}

// check is one behaviour: run returns what it saw, in words; want is what
// micro-gw must show and bare what httputil.ReverseProxy shows, "" when
// it is want. A check whose bare differs is a deliberate difference and is
// listed in docs/runtime.md.
type check struct {
	name string
	run  func(t *testing.T, p *proxyUnderTest, id string) string
	want string
	bare string
}

// Timeouts of the suite's definition and conf (docs/runtime.md).
const (
	endpointTimeout = time.Second     // advanceEndpointConfig.timeoutInMillis of /slow/{a}
	confTimeout     = 2 * time.Second // [upstream] responseTimeout, for every other route
	// timeoutMargin is how late a 504 may come: generous, for a shared
	// machine. Go's proxy is given as long before its silence counts.
	timeoutMargin = 3 * time.Second
)

func TestProxySemantics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a gateway")
	}
	a, b := newRecordingBackend(t, "A"), newRecordingBackend(t, "B")
	dead := deadBackendURL(t)
	proxies := []*proxyUnderTest{startProxyGateway(t, a.URL(), b.URL(), dead), startBareProxy(t, a.URL(), dead)}
	for _, p := range proxies {
		p.a, p.b = a, b
		t.Run(p.name, func(t *testing.T) {
			for _, c := range proxyChecks {
				t.Run(c.name, func(t *testing.T) {
					want := c.want
					if !p.gateway && c.bare != "" {
						want = c.bare
					}
					if got := c.run(t, p, p.name+"/"+c.name); got != want {
						t.Errorf("%s:\n got: %s\nwant: %s", p.name, got, want)
					}
				})
			}
		})
	}
}

// TestProxyDifferencesDocumented: docs/runtime.md lists exactly the checks
// in which micro-gw and httputil.ReverseProxy differ.
func TestProxyDifferencesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "runtime.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n### Differences from httputil.ReverseProxy\n")
	if !ok {
		t.Fatal(`docs/runtime.md has no "### Differences from httputil.ReverseProxy"`)
	}
	section, _, _ = strings.Cut(section, "\n#")
	// The first column of each row names one or more checks: `a`, `b`.
	listed := map[string]bool{}
	name := regexp.MustCompile("`([a-z0-9-]+)`")
	for _, line := range strings.Split(section, "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
				listed[m[1]] = true
			}
		}
	}
	for _, c := range proxyChecks {
		if differs := c.bare != ""; differs != listed[c.name] {
			t.Errorf("check %s: differs from httputil.ReverseProxy %v, listed in docs/runtime.md %v", c.name, differs, listed[c.name])
		}
		delete(listed, c.name)
	}
	for name := range listed {
		t.Errorf("docs/runtime.md lists %s, which is no check", name)
	}
}

// startProxyGateway makes, builds and starts the suite's project: one API
// at /p whose endpoint is backend A, with the routes of the checks.
func startProxyGateway(t *testing.T, a, b, dead string) *proxyUnderTest {
	t.Helper()
	wd := t.TempDir()
	env := toolkitBuildEnv(t)
	if out, code := toolkitRun(t, wd, env, "micro-gw", "init", "proxy"); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	def := filepath.Join(wd, "proxy", project.DefinitionsDir, "proxy.yaml")
	if err := os.WriteFile(def, []byte(proxyDefinition(a, b, dead)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := toolkitRun(t, wd, env, "micro-gw", "build", "proxy"); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, out)
	}
	gw := toolkitStart(t, wd, "proxy/target/proxy",
		"-e", "upstream.responseTimeout="+strconv.FormatInt(confTimeout.Milliseconds(), 10),
		"-e", "listenerConfig.maxRequestBodySize=0")
	pemData, err := os.ReadFile(filepath.Join(wd, "proxy", project.TLSCertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	return &proxyUnderTest{
		name: "micro-gw", gateway: true, pid: gw.cmd.Process.Pid,
		http: gw.http, addr: strings.TrimPrefix(gw.http, "http://"), https: gw.https,
		tls: &tls.Config{RootCAs: pool},
	}
}

// proxyDefinition is the suite's API: unsecured routes of one and two
// segments for every method on endpoint A, and routes with endpoints of
// their own for the timeout, retry and unreachable checks.
func proxyDefinition(a, b, dead string) string {
	var sb strings.Builder
	sb.WriteString(`openapi: 3.0.0
info: {title: Proxy semantics, version: "1"}
x-wso2-basePath: /p
x-wso2-disable-security: true
x-wso2-production-endpoints:
  urls: ["` + a + `/p"]
security:
  - oauth: []
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        clientCredentials: {tokenUrl: "https://localhost:9443/oauth2/token", scopes: {}}
paths:
`)
	route := func(path, ext string, methods ...string) {
		sb.WriteString("  " + path + ":\n    parameters:\n")
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") {
				sb.WriteString("      - {name: " + strings.Trim(seg, "{}") + ", in: path, required: true, schema: {type: string}}\n")
			}
		}
		for _, m := range methods {
			sb.WriteString("    " + m + ":\n      responses: {'200': {description: ok}}\n")
			if ext != "" {
				sb.WriteString("      " + strings.ReplaceAll(strings.TrimSpace(ext), "\n", "\n      ") + "\n")
			}
		}
	}
	all := []string{"get", "put", "post", "delete", "patch", "options"}
	route("/{a}", "", all...)
	route("/{a}/{b}", "", all...)
	route("/slow/{a}", `x-wso2-production-endpoints:
  urls: ["`+a+`/p"]
  advanceEndpointConfig: {timeoutInMillis: `+strconv.FormatInt(endpointTimeout.Milliseconds(), 10)+`}`, "get", "post")
	route("/retry/{a}", `x-wso2-production-endpoints:
  urls: ["`+a+`/p", "`+b+`/p"]
  type: failover
  advanceEndpointConfig:
    retryConfig: {count: 1, statusCodes: [502, 503, 504]}`, "get", "put", "post", "delete")
	route("/dead/{a}", `x-wso2-production-endpoints: {urls: ["`+dead+`/p"]}`, "get", "post")
	route("/secured/{a}", "x-wso2-disable-security: false", "post")
	return sb.String()
}

// startBareProxy runs internal/bareproxy, Go's own proxy as a user would
// write it, to backend A (the dead URL for /p/dead/). It ends when the test
// does: its standard input closes.
func startBareProxy(t *testing.T, a, dead string) *proxyUnderTest {
	t.Helper()
	cmd := exec.Command(filepath.Join(toolkitBin, "bareproxy"), "-a", a, "-dead", dead)
	var addrs struct{ HTTP, HTTPS, Cert string }
	startHelper(t, cmd, &addrs)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(addrs.Cert))
	return &proxyUnderTest{
		name: "httputil.ReverseProxy", pid: cmd.Process.Pid,
		http: addrs.HTTP, addr: strings.TrimPrefix(addrs.HTTP, "http://"), https: addrs.HTTPS,
		tls: &tls.Config{RootCAs: pool},
	}
}

// deadBackendURL is a loopback URL nothing listens on.
func deadBackendURL(t *testing.T) string {
	return "http://127.0.0.1:" + strconv.Itoa(freePorts(t, 1)[0])
}
