//go:build e2e_services

// The end-to-end suites against Debian's etcd and RabbitMQ (build tag e2e_services). .ci/run
// starts the services with scripts/services.sh and runs
//
//	eval "$(scripts/services.sh env)"
//	go test -race -tags e2e_services -run '^TestServices' ./e2e/
//
// Every test drives real binaries the way a user does: micro-gw init and build a project, the
// gateway launcher running the built executable with -e port overrides, micro-gw token issue and
// micro-gw revoke, etcdctl and scripts/services.sh restart. Revocations are published from the
// test with go-stomp and amqp091-go directly, as raw messages, so that the message formats of
// docs/revocation.md are what is tested, not our own publisher.
//
// Every name in these files starts with svc (types, functions, binaries, folders), so that they
// cannot clash with the toolkit suite of the same package and its TestMain.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

// The stated target for a revocation to take effect, and how long the suites poll before
// failing: the machine is shared, so only the poll deadline is asserted; the observed latency is
// logged and compared with the target.
const (
	svcTarget       = time.Second
	svcPollDeadline = 5 * time.Second
	svcPollEvery    = 20 * time.Millisecond
)

// ---------------------------------------------------------------------------- where the services are

// svcServices is where the Debian services listen, from the variables `scripts/services.sh env`
// prints; each has the script's default when unset.
type svcServices struct {
	Etcd   string // MICROGW_E2E_ETCD, host:port of etcd's client URL
	AMQP   string // MICROGW_E2E_AMQP, amqp://guest:guest@host:port/ (vhost /)
	STOMP  string // MICROGW_E2E_STOMP, host:port
	Script string // MICROGW_E2E_SERVICES, scripts/services.sh (restart etcd|rabbitmq)
	Redis  string // MICROGW_E2E_REDIS, host:port
}

func (s svcServices) amqpHostPort() string {
	u := strings.TrimPrefix(s.AMQP, "amqp://")
	if i := strings.LastIndex(u, "@"); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.Index(u, "/"); i >= 0 {
		u = u[:i]
	}
	return u
}

// amqpURL is the plain AMQP URL of vhost ("/" or "carbon").
func (s svcServices) amqpURL(vhost string) string {
	if vhost == "/" {
		return "amqp://guest:guest@" + s.amqpHostPort() + "/"
	}
	return "amqp://guest:guest@" + s.amqpHostPort() + "/" + vhost
}

func svcEnv(t *testing.T) svcServices {
	t.Helper()
	get := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	s := svcServices{
		Etcd:   get("MICROGW_E2E_ETCD", "127.0.0.1:2379"),
		AMQP:   get("MICROGW_E2E_AMQP", "amqp://guest:guest@127.0.0.1:5672/"),
		STOMP:  get("MICROGW_E2E_STOMP", "127.0.0.1:61613"),
		Script: get("MICROGW_E2E_SERVICES", filepath.Join(moduleRoot(t), "scripts", "services.sh")),
		Redis:  get("MICROGW_E2E_REDIS", "127.0.0.1:26379"),
	}
	for _, addr := range []string{s.Etcd, s.amqpHostPort(), s.STOMP, s.Redis} {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("no service on %s (%v): start them with `scripts/services.sh start` and "+
				"`eval \"$(scripts/services.sh env)\"`, or run .ci/run", addr, err)
		}
		c.Close()
	}
	return s
}

// svcRestartService runs `scripts/services.sh restart NAME` (etcd or rabbitmq) and returns when
// the service is healthy again.
func svcRestartService(t *testing.T, s svcServices, name string) {
	t.Helper()
	svcService(t, s, "restart", name)
}

// svcService runs `scripts/services.sh VERB NAME` (start, stop, restart) and returns when it is
// done: a started service is healthy.
func svcService(t *testing.T, s svcServices, verb, name string) {
	t.Helper()
	start := time.Now()
	out, err := runTimed("", 3*time.Minute, nil, "bash", s.Script, verb, name)
	if err != nil {
		t.Fatalf("scripts/services.sh %s %s: %v\n%s", verb, name, err, out)
	}
	t.Logf("%s: %s took %v", name, verb, time.Since(start).Round(time.Millisecond))
}

