// Package devservices runs, in one process, what the seed's revocation flow
// needs around a gateway, so that it can be tried on one machine without
// installing anything (`micro-gw dev`):
//
//   - an embedded etcd (go.etcd.io/etcd/server/v3/embed), the persistent
//     store, with its data in a folder that survives restarts;
//   - an embedded STOMP 1.2 broker (go-stomp's server), the real-time topic;
//   - a token service over HTTPS with the RFC 7009 revocation endpoint
//     POST /revoke, which revokes through a tokenservice.Revoker against the
//     two services above, exactly as `micro-gw revoke` does, and
//     POST /revoke/rules for revocation rules (by subject, client, issuer);
//   - with a project's issuer key (Config.Issuer): POST /token issuing
//     tokens whose status claim names an entry of a Token Status List that
//     it serves over plain HTTP on loopback, and that /revoke flips
//     (statuslist.go).
//
// All three listen on loopback by default and have no authentication of
// their own, except the token service's client credentials: they are for
// development. Production uses a real etcd, broker and token service.
package devservices

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"

	"github.com/micro-gw/micro-gw/pkg/devservices/stompbroker"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// Default addresses: the ports of the seed (etcd 2379, STOMP 61613, the WSO2
// key manager's gateway port 8243 of `curl https://localhost:8243/revoke`).
const (
	DefaultEtcdAddr         = revocation.DevEtcdAddr
	DefaultEtcdPeerAddr     = "127.0.0.1:2380"
	DefaultStompAddr        = revocation.DevStompAddr
	DefaultTokenServiceAddr = "127.0.0.1:8243"
	DefaultClientID         = "admin"
	DefaultClientSecret     = "admin"
	// KeyPrefix is where revocations are stored in the embedded etcd.
	KeyPrefix = "jti/"
)

// Config says where the services listen and keep their data. A port of 0
// picks a free one (tests).
type Config struct {
	// DataDir holds etcd's data (DataDir/etcd), its log (DataDir/etcd.log)
	// and the token service's self-signed certificate.
	DataDir          string
	EtcdAddr         string
	EtcdPeerAddr     string
	StompAddr        string
	TokenServiceAddr string
	// ClientID and ClientSecret are the credentials the token service
	// accepts in HTTP Basic.
	ClientID     string
	ClientSecret string
	// CertFile and KeyFile, when set, are the token service's TLS pair (e.g. a
	// project's security/gateway.crt); otherwise a self-signed one is made.
	CertFile string
	KeyFile  string
	// Topic is the broker topic revocations are published to.
	Topic string
	// DefaultTTL is the ttl of a revocation of a bare jti.
	DefaultTTL time.Duration
	Logger     *slog.Logger
	// Issuer, when set, is the project's development issuer: the token
	// service then issues tokens (TokenPath) with a status claim and serves
	// its Token Status List on StatusListAddr (statuslist.go).
	Issuer         *DevIssuer
	StatusListAddr string
}

