package runtime

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/server"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

// waitReady polls /health/ready until it answers 200.
func waitReady(t *testing.T, s *Server) {
	t.Helper()
	waitFor(t, func() bool {
		resp, _ := do(t, "GET", s.testURL("admin", "/health/ready"), nil)
		return resp.StatusCode == 200
	})
}

// TestEtcdRevocation runs the gateway against a real (embedded) etcd: a key
// written before the start is loaded, one written later arrives through the
// watch, a deleted one is un-revoked.
func TestEtcdRevocation(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	ctx := context.Background()
	if _, err := cli.Put(ctx, "jti/revoked-before-start", "3600"); err != nil {
		t.Fatal(err)
	}
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.Revocation.Persistent.Enabled = true
	cfg.Revocation.Persistent.UseDefault = true
	cfg.Revocation.Persistent.Hostname = endpoint + "/v2/keys/jti/"
	cfg.Revocation.Persistent.Username, cfg.Revocation.Persistent.Password = "", ""
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, s)

	url := s.testURL("http", "/petstore/v1/pet/1")
	resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"jti": "revoked-before-start"}))
	if resp.StatusCode != 401 || body != invalidCredentialsBody {
		t.Fatalf("revoked in etcd before the start: %d %s", resp.StatusCode, body)
	}
	later := iss.Token(t, map[string]any{"jti": "revoked-later"})
	if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+later); resp.StatusCode != 200 {
		t.Fatalf("not yet revoked: %d %s", resp.StatusCode, body)
	}
	pub, err := revocation.DialEtcdPublisher(ctx, revocation.EtcdConfig{Hostname: endpoint + "/v2/keys/jti/"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Revoke(ctx, "revoked-later", time.Hour); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.revocation.set.Revoked("revoked-later") })
	resp, body = do(t, "GET", url, nil, "Authorization", "Bearer "+later)
	if resp.StatusCode != 401 || body != invalidCredentialsBody {
		t.Errorf("revoked through the watch: %d %s", resp.StatusCode, body)
	}
	if err := pub.Unrevoke(ctx, "revoked-later"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !s.revocation.set.Revoked("revoked-later") })
	if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+later); resp.StatusCode != 200 {
		t.Errorf("after the key was deleted: %d %s", resp.StatusCode, body)
	}
	if be.hits.Load() != 2 {
		t.Errorf("backend hits %d, want 2", be.hits.Load())
	}
	_, metrics := do(t, "GET", s.testURL("admin", "/metrics"), nil)
	for _, want := range []string{`microgw_revocation_store_loaded{store="etcd"} 1`, `microgw_revocation_source_ready{source="etcd"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestEtcdRevocationSnapshot: with snapshotDir set, a restarted gateway
// starts from the snapshot the first one wrote (for the jti and the rules
// prefix each) and refuses what was revoked while it was down; a relative
// snapshotDir, which only a configuration not loaded from a project has,
// writes nothing.
func TestEtcdRevocationSnapshot(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	ctx := context.Background()
	if _, err := cli.Put(ctx, "jti/before", "3600"); err != nil {
		t.Fatal(err)
	}
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.Revocation.Persistent.Enabled = true
	cfg.Revocation.Persistent.Hostname = endpoint + "/v2/keys/jti/"
	cfg.Revocation.Persistent.Username, cfg.Revocation.Persistent.Password = "", ""
	dir := t.TempDir()
	cfg.Revocation.Persistent.SnapshotDir = dir
	first := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, first)
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"etcd-jti%2F.snap", "etcd-revocation-rules%2F.snap"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("no snapshot: %v", err)
		}
	}
	if _, err := cli.Put(ctx, "jti/while-down", "3600"); err != nil {
		t.Fatal(err)
	}
	second := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, second)
	url := second.testURL("http", "/petstore/v1/pet/1")
	for _, jti := range []string{"before", "while-down"} {
		if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"jti": jti})); resp.StatusCode != 401 {
			t.Errorf("%s: %d %s", jti, resp.StatusCode, body)
		}
	}
	_, metrics := do(t, "GET", second.testURL("admin", "/metrics"), nil)
	if want := `microgw_revocation_store_snapshot_restores_total{result="restored",store="etcd"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s", want)
	}

	cfg.Revocation.Persistent.SnapshotDir = "var/revocation"
	if d := snapshotDir(cfg); d != "" {
		t.Errorf("a relative snapshotDir without a project root gives %q", d)
	}
}

