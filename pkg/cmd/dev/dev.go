// Package dev is `micro-gw dev`: an embedded etcd, STOMP broker and RFC 7009
// token service in one process, for trying token revocation on one machine.
package dev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/devservices"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// DevOptions are the inputs of `micro-gw dev`.
type DevOptions struct {
	Out    io.Writer
	ErrOut io.Writer
	Getwd  func() (string, error)
	Getenv func(string) string

	// Config is what the flags set of the services' configuration: the
	// addresses, the client credentials, --default-ttl, and DataDir (--data;
	// empty: DefaultDataDir; relative: to the working directory).
	devservices.Config
	Project  string // --project: serve with the project's TLS pair, issue tokens with its key
	LogLevel string

	// started, when set, is called with the running services (tests).
	started func(*devservices.Services)
}

// NewCmdDev returns `micro-gw dev`; runF, when not nil, replaces devRun
// (tests of flag parsing).
func NewCmdDev(f *factory.Factory, runF func(*DevOptions) error) *cobra.Command {
	opts := &DevOptions{Out: f.Out, ErrOut: f.ErrOut, Getwd: f.Getwd, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run an embedded etcd, STOMP broker and token service for development",
		Long: "Run in one process, until Ctrl-C or SIGTERM:\n" +
			"  - an embedded etcd (the persistent revocation store), without authentication, with its\n" +
			"    data under --data so that revocations survive a restart;\n" +
			"  - an embedded STOMP 1.2 broker (the real-time revocation topic), accepting any login;\n" +
			"  - a token service over HTTPS whose POST /revoke (RFC 7009) takes token=<jti or JWT>\n" +
			"    with the client credentials --client-id/--client-secret in HTTP Basic, and revokes\n" +
			"    exactly as `micro-gw revoke` does: published to the topic, stored in etcd with a lease.\n" +
			"It prints the configuration that points a gateway at them. Everything listens on loopback\n" +
			"by default; this is for development, production uses real services.",
		Example: "  micro-gw dev\n" +
			"  micro-gw dev --data /tmp/mgw-dev --project petstore\n" +
			"  curl -k -u admin:admin -d \"token=$JTI\" https://localhost:8243/revoke",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.DefaultTTL < time.Second {
				return fmt.Errorf("--default-ttl must be at least 1s, got %s", opts.DefaultTTL)
			}
			if opts.ClientID == "" {
				return errors.New("--client-id must not be empty")
			}
			if runF != nil {
				return runF(opts)
			}
			return devRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.DataDir, "data", "", "folder for etcd's data and the token service's certificate (default $XDG_DATA_HOME/micro-gw/dev, i.e. ~/.local/share/micro-gw/dev)")
	fl.StringVar(&opts.EtcdAddr, "etcd-addr", devservices.DefaultEtcdAddr, "etcd client address")
	fl.StringVar(&opts.EtcdPeerAddr, "etcd-peer-addr", devservices.DefaultEtcdPeerAddr, "etcd peer address (used by etcd alone)")
	fl.StringVar(&opts.StompAddr, "stomp-addr", devservices.DefaultStompAddr, "STOMP broker address")
	fl.StringVar(&opts.TokenServiceAddr, "token-service-addr", devservices.DefaultTokenServiceAddr, "token service (HTTPS) address")
	fl.StringVar(&opts.ClientID, "client-id", devservices.DefaultClientID, "client id the token service accepts (HTTP Basic)")
	fl.StringVar(&opts.ClientSecret, "client-secret", devservices.DefaultClientSecret, "client secret the token service accepts (HTTP Basic)")
	fl.StringVar(&opts.Project, "project", "", "serve the token service with this project's TLS pair (security/gateway.crt) instead of a self-signed one, and issue tokens (POST /token) with its development issuer key, each with an entry of a Token Status List that /revoke flips")
	fl.StringVar(&opts.StatusListAddr, "status-list-addr", devservices.DefaultStatusListAddr, "with --project: where the Token Status List is served (plain HTTP; gateways accept it from loopback only)")
	fl.DurationVar(&opts.DefaultTTL, "default-ttl", tokenservice.DefaultTTL, "how long the revocation of a bare jti holds")
	fl.StringVar(&opts.LogLevel, "log-level", "INFO", "DEBUG, INFO, WARN or ERROR")
	return cmd
}

// DefaultDataDir is $XDG_DATA_HOME/micro-gw/dev, or
// ~/.local/share/micro-gw/dev without XDG_DATA_HOME.
func DefaultDataDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "micro-gw", "dev"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("neither XDG_DATA_HOME nor HOME is set: give --data")
	}
	return filepath.Join(home, ".local", "share", "micro-gw", "dev"), nil
}