// ------------------------------------------------------------------------------------ the binaries

// svcWorkspace is this process's folder for binaries and projects: $TMPDIR/micro-gw-e2e-svc-PID.
var svcWorkspace = pidDir("micro-gw-e2e-svc")

var svcBins = toolBinaries{prefix: "svc"}

// svcBinaries builds cmd/micro-gw and cmd/gateway once per process, as svc-micro-gw and
// svc-gateway in the workspace.
func svcBinaries(t *testing.T) (microgw, gateway string) {
	t.Helper()
	return svcBins.build(t, filepath.Join(svcWorkspace(t), "bin"))
}

// ------------------------------------------------------------------------------------ the project

// svcProject is a project made with `micro-gw init` and built with `micro-gw build`: an API of
// basePath /svc/v1, every resource secured by a bearer token, and one of /svc/auth/v1 whose
// resources declare other schemes (svcAuthAPIDefinition); their production endpoint is a backend
// in this process.
type svcProject struct {
	Work    string // the folder the commands run in
	Name    string // the project's path relative to Work (and its name)
	Root    string // Work/Name
	Exe     string // Root/target/Name
	Backend *httptest.Server
	// BackendHits counts requests that reached the backend.
	BackendHits func() int
}

const svcAPIDefinition = `openapi: 3.0.3
info:
  title: Services E2E
  version: 1.0.0
x-wso2-basePath: /svc/v1
x-wso2-production-endpoints:
  urls:
    - %s/backend
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        "200":
          description: the pets
  /pets/{petId}:
    get:
      operationId: getPet
      parameters:
        - name: petId
          in: path
          required: true
          schema:
            type: string
      responses:
        "200":
          description: a pet
  /slow:
    get:
      operationId: slow
      responses:
        "200":
          description: an answer that takes its time (the container suite's drain)
`

var svcProj struct {
	once sync.Once
	p    *svcProject
	err  error
}

