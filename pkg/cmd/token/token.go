// Package token is the `micro-gw token` command group: development tokens.
package token

import (
	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/cmd/token/issue"
)

// NewCmdToken returns `micro-gw token`; runF, when not nil, replaces the run
// logic of `token issue` (tests).
func NewCmdToken(f *factory.Factory, runF func(*issue.IssueOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token <command>",
		Short: "Issue development access tokens",
		Long: "Development access tokens are JWTs signed with a project's development issuer key\n" +
			"(security/issuer.key, made by `micro-gw init`), which the project's default\n" +
			"configuration trusts. Production tokens come from a real token service.",
	}
	cmd.AddCommand(issue.NewCmdIssue(f, runF))
	return cmd
}
