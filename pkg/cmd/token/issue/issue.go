// Package issue is `micro-gw token issue`: print a development access token
// signed with a project's issuer key.
package issue

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// IssueOptions are the inputs of `micro-gw token issue`.
type IssueOptions struct {
	Out    io.Writer
	ErrOut io.Writer
	Getwd  func() (string, error)
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	Project  string // the project folder (NAME)
	Subject  string // --sub
	Scopes   string // --scope, space separated
	TTL      time.Duration
	JTI      string // --jti; empty: a random UUID
	Audience string // --aud; empty: the conf's
	Issuer   string // --iss; empty: the conf's
	KeyType  string // --keytype
	// StatusURI and StatusIdx (--status-uri, --status-idx) give the token
	// a status claim naming that entry of a Token Status List.
	StatusURI string
	StatusIdx int64
}

// NewCmdIssue returns `micro-gw token issue`; runF, when not nil, replaces
// issueRun (tests of flag parsing).
func NewCmdIssue(f *factory.Factory, runF func(*IssueOptions) error) *cobra.Command {
	opts := &IssueOptions{Out: f.Out, ErrOut: f.ErrOut, Getwd: f.Getwd}
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
			if err := issuer.CheckFlags(opts.TTL, opts.KeyType); err != nil {
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
	fl.StringVar(&opts.Subject, "sub", issuer.DefaultSubject, "the token's subject (sub claim)")
	fl.StringVar(&opts.Scopes, "scope", "", "space separated scopes (scope claim)")
	fl.DurationVar(&opts.TTL, "ttl", issuer.DefaultTTL, "the token's lifetime (exp = now + ttl)")
	fl.StringVar(&opts.JTI, "jti", "", "the token's id, the key of its revocation (default a random UUID)")
	fl.StringVar(&opts.Audience, "aud", "", "the audience (default: the conf's, else "+issuer.DefaultAudience+")")
	fl.StringVar(&opts.Issuer, "iss", "", "the issuer (default: the conf's, else "+issuer.DefaultIssuer+")")
	fl.StringVar(&opts.KeyType, "keytype", issuer.DefaultKeyType, "PRODUCTION or SANDBOX: which endpoints the gateway sends the request to")
	fl.StringVar(&opts.StatusURI, "status-uri", "", "a status claim naming entry --status-idx of the Token Status List at this URL")
	fl.Int64Var(&opts.StatusIdx, "status-idx", 0, "the entry of --status-uri's list that holds the token's status")
	return cmd
}

func issueRun(opts *IssueOptions) error {
	wd, err := opts.Getwd()
	if err != nil {
		return err
	}
	p, key, err := issuer.ProjectKey(wd, opts.Project)
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
		Subject:  opts.Subject,
		Audience: []string{aud},
		Scopes:   strings.Fields(opts.Scopes),
		TTL:      opts.TTL,
		JTI:      opts.JTI,
		KeyType:  opts.KeyType,
	}
	if opts.Now != nil {
		claims.IssuedAt = opts.Now()
	}
	if opts.StatusURI != "" {
		claims.Extra = map[string]any{"status": map[string]any{"status_list": map[string]any{"idx": opts.StatusIdx, "uri": opts.StatusURI}}}
	}
	tok, err := issuer.Sign(key, project.IssuerAlias, claims)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.Out, tok)
	return err
}
