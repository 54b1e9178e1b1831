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
			_, err := fmt.Fprintf(f.Out, "micro-gw version %s (%s, %s/%s)\n",
				f.Version, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
			return err
		},
	}
}
