// Package etcdtest starts a real, embedded etcd server for tests in any
// package: one member on loopback ports, data in a temporary folder, stopped
// when the test ends. It is not a fake: it is the same server code that
// `etcd` runs, so watches, leases, compaction and auth behave as in
// production.
//
//	endpoint, cli := etcdtest.Start(t)                              // no auth
//	endpoint, cli := etcdtest.Start(t, etcdtest.WithAuth("s3cret")) // root user, auth enabled
//	srv := etcdtest.StartServer(t, etcdtest.WithTLS())              // https://, srv.TLS trusts it
//
// StartServer gives the Server itself, for tests that stop and restart etcd
// (same data and ports), and NewProxy puts a TCP proxy in front of it whose
// connections a test can cut, to simulate a network partition.
package etcdtest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/micro-gw/micro-gw/pkg/internal/certs"
)

// RootUser is the user that WithAuth creates and that Server.Client logs in as.
const RootUser = "root"

// startTimeout bounds how long StartServer and Restart wait for the member to
// be ready; embedded etcd is usually ready in under a second.
const startTimeout = 30 * time.Second

type options struct {
	rootPassword   string
	tls            bool
	progressNotify time.Duration
}

// Option changes how StartServer starts etcd.
type Option func(*options)

// WithAuth creates the root user with the given password, grants it the root
// role and enables authentication. The client that Start returns is logged in
// as root; other clients must present credentials.
func WithAuth(rootPassword string) Option {
	return func(o *options) { o.rootPassword = rootPassword }
}

// WithTLS serves clients over TLS with a fresh self-signed certificate for
// 127.0.0.1 and localhost: Endpoint is https://, and Server.TLS (a client
// configuration whose RootCAs holds the certificate) connects to it.
func WithTLS() Option {
	return func(o *options) { o.tls = true }
}

// WithProgressNotifyInterval makes the server send a progress notification
// to every watch that asked for them (clientv3.WithProgressNotify) each d,
// instead of every 10 minutes, so that a test can see one.
func WithProgressNotifyInterval(d time.Duration) Option {
	return func(o *options) { o.progressNotify = d }
}

// Server is one running embedded etcd member.
type Server struct {
	// Endpoint is the client URL, e.g. http://127.0.0.1:40123.
	Endpoint string
	// Client is connected to Endpoint (as root when auth is on). It stays
	// usable across Stop and Restart: it reconnects by itself.
	Client *clientv3.Client
	// RootPassword is the password of RootUser, empty without WithAuth.
	RootPassword string
	// TLS is a client configuration that trusts the server's certificate,
	// nil without WithTLS.
	TLS *tls.Config
	// CertFile is the server's certificate (PEM), empty without WithTLS.
	CertFile string

	tb             testing.TB
	dir            string
	keyFile        string
	clientPort     int
	peerPort       int
	progressNotify time.Duration

	mu   sync.Mutex
	etcd *embed.Etcd
}

// Start starts an embedded etcd for the duration of the test and returns its
// client endpoint and a client connected to it (logged in as root with
// WithAuth). Both are closed when the test ends.
func Start(tb testing.TB, opts ...Option) (endpoint string, client *clientv3.Client) {
	tb.Helper()
	s := StartServer(tb, opts...)
	return s.Endpoint, s.Client
}

// StartServer is Start returning the Server, for tests that need to stop and
// restart it.
func StartServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{tb: tb, dir: tb.TempDir(), RootPassword: o.rootPassword, progressNotify: o.progressNotify}
	if o.tls {
		if err := s.makeCert(); err != nil {
			tb.Fatalf("etcdtest: certificate: %v", err)
		}
	}

	// The ports are picked free and then released, so another process may
	// take one before etcd binds it: try a few times with fresh ports.
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		s.clientPort, s.peerPort = freePort(tb), freePort(tb)
		if err = s.start(); err == nil {
			break
		}
		// A failed first start may leave a partial member in the data dir.
		if rmErr := os.RemoveAll(filepath.Join(s.dir, "data")); rmErr != nil {
			tb.Fatalf("etcdtest: clean data dir: %v", rmErr)
		}
	}
	if err != nil {
		tb.Fatalf("etcdtest: start etcd: %v", err)
	}
	s.Endpoint = fmt.Sprintf("%s://127.0.0.1:%d", s.scheme(), s.clientPort)
	tb.Cleanup(s.cleanup)

	if o.rootPassword != "" {
		if err := s.enableAuth(o.rootPassword); err != nil {
			tb.Fatalf("etcdtest: enable auth: %v", err)
		}
	}
	cli, err := s.NewClient(rootUserIf(o.rootPassword), o.rootPassword)
	if err != nil {
		tb.Fatalf("etcdtest: client: %v", err)
	}
	s.Client = cli
	return s
}

// NewClient returns a client of endpoint (http://) with the given
// credentials (empty for none) whose internal logging is silenced. The
// caller closes it.
func NewClient(endpoint, username, password string) (*clientv3.Client, error) {
	return newClient(endpoint, nil, username, password)
}

