// Package launcher is the `gateway` command (docs/runtime.md): it finds
// the configuration of a built gateway executable and replaces itself with
// that executable, so that signals reach the gateway directly.
package launcher

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/cmd/root/execute"
	"github.com/micro-gw/micro-gw/pkg/project"
)

// Options are the inputs of `gateway`.
type Options struct {
	ErrOut io.Writer
	Getwd  func() (string, error)
	// Environ is the environment the gateway gets.
	Environ func() []string
	// Exec replaces the process (syscall.Exec); it returns only on failure.
	Exec func(argv0 string, argv, envv []string) error

	// Config is --config: the micro-gw.conf to use.
	Config string
	// Overrides are the -e KEY=VALUE flags, passed on in order.
	Overrides []string
	// PrintConfig is --print-config: the gateway prints the configuration
	// in effect and exits.
	PrintConfig bool
	// Executable is the gateway executable, as typed.
	Executable string
}

// Main runs `gateway` with the process's arguments and returns the exit code
// of a failure to start; on success the process has become the gateway.
func Main() int {
	f := factory.New(execute.Version())
	return execute.Execute(f, NewCmdGateway(f, nil), nil)
}

// NewCmdGateway returns the `gateway` command; runF replaces the run in tests.
func NewCmdGateway(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{ErrOut: f.ErrOut, Getwd: f.Getwd, Environ: os.Environ, Exec: syscall.Exec}
	cmd := &cobra.Command{
		Use:   "gateway [--config FILE] [-e KEY=VALUE]... [--print-config] EXECUTABLE",
		Short: "Run a gateway built by micro-gw build",
		Long: "gateway runs EXECUTABLE (NAME/target/NAME) with the configuration of its project,\n" +
			"NAME/" + project.ConfFile + ", unless --config says otherwise. MGW_ environment variables\n" +
			"and -e override single configuration keys (dotted TOML path, over the variables);\n" +
			"-e b7a.log.level=TRACE sets the log level. --print-config prints the configuration in\n" +
			"effect, where each value came from (secrets masked), and starts nothing.\n\n" +
			"Shell completion: gateway completion bash|zsh|fish|powershell (see docs/runtime.md).",
		Example: "  gateway petstore/target/petstore\n" +
			"  gateway -e listenerConfig.httpPort=9190 -e b7a.log.level=DEBUG petstore/target/petstore\n" +
			"  MGW_LISTENERCONFIG_HTTPPORT=9190 gateway --print-config petstore/target/petstore",
		Args:                  cobra.ExactArgs(1),
		Version:               f.Version,
		DisableFlagsInUseLine: true,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Executable = args[0]
			if runF != nil {
				return runF(opts)
			}
			return gatewayRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Config, "config", "", "the micro-gw.conf `FILE` (default: NAME/"+project.ConfFile+" of the executable's project)")
	cmd.Flags().StringArrayVarP(&opts.Overrides, "override", "e", nil, "override a configuration key, `KEY=VALUE` (repeatable)")
	cmd.Flags().BoolVar(&opts.PrintConfig, "print-config", false, "print the configuration in effect and where each value came from (secrets masked), and exit")
	return cmd
}

// InvalidExecutableError is an EXECUTABLE that is missing, not a file or
// not executable. Its message is the original's.
type InvalidExecutableError struct {
	Path   string
	Reason string
}

func (e *InvalidExecutableError) Error() string {
	return fmt.Sprintf("Path to executable %s is invalid: %s.", e.Path, e.Reason)
}

func gatewayRun(opts *Options) error {
	exe, conf, err := resolve(opts)
	if err != nil {
		return err
	}
	argv := []string{exe, "--config", conf}
	for _, kv := range opts.Overrides {
		argv = append(argv, "-e", kv)
	}
	if opts.PrintConfig {
		argv = append(argv, "--print-config")
	}
	if err := opts.Exec(exe, argv, opts.Environ()); err != nil {
		return fmt.Errorf("start %s: %w", exe, err)
	}
	return nil
}

// resolve returns the absolute paths of the executable and of its
// configuration: --config, else conf/micro-gw.conf of the project whose
// target/ holds the executable.
func resolve(opts *Options) (exe, conf string, err error) {
	wd, err := opts.Getwd()
	if err != nil {
		return "", "", fmt.Errorf("find working directory: %w", err)
	}
	exe = absolute(wd, opts.Executable)
	info, err := os.Stat(exe)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "", &InvalidExecutableError{Path: opts.Executable, Reason: "no such file"}
	case err != nil:
		return "", "", &InvalidExecutableError{Path: opts.Executable, Reason: err.Error()}
	case info.IsDir():
		return "", "", &InvalidExecutableError{Path: opts.Executable, Reason: "it is a folder; give NAME/target/NAME"}
	case !info.Mode().IsRegular():
		return "", "", &InvalidExecutableError{Path: opts.Executable, Reason: "not a regular file"}
	case info.Mode().Perm()&0o111 == 0:
		return "", "", &InvalidExecutableError{Path: opts.Executable, Reason: "not executable"}
	}

	if opts.Config != "" {
		conf = absolute(wd, opts.Config)
	} else {
		conf = project.Project{Root: filepath.Dir(filepath.Dir(exe))}.Path(project.ConfFile)
	}
	if info, err := os.Stat(conf); err != nil || info.IsDir() {
		hint := ""
		if opts.Config == "" {
			hint = "; give one with --config"
		}
		return "", "", fmt.Errorf("configuration file %s does not exist%s", conf, hint)
	}
	return exe, conf, nil
}

func absolute(wd, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(wd, p)
}
