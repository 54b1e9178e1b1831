// Package execute runs a cobra command as a process: exit codes, errors
// printed once, usage errors. It is apart from package root so that the
// gateway launcher shares it without linking every micro-gw subcommand.
package execute

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
)

// Exit codes of micro-gw and gateway.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

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

// UsageErrorf makes a usage error: Execute prints it with a hint at --help
// and exits 2.
func UsageErrorf(format string, a ...any) error {
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

// markUsageErrors makes flag and argument errors of cmd and every
// subcommand usage errors, so that Execute exits 2 for them whoever wrote
// the subcommand. Args already wrapped are not wrapped twice: the wrapped
// error is a usageError already.
func markUsageErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err: err} })
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return &usageError{err: err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		markUsageErrors(sub)
	}
}
