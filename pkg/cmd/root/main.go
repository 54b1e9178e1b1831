package root

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
)

// Exit codes of micro-gw.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Main runs micro-gw with the process's arguments and returns its exit code.
func Main() int {
	f := factory.New(Version())
	return Run(f, nil)
}

// Run executes the root command with args (the process's arguments when
// nil) and returns the exit code.
func Run(f *factory.Factory, args []string) int {
	return Execute(f, NewCmdRoot(f), args)
}

// Execute runs cmd with args (the process's arguments when nil) and maps
// the outcome to an exit code: 0, 1 for a failure, 2 for a usage error (a bad
// flag or argument of cmd or any subcommand), or the code of a
// factory.ExitError. The error is printed once, here, to f.ErrOut. The
// gateway launcher uses it too.
func Execute(f *factory.Factory, cmd *cobra.Command, args []string) int {
	markUsageErrors(cmd)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetIn(f.In)
	cmd.SetOut(f.Out)
	cmd.SetErr(f.ErrOut)
	if args != nil {
		cmd.SetArgs(args)
	}
	executed, err := cmd.ExecuteC()
	if err == nil {
		return ExitOK
	}
	var exitErr *factory.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.Err != nil {
			fmt.Fprintln(f.ErrOut, exitErr.Err)
		}
		return exitErr.Code
	}
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintln(f.ErrOut, usage.err)
		fmt.Fprintf(f.ErrOut, "Run '%s --help' for usage.\n", executed.CommandPath())
		return ExitUsage
	}
	fmt.Fprintln(f.ErrOut, err)
	return ExitFailure
}

// usageError is a mistake in the command line: exit 2 and a hint at --help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &usageError{err: fmt.Errorf(format, a...)}
}

// Version is the toolkit's version: the module version it was built as, or
// "devel" for a build from a checkout.
func Version() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			return v
		}
	}
	return "devel"
}