// svcSharedProject inits and builds the suites' project once per process.
func svcSharedProject(t *testing.T) *svcProject {
	t.Helper()
	microgw, _ := svcBinaries(t)
	work := filepath.Join(svcWorkspace(t), "work")
	svcProj.once.Do(func() {
		var mu sync.Mutex
		hits := 0
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hits++
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"backend":"svc","path":%q}`, r.URL.Path)
		}))
		p := &svcProject{Work: work, Name: "svcpets", Backend: backend,
			BackendHits: func() int { mu.Lock(); defer mu.Unlock(); return hits }}
		p.Root = filepath.Join(work, p.Name)
		p.Exe = filepath.Join(p.Root, "target", p.Name)
		if err := os.MkdirAll(work, 0o755); err != nil {
			svcProj.err = err
			return
		}
		def := filepath.Join(work, "svc_api.yaml")
		if err := os.WriteFile(def, fmt.Appendf(nil, svcAPIDefinition, backend.URL), 0o644); err != nil {
			svcProj.err = err
			return
		}
		out, err := runTimed(work, time.Minute, nil, microgw, "init", p.Name, "--api-definition", "svc_api.yaml")
		if err != nil {
			svcProj.err = fmt.Errorf("micro-gw init %s --api-definition svc_api.yaml: %v\n%s", p.Name, err, out)
			return
		}
		if !strings.Contains(out, fmt.Sprintf("Project '%s' is initialized successfully.", p.Name)) {
			svcProj.err = fmt.Errorf("micro-gw init: the success line of docs/build.md is missing:\n%s", out)
			return
		}
		// A second API, of the authentication suite (services_auth_test.go), in the same build.
		authDef := filepath.Join(p.Root, "api_definitions", "svc_auth_api.yaml")
		if err := os.WriteFile(authDef, fmt.Appendf(nil, svcAuthAPIDefinition, backend.URL), 0o644); err != nil {
			svcProj.err = err
			return
		}
		start := time.Now()
		out, err = runTimed(work, 10*time.Minute, nil, microgw, "build", p.Name)
		if err != nil {
			svcProj.err = fmt.Errorf("micro-gw build %s: %v\n%s", p.Name, err, out)
			return
		}
		if _, err := os.Stat(p.Exe); err != nil {
			svcProj.err = fmt.Errorf("micro-gw build said\n%s\nbut %v", out, err)
			return
		}
		t.Logf("micro-gw build %s took %v", p.Name, time.Since(start).Round(time.Millisecond))
		svcProj.p = p
	})
	if svcProj.err != nil {
		t.Fatal(svcProj.err)
	}
	return svcProj.p
}

// svcConf is what a suite turns on in a gateway's micro-gw.conf.
type svcConf struct {
	// BrokerURL is jmsConnectionProviderUrl; the real-time notifier is on when it is set.
	BrokerURL              string
	BrokerUser, BrokerPass string // jmsConnectionUsername, jmsConnectionPassword
	// EtcdHostname is the persistent section's hostname; the etcd source is on when it is set.
	EtcdHostname string
	// Topic is jmsConnectionTopic ("tokenRevocation" when empty).
	Topic string
	// CustomStore turns the persistent notifier on with useDefault = false: the store compiled in
	// from the project's extensions/ (micro-gw init's file store example).
	CustomStore bool
	// Persistent holds extra lines of [tokenRevocationConfig.persistent], e.g. a custom store's keys.
	Persistent []string
	// Tables are more tables, written as they are at the end ("[throttlingConfig.global]\n...").
	Tables []string
	// TrustStore is trustStorePath ("security/truststore" when empty).
	TrustStore string
	// TokenCacheExpiry is [caching] tokenCacheExpiryTime (15 minutes when zero).
	TokenCacheExpiry time.Duration
}

// writeConf writes conf/NAME.conf into the project (relative paths in a conf are taken from the
// project root, the parent of the conf's folder) and returns its path. Every key is one of
// docs/configuration.md; the listener ports are the defaults, overridden with -e at start.
func (p *svcProject) writeConf(t *testing.T, name string, c svcConf) string {
	t.Helper()
	topic := c.Topic
	if topic == "" {
		topic = "tokenRevocation"
	}
	trustStore := c.TrustStore
	if trustStore == "" {
		trustStore = "security/truststore"
	}
	cacheExpiry := c.TokenCacheExpiry
	if cacheExpiry == 0 {
		cacheExpiry = 15 * time.Minute
	}
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, `# written by the e2e services suite (%s)
[listenerConfig]
host = "127.0.0.1"
httpPort = 9090
httpsPort = 9095
adminPort = 9096
certFile = "security/gateway.crt"
keyFile = "security/gateway.key"
trustStorePath = %s

[[jwtTokenConfig]]
issuer = "https://localhost:9443/oauth2/token"
audience = "http://org.wso2.apimgt/gateway"
certificateAlias = "wso2apim"

[authConfig]
authorizationHeader = "Authorization"
removeAuthHeaderFromOutMessage = true

[caching]
enabled = true
tokenCacheExpiryTime = %d

[tokenRevocationConfig.realtime]
enableRealtimeMessageRetrieval = %t
jmsConnectionTopic = %s
jmsConnectionProviderUrl = %s
jmsConnectionUsername = %s
jmsConnectionPassword = %s

[tokenRevocationConfig.persistent]
enablePersistentStorageRetrieval = %t
useDefault = %t
`, t.Name(), q(trustStore), cacheExpiry.Milliseconds(), c.BrokerURL != "", q(topic), q(c.BrokerURL), q(c.BrokerUser), q(c.BrokerPass),
		c.EtcdHostname != "" || c.CustomStore, !c.CustomStore)
	if c.EtcdHostname != "" {
		fmt.Fprintf(&b, "hostname = %s\n", q(c.EtcdHostname))
	}
	for _, l := range c.Persistent {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n[log]\nlevel = \"DEBUG\"\n")
	for _, tb := range c.Tables {
		b.WriteString("\n" + tb + "\n")
	}
	path := filepath.Join(p.Root, "conf", name+".conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// issueToken runs `micro-gw token issue` for the project with the given jti.
func (p *svcProject) issueToken(t *testing.T, jti string) string {
	t.Helper()
	microgw, _ := svcBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, microgw, "token", "issue", p.Name, "--jti", jti, "--ttl", "1h")
	cmd.Dir = p.Work
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("micro-gw token issue %s --jti %s: %v\n%s", p.Name, jti, err, stderr.String())
	}
	tok := strings.TrimSpace(string(out))
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \n") {
		t.Fatalf("micro-gw token issue printed %q, not one JWT", tok)
	}
	return tok
}

// revoke runs `micro-gw revoke --config CONF ARGS...` and returns its output.
func (p *svcProject) revoke(t *testing.T, conf string, args ...string) (string, error) {
	t.Helper()
	microgw, _ := svcBinaries(t)
	return runTimed(p.Work, time.Minute, nil, microgw, append([]string{"revoke", "--config", conf}, args...)...)
}

// svcJTI is a jti no other test or run uses.
func svcJTI(label string) string {
	return fmt.Sprintf("svc-%s-%d-%08x", label, time.Now().UnixNano()%1e9, rand.Uint32())
}

// --------------------------------------------------------------------------------- a gateway

// svcGateway is a running `gateway --config CONF -e listenerConfig.*Port=... EXE`.
type svcGateway struct {
	t                  *testing.T
	Name               string
	HTTP, HTTPS, Admin int
	cmd                *exec.Cmd
	logs               *syncbuf.Buffer
	done               chan struct{}
	waitErr            error
	client             *http.Client
	started            time.Time
}

// startGateway runs the project's executable through the gateway launcher with conf, the three
// listener ports overridden with -e, and waits until /health/ready answers 200. It is stopped
// (SIGTERM) at the end of the test, and its output is printed when the test failed.
func (p *svcProject) startGateway(t *testing.T, name, conf string) *svcGateway {
	t.Helper()
	g := p.launchGateway(t, name, conf)
	g.waitReady(t, 60*time.Second)
	return g
}

// launchGateway is startGateway without the wait for readiness.
func (p *svcProject) launchGateway(t *testing.T, name, conf string) *svcGateway {
	t.Helper()
	_, launcher := svcBinaries(t)
	ports := freePorts(t, 3)
	g := &svcGateway{t: t, Name: name, HTTP: ports[0], HTTPS: ports[1], Admin: ports[2],
		logs: &syncbuf.Buffer{}, done: make(chan struct{}),
		client: &http.Client{Timeout: 5 * time.Second}}
	g.cmd = exec.Command(launcher, "--config", conf,
		"-e", fmt.Sprintf("listenerConfig.httpPort=%d", g.HTTP),
		"-e", fmt.Sprintf("listenerConfig.httpsPort=%d", g.HTTPS),
		"-e", fmt.Sprintf("listenerConfig.adminPort=%d", g.Admin),
		p.Exe)
	g.cmd.Dir = p.Work
	g.cmd.Stdout = g.logs
	g.cmd.Stderr = g.logs
	g.started = time.Now()
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start gateway %s: %v", name, err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(func() {
		g.Stop()
		if t.Failed() {
			t.Logf("----- output of gateway %s (%s)\n%s", name, strings.Join(g.cmd.Args, " "), svcTail(g.logs.String(), 150))
		}
	})
	return g
}

// ready asks /health/ready: the status code, or the error.
func (g *svcGateway) ready() (int, error) {
	resp, err := g.client.Get(fmt.Sprintf("http://127.0.0.1:%d/health/ready", g.Admin))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitReady polls /health/ready until it answers 200, failing the test if the gateway exits or
// the deadline passes first.
func (g *svcGateway) waitReady(t *testing.T, deadline time.Duration) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		select {
		case <-g.done:
			t.Fatalf("gateway %s exited while starting (%v):\n%s", g.Name, g.waitErr, svcTail(g.logs.String(), 150))
		default:
		}
		code, err := g.ready()
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(end) {
			last := fmt.Sprint(code)
			if err != nil {
				last = err.Error()
			}
			t.Fatalf("gateway %s not ready after %v (last: %s):\n%s", g.Name, deadline, last, svcTail(g.logs.String(), 150))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("gateway %s ready %v after its start (http %d, admin %d)", g.Name, time.Since(g.started).Round(time.Millisecond), g.HTTP, g.Admin)
}

// Stop sends SIGTERM and waits; docs/runtime.md says the gateway then exits 0.
func (g *svcGateway) Stop() {
	select {
	case <-g.done:
		return
	default:
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
		if g.waitErr != nil {
			g.t.Errorf("gateway %s: SIGTERM should end it with exit status 0, got %v (docs/runtime.md)", g.Name, g.waitErr)
		}
	case <-time.After(20 * time.Second):
		g.t.Errorf("gateway %s did not exit within 20 s of SIGTERM; killing it", g.Name)
		g.cmd.Process.Kill()
		<-g.done
	}
}

// call sends GET /svc/v1/pets with the token over plain HTTP.
func (g *svcGateway) call(token string) gatewayAnswer {
	return askGateway(g.client, fmt.Sprintf("http://127.0.0.1:%d/svc/v1/pets", g.HTTP), token)
}

// metric reads one sample of the gateway's /metrics ("name{labels}"); -1 when it is absent.
func (g *svcGateway) metric(sample string) float64 {
	resp, err := g.client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", g.Admin))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return -1
}

// expectAccepted polls until the token is served (200).
func (g *svcGateway) expectAccepted(t *testing.T, what, token string) {
	t.Helper()
	svcPoll(t, g.Name+": "+what+" accepted", svcPollDeadline, func() (bool, string) {
		a := g.call(token)
		return a.accepted(), a.String()
	})
}

// expectRevoked polls until the token gets 401 with fault 900901, and returns how long that took
// from since (the moment the revocation was published).
func (g *svcGateway) expectRevoked(t *testing.T, what, token string, since time.Time) time.Duration {
	t.Helper()
	svcPoll(t, g.Name+": "+what+" refused as revoked", svcPollDeadline, func() (bool, string) {
		a := g.call(token)
		return a.revoked(), a.String()
	})
	d := time.Since(since)
	verdict := "within"
	if d > svcTarget {
		verdict = "OVER"
	}
	t.Logf("%s: %s refused %v after publishing (%s the %v target)", g.Name, what, d.Round(time.Millisecond), verdict, svcTarget)
	return d
}

// expectUnloaded checks for 3 s that a gateway that cannot load the revoked list (because why)
// neither reports ready nor serves token (serveBeforeLoaded = false is the default).
func (g *svcGateway) expectUnloaded(t *testing.T, why, token string) {
	t.Helper()
	end := time.Now().Add(3 * time.Second)
	for time.Now().Before(end) {
		if code, err := g.ready(); err == nil && code == http.StatusOK {
			t.Fatalf("gateway %s reports ready while %s: it cannot have loaded the revoked list", g.Name, why)
		}
		if a := g.call(token); a.accepted() {
			t.Fatalf("gateway %s served a secured request while %s and nothing was loaded", g.Name, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, err := g.ready()
	t.Logf("while %s: /health/ready %d (%v), a secured request %s", why, code, err, g.call(token))
}

// svcPoll calls cond until it holds or the deadline passes, then fails with the last observation.
func svcPoll(t *testing.T, what string, deadline time.Duration, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	last := ""
	for {
		ok, obs := cond()
		if ok {
			return
		}
		last = obs
		if time.Now().After(end) {
			t.Fatalf("%s: not so after %v; last answer: %s", what, deadline, last)
		}
		time.Sleep(svcPollEvery)
	}
}

func svcTail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = append([]string{fmt.Sprintf("... (%d lines before)", len(ls)-lines)}, ls[len(ls)-lines:]...)
	}
	return strings.Join(ls, "\n")
}

// ------------------------------------------------------------------------------------ publishing

// svcMessage is one raw revocation message: a body, and headers (STOMP headers, AMQP header table).
type svcMessage struct {
	Body    []byte
	Headers map[string]string
}

// The message forms of docs/revocation.md.
func svcFlat(jti string) svcMessage {
	return svcMessage{Body: fmt.Appendf(nil, `{"revokedToken":%q,"ttl":"3600"}`, jti)}
}

func svcFlatNumericTTL(jti string) svcMessage {
	return svcMessage{Body: fmt.Appendf(nil, `{"revokedToken":%q,"ttl":3600}`, jti)}
}

func svcEvent(jti string) svcMessage {
	return svcMessage{Body: fmt.Appendf(nil, `{"event":{"payloadData":{"revokedToken":%q,"ttl":"3600"}}}`, jti)}
}

func svcHeadersOnly(jti string) svcMessage {
	return svcMessage{Headers: map[string]string{"revokedToken": jti, "ttl": "3600"}}
}

// svcWholeJWT carries the whole token, no ttl: the gateway keys it by its jti and keeps it until exp.
func svcWholeJWT(token string) svcMessage {
	return svcMessage{Body: fmt.Appendf(nil, `{"revokedToken":%q}`, token)}
}

// svcGarbage is a message no form matches: the subscriber must drop it and carry on.
func svcGarbage() svcMessage {
	return svcMessage{Body: []byte(`{"revokedToken": 12, "ttl": [}`)}
}

// svcPublishSTOMP sends msg to /topic/TOPIC on vhost "/" with go-stomp, waiting for the broker's
// receipt so that the message has been routed when it returns.
func svcPublishSTOMP(t *testing.T, addr, topic string, msg svcMessage) {
	t.Helper()
	conn, err := stomp.Dial("tcp", addr, stomp.ConnOpt.Login("guest", "guest"), stomp.ConnOpt.Host("/"))
	if err != nil {
		t.Fatalf("STOMP connect %s: %v", addr, err)
	}
	defer conn.Disconnect()
	opts := []func(*frame.Frame) error{stomp.SendOpt.Receipt}
	for k, v := range msg.Headers {
		opts = append(opts, stomp.SendOpt.Header(k, v))
	}
	ctype := "application/json"
	if len(msg.Body) == 0 {
		ctype = ""
	}
	if err := conn.Send("/topic/"+topic, ctype, msg.Body, opts...); err != nil {
		t.Fatalf("STOMP send to /topic/%s: %v", topic, err)
	}
}

// svcPublishAMQP publishes msg to exchange amq.topic, routing key TOPIC, with amqp091-go, in
// confirm mode so that the broker has taken it when it returns.
func svcPublishAMQP(t *testing.T, url, topic string, msg svcMessage) {
	t.Helper()
	conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatalf("AMQP connect %s: %v", url, err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("AMQP channel: %v", err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatalf("AMQP confirm mode: %v", err)
	}
	pub := amqp.Publishing{Body: msg.Body, Timestamp: time.Now()}
	if len(msg.Body) > 0 {
		pub.ContentType = "application/json"
	}
	if len(msg.Headers) > 0 {
		pub.Headers = amqp.Table{}
		for k, v := range msg.Headers {
			pub.Headers[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, "amq.topic", topic, false, false, pub)
	if err != nil {
		t.Fatalf("AMQP publish to amq.topic/%s: %v", topic, err)
	}
	if ok, err := conf.WaitContext(ctx); err != nil || !ok {
		t.Fatalf("AMQP publish to amq.topic/%s not confirmed (ack %v, %v)", topic, ok, err)
	}
}

// ------------------------------------------------------------------------------------------ etcd

// svcEtcdctl runs ETCDCTL_API=3 etcdctl --endpoints=ETCD ARGS... and returns its stdout+stderr.
func svcEtcdctl(t *testing.T, s svcServices, args ...string) string {
	t.Helper()
	out, err := runTimed("", 30*time.Second, []string{"ETCDCTL_API=3"}, "etcdctl",
		append([]string{"--endpoints=" + s.Etcd}, args...)...)
	if err != nil {
		t.Fatalf("etcdctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

var svcLeaseRE = regexp.MustCompile(`lease ([0-9a-f]+) granted`)

// svcLeaseGrant grants a lease of ttl seconds and returns its id (hex, as etcdctl prints it).
func svcLeaseGrant(t *testing.T, s svcServices, ttl int) string {
	t.Helper()
	out := svcEtcdctl(t, s, "lease", "grant", strconv.Itoa(ttl))
	m := svcLeaseRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("etcdctl lease grant: no lease id in %q", out)
	}
	return m[1]
}

// svcEtcdKey is a key as `etcdctl get -w json` shows it.
type svcEtcdKey struct {
	Value string
	Lease int64
}

// svcEtcdGet returns the key, or ok=false when there is none.
func svcEtcdGet(t *testing.T, s svcServices, key string) (k svcEtcdKey, ok bool) {
	t.Helper()
	out := svcEtcdctl(t, s, "get", key, "-w", "json")
	var r struct {
		KVs []struct {
			Value []byte `json:"value"` // base64 in the JSON, decoded by encoding/json
			Lease int64  `json:"lease"`
		} `json:"kvs"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("etcdctl get %s -w json: %v\n%s", key, err, out)
	}
	if len(r.KVs) == 0 {
		return svcEtcdKey{}, false
	}
	return svcEtcdKey{Value: string(r.KVs[0].Value), Lease: r.KVs[0].Lease}, true
}

// ----------------------------------------------------------------------- watching for a leak

// svcGuard asks the gateways, every 100 ms for as long as it runs, about every token it has been
// told is revoked, and fails the test if any of them is ever served. A gateway that is down or not
// yet ready refuses by not answering or with 503, which is fine: what must never happen is a 200.
type svcGuard struct {
	t       *testing.T
	mu      sync.Mutex
	gws     []*svcGateway
	revoked map[string]svcGuarded // label -> token
	leaks   []string
	checks  int
	stop    chan struct{}
	done    chan struct{}
}

// svcGuarded is a revoked token and the gateways that must refuse it (all when only is empty).
type svcGuarded struct {
	token string
	only  []*svcGateway
}

func svcStartGuard(t *testing.T) *svcGuard {
	g := &svcGuard{t: t, revoked: map[string]svcGuarded{}, stop: make(chan struct{}), done: make(chan struct{})}
	go g.loop()
	t.Cleanup(g.Stop)
	return g
}

func (g *svcGuard) watchGateway(gw *svcGateway) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gws = append(g.gws, gw)
}

