// Package sides is what the commands that reach every gateway through the
// token service's sides (the broker topic and etcd of a gateway's
// micro-gw.conf) share: `micro-gw revoke`, `block` and `unblock`. They take
// the same flags, make the same tokenservice.Revoker and report a result the
// same way, so that a user meets one behaviour (docs/revocation.md).
package sides

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// Flags are the inputs that say which sides a command sends to.
type Flags struct {
	ConfigFile string   // --config
	Overrides  []string // -e KEY=VALUE
	// Timeout bounds each side's attempt.
	Timeout time.Duration
}

// Add binds --config, -e/--override and --timeout to fl.
func (f *Flags) Add(fl *pflag.FlagSet) {
	fl.StringVar(&f.ConfigFile, "config", "", "the gateway's micro-gw.conf")
	fl.StringArrayVarP(&f.Overrides, "override", "e", nil, "override one configuration key, `KEY=VALUE` (as for the gateway; repeatable)")
	fl.DurationVar(&f.Timeout, "timeout", tokenservice.DefaultSideTimeout, "how long to try each of the broker and etcd")
}

// Check refuses flags that name no conf.
func (f *Flags) Check() error {
	if f.ConfigFile == "" {
		return errors.New("--config is required")
	}
	return nil
}

// revoker is the Revoker of the conf the flags name (relative to getwd),
// each side's attempt bounded by --timeout, its notes (a side left out)
// printed to errOut. The caller closes it.
func (f *Flags) revoker(getwd func() (string, error), errOut io.Writer) (*tokenservice.Revoker, error) {
	file, err := factory.Abs(getwd, f.ConfigFile)
	if err != nil {
		return nil, err
	}
	rev, err := tokenservice.LoadRevoker(file, f.ConfigFile, f.Overrides, errOut)
	if err != nil {
		return nil, err
	}
	rev.SideTimeout = f.Timeout
	for _, n := range rev.Notes {
		fmt.Fprintln(errOut, "note:", n)
	}
	return rev, nil
}

// Report prints the line of each side that did its part (done) to out and
// returns err as the command's error: an *tokenservice.InvalidTokenError as
// it is (nothing was sent), any other failure as exit status 1, saying that
// what (e.g. "revocation of jti X") is incomplete and why, one side a line.
func Report(out io.Writer, done []string, err error, what string) error {
	for _, line := range done {
		fmt.Fprintln(out, line)
	}
	if err == nil {
		return nil
	}
	var invalid *tokenservice.InvalidTokenError
	if errors.As(err, &invalid) {
		return err
	}
	return &factory.ExitError{Code: 1, Err: fmt.Errorf("%s incomplete:\n  %s", what, strings.ReplaceAll(err.Error(), "\n", "\n  "))}
}