func devRun(ctx context.Context, opts *DevOptions) error {
	ctx, stop := factory.UntilSignal(ctx)
	defer stop()

	wd, err := opts.Getwd()
	if err != nil {
		return err
	}
	dataDir := opts.DataDir
	if dataDir == "" {
		if dataDir, err = DefaultDataDir(opts.Getenv); err != nil {
			return err
		}
	} else if !filepath.IsAbs(dataDir) {
		dataDir = filepath.Join(wd, dataDir)
	}
	logger, err := factory.Logger(opts.ErrOut, opts.LogLevel)
	if err != nil {
		return err
	}

	cfg := opts.Config
	cfg.DataDir, cfg.Logger = dataDir, logger
	if opts.Project != "" {
		p, key, err := issuer.ProjectKey(wd, opts.Project)
		if err != nil {
			return err
		}
		cfg.CertFile, cfg.KeyFile = p.Path(project.TLSCertFile), p.Path(project.TLSKeyFile)
		iss, aud, err := tokenservice.ProjectIssuer(p)
		if err != nil {
			return err
		}
		cfg.Issuer = &devservices.DevIssuer{Key: key, KeyID: project.IssuerAlias, Issuer: iss, Audience: aud}
	}
	svc, err := devservices.Start(ctx, cfg)
	if err != nil {
		return explainAddrInUse(err, opts)
	}
	printBanner(opts.Out, svc, opts)
	if opts.started != nil {
		opts.started(svc)
	}
	select {
	case <-ctx.Done():
		logger.Info("stopping")
	case err = <-svc.Err():
		logger.Error("a service stopped", "error", err)
	}
	svc.Close()
	fmt.Fprintln(opts.Out, "micro-gw dev: stopped")
	if err != nil {
		return &factory.ExitError{Code: 1, Err: err}
	}
	return nil
}

// explainAddrInUse says what to do when an address of micro-gw dev is taken,
// most often by another micro-gw dev: stop it, or move this one with the
// flag of that address.
func explainAddrInUse(err error, opts *DevOptions) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	flag := "--etcd-addr, --etcd-peer-addr, --stomp-addr, --token-service-addr or --status-list-addr"
	var op *net.OpError
	if errors.As(err, &op) && op.Addr != nil {
		for _, f := range []struct{ name, addr string }{
			{"--etcd-addr", opts.EtcdAddr}, {"--etcd-peer-addr", opts.EtcdPeerAddr},
			{"--stomp-addr", opts.StompAddr}, {"--token-service-addr", opts.TokenServiceAddr}, {"--status-list-addr", opts.StatusListAddr},
		} {
			if sameTCPAddr(op.Addr.String(), f.addr) {
				flag = f.name + " " + f.addr
			}
		}
	}
	return fmt.Errorf("%w\nanother `micro-gw dev` may be running (it holds its addresses until Ctrl-C): stop it, or move this one with %s", err, flag)
}

// sameTCPAddr reports whether the bound address a is the configured b
// (which may name localhost rather than 127.0.0.1).
func sameTCPAddr(a, b string) bool {
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || ap != bp {
		return false
	}
	if bh == "localhost" {
		bh = "127.0.0.1"
	}
	return ah == bh
}

func printBanner(w io.Writer, svc *devservices.Services, opts *DevOptions) {
	fmt.Fprintf(w, "micro-gw dev: development services are running (Ctrl-C stops them)\n")
	fmt.Fprintf(w, "  etcd           %s   (no authentication; data in %s)\n", svc.EtcdEndpoint, svc.EtcdDataDir)
	fmt.Fprintf(w, "  STOMP broker   %s   (any login; topic /topic/%s)\n", svc.StompURL, svc.Revocation.Realtime.Topic)
	fmt.Fprintf(w, "  token service  %s   (RFC 7009; client %s, secret %s; certificate %s)\n",
		svc.RevokeURL, opts.ClientID, maskSecret(opts.ClientSecret), svc.CertFile)
	fmt.Fprintf(w, "\nPoint a gateway at them in its conf/micro-gw.conf:\n\n")
	fmt.Fprint(w, indent(svc.ConfSnippet(), "    "))
	fmt.Fprintf(w, "\nRevoke a token (a jti or a whole JWT) as the seed's token service did:\n\n")
	fmt.Fprintf(w, "    curl -k -u %s:%s -d \"token=<jti>\" %s\n\n", opts.ClientID, maskSecret(opts.ClientSecret), svc.RevokeURL)
	fmt.Fprintf(w, "Revoke every token of a subject (or client=, issuer=) issued before now:\n\n")
	fmt.Fprintf(w, "    curl -k -u %s:%s -d \"subject=<sub>\" %s\n\n", opts.ClientID, maskSecret(opts.ClientSecret), svc.RulesURL)
	if svc.TokenURL != "" {
		fmt.Fprintf(w, "Issue a token whose status claim names an entry of the Token Status List at %s\n", svc.StatusListURL)
		fmt.Fprintf(w, "(revoking it with /revoke flips that entry too):\n\n")
		fmt.Fprintf(w, "    curl -k -u %s:%s -d grant_type=client_credentials -d sub=alice %s\n\n", opts.ClientID, maskSecret(opts.ClientSecret), svc.TokenURL)
	}
	fmt.Fprintf(w, "Block a client on every gateway (type= ip, iprange, application, user or api), and lift it:\n\n")
	fmt.Fprintf(w, "    curl -k -u %s:%s -d type=ip -d value=203.0.113.7 %s\n", opts.ClientID, maskSecret(opts.ClientSecret), svc.BlockURL)
	fmt.Fprintf(w, "    curl -k -u %s:%s -d type=ip -d value=203.0.113.7 %s\n\n", opts.ClientID, maskSecret(opts.ClientSecret), svc.UnblockURL)
}

// maskSecret shows the default secret (it is in the docs anyway) and hides
// any other.
func maskSecret(s string) string {
	if s == devservices.DefaultClientSecret {
		return s
	}
	return "<secret>"
}

func indent(s, prefix string) string {
	var out []byte
	start := true
	for i := 0; i < len(s); i++ {
		if start && s[i] != '\n' {
			out = append(out, prefix...)
		}
		out = append(out, s[i])
		start = s[i] == '\n'
	}
	return string(out)
}