func (g *svcGuard) forgetGateway(gw *svcGateway) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, x := range g.gws {
		if x == gw {
			g.gws = append(g.gws[:i], g.gws[i+1:]...)
			return
		}
	}
}

// add guards a revoked token on the given gateways, or on every watched one when none is given.
func (g *svcGuard) add(label, token string, only ...*svcGateway) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.revoked[label] = svcGuarded{token, only}
}

func (g *svcGuard) remove(label string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.revoked, label)
}

func (g *svcGuard) loop() {
	defer close(g.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-tick.C:
		}
		g.mu.Lock()
		gws := append([]*svcGateway(nil), g.gws...)
		toks := make(map[string]svcGuarded, len(g.revoked))
		for k, v := range g.revoked {
			toks[k] = v
		}
		g.mu.Unlock()
		for _, gw := range gws {
			for label, r := range toks {
				if len(r.only) > 0 && !slices.Contains(r.only, gw) {
					continue
				}
				a := gw.call(r.token)
				g.mu.Lock()
				_, still := g.revoked[label]
				if still && a.accepted() {
					g.leaks = append(g.leaks, fmt.Sprintf("%s served revoked token %s at %s",
						gw.Name, label, time.Now().Format("15:04:05.000")))
				}
				g.checks++
				g.mu.Unlock()
			}
		}
	}
}

// Stop ends the guard and fails the test if a revoked token was ever served.
func (g *svcGuard) Stop() {
	select {
	case <-g.stop:
		return
	default:
	}
	close(g.stop)
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	g.t.Logf("guard: %d checks of revoked tokens, %d served", g.checks, len(g.leaks))
	for i, l := range g.leaks {
		if i == 10 {
			g.t.Errorf("... and %d more", len(g.leaks)-10)
			break
		}
		g.t.Errorf("revoked token served: %s", l)
	}
}