// TestEtcdDownFailsClosed: with the store unreachable, secured requests get
// 503 900950 and the gateway is not ready.
func TestEtcdDownFailsClosed(t *testing.T) {
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.Revocation.Persistent.Enabled = true
	cfg.Revocation.Persistent.Hostname = "http://" + closedAddr(t) + "/v2/keys/jti/"
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil, "Authorization", "Bearer "+iss.Token(t, nil))
	wantFault(t, resp, body, 503, CodeRevocationNotLoaded)
	resp, body = do(t, "GET", s.testURL("admin", "/health/ready"), nil)
	if resp.StatusCode != 503 || !strings.Contains(body, "revocation source etcd") {
		t.Errorf("ready: %d %s", resp.StatusCode, body)
	}
	if be.hits.Load() != 0 {
		t.Errorf("backend hits %d", be.hits.Load())
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// listStore is a custom store, as a project's extensions/ would register.
type listStore struct{ entries []revocation.Entry }

func (l listStore) Load(context.Context) ([]revocation.Entry, error) { return l.entries, nil }

func TestCustomStoreRevocation(t *testing.T) {
	reg := &revocation.Registry{}
	var gotRoot string
	reg.Register(revocation.StoreInfo{Name: "list", New: func(c revocation.StoreConfig) (revocation.Store, error) {
		gotRoot = c.ProjectRoot
		return listStore{entries: []revocation.Entry{{JTI: "in-the-store"}}}, nil
	}})
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.Root = "/project"
	cfg.Revocation.Persistent.Enabled = true
	cfg.Revocation.Persistent.UseDefault = false
	s, err := New(petstore(ep(be.URL), nil), cfg, Options{Registry: reg, HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	waitReady(t, s)
	if gotRoot != "/project" {
		t.Errorf("the store got the project root %q", gotRoot)
	}
	resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil, "Authorization", "Bearer "+iss.Token(t, map[string]any{"jti": "in-the-store"}))
	if resp.StatusCode != 401 || body != invalidCredentialsBody {
		t.Errorf("revoked in the custom store: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", s.testURL("http", "/petstore/v1/pet/1"), nil, "Authorization", "Bearer "+iss.Token(t, nil)); resp.StatusCode != 200 {
		t.Errorf("not revoked: %d %s", resp.StatusCode, body)
	}

	// No store compiled in: New fails and says so.
	if _, err := New(petstore(ep(be.URL), nil), cfg, Options{Registry: &revocation.Registry{}}); err == nil || !strings.Contains(err.Error(), "no custom revocation store") {
		t.Errorf("New without a store: %v", err)
	}
}

// stompBroker is an in-process STOMP broker (go-stomp's server) that can be
// stopped, connections and all, and started again on the same address.
type stompBroker struct {
	addr  string
	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func startStomp(t *testing.T) *stompBroker {
	t.Helper()
	b := &stompBroker{addr: "127.0.0.1:0"}
	b.start(t)
	t.Cleanup(b.stop)
	return b
}

func (b *stompBroker) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.ln, b.addr = ln, ln.Addr().String()
	b.mu.Unlock()
	srv := &server.Server{Log: stompQuiet{}}
	go func() { _ = srv.Serve(trackingListener{ln, b}) }()
}

func (b *stompBroker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ln.Close()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

type trackingListener struct {
	net.Listener
	b *stompBroker
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.b.mu.Lock()
		l.b.conns = append(l.b.conns, c)
		l.b.mu.Unlock()
	}
	return c, err
}

type stompQuiet struct{}

func (stompQuiet) Debugf(string, ...any)   {}
func (stompQuiet) Infof(string, ...any)    {}
func (stompQuiet) Warningf(string, ...any) {}
func (stompQuiet) Errorf(string, ...any)   {}
func (stompQuiet) Debug(string)            {}
func (stompQuiet) Info(string)             {}
func (stompQuiet) Warning(string)          {}
func (stompQuiet) Error(string)            {}

// TestBrokerRevocation: a revocation published to the topic refuses the
// token at once, cached or not.
func TestBrokerRevocation(t *testing.T) {
	addr := startStomp(t).addr
	be := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.Revocation.Realtime.Enabled = true
	cfg.Revocation.Realtime.ProviderURL = "stomp://" + addr
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, s)

	tok := iss.Token(t, map[string]any{"jti": "published"})
	url := s.testURL("http", "/petstore/v1/pet/1")
	if resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
		t.Fatalf("before: %d %s", resp.StatusCode, body)
	}
	ctx := context.Background()
	pub, err := revocation.DialBrokerPublisher(ctx, revocation.BrokerConfig{URL: "stomp://" + addr, Topic: cfg.Revocation.Realtime.Topic, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx, revocation.Notice{JTI: "published", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.revocation.set.Revoked("published") })
	resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+tok)
	if resp.StatusCode != 401 || body != invalidCredentialsBody {
		t.Errorf("after publication: %d %s", resp.StatusCode, body)
	}
	_, metrics := do(t, "GET", s.testURL("admin", "/metrics"), nil)
	for _, want := range []string{"microgw_revocation_broker_connected 1", "microgw_revoked_tokens 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// metricValue reads one sample of /metrics; -1 when it is absent.
func metricValue(t *testing.T, s *Server, sample string) float64 {
	t.Helper()
	_, metrics := do(t, "GET", s.testURL("admin", "/metrics"), nil)
	for _, line := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return -1
}

// TestBrokerReconnectResyncsTheStore: what was published while the
// subscriber was away is lost on the topic, so after reconnecting it makes
// the persistent store load again, and a revocation written to etcd in the
// meantime counts (also through the watch; the reload is what is checked).
func TestBrokerReconnectResyncsTheStore(t *testing.T) {
	endpoint, _ := etcdtest.Start(t)
	broker := startStomp(t)
	_, cfg := issuerConfig(t)
	cfg.Revocation.Persistent.Enabled = true
	cfg.Revocation.Persistent.Hostname = endpoint + "/v2/keys/jti/"
	cfg.Revocation.Persistent.Username, cfg.Revocation.Persistent.Password = "", ""
	cfg.Revocation.Realtime.Enabled = true
	cfg.Revocation.Realtime.ProviderURL = "stomp://" + broker.addr
	s := startServer(t, petstore(ep("http://backend.invalid"), nil), cfg, Options{})
	waitReady(t, s)
	const reloads = `microgw_revocation_store_reloads_total{store="etcd"}`
	if got := metricValue(t, s, reloads); got != 1 {
		t.Fatalf("reloads after start: %v", got)
	}
	broker.stop()
	waitFor(t, func() bool { return metricValue(t, s, "microgw_revocation_broker_connected") == 0 })
	broker.start(t)
	waitFor(t, func() bool { return metricValue(t, s, "microgw_revocation_broker_connected") == 1 })
	waitFor(t, func() bool { return metricValue(t, s, reloads) >= 2 })
	// Readiness is not lost by a source that dropped and came back.
	if resp, body := do(t, "GET", s.testURL("admin", "/health/ready"), nil); resp.StatusCode != 200 {
		t.Errorf("ready after the reconnect: %d %s", resp.StatusCode, body)
	}
}
