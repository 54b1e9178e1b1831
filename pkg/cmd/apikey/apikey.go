// Package apikey is the `micro-gw apikey` command group: development API
// keys.
package apikey

import (
	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/apikey/issue"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
)

// NewCmdAPIKey returns `micro-gw apikey`; runF, when not nil, replaces the
// run logic of `apikey issue` (tests).
func NewCmdAPIKey(f *factory.Factory, runF func(*issue.IssueOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey <command>",
		Short: "Issue development API keys",
		Long: "Development API keys are WSO2 3.1 API keys: JWTs signed with a project's development\n" +
			"issuer key (security/issuer.key), trusted by the [[apiKeyConfig]] of the project's conf.\n" +
			"Production keys come from a real key manager.",
	}
	cmd.AddCommand(issue.NewCmdIssue(f, runF))
	return cmd
}
