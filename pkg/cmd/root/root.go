// Package root is the `micro-gw` command: it puts the subcommands together and
// turns their errors into the process's exit code.
package root

import (
	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/apikey"
	"github.com/micro-gw/micro-gw/pkg/cmd/block"
	"github.com/micro-gw/micro-gw/pkg/cmd/build"
	"github.com/micro-gw/micro-gw/pkg/cmd/dev"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/cmd/hashpassword"
	"github.com/micro-gw/micro-gw/pkg/cmd/initcmd"
	"github.com/micro-gw/micro-gw/pkg/cmd/revoke"
	"github.com/micro-gw/micro-gw/pkg/cmd/root/execute"
	"github.com/micro-gw/micro-gw/pkg/cmd/ssfreceiver"
	"github.com/micro-gw/micro-gw/pkg/cmd/token"
)

// NewCmdRoot returns the `micro-gw` command with every subcommand attached.
func NewCmdRoot(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "micro-gw <command>",
		Short: "Build API gateways from OpenAPI definitions",
		Long: "micro-gw turns a project of OpenAPI definitions, a configuration and Go extensions\n" +
			"into a self-contained API gateway executable.",
		Example: "  micro-gw init petstore -a samples/petstore_basic.yaml\n" +
			"  micro-gw build petstore\n" +
			"  gateway petstore/target/petstore",
		SilenceErrors: true,
		SilenceUsage:  true,
		// Without Args and RunE cobra prints the help for an unknown command
		// and exits 0; an unknown command is a usage error (exit 2).
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return execute.UsageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	// `micro-gw completion bash|zsh|fish|powershell`: cobra's own, listed.
	// --version as well as the version command: the gateway has --version,
	// and users try one where they know the other.
	cmd.Version = f.Version
	cmd.SetVersionTemplate(versionLine(f) + "\n")

	// The subcommands. Add a new one here: its package provides
	// NewCmdX(f, nil) returning a *cobra.Command.
	cmd.AddCommand(
		initcmd.NewCmdInit(f, nil),
		build.NewCmdBuild(f, nil),
		token.NewCmdToken(f, nil),
		apikey.NewCmdAPIKey(f, nil),
		hashpassword.NewCmdHashPassword(f, nil),
		revoke.NewCmdRevoke(f, nil),
		block.NewCmdBlock(f, nil),
		block.NewCmdUnblock(f, nil),
		dev.NewCmdDev(f, nil),
		ssfreceiver.NewCmdSSFReceiver(f, nil),
		newCmdVersion(f),
	)

	return cmd
}
