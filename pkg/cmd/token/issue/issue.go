// Package issue is `micro-gw token issue`: print a development access token
// signed with a project's issuer key.
package issue

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/credential"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// IssueOptions are the inputs of `micro-gw token issue`.
type IssueOptions struct {
	credential.Options        // NAME, --ttl, --sub, --jti, --keytype
	Scopes             string // --scope, space separated
	Audience           string // --aud; empty: the conf's
	Issuer             string // --iss; empty: the conf's
	// StatusURI and StatusIdx (--status-uri, --status-idx) give the token
	// a status claim naming that entry of a Token Status List.
	StatusURI string
	StatusIdx int64
}

// NewCmdIssue returns `micro-gw token issue`; runF, when not nil, replaces
// issueRun (tests of flag parsing).
func NewCmdIssue(f *factory.Factory, runF func(*IssueOptions) error) *cobra.Command {
	opts := &IssueOptions{Options: credential.New(f)}
	cmd := &cobra.Command{
		Use:   "issue NAME",
		Short: "Print a development access token for a project",
		Long: "Print a JWT signed with the development issuer key of project NAME\n" +
			"(NAME/security/issuer.key), RS256 with kid \"" + project.IssuerAlias + "\", carrying the claims\n" +
			"sub, aud, iss, iat, nbf, exp, jti, scope and keytype. The issuer and audience are those of\n" +
			"the [[jwtTokenConfig]] with certificateAlias \"" + project.IssuerAlias + "\" in NAME/conf/micro-gw.conf,\n" +
			"so the project's gateway accepts the token. Only the token is printed, so that\n" +
			"TOKEN=$(micro-gw token issue NAME) works.",
		Example: "  TOKEN=$(micro-gw token issue petstore)\n" +
			"  micro-gw token issue petstore --sub alice --scope \"read:pets write:pets\" --ttl 10m\n" +
			"  micro-gw token issue petstore --jti my-token-1 --keytype SANDBOX",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Project = args[0]
			if err := opts.Check(); err != nil {
				return err
			}
			if (opts.StatusURI == "") != !cmd.Flags().Changed("status-idx") || opts.StatusIdx < 0 {
				return errors.New("--status-uri and --status-idx go together, the index 0 or more")
			}
			if runF != nil {
				return runF(opts)
			}
			return issueRun(opts)
		},
	}
	fl := cmd.Flags()
	opts.AddFlags(fl, "token", issuer.DefaultTTL, "the token's subject (sub claim)")
	fl.StringVar(&opts.Scopes, "scope", "", "space separated scopes (scope claim)")
	fl.StringVar(&opts.Audience, "aud", "", "the audience (default: the conf's, else "+issuer.DefaultAudience+")")
	fl.StringVar(&opts.Issuer, "iss", "", "the issuer (default: the conf's, else "+issuer.DefaultIssuer+")")
	fl.StringVar(&opts.StatusURI, "status-uri", "", "a status claim naming entry --status-idx of the Token Status List at this URL")
	fl.Int64Var(&opts.StatusIdx, "status-idx", 0, "the entry of --status-uri's list that holds the token's status")
	return cmd
}

func issueRun(opts *IssueOptions) error {
	p, key, err := opts.Open()
	if err != nil {
		return err
	}
	iss, aud, err := tokenservice.ProjectIssuer(p)
	if err != nil {
		return err
	}
	if opts.Issuer != "" {
		iss = opts.Issuer
	}
	if opts.Audience != "" {
		aud = opts.Audience
	}
	claims := issuer.Claims{
		Issuer:   iss,
		Audience: []string{aud},
		Scopes:   strings.Fields(opts.Scopes),
	}
	if opts.StatusURI != "" {
		claims.Extra = map[string]any{"status": map[string]any{"status_list": map[string]any{"idx": opts.StatusIdx, "uri": opts.StatusURI}}}
	}
	return opts.Print(key, claims)
}
