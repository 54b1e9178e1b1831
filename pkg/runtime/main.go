package runtime

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// drainTimeout bounds how long a SIGTERM waits for in-flight requests.
const drainTimeout = 30 * time.Second

// Main is the whole life of a built gateway: it parses args (--config FILE,
// -e KEY=VALUE..., --version, --print-config), loads the configuration (the file, the MGW_
// environment variables, -e), starts the server and runs it until SIGINT or
// SIGTERM, then drains in-flight requests. It returns the process's exit
// status. The generated main package calls
// os.Exit(runtime.Main(spec, os.Args[1:])).
func Main(spec Spec, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return run(ctx, spec, args, os.Stdout, os.Stderr)
}

// mainFlags are the parsed command-line flags of a gateway.
type mainFlags struct {
	config      string
	overrides   []string
	version     bool
	printConfig bool
}

func parseFlags(args []string, stderr io.Writer) (mainFlags, error) {
	var f mainFlags
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "the micro-gw.conf to read (default: ../conf/micro-gw.conf next to the executable)")
	override := func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", s)
		}
		// The original's b7a.log.level is the same key as log.level; given
		// on the command line it must win over either name in the file.
		if strings.TrimSpace(k) == "b7a.log.level" {
			s = "log.level=" + v
		}
		f.overrides = append(f.overrides, s)
		return nil
	}
	// -e and --override, as the gateway launcher and micro-gw revoke name it.
	fs.Func("e", "override one configuration key, `KEY=VALUE` (repeatable; b7a.log.level=TRACE sets the log level)", override)
	fs.Func("override", "the same as -e", override)
	fs.BoolVar(&f.version, "version", false, "print the gateway's version and exit")
	fs.BoolVar(&f.printConfig, "print-config", false, "print the configuration in effect and where each value came from (secrets masked), and exit")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

// defaultConfigFile is ../conf/micro-gw.conf relative to the executable's
// folder: NAME/target/NAME -> NAME/conf/micro-gw.conf.
func defaultConfigFile() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locate the executable: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return filepath.Join(filepath.Dir(exe), "..", "conf", "micro-gw.conf"), nil
}

// run is Main until ctx is done (a signal), then the drain.
func run(ctx context.Context, spec Spec, args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	if f.version {
		fmt.Fprintf(stdout, "%s (micro-gw %s)\n", spec.Name, spec.Version)
		return 0
	}
	if f.config == "" {
		if f.config, err = defaultConfigFile(); err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
	}
	// A feature that takes -e keys of its own (not configuration paths)
	// adds its config.OverrideClaim to Claims here. The APIs' base paths are
	// the entries of [apiEndpoints] that an MGW_ variable may set.
	endpoints := &EndpointOverrides{}
	cfg, err := config.LoadSources(config.Sources{File: f.config, Env: os.Environ(), Overrides: f.overrides,
		Keys:   config.APIEndpointsKeys(spec.basePaths()),
		Claims: []config.OverrideClaim{endpoints.Claim(spec)}})
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	if f.printConfig {
		if err := cfg.Print(stdout); err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
		return 0
	}
	logger := NewLogger(stderr, cfg.SlogLevel())
	for _, w := range cfg.Warnings {
		logger.Warn(w.Error())
	}

	srv, err := New(spec, cfg, Options{Logger: logger, Registry: revocation.DefaultRegistry, Endpoints: endpoints})
	if err != nil {
		// A fault of the conf found here (an alias missing from the trust
		// store, say) reads like one the loader found.
		if confErr := (*config.Error)(nil); errors.As(err, &confErr) {
			fmt.Fprintln(stderr, "error:", err)
		} else {
			logger.Error("the gateway cannot start", "err", err)
		}
		return 1
	}
	if err := srv.Start(ctx); err != nil {
		logger.Error("the gateway cannot start", "err", err)
		shutdown(srv, logger)
		return 1
	}
	select {
	case <-ctx.Done():
		logger.Info("signal received, draining in-flight requests", "within", drainTimeout)
	case err := <-srv.Done():
		logger.Error("the gateway cannot go on", "err", err)
		shutdown(srv, logger)
		return 1
	}
	// Asked to stop, it has stopped: a drain that ran out of time cut the
	// last connections and is logged, but the exit is still 0.
	shutdown(srv, logger)
	return 0
}

// shutdown drains srv within drainTimeout. A drain that ran out of time is
// logged and nothing more: the exit status says why the gateway stopped
// (asked to, or a fault), not how cleanly.
func shutdown(srv *Server, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Warn("shutdown did not complete cleanly", "err", err)
		return
	}
	logger.Info("the gateway has stopped")
}