func (c *Config) setDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.EtcdAddr, DefaultEtcdAddr)
	def(&c.EtcdPeerAddr, DefaultEtcdPeerAddr)
	def(&c.StompAddr, DefaultStompAddr)
	def(&c.TokenServiceAddr, DefaultTokenServiceAddr)
	def(&c.ClientID, DefaultClientID)
	def(&c.ClientSecret, DefaultClientSecret)
	def(&c.Topic, config.DefaultTopic)
	def(&c.StatusListAddr, DefaultStatusListAddr)
	if c.DefaultTTL <= 0 {
		c.DefaultTTL = tokenservice.DefaultTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Services are the running development services.
type Services struct {
	// EtcdEndpoint is the etcd client URL, e.g. http://127.0.0.1:2379.
	EtcdEndpoint string
	// StompURL is the broker URL in the form of jmsConnectionProviderUrl.
	StompURL string
	// RevokeURL is the token service's RFC 7009 endpoint.
	RevokeURL string
	// RulesURL is the token service's endpoint for revocation rules
	// (tokenservice.RulesHandler).
	RulesURL string
	// TokenURL and StatusListURL are set with Config.Issuer: where tokens
	// are issued, and the list their status claims name.
	TokenURL      string
	StatusListURL string
	// BlockURL and UnblockURL are the token service's endpoints for
	// blocking conditions (tokenservice.BlockHandler).
	BlockURL, UnblockURL string
	// CertFile is the token service's certificate (PEM), for clients that
	// trust it rather than skipping verification.
	CertFile string
	// EtcdDataDir is where etcd keeps its data.
	EtcdDataDir string
	// Revocation is the [tokenRevocationConfig] of a gateway that uses these
	// services.
	Revocation config.Revocation

	cfg     Config
	etcd    *embed.Etcd
	broker  *stompbroker.Broker
	revoker *tokenservice.Revoker
	http    *http.Server
	list    *statusListServer
	httpErr chan error
	done    chan struct{}
	close   sync.Once
}

// Start starts etcd, the broker and the token service. On error, whatever
// had started is stopped again.
func Start(ctx context.Context, cfg Config) (*Services, error) {
	cfg.setDefaults()
	if cfg.DataDir == "" {
		return nil, errors.New("no data folder given")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	s := &Services{cfg: cfg, EtcdDataDir: filepath.Join(cfg.DataDir, "etcd"), done: make(chan struct{})}
	if err := s.start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Services) start(ctx context.Context) error {
	cfg := s.cfg
	var err error

	s.etcd, s.EtcdEndpoint, err = startEtcd(ctx, cfg.DataDir, cfg.EtcdAddr, cfg.EtcdPeerAddr)
	if err != nil {
		return err
	}
	s.broker, err = stompbroker.Start(cfg.StompAddr, cfg.Logger.With("service", "stomp"))
	if err != nil {
		return err
	}
	s.StompURL = "stomp://" + s.broker.Addr()
	s.Revocation = config.Revocation{
		Realtime: config.Realtime{
			Enabled:               true,
			Topic:                 cfg.Topic,
			InitialContextFactory: config.DefaultInitialContext,
			ProviderURL:           s.StompURL,
		},
		Persistent: config.Persistent{
			Enabled:    true,
			UseDefault: true,
			Hostname:   s.EtcdEndpoint + "/v2/keys/" + KeyPrefix,
		},
	}
	s.revoker, err = tokenservice.FromConfig(s.Revocation, nil, cfg.Logger)
	if err != nil {
		return err
	}
	s.revoker.DefaultTTL = cfg.DefaultTTL
	if err := s.startStatusList(); err != nil {
		return err
	}
	return s.startTokenService()
}

func (s *Services) startTokenService() error {
	var cert tls.Certificate
	if s.cfg.CertFile != "" || s.cfg.KeyFile != "" {
		c, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
		if err != nil {
			return fmt.Errorf("token service certificate: %w", err)
		}
		cert = c
		s.CertFile = s.cfg.CertFile
	} else {
		c, certPEM, err := selfSignedCert(time.Now())
		if err != nil {
			return err
		}
		cert = c
		s.CertFile = filepath.Join(s.cfg.DataDir, "token-service.crt")
		if err := os.WriteFile(s.CertFile, certPEM, 0o644); err != nil {
			return fmt.Errorf("write token service certificate: %w", err)
		}
	}
	l, err := net.Listen("tcp", s.cfg.TokenServiceAddr)
	if err != nil {
		return fmt.Errorf("start token service: %w", err)
	}
	logger := s.cfg.Logger.With("service", "token")
	mux := http.NewServeMux()
	endpoint := tokenservice.Endpoint{Revoker: s.revoker, ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Logger: logger}
	mux.Handle(tokenservice.RevokePath, &tokenservice.Handler{Endpoint: endpoint})
	mux.Handle(tokenservice.RulesPath, &tokenservice.RulesHandler{Endpoint: endpoint})
	if s.list != nil {
		mux.Handle(tokenservice.TokenPath, &tokenservice.TokenHandler{Endpoint: endpoint, Signer: s.list.signer,
			Audience: s.cfg.Issuer.Audience, List: s.list.list})
		mux.Handle(tokenservice.StatusListPath, s.list.list)
	}
	mux.Handle(tokenservice.BlockPath, &tokenservice.BlockHandler{Endpoint: endpoint})
	mux.Handle(tokenservice.UnblockPath, &tokenservice.BlockHandler{Endpoint: endpoint, Lift: true})
	s.http = &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	s.httpErr = make(chan error, 1)
	go func() {
		if err := s.http.ServeTLS(l, "", ""); !errors.Is(err, http.ErrServerClosed) {
			s.httpErr <- err
		}
		close(s.httpErr)
	}()
	s.RevokeURL = "https://" + hostForURL(l.Addr().String()) + tokenservice.RevokePath
	s.RulesURL = "https://" + hostForURL(l.Addr().String()) + tokenservice.RulesPath
	if s.list != nil {
		s.TokenURL = "https://" + hostForURL(l.Addr().String()) + tokenservice.TokenPath
	}
	s.BlockURL = "https://" + hostForURL(l.Addr().String()) + tokenservice.BlockPath
	s.UnblockURL = "https://" + hostForURL(l.Addr().String()) + tokenservice.UnblockPath
	return nil
}

// hostForURL names a loopback listener as localhost, the name in the
// token service's certificate and in the seed's curl.
func hostForURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// Err reports a service that stopped on its own: etcd or the token service.
// It is nil while all run.
func (s *Services) Err() <-chan error {
	ch := make(chan error, 1)
	go func() {
		select {
		case err := <-s.etcd.Err():
			ch <- fmt.Errorf("etcd: %w", err)
		case err, ok := <-s.httpErr:
			if ok {
				ch <- fmt.Errorf("token service: %w", err)
			}
		case err := <-s.list.errc():
			ch <- fmt.Errorf("status list: %w", err)
		case <-s.done:
		}
	}()
	return ch
}

// Close stops the token service (letting requests in flight finish), the
// broker and etcd, in that order. It may be called more than once.
func (s *Services) Close() {
	s.close.Do(s.stop)
}

func (s *Services) stop() {
	close(s.done)
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.http.Shutdown(ctx)
		cancel()
	}
	if s.revoker != nil {
		s.revoker.Close()
	}
	s.list.close()
	if s.broker != nil {
		_ = s.broker.Close()
	}
	if s.etcd != nil {
		s.etcd.Close()
	}
}

// ConfSnippet is what a gateway's micro-gw.conf needs to use these services.
func (s *Services) ConfSnippet() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[tokenRevocationConfig.realtime]\n")
	fmt.Fprintf(&b, "enableRealtimeMessageRetrieval = true\n")
	fmt.Fprintf(&b, "jmsConnectionTopic = %q\n", s.Revocation.Realtime.Topic)
	fmt.Fprintf(&b, "jmsConnectionProviderUrl = %q\n", s.Revocation.Realtime.ProviderURL)
	fmt.Fprintf(&b, "\n[tokenRevocationConfig.persistent]\n")
	fmt.Fprintf(&b, "enablePersistentStorageRetrieval = true\n")
	fmt.Fprintf(&b, "useDefault = true\n")
	fmt.Fprintf(&b, "hostname = %q\n", s.Revocation.Persistent.Hostname)
	fmt.Fprintf(&b, "username = \"\"   # the embedded etcd has no authentication\n")
	fmt.Fprintf(&b, "password = \"\"\n")
	if s.StatusListURL != "" {
		fmt.Fprintf(&b, "\n[statusList]   # the tokens of %s name entries of %s\n", s.TokenURL, s.StatusListURL)
		fmt.Fprintf(&b, "enabled = true\n")
		fmt.Fprintf(&b, "allowedHosts = [%q]\n", s.list.host)
	}
	return b.String()
}