// NewClient returns a client of s with the given credentials (empty for
// none), over TLS with WithTLS. The caller closes it.
func (s *Server) NewClient(username, password string) (*clientv3.Client, error) {
	return newClient(s.Endpoint, s.TLS, username, password)
}

func newClient(endpoint string, tlsConf *tls.Config, username, password string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   []string{endpoint},
		TLS:         tlsConf,
		Username:    username,
		Password:    password,
		DialTimeout: 30 * time.Second, // generous: test machines can be busy
		Logger:      zap.NewNop(),
	})
}

func rootUserIf(password string) string {
	if password == "" {
		return ""
	}
	return RootUser
}

func (s *Server) enableAuth(password string) error {
	cli, err := s.NewClient("", "")
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := cli.UserAdd(ctx, RootUser, password); err != nil {
		return fmt.Errorf("add root user: %w", err)
	}
	if _, err := cli.UserGrantRole(ctx, RootUser, "root"); err != nil {
		return fmt.Errorf("grant root role: %w", err)
	}
	if _, err := cli.AuthEnable(ctx); err != nil {
		return fmt.Errorf("auth enable: %w", err)
	}
	return nil
}

func (s *Server) config() *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = "etcdtest"
	cfg.Dir = filepath.Join(s.dir, "data")
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(s.dir, "etcd.log")}
	cfg.UnsafeNoFsync = true // tests do not survive power loss; they run faster without fsync
	// The lowest bcrypt cost (golang.org/x/crypto/bcrypt.MinCost): logging
	// in with the default cost takes seconds on a loaded test machine.
	cfg.BcryptCost = 4
	curl := url.URL{Scheme: s.scheme(), Host: fmt.Sprintf("127.0.0.1:%d", s.clientPort)}
	if s.CertFile != "" {
		cfg.ClientTLSInfo = transport.TLSInfo{CertFile: s.CertFile, KeyFile: s.keyFile}
	}
	purl := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", s.peerPort)}
	cfg.ListenClientUrls = []url.URL{curl}
	cfg.AdvertiseClientUrls = []url.URL{curl}
	cfg.ListenPeerUrls = []url.URL{purl}
	cfg.AdvertisePeerUrls = []url.URL{purl}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	if s.progressNotify > 0 {
		cfg.WatchProgressNotifyInterval = s.progressNotify
	}
	return cfg
}

func (s *Server) scheme() string {
	if s.CertFile != "" {
		return "https"
	}
	return "http"
}

// makeCert writes a self-signed ECDSA certificate for 127.0.0.1, ::1 and
// localhost, and the client configuration that trusts it.
func (s *Server) makeCert() error {
	key, err := certs.NewKey()
	if err != nil {
		return err
	}
	tmpl, err := certs.Template(pkix.Name{CommonName: "etcdtest"}, time.Now(), 24*time.Hour)
	if err != nil {
		return err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	tmpl.IsCA = true
	der, err := certs.SelfSigned(certs.ForLoopback(tmpl), key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	s.CertFile = filepath.Join(s.dir, "server.crt")
	s.keyFile = filepath.Join(s.dir, "server.key")
	if err := os.WriteFile(s.CertFile, certs.PEM(der), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(s.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	s.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return nil
}

func (s *Server) start() error {
	e, err := embed.StartEtcd(s.config())
	if err != nil {
		return err
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("etcd failed while starting: %w", err)
	case <-time.After(startTimeout):
		e.Server.Stop()
		e.Close()
		return errors.New("etcd not ready in time")
	}
	s.mu.Lock()
	s.etcd = e
	s.mu.Unlock()
	return nil
}

// Stop stops the member, keeping its data folder and ports for Restart.
// Clients see their connections fail until Restart.
func (s *Server) Stop() {
	s.tb.Helper()
	s.mu.Lock()
	e := s.etcd
	s.etcd = nil
	s.mu.Unlock()
	if e == nil {
		s.tb.Fatalf("etcdtest: Stop of a stopped server")
	}
	e.Close()
}

// Restart starts the member again after Stop, with the same data and on the
// same ports, so that clients reconnect to it.
func (s *Server) Restart() {
	s.tb.Helper()
	if err := s.start(); err != nil {
		s.tb.Fatalf("etcdtest: restart etcd: %v", err)
	}
}

func (s *Server) cleanup() {
	if s.Client != nil {
		s.Client.Close()
	}
	s.mu.Lock()
	e := s.etcd
	s.etcd = nil
	s.mu.Unlock()
	if e != nil {
		e.Close()
	}
	if s.tb.Failed() {
		s.logTail(40)
	}
}

// logTail shows the end of etcd's own log in the test output, to explain a
// failure.
func (s *Server) logTail(n int) {
	f, err := os.Open(filepath.Join(s.dir, "etcd.log"))
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	for _, l := range lines {
		s.tb.Logf("etcd: %s", l)
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("etcdtest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
