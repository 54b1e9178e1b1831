package root

import (
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/cmd/root/execute"
)

// Exit codes of micro-gw.
const (
	ExitOK      = execute.ExitOK
	ExitFailure = execute.ExitFailure
	ExitUsage   = execute.ExitUsage
)

// Main runs micro-gw with the process's arguments and returns its exit code.
func Main() int {
	f := factory.New(Version())
	return Run(f, nil)
}

// Run executes the root command with args (the process's arguments when
// nil) and returns the exit code (see execute.Execute).
func Run(f *factory.Factory, args []string) int {
	return execute.Execute(f, NewCmdRoot(f), args)
}

// Version is the toolkit's version (see execute.Version).
func Version() string { return execute.Version() }
