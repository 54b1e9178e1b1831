package root

import (
	"fmt"
	goruntime "runtime"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
)

func newCmdVersion(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of micro-gw",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(f.Out, versionLine(f))
			return err
		},
	}
}

// versionLine is what both `micro-gw version` and `micro-gw --version` print.
func versionLine(f *factory.Factory) string {
	return fmt.Sprintf("micro-gw version %s (%s, %s/%s)", f.Version, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
}
