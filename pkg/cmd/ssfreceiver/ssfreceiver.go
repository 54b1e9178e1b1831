// Package ssfreceiver is `micro-gw ssf-receiver`: a Shared Signals (SSF
// 1.0) receiver that turns CAEP and RISC events into revocation rules,
// sent as `micro-gw revoke` sends them (docs/revocation.md, "Shared
// Signals").
package ssfreceiver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/ssf"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// Options are the inputs of `micro-gw ssf-receiver`.
type Options struct {
	Out    io.Writer
	ErrOut io.Writer
	Getwd  func() (string, error)

	ConfigFile string   // --config
	Overrides  []string // -e KEY=VALUE
	LogLevel   string

	// started, when set, is called once the receiver is set up (tests);
	// pushAddr is the push listener's address ("" for poll).
	started func(pushAddr string)
}

// NewCmdSSFReceiver returns `micro-gw ssf-receiver`; runF, when not nil,
// replaces run (tests of flag parsing).
func NewCmdSSFReceiver(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Out: f.Out, ErrOut: f.ErrOut, Getwd: f.Getwd}
	cmd := &cobra.Command{
		Use:   "ssf-receiver --config FILE",
		Short: "Receive Shared Signals (CAEP, RISC) events and revoke the tokens they name",
		Long: "Run a Shared Signals Framework 1.0 receiver configured by [ssfReceiver] of FILE (a micro-gw.conf):\n" +
			"read the transmitter's configuration, create its stream (or reuse the one kept in\n" +
			"ssf-receiver.state.json beside FILE) and ask for a verification event; then take Security\n" +
			"Event Tokens by poll (RFC 8936) or push (RFC 8935, HTTPS on pushListen with the conf's\n" +
			"certFile/keyFile), verify each against the transmitter's jwks_uri, iss and aud, and turn\n" +
			"session-revoked, credential-change, account-disabled, account-purged and\n" +
			"credential-compromise into a revocation rule for the event's subject (sub or email), sent\n" +
			"as `micro-gw revoke` sends it with the same FILE: to the broker topic and into etcd. An event\n" +
			"is acknowledged only once both have it. Runs until Ctrl-C or SIGTERM.",
		Example: "  micro-gw ssf-receiver --config petstore/conf/micro-gw.conf",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.ConfigFile == "" {
				return errors.New("--config is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.ConfigFile, "config", "", "the micro-gw.conf with [ssfReceiver] and the revocation settings")
	fl.StringArrayVarP(&opts.Overrides, "override", "e", nil, "override a conf key, KEY=VALUE (repeatable)")
	fl.StringVar(&opts.LogLevel, "log-level", "INFO", "DEBUG, INFO, WARN or ERROR")
	return cmd
}

// setupRetry is how long a failed set-up (the transmitter down) waits.
const setupRetry = 5 * time.Second

func run(ctx context.Context, opts *Options) error {
	ctx, stop := factory.UntilSignal(ctx)
	defer stop()
	file, err := factory.Abs(opts.Getwd, opts.ConfigFile)
	if err != nil {
		return err
	}
	cfg, err := config.Load(file, opts.Overrides)
	if err != nil {
		return err
	}
	logger, err := factory.Logger(opts.ErrOut, opts.LogLevel)
	if err != nil {
		return err
	}
	s := cfg.SSF
	for key, v := range map[string]string{"ssfReceiver.transmitter": s.Transmitter, "ssfReceiver.audience": s.Audience} {
		if v == "" {
			return cfg.Fault(key, errors.New("is required by micro-gw ssf-receiver"))
		}
	}
	if s.Delivery == "push" && s.PushEndpointURL == "" {
		return cfg.Fault("ssfReceiver.pushEndpointUrl", errors.New("is required with delivery = \"push\""))
	}
	tlsConf, err := tokenservice.TLSConfig(cfg.Listener.TrustStorePath, cfg.Listener.TrustStorePassword)
	if err != nil {
		return err
	}
	rev, err := tokenservice.FromConfig(cfg.Revocation, tlsConf, logger)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.ConfigFile, err)
	}
	defer rev.Close()
	state, err := ssf.LoadState(filepath.Join(filepath.Dir(file), ssf.StateFileName))
	if err != nil {
		return err
	}
	var issuers []string
	for _, j := range cfg.JWT {
		issuers = append(issuers, j.Issuer)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment}}
	r, err := ssf.NewReceiver(ssf.Config{SSF: s, Issuers: issuers, State: state, HTTP: client, Revoker: rev,
		Logger: logger.With("transmitter", s.Transmitter)})
	if err != nil {
		return err
	}

	pushAddr := ""
	errc := make(chan error, 1)
	if s.Delivery == "push" {
		cert, err := tls.LoadX509KeyPair(cfg.Listener.CertFile, cfg.Listener.KeyFile)
		if err != nil {
			return cfg.Fault("listenerConfig.certFile", fmt.Errorf("the push endpoint's TLS pair: %w", err))
		}
		l, err := net.Listen("tcp", s.PushListen)
		if err != nil {
			return cfg.Fault("ssfReceiver.pushListen", err)
		}
		pushAddr = l.Addr().String()
		mux := http.NewServeMux()
		mux.Handle(ssf.PushPath, r)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			ErrorLog:  slog.NewLogLogger(logger.Handler(), slog.LevelDebug)}
		go func() {
			if err := srv.ServeTLS(l, "", ""); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		logger.Info("push endpoint listening", "addr", pushAddr, "path", ssf.PushPath)
	}
	for {
		err := r.Setup(ctx)
		if err == nil {
			break
		}
		logger.Warn("cannot set up the stream; retrying", "error", err, "retry_in", setupRetry)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(setupRetry):
		}
	}
	fmt.Fprintf(opts.Out, "micro-gw ssf-receiver: receiving from %s by %s (Ctrl-C stops)\n", s.Transmitter, s.Delivery)
	if opts.started != nil {
		opts.started(pushAddr)
	}
	if s.Delivery == "poll" {
		go func() { errc <- r.RunPoll(ctx) }()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		if err != nil {
			return &factory.ExitError{Code: 1, Err: err}
		}
		return nil
	}
}
