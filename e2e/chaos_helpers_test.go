//go:build chaos

// Helpers of the chaos suite (build tag chaos, tests TestChaos*; see chaos_test.go and
// docs/reliability.md). Every name here starts with chaos so that nothing clashes with the other
// suites of the package. The suite runs its own services, never the ones of scripts/services.sh:
//
//	etcd      Debian's etcd 3.4, client 127.0.0.1:23791.., peers 127.0.0.1:23801..
//	RabbitMQ  Debian's 3.10 as node chaos@localhost, AMQP 127.0.0.1:28672, STOMP 127.0.0.1:28613,
//	          Erlang distribution 127.0.0.1:28673, everything under the test's temp folder
//	          (all below the kernel's ephemeral range, 32768-60999: a port in it can be taken by
//	          any outgoing connection of the machine, and RabbitMQ then fails to bind it)
//
// (MICROGW_CHAOS_AMQP_PORT, _STOMP_PORT, _DIST_PORT, _ETCD_PORT, _ETCD_PEER_PORT move them.)
package e2e

import (
	"bufio"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// chaosEnvInt is a positive integer from the environment, or def.
func chaosEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// chaosEnvDuration is a duration from the environment (Go syntax), or def.
func chaosEnvDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// chaosPortOpen says whether something accepts TCP connections on 127.0.0.1:port.
func chaosPortOpen(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func chaosRequirePortsFree(t *testing.T, ports ...int) {
	t.Helper()
	for _, p := range ports {
		if chaosPortOpen(p) {
			t.Fatalf("127.0.0.1:%d is taken by another process; the chaos suite runs its own services there "+
				"(move them with MICROGW_CHAOS_*_PORT)", p)
		}
	}
}

// chaosProc is a service process in its own process group, its output appended to a file.
type chaosProc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func chaosStartProc(name, logPath string, env []string, argv ...string) (*chaosProc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &chaosProc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *chaosProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop signals the process group and waits at most wait, then kills the group.
func (p *chaosProc) stop(sig syscall.Signal, wait time.Duration) {
	if p == nil || p.exited() {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(wait):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// ------------------------------------------------------------------------------------------ etcd

// chaosEtcd is one member of an etcd cluster on loopback: Debian's etcd, or the one of
// chaosOrderedEtcd.
type chaosEtcd struct {
	t          *testing.T
	bin        string
	Name       string
	Client     int
	Peer       int
	cluster    string // --initial-cluster
	dataDir    string
	LogPath    string
	proc       *chaosProc
	mu         sync.Mutex
	restarts   int
	clientAddr string
}

// chaosOrderedEtcd is an etcd whose progress notifications come after the events they cover, so
// that a gateway starts from its revocation snapshot (docs/revocation.md, "Snapshots"):
// MICROGW_CHAOS_ETCD when set, else etcd built from the module the gateway's tests embed
// (go.etcd.io/etcd/server/v3, 3.7), once per process. Debian 12's etcd 3.4.23 is not: against it
// every start lists etcd in full.
var chaosOrderedEtcd = onceOrFail(func() (string, error) {
	if bin := os.Getenv("MICROGW_CHAOS_ETCD"); bin != "" {
		return bin, nil
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("micro-gw-chaos-bin-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "etcd")
	if out, err := runTimed("", 10*time.Minute, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-o", bin, "go.etcd.io/etcd/server/v3"); err != nil {
		return "", fmt.Errorf("go build go.etcd.io/etcd/server/v3: %v\n%s", err, out)
	}
	return bin, nil
})

// chaosStartEtcdCluster starts n members of the etcd bin (client ports base.., peer ports
// peerBase..) and waits until each is healthy.
func chaosStartEtcdCluster(t *testing.T, dir, bin string, n, base, peerBase int) []*chaosEtcd {
	t.Helper()
	var ms []*chaosEtcd
	var cluster []string
	for i := range n {
		m := &chaosEtcd{t: t, bin: bin, Name: fmt.Sprintf("chaos%d", i), Client: base + i, Peer: peerBase + i}
		m.dataDir = filepath.Join(dir, "etcd-"+m.Name)
		m.LogPath = filepath.Join(dir, "etcd-"+m.Name+".log")
		m.clientAddr = fmt.Sprintf("127.0.0.1:%d", m.Client)
		chaosRequirePortsFree(t, m.Client, m.Peer)
		cluster = append(cluster, fmt.Sprintf("%s=http://127.0.0.1:%d", m.Name, m.Peer))
		ms = append(ms, m)
	}
	for _, m := range ms {
		m.cluster = strings.Join(cluster, ",")
		if err := m.start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.proc.stop(syscall.SIGTERM, 10*time.Second) })
	}
	for _, m := range ms {
		if err := m.waitHealthy(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return ms
}

func (m *chaosEtcd) start() error {
	p, err := chaosStartProc("etcd "+m.Name, m.LogPath, nil, m.bin, "--name", m.Name, "--data-dir", m.dataDir,
		"--listen-client-urls", "http://"+m.clientAddr, "--advertise-client-urls", "http://"+m.clientAddr,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", m.Peer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", m.Peer),
		"--initial-cluster", m.cluster, "--initial-cluster-state", "new",
		"--initial-cluster-token", "micro-gw-chaos")
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	return nil
}

// Endpoint is the member's client URL.
func (m *chaosEtcd) Endpoint() string { return "http://" + m.clientAddr }

// etcdctl runs ETCDCTL_API=3 etcdctl against this member.
func (m *chaosEtcd) etcdctl(args ...string) (string, error) {
	return runTimed("", 30*time.Second, []string{"ETCDCTL_API=3"}, "etcdctl",
		append([]string{"--endpoints=" + m.clientAddr, "--dial-timeout=2s", "--command-timeout=10s"}, args...)...)
}

func (m *chaosEtcd) healthy() bool {
	_, err := runTimed("", 10*time.Second, []string{"ETCDCTL_API=3"}, "etcdctl",
		"--endpoints="+m.clientAddr, "--dial-timeout=1s", "--command-timeout=2s", "endpoint", "health")
	return err == nil
}

func (m *chaosEtcd) waitHealthy(d time.Duration) error {
	end := time.Now().Add(d)
	for !m.healthy() {
		if m.proc.exited() {
			return fmt.Errorf("etcd %s exited (%v):\n%s", m.Name, m.proc.err, chaosTailFile(m.LogPath, 30))
		}
		if time.Now().After(end) {
			return fmt.Errorf("etcd %s not healthy after %v:\n%s", m.Name, d, chaosTailFile(m.LogPath, 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// Restart stops the member (SIGTERM, or SIGKILL when kill) and starts it again on the same data.
func (m *chaosEtcd) Restart(kill bool, down time.Duration) error {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	m.proc.stop(sig, 15*time.Second)
	time.Sleep(down)
	if err := m.start(); err != nil {
		return err
	}
	m.restarts++
	return m.waitHealthy(60 * time.Second)
}

// Revision is the current revision of the member's store (etcdctl endpoint status).
func (m *chaosEtcd) Revision() (int64, error) {
	st, err := chaosEtcdStatus(m.clientAddr)
	if err != nil {
		return 0, err
	}
	return st[0].Status.Header.Revision, nil
}

// Compact runs etcdctl compact at the current revision and returns it.
func (m *chaosEtcd) Compact() (int64, error) {
	rev, err := m.Revision()
	if err != nil {
		return 0, err
	}
	out, err := m.etcdctl("compact", strconv.FormatInt(rev, 10))
	if err != nil && !strings.Contains(out, "required revision has been compacted") {
		return 0, fmt.Errorf("etcdctl compact %d: %v: %s", rev, err, out)
	}
	return rev, nil
}

// chaosEtcdEndpointStatus is one line of `etcdctl endpoint status -w json`.
type chaosEtcdEndpointStatus struct {
	Endpoint string `json:"Endpoint"`
	Status   struct {
		Header struct {
			MemberID uint64 `json:"member_id"`
			Revision int64  `json:"revision"`
		} `json:"header"`
		Leader uint64 `json:"leader"`
	} `json:"Status"`
}

func chaosEtcdStatus(endpoints ...string) ([]chaosEtcdEndpointStatus, error) {
	out, err := runTimed("", 20*time.Second, []string{"ETCDCTL_API=3"}, "etcdctl",
		"--endpoints="+strings.Join(endpoints, ","), "--dial-timeout=2s", "--command-timeout=5s",
		"endpoint", "status", "-w", "json")
	if err != nil && !strings.HasPrefix(strings.TrimSpace(out), "[") {
		return nil, fmt.Errorf("etcdctl endpoint status: %v: %s", err, out)
	}
	// Unreachable members are reported on stderr after the JSON; keep the JSON array.
	js := out
	if i := strings.Index(js, "["); i >= 0 {
		js = js[i:]
	}
	if i := strings.LastIndex(js, "]"); i >= 0 {
		js = js[:i+1]
	}
	var st []chaosEtcdEndpointStatus
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		return nil, fmt.Errorf("etcdctl endpoint status -w json: %v: %s", err, out)
	}
	if len(st) == 0 {
		return nil, fmt.Errorf("etcdctl endpoint status: no member answered: %s", out)
	}
	return st, nil
}

// chaosEtcdLeader is the member that leads the cluster.
func chaosEtcdLeader(ms []*chaosEtcd) (*chaosEtcd, error) {
	var eps []string
	for _, m := range ms {
		eps = append(eps, m.clientAddr)
	}
	st, err := chaosEtcdStatus(eps...)
	if err != nil {
		return nil, err
	}
	for _, s := range st {
		if s.Status.Leader != 0 && s.Status.Leader == s.Status.Header.MemberID {
			for _, m := range ms {
				if strings.HasSuffix(s.Endpoint, m.clientAddr) {
					return m, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no leader among %v", eps)
}

// ------------------------------------------------------------------------------------- RabbitMQ

const chaosRabbitBin = "/usr/lib/rabbitmq/bin" // the real scripts, not /usr/sbin's su wrapper

// chaosRabbit is a RabbitMQ node of its own (its name, ports, config, data and logs).
type chaosRabbit struct {
	t                 *testing.T
	Node              string
	AMQP, STOMP, Dist int
	dir               string
	proc              *chaosProc
	restarts          int
}

func chaosNewRabbit(t *testing.T, dir string) *chaosRabbit {
	t.Helper()
	if _, err := os.Stat(filepath.Join(chaosRabbitBin, "rabbitmq-server")); err != nil {
		t.Fatalf("RabbitMQ is not installed (%v): apt-get install -y rabbitmq-server", err)
	}
	r := &chaosRabbit{t: t, Node: "chaos@localhost",
		AMQP:  chaosEnvInt("MICROGW_CHAOS_AMQP_PORT", 28672),
		STOMP: chaosEnvInt("MICROGW_CHAOS_STOMP_PORT", 28613),
		Dist:  chaosEnvInt("MICROGW_CHAOS_DIST_PORT", 28673),
		dir:   filepath.Join(dir, "rabbitmq")}
	if v := os.Getenv("MICROGW_CHAOS_RABBITMQ_NODE"); v != "" {
		r.Node = v
	}
	chaosRequirePortsFree(t, r.AMQP, r.STOMP, r.Dist)
	for _, d := range []string{"mnesia", "log"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"rabbitmq-env.conf": "",
		"advanced.config":   "[].\n",
		"enabled_plugins":   "[rabbitmq_stomp].\n",
		"rabbitmq.conf": fmt.Sprintf("listeners.tcp.1 = 127.0.0.1:%d\nstomp.listeners.tcp.1 = 127.0.0.1:%d\n"+
			"stomp.default_vhost = /\nlog.file.level = info\nlog.console = false\n", r.AMQP, r.STOMP),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(r.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(r.Stop)
	return r
}

func (r *chaosRabbit) env() []string {
	return []string{
		"RABBITMQ_NODENAME=" + r.Node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT=" + strconv.Itoa(r.AMQP),
		"RABBITMQ_DIST_PORT=" + strconv.Itoa(r.Dist),
		"RABBITMQ_CONF_ENV_FILE=" + filepath.Join(r.dir, "rabbitmq-env.conf"),
		"RABBITMQ_CONFIG_FILE=" + filepath.Join(r.dir, "rabbitmq.conf"),
		"RABBITMQ_ADVANCED_CONFIG_FILE=" + filepath.Join(r.dir, "advanced.config"),
		"RABBITMQ_ENABLED_PLUGINS_FILE=" + filepath.Join(r.dir, "enabled_plugins"),
		"RABBITMQ_MNESIA_BASE=" + filepath.Join(r.dir, "mnesia"),
		"RABBITMQ_LOG_BASE=" + filepath.Join(r.dir, "log"),
		"RABBITMQ_PID_FILE=" + filepath.Join(r.dir, "beam.pid"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
		"ERL_EPMD_ADDRESS=127.0.0.1",
	}
}

func (r *chaosRabbit) ctl(timeout time.Duration, args ...string) (string, error) {
	return runTimed("", timeout, r.env(), filepath.Join(chaosRabbitBin, "rabbitmqctl"), append([]string{"-q", "-n", r.Node}, args...)...)
}

// Start starts the node and waits until both listeners accept connections and it has booted.
func (r *chaosRabbit) Start() error {
	p, err := chaosStartProc("rabbitmq", filepath.Join(r.dir, "server.out"), r.env(), filepath.Join(chaosRabbitBin, "rabbitmq-server"))
	if err != nil {
		return err
	}
	r.proc = p
	end := time.Now().Add(120 * time.Second)
	for {
		if p.exited() {
			return fmt.Errorf("rabbitmq %s exited while starting (%v):\n%s", r.Node, p.err, chaosTailFile(filepath.Join(r.dir, "server.out"), 30))
		}
		if chaosPortOpen(r.AMQP) && chaosPortOpen(r.STOMP) {
			if _, err := r.ctl(20*time.Second, "await_startup", "--timeout", "10"); err == nil {
				return nil
			}
		}
		if time.Now().After(end) {
			return fmt.Errorf("rabbitmq %s not up after 120 s", r.Node)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Stop stops the node (rabbitmqctl stop, then its process group).
func (r *chaosRabbit) Stop() {
	if r.proc == nil || r.proc.exited() {
		return
	}
	r.ctl(60*time.Second, "stop")
	r.proc.stop(syscall.SIGTERM, 20*time.Second)
}

// Restart stops the node, keeps it down for down, and starts it again.
func (r *chaosRabbit) Restart(down time.Duration) error {
	r.Stop()
	time.Sleep(down)
	r.restarts++
	return r.Start()
}

// ------------------------------------------------------------------------------ binaries, project

var (
	chaosBinDir = pidDir("micro-gw-chaos-bin")
	chaosBins   = toolBinaries{prefix: "chaos"}
)

// chaosBinaries builds cmd/micro-gw and cmd/gateway once per process, as chaos-micro-gw and
// chaos-gateway in $TMPDIR/micro-gw-chaos-bin-PID.
func chaosBinaries(t *testing.T) (microgw, gateway string) {
	t.Helper()
	return chaosBins.build(t, chaosBinDir(t))
}

// chaosProject is a project made by `micro-gw init` and `micro-gw build`, its API's endpoint a
// backend in this process, and the project's issuer key for signing tokens in process.
type chaosProject struct {
	Work, Name, Root, Exe string
	Backend               *httptest.Server
	key                   crypto.Signer
}

const chaosAPIDefinition = `openapi: 3.0.3
info:
  title: Chaos
  version: 1.0.0
x-wso2-basePath: /chaos/v1
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
  /open:
    get:
      security: []
      responses:
        "200":
          description: unsecured
`

func chaosNewProject(t *testing.T, work string) *chaosProject {
	t.Helper()
	microgw, _ := chaosBinaries(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pets":[]}`)
	}))
	t.Cleanup(backend.Close)
	p := &chaosProject{Work: work, Name: "chaospets", Backend: backend}
	p.Root = filepath.Join(work, p.Name)
	p.Exe = filepath.Join(p.Root, "target", p.Name)
	if err := os.WriteFile(filepath.Join(work, "chaos_api.yaml"), fmt.Appendf(nil, chaosAPIDefinition, backend.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runTimed(work, time.Minute, nil, microgw, "init", p.Name, "-a", "chaos_api.yaml"); err != nil {
		t.Fatalf("micro-gw init: %v\n%s", err, out)
	}
	start := time.Now()
	if out, err := runTimed(work, 10*time.Minute, nil, microgw, "build", p.Name); err != nil {
		t.Fatalf("micro-gw build: %v\n%s", err, out)
	}
	t.Logf("micro-gw build took %v", time.Since(start).Round(time.Millisecond))
	key, err := issuer.LoadKey(filepath.Join(p.Root, "security", "issuer.key"))
	if err != nil {
		t.Fatal(err)
	}
	p.key = key
	return p
}

// Token signs a token for jti with the project's issuer key, as `micro-gw token issue` does.
func (p *chaosProject) Token(jti string, ttl time.Duration) (string, error) {
	return issuer.Sign(p.key, issuer.DefaultKeyID, issuer.Claims{JTI: jti, TTL: ttl})
}

// chaosConf is what a gateway's conf turns on.
type chaosConf struct {
	BrokerURL, BrokerUser, BrokerPass string // realtime on when BrokerURL is set
	EtcdHostname                      string // persistent (etcd) on when set
	EtcdEndpoints                     []string
	SnapshotDir                       string // the default (var/revocation of the project) when empty
	ServeBeforeLoaded                 bool
	LogLevel                          string // DEBUG when empty
}

// WriteConf writes conf/NAME.conf into the project and returns its path.
func (p *chaosProject) WriteConf(t *testing.T, name string, c chaosConf) string {
	t.Helper()
	q := strconv.Quote
	level := c.LogLevel
	if level == "" {
		level = "DEBUG"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# written by the chaos suite (%s)
[listenerConfig]
host = "127.0.0.1"
httpPort = 9090
httpsPort = 0
adminPort = 9096
certFile = "security/gateway.crt"
keyFile = "security/gateway.key"
trustStorePath = "security/truststore"

[[jwtTokenConfig]]
issuer = "https://localhost:9443/oauth2/token"
audience = "http://org.wso2.apimgt/gateway"
certificateAlias = "wso2apim"

[caching]
enabled = true
tokenCacheExpiryTime = 900000
tokenCacheCapacity = 20000

[tokenRevocationConfig.realtime]
enableRealtimeMessageRetrieval = %t
jmsConnectionTopic = "tokenRevocation"
jmsConnectionProviderUrl = %s
jmsConnectionUsername = %s
jmsConnectionPassword = %s

[tokenRevocationConfig.persistent]
enablePersistentStorageRetrieval = %t
useDefault = true
hostname = %s
username = ""
password = ""
serveBeforeLoaded = %t
`, t.Name(), c.BrokerURL != "", q(c.BrokerURL), q(c.BrokerUser), q(c.BrokerPass),
		c.EtcdHostname != "", q(c.EtcdHostname), c.ServeBeforeLoaded)
	if c.SnapshotDir != "" {
		fmt.Fprintf(&b, "snapshotDir = %s\n", q(c.SnapshotDir))
	}
	if len(c.EtcdEndpoints) > 0 {
		var eps []string
		for _, e := range c.EtcdEndpoints {
			eps = append(eps, q(e))
		}
		fmt.Fprintf(&b, "endpoints = [%s]\n", strings.Join(eps, ", "))
	}
	fmt.Fprintf(&b, "\n[log]\nlevel = %s\n", q(level))
	path := filepath.Join(p.Root, "conf", name+".conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ------------------------------------------------------------------------------------- gateways

// chaosGateway is a gateway process run through the `gateway` launcher, on fixed ports for its
// whole life (so a restart comes back where clients expect it), its output appended to LogPath.
type chaosGateway struct {
	t          *testing.T
	Name       string
	p          *chaosProject
	conf       string
	HTTP       int
	Admin      int
	LogPath    string
	mu         sync.Mutex
	proc       *chaosProc
	starts     int
	started    time.Time
	client     *http.Client
	killedOnce atomic.Bool
}

func (p *chaosProject) NewGateway(t *testing.T, name, conf, logDir string) *chaosGateway {
	t.Helper()
	ports := freePorts(t, 2)
	g := &chaosGateway{t: t, Name: name, p: p, conf: conf, HTTP: ports[0], Admin: ports[1],
		LogPath: filepath.Join(logDir, "gateway-"+name+".log"),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: 64, DisableCompression: true,
		}}}
	t.Cleanup(func() {
		g.Stop()
		if t.Failed() {
			t.Logf("----- gateway %s (%s), last lines\n%s", name, g.LogPath, chaosTailFile(g.LogPath, 60))
		}
	})
	return g
}

// Start starts the gateway process (not waiting for readiness).
func (g *chaosGateway) Start() error {
	_, launcher := chaosBinaries(g.t)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.starts++
	f, err := os.OpenFile(g.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== chaos: start %d of gateway %s at %s\n", g.starts, g.Name, time.Now().UTC().Format(time.RFC3339Nano))
	f.Close()
	p, err := chaosStartProc("gateway "+g.Name, g.LogPath, nil, launcher, "--config", g.conf,
		"-e", fmt.Sprintf("listenerConfig.httpPort=%d", g.HTTP),
		"-e", fmt.Sprintf("listenerConfig.adminPort=%d", g.Admin),
		g.p.Exe)
	if err != nil {
		return err
	}
	g.proc = p
	g.started = time.Now()
	return nil
}

// startedAt is when the current process was started.
func (g *chaosGateway) startedAt() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started
}

func (g *chaosGateway) current() *chaosProc {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.proc
}

// Kill sends SIGKILL and waits for the process to end.
func (g *chaosGateway) Kill() {
	p := g.current()
	if p == nil || p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	g.killedOnce.Store(true)
}

// Stop sends SIGTERM (docs/runtime.md: exit 0 after draining) and waits.
func (g *chaosGateway) Stop() {
	p := g.current()
	if p == nil || p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			g.t.Errorf("gateway %s: SIGTERM should end it with exit status 0, got %v", g.Name, p.err)
		}
	case <-time.After(40 * time.Second):
		g.t.Errorf("gateway %s did not exit within 40 s of SIGTERM; killing it", g.Name)
		p.cmd.Process.Kill()
		<-p.done
	}
}

// Exited says whether the current process has ended, and how.
func (g *chaosGateway) Exited() (bool, error) {
	p := g.current()
	if p == nil {
		return false, nil
	}
	if p.exited() {
		return true, p.err
	}
	return false, nil
}

// Ready asks /health/ready.
func (g *chaosGateway) Ready() (int, string, error) {
	resp, err := g.client.Get(fmt.Sprintf("http://127.0.0.1:%d/health/ready", g.Admin))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}

// WaitReady polls /health/ready until 200.
func (g *chaosGateway) WaitReady(d time.Duration) error {
	end := time.Now().Add(d)
	for {
		if ex, err := g.Exited(); ex {
			return fmt.Errorf("gateway %s exited (%v):\n%s", g.Name, err, chaosTailFile(g.LogPath, 40))
		}
		code, body, err := g.Ready()
		if err == nil && code == http.StatusOK {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("gateway %s not ready after %v (last %d %s %v):\n%s", g.Name, d, code, body, err, chaosTailFile(g.LogPath, 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Call sends GET /chaos/v1/pets with the token.
func (g *chaosGateway) Call(token string) gatewayAnswer {
	return g.call("/chaos/v1/pets", token)
}

func (g *chaosGateway) call(path, token string) gatewayAnswer {
	return askGateway(g.client, fmt.Sprintf("http://127.0.0.1:%d%s", g.HTTP, path), token)
}

// -------------------------------------------------------------------------------- the publisher

// chaosPublisher revokes as a token service does: pkg/tokenservice's sides for the conf's
// [tokenRevocationConfig] (broker topic and etcd with a lease), each side retried until it takes
// the revocation. A revocation is accepted once etcd took it (the persistent record every
// gateway loads and watches); the broker side is retried too, and given up after BrokerGiveUp.
type chaosPublisher struct {
	Rev          config.Revocation
	Workers      int
	TTL          time.Duration
	BrokerGiveUp time.Duration
	Logger       *slog.Logger
	// Block makes Run block users (a blocking condition of type user, until lifted) instead of
	// revoking jtis.
	Block bool

	etcdFailures, brokerFailures, brokerGivenUp atomic.Int64
	accepted                                    atomic.Int64
}

// Run revokes every jti, paced over span (a revocation every span/len(jtis)), and returns the
// jtis that were not accepted when ctx ended.
func (p *chaosPublisher) Run(ctx context.Context, jtis []string, span time.Duration) (notAccepted []string) {
	feed := make(chan string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range max(p.Workers, 1) {
		wg.Go(func() {
			r, err := tokenservice.FromConfig(p.Rev, nil, p.Logger)
			if err != nil {
				panic(fmt.Sprintf("publisher %d: %v", w, err))
			}
			defer r.Close()
			for jti := range feed {
				if !p.revoke(ctx, r.Sides(), jti) {
					mu.Lock()
					notAccepted = append(notAccepted, jti)
					mu.Unlock()
				}
			}
		})
	}
	start := time.Now()
	for i, jti := range jtis {
		if d := time.Until(start.Add(span * time.Duration(i) / time.Duration(len(jtis)))); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		select {
		case feed <- jti:
		case <-ctx.Done():
			mu.Lock()
			notAccepted = append(notAccepted, jti)
			mu.Unlock()
		}
	}
	close(feed)
	wg.Wait()
	return notAccepted
}

// chaosPublishing is a publisher's Run going on in the background.
type chaosPublishing struct {
	Began       time.Time
	Done        chan struct{} // closed when Run has returned
	NotAccepted []string      // what Run returned, once Done is closed
}

// Start runs Run in the background.
func (p *chaosPublisher) Start(ctx context.Context, jtis []string, span time.Duration) *chaosPublishing {
	r := &chaosPublishing{Began: time.Now(), Done: make(chan struct{})}
	go func() {
		defer close(r.Done)
		r.NotAccepted = p.Run(ctx, jtis, span)
	}()
	return r
}

// revoke sends jti to every side (or, with Block, blocks the user jti), each retried with a
// capped backoff, in parallel; it returns whether etcd took it.
func (p *chaosPublisher) revoke(ctx context.Context, sides []tokenservice.Side, jti string) bool {
	send := func(ctx context.Context, s tokenservice.Side) error {
		if p.Block {
			_, err := s.(tokenservice.BlockSide).Block(ctx, revocation.BlockNotice{Kind: revocation.BlockUser, Value: jti, Enabled: true})
			return err
		}
		_, err := s.Revoke(ctx, jti, p.TTL)
		return err
	}
	var etcdOK atomic.Bool
	var wg sync.WaitGroup
	for _, s := range sides {
		isEtcd := strings.HasPrefix(s.Name(), "etcd")
		wg.Go(func() {
			backoff := 100 * time.Millisecond
			var giveUp time.Time
			if !isEtcd && p.BrokerGiveUp > 0 {
				giveUp = time.Now().Add(p.BrokerGiveUp)
			}
			for {
				sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := send(sctx, s)
				cancel()
				if err == nil {
					if isEtcd {
						etcdOK.Store(true)
						p.accepted.Add(1)
					}
					return
				}
				if isEtcd {
					p.etcdFailures.Add(1)
				} else {
					p.brokerFailures.Add(1)
				}
				if !giveUp.IsZero() && time.Now().After(giveUp) {
					p.brokerGivenUp.Add(1)
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(backoff*2, 2*time.Second)
			}
		})
	}
	wg.Wait()
	return etcdOK.Load()
}

// ------------------------------------------------------------------------------------- checking

// chaosVerdict counts the answers of the final check.
type chaosVerdict struct {
	N               int
	Revoked         int
	Lost            int            // revoked tokens accepted by some gateway
	WronglyRefused  int            // tokens never revoked refused by some gateway
	Errors          int            // requests that got no answer, a 5xx or another status
	LostExamples    []string       // a few, for the report
	RefusedExamples []string       // a few
	Other           map[string]int // answer -> count, for anything else
}

// chaosCheck asks every gateway about every token with at most conc requests in flight: a
// revoked token must get exactly 401 900901, any other 200. Requests that fail for another
// reason (no answer, 503) are retried a few times, then counted as Errors.
func chaosCheck(gws []*chaosGateway, tokens []string, revoked map[int]bool, conc int) chaosVerdict {
	v := chaosVerdict{N: len(tokens), Revoked: len(revoked), Other: map[string]int{}}
	var mu sync.Mutex
	lost := map[int]bool{}
	refused := map[int]bool{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range jobs {
				for _, g := range gws {
					var a gatewayAnswer
					for attempt := range 5 {
						a = g.Call(tokens[i])
						if a.Err == nil && (a.Status == http.StatusOK || a.Status == http.StatusUnauthorized) {
							break
						}
						time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
					}
					mu.Lock()
					switch {
					case revoked[i] && a.accepted():
						if !lost[i] {
							lost[i] = true
							if len(v.LostExamples) < 10 {
								v.LostExamples = append(v.LostExamples, fmt.Sprintf("token %d accepted by %s", i, g.Name))
							}
						}
					case !revoked[i] && a.revoked():
						if !refused[i] {
							refused[i] = true
							if len(v.RefusedExamples) < 10 {
								v.RefusedExamples = append(v.RefusedExamples, fmt.Sprintf("token %d refused by %s", i, g.Name))
							}
						}
					case revoked[i] && a.revoked(), !revoked[i] && a.accepted():
					default:
						v.Errors++
						v.Other[g.Name+": "+a.String()]++
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range tokens {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	v.Lost = len(lost)
	v.WronglyRefused = len(refused)
	return v
}

// ------------------------------------------------------------------------------------- log scan

// chaosJWTShape is any compact JWS/JWT: two base64url JSON objects ("eyJ" is `{"`) and a
// signature. A gateway log must never hold one.
var chaosJWTShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}`)

// chaosB64Run is a run of base64url characters long enough to hold a token fragment.
var chaosB64Run = regexp.MustCompile(`[A-Za-z0-9_-]{48,}`)

// chaosLogScanner finds tokens in logs: anything shaped like a JWT, and any fragment of 48
// characters or more of a known token's payload or signature part (a token cut short, or its
// signature logged alone as WSO2 3.2 keyed revocations by it).
type chaosLogScanner struct {
	grams map[string]int // 32-character pieces of known parts at offsets multiple of 16 -> token index
}

const chaosGram, chaosStep = 32, 16

// chaosNewLogScanner indexes tokens (compact JWTs) for chaosScanLogs.
func chaosNewLogScanner(tokens []string) *chaosLogScanner {
	s := &chaosLogScanner{grams: make(map[string]int, len(tokens)*40)}
	for i, tok := range tokens {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			continue
		}
		for _, part := range parts[1:] { // the header is the same in every token: not evidence
			for off := 0; off+chaosGram <= len(part); off += chaosStep {
				s.grams[part[off:off+chaosGram]] = i
			}
		}
	}
	return s
}

// chaosLogHit is one token found in a log.
type chaosLogHit struct {
	File  string
	Line  int
	What  string // "JWT-shaped string" or "fragment of token N"
	Token int    // index of the known token, -1 for a JWT shape
}

func (h chaosLogHit) String() string { return fmt.Sprintf("%s:%d: %s", h.File, h.Line, h.What) }

// Scan reads each file line by line; it reports at most 20 hits per file. Lines longer than
// 1 MiB are scanned by their first MiB.
func (s *chaosLogScanner) Scan(paths ...string) ([]chaosLogHit, error) {
	var hits []chaosLogHit
	var errs []error
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n, inFile := 0, 0
		for sc.Scan() && inFile < 20 {
			n++
			line := sc.Text()
			if loc := chaosJWTShape.FindStringIndex(line); loc != nil {
				hits = append(hits, chaosLogHit{File: path, Line: n, What: "JWT-shaped string", Token: -1})
				inFile++
				continue
			}
			if s == nil || len(s.grams) == 0 {
				continue
			}
		runs:
			for _, run := range chaosB64Run.FindAllString(line, -1) {
				for off := 0; off+chaosGram <= len(run); off++ {
					if i, ok := s.grams[run[off:off+chaosGram]]; ok {
						hits = append(hits, chaosLogHit{File: path, Line: n, What: fmt.Sprintf("fragment of token %d", i), Token: i})
						inFile++
						break runs
					}
				}
			}
		}
		if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
		f.Close()
	}
	return hits, errors.Join(errs...)
}

// chaosScanLogs scans files for any JWT-shaped string and any fragment of the given tokens.
func chaosScanLogs(paths []string, tokens []string) ([]chaosLogHit, error) {
	return chaosNewLogScanner(tokens).Scan(paths...)
}

// ------------------------------------------------------------------------------------- odds

func chaosTailFile(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// chaosCountInFile counts the lines of path containing s.
func chaosCountInFile(path, s string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), s)
}

// chaosGuard asks every gateway, over and over (one request at a time per gateway), about tokens
// that are revoked for good, and records every time one is served. A gateway that is down or not
// ready refuses by not answering or with 503, which is fine.
type chaosGuard struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	checks int
	leaks  []string
}

func chaosStartGuard(gws []*chaosGateway, tokens []string) *chaosGuard {
	g := &chaosGuard{stop: make(chan struct{})}
	for _, gw := range gws {
		g.wg.Go(func() {
			for {
				for i, tok := range tokens {
					select {
					case <-g.stop:
						return
					default:
					}
					a := gw.Call(tok)
					g.mu.Lock()
					g.checks++
					if a.accepted() {
						g.leaks = append(g.leaks, fmt.Sprintf("%s served guarded token %d at %s", gw.Name, i, time.Now().UTC().Format("15:04:05.000")))
					}
					g.mu.Unlock()
					if a.Err != nil {
						time.Sleep(100 * time.Millisecond)
					}
				}
				time.Sleep(250 * time.Millisecond)
			}
		})
	}
	return g
}

// Stop ends the guard and returns how many requests it made and what was served.
func (g *chaosGuard) Stop() (int, []string) {
	close(g.stop)
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.checks, g.leaks
}

// Check stops the guard and fails the test if it saw one of the n guarded tokens served.
func (g *chaosGuard) Check(t *testing.T, n int) {
	t.Helper()
	checks, leaks := g.Stop()
	t.Logf("guard: %d requests with the %d tokens revoked before the faults, %d served", checks, n, len(leaks))
	for _, l := range leaks[:min(len(leaks), 10)] {
		t.Errorf("a token revoked before the faults was served: %s", l)
	}
}

// Gauges reads the gateway's /metrics and returns the revocation sources' connection gauges
// (microgw_revocation_broker_connected, microgw_revocation_store_connected,
// microgw_revocation_store_loaded), one "name{labels} value" each.
func (g *chaosGateway) Gauges() []string {
	resp, err := g.client.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", g.Admin))
	if err != nil {
		return []string{err.Error()}
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		for _, m := range []string{"microgw_revocation_broker_connected", "microgw_revocation_store_connected", "microgw_revocation_store_loaded"} {
			if strings.HasPrefix(l, m) {
				out = append(out, l)
			}
		}
	}
	return out
}
