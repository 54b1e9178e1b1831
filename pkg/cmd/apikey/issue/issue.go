// Package issue is `micro-gw apikey issue`: print a development API key
// signed with a project's issuer key.
package issue

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/credential"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/codegen"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// DefaultTTL is the lifetime of a development API key: API keys live
// longer than access tokens, and a month lets a client be tried for a
// while. It is also how long `micro-gw revoke --token` makes the key's
// revocation hold.
const DefaultTTL = 30 * 24 * time.Hour

// DefaultApplication is the application the key is issued to, as WSO2's
// DefaultApplication.
const DefaultApplication = "DefaultApplication"

// IssueOptions are the inputs of `micro-gw apikey issue`.
type IssueOptions struct {
	credential.Options        // NAME, --ttl, --sub, --jti, --keytype
	Application        string // --application
}

// NewCmdIssue returns `micro-gw apikey issue`; runF, when not nil, replaces
// issueRun (tests of flag parsing).
func NewCmdIssue(f *factory.Factory, runF func(*IssueOptions) error) *cobra.Command {
	opts := &IssueOptions{Options: credential.New(f)}
	cmd := &cobra.Command{
		Use:   "issue NAME",
		Short: "Print a development API key for a project",
		Long: "Print a WSO2 3.1 API key for project NAME: a JWT signed with its development issuer key\n" +
			"(NAME/security/issuer.key, kid \"" + project.IssuerAlias + "\"), whose iss is the issuer of the [[apiKeyConfig]]\n" +
			"with certificateAlias \"" + project.IssuerAlias + "\" in NAME/conf/micro-gw.conf, so that the project's gateway\n" +
			"accepts it. It carries sub, iss, iat, exp, jti and WSO2's keytype, application and\n" +
			"subscribedAPIs (every API of NAME/api_definitions), and no aud. Send it as the\n" +
			"definition's apiKey scheme says (the apikey header for WSO2's api_key). It is revoked\n" +
			"like a token: micro-gw revoke --token KEY, or --jti. Only the key is printed.",
		Example: "  KEY=$(micro-gw apikey issue petstore)\n" +
			"  curl -k -H \"apikey: $KEY\" https://localhost:9095/petstore/v1/pet/1\n" +
			"  micro-gw apikey issue petstore --ttl 24h --sub alice --keytype SANDBOX",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Project = args[0]
			if err := opts.Check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return issueRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	opts.AddFlags(fl, "key", DefaultTTL, "the key's subject (sub claim): the user it was issued to")
	fl.StringVar(&opts.Application, "application", DefaultApplication, "the name of the application the key is issued to")
	return cmd
}

func issueRun(ctx context.Context, opts *IssueOptions) error {
	p, key, err := opts.Open()
	if err != nil {
		return err
	}
	cfg, err := config.Load(p.Path(project.ConfFile), nil)
	if err != nil {
		return fmt.Errorf("read the project's configuration: %w", err)
	}
	var trusted *config.JWTIssuer
	for i := range cfg.APIKeys {
		if cfg.APIKeys[i].CertificateAlias == project.IssuerAlias {
			trusted = &cfg.APIKeys[i]
			break
		}
	}
	if trusted == nil {
		return fmt.Errorf("%s trusts no API key issuer with certificateAlias %q, so its gateway would refuse the key; add this table: "+
			"[[apiKeyConfig]] issuer = %q certificateAlias = %q", p.Path(project.ConfFile), project.IssuerAlias, config.DefaultAPIKeyIssuer, project.IssuerAlias)
	}
	subscribed, err := subscribedAPIs(ctx, p)
	if err != nil {
		return err
	}
	claims := issuer.Claims{
		Issuer:     trusted.Issuer,
		NoAudience: trusted.Audience == "",
		Type:       "JWT",
		Extra: map[string]any{
			"application":    map[string]any{"id": 1, "name": opts.Application, "owner": opts.Subject, "tier": "Unlimited"},
			"subscribedAPIs": subscribed,
		},
	}
	if trusted.Audience != "" {
		claims.Audience = []string{trusted.Audience}
	}
	return opts.Print(key, claims)
}

// subscribedAPIs lists every API of the project as WSO2's subscribedAPIs
// claim does: name (the title), version, context (the base path).
func subscribedAPIs(ctx context.Context, p project.Project) ([]any, error) {
	defs, err := p.Definitions()
	if err != nil {
		return nil, err
	}
	loaded, err := codegen.LoadAll(ctx, defs)
	if err != nil {
		return nil, fmt.Errorf("read the project's API definitions for the key's subscribedAPIs: %w", err)
	}
	out := []any{}
	for _, l := range loaded {
		out = append(out, map[string]any{
			"name": l.API.Title, "version": l.API.Version, "context": l.API.BasePath,
			"publisher": "admin", "subscriptionTier": "Unlimited",
		})
	}
	return out, nil
}
