// Package factory carries what every micro-gw command depends on, so that a
// command can be run from a test with buffers instead of a terminal, in the
// manner of the GitHub CLI's cmdutil.Factory.
package factory

import (
	"io"
	"os"
	"strconv"
)

// Factory is passed to every command constructor.
type Factory struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Getwd is the working directory against which project paths are taken.
	Getwd func() (string, error)
	// Getenv reads the environment (tests pass a map).
	Getenv func(string) string
	// Version is the toolkit's version, printed by `micro-gw version` and
	// written into built gateways.
	Version string
}

// New returns the factory of a real process.
func New(version string) *Factory {
	return &Factory{
		In:      os.Stdin,
		Out:     os.Stdout,
		ErrOut:  os.Stderr,
		Getwd:   os.Getwd,
		Getenv:  os.Getenv,
		Version: version,
	}
}

// ExitError carries a command's exit code; the root command turns it into the
// process's exit status after printing Err (when non-nil) to ErrOut.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return "exit status " + strconv.Itoa(e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }
