package sides

import (
	"context"
	"io"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// Run calls send with the Revoker of the flags (relative to getwd, notes to
// errOut) and ctx, which SIGINT and SIGTERM cancel, and closes the Revoker
// when send returns.
func (f *Flags) Run(ctx context.Context, getwd func() (string, error), errOut io.Writer, send func(context.Context, *tokenservice.Revoker) error) error {
	ctx, stop := factory.UntilSignal(ctx)
	defer stop()
	rev, err := f.revoker(getwd, errOut)
	if err != nil {
		return err
	}
	defer rev.Close()
	return send(ctx, rev)
}
