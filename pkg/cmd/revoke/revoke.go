// Package revoke is `micro-gw revoke`: what a token service does when a
// token is revoked, driven by a gateway's micro-gw.conf.
package revoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/cmd/sides"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// RevokeOptions are the inputs of `micro-gw revoke`.
type RevokeOptions struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	Getwd  func() (string, error)
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	sides.Flags        // --config, -e, --timeout
	JTI         string // --jti
	Token       string // --token; "-" reads it from In
	// TTL is --ttl; zero means the JWT's remaining lifetime, or
	// tokenservice.DefaultTTL for a bare jti.
	TTL time.Duration

	// A revocation rule instead of one token: one of --sub, --client,
	// --issuer, --email, with --before (the cut, default now) and --ttl (default
	// tokenservice.DefaultRuleTTL).
	Subject, Client, Issuer, Email string
	Before                         string // --before: RFC 3339 or epoch seconds
	// Certificate is --cert: a client certificate's file or SHA-256
	// fingerprint (certificateKey), revoked by a certificate rule.
	Certificate string
}

// rule returns the kind and key of the rule the options name, RuleNone for
// a token revocation.
func (o *RevokeOptions) rule() (revocation.RuleKind, string) {
	switch {
	case o.Subject != "":
		return revocation.RuleSubject, o.Subject
	case o.Client != "":
		return revocation.RuleClient, o.Client
	case o.Issuer != "":
		return revocation.RuleIssuer, o.Issuer
	case o.Email != "":
		return revocation.RuleEmail, o.Email
	case o.Certificate != "":
		return revocation.RuleCertificate, o.Certificate
	}
	return revocation.RuleNone, ""
}

// NewCmdRevoke returns `micro-gw revoke`; runF, when not nil, replaces
// revokeRun (tests of flag parsing).
func NewCmdRevoke(f *factory.Factory, runF func(*RevokeOptions) error) *cobra.Command {
	opts := &RevokeOptions{In: f.In, Out: f.Out, ErrOut: f.ErrOut, Getwd: f.Getwd}
	cmd := &cobra.Command{
		Use:   "revoke --config FILE (--jti JTI | --token TOKEN | --sub S | --client C | --issuer I | --email E | --cert CERT)",
		Short: "Revoke a token, every token of a subject, client, issuer or email, or a client certificate: publish to the broker topic and store in etcd",
		Long: "Do what a token service does when a token is revoked, as the gateway configured by\n" +
			"FILE (a micro-gw.conf) expects it:\n" +
			"  - with [tokenRevocationConfig.realtime] enabled, publish {\"revokedToken\": JTI, \"ttl\": SECONDS}\n" +
			"    to jmsConnectionTopic on the broker of jmsConnectionProviderUrl, which every running\n" +
			"    gateway subscribes to;\n" +
			"  - with [tokenRevocationConfig.persistent] enabled and useDefault = true, put the etcd key\n" +
			"    <prefix><JTI> (value SECONDS) with a lease of SECONDS, which gateways load when they start.\n" +
			"It prints one line for each, tries both even when one fails, and exits 1 if either failed.\n\n" +
			"The revocation holds for --ttl; without it, for the remaining lifetime of a --token (nothing\n" +
			"is done for an expired one), or one hour for a bare --jti. TLS to the broker and etcd trusts\n" +
			"the system's roots and the conf's trust store.\n\n" +
			"With --sub, --client, --issuer or --email it revokes every token of that subject (sub), client\n" +
			"(azp, client_id, consumerKey or application.id), issuer (iss) or email address (email, in any\n" +
			"case) issued before --before (RFC 3339 or epoch seconds; default now): it publishes\n" +
			"{\"revokedSubject\": S, \"issuedBefore\": SECONDS, \"ttl\": SECONDS} (revokedClient, revokedIssuer,\n" +
			"revokedEmail) and puts the etcd key <rulesPrefix>sub/S (client/C, iss/<I URL-escaped>, email/E)\n" +
			"with a lease.\n" +
			"The rule's --ttl (default 24h) must be at least the longest lifetime of the tokens to refuse:\n" +
			"the rule ends ttl after the later of now and --before (see docs/revocation.md, \"Rules\").\n\n" +
			"With --cert (a certificate file, PEM or DER, or its SHA-256 fingerprint) it revokes that client\n" +
			"certificate on every gateway that takes it for mutual TLS: it publishes\n" +
			"{\"revokedCertificate\": SHA256, \"ttl\": SECONDS} and puts the etcd key <rulesPrefix>cert/SHA256,\n" +
			"whatever the certificate's issue time. Its --ttl (default 24h) should reach the certificate's\n" +
			"expiry.",
		Example: "  micro-gw revoke --config petstore/conf/micro-gw.conf --jti 3ad5672a-afca-4387-9ec5-fcf28785f803\n" +
			"  micro-gw revoke --config petstore/conf/micro-gw.conf --token \"$TOKEN\"\n" +
			"  echo \"$TOKEN\" | micro-gw revoke --config petstore/conf/micro-gw.conf --token - --ttl 2h\n" +
			"  micro-gw revoke --config petstore/conf/micro-gw.conf --sub alice\n" +
			"  micro-gw revoke --config petstore/conf/micro-gw.conf --issuer https://localhost:9443/oauth2/token --before 2026-11-28T10:00:00Z --ttl 2h\n" +
			"  micro-gw revoke --config petstore/conf/micro-gw.conf --cert client.crt --ttl 8760h",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Check(); err != nil {
				return err
			}
			given := 0
			for _, v := range []string{opts.JTI, opts.Token, opts.Subject, opts.Client, opts.Issuer, opts.Email, opts.Certificate} {
				if v != "" {
					given++
				}
			}
			if given != 1 {
				return errors.New("give exactly one of --jti, --token, --sub, --client, --issuer, --email and --cert")
			}
			if kind, _ := opts.rule(); (kind == revocation.RuleNone || kind == revocation.RuleCertificate) && opts.Before != "" {
				return errors.New("--before goes with --sub, --client, --issuer or --email")
			}
			if opts.Certificate != "" {
				key, err := certificateKey(opts.Certificate)
				if err != nil {
					return err
				}
				opts.Certificate = key
			}
			if opts.Before != "" {
				if _, err := tokenservice.ParseIssuedBefore(opts.Before); err != nil {
					return fmt.Errorf("--before: %w", err)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return revokeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	opts.Add(fl)
	fl.StringVar(&opts.JTI, "jti", "", "the jti of the token to revoke")
	fl.StringVar(&opts.Token, "token", "", "the whole token to revoke: a JWT (its jti is read without verifying it) or an opaque token (revoked by its SHA-256); - reads it from stdin")
	fl.Var((*tokenservice.TTLFlag)(&opts.TTL), "ttl", "how long the revocation holds: seconds (3600) or a duration (1h) (default: the token's remaining lifetime, or 3600 for a jti; 24h for a rule)")
	fl.StringVar(&opts.Subject, "sub", "", "revoke every token of this subject (sub) issued before --before")
	fl.StringVar(&opts.Client, "client", "", "revoke every token of this client (azp, client_id, consumerKey, application.id) issued before --before")
	fl.StringVar(&opts.Issuer, "issuer", "", "revoke every token of this issuer (iss) issued before --before")
	fl.StringVar(&opts.Certificate, "cert", "", "revoke this client certificate: a file (PEM or DER) or its SHA-256 fingerprint")
	fl.StringVar(&opts.Email, "email", "", "revoke every token of this email address (email claim, in any case) issued before --before")
	fl.StringVar(&opts.Before, "before", "", "with --sub, --client or --issuer: the cut, RFC 3339 or epoch seconds (default now)")
	return cmd
}

func revokeRun(ctx context.Context, opts *RevokeOptions) error {
	return opts.Run(ctx, opts.Getwd, opts.ErrOut, func(ctx context.Context, rev *tokenservice.Revoker) error {
		rev.Now = opts.Now
		return send(ctx, opts, rev)
	})
}

// send sends the revocation of opts through rev.
func send(ctx context.Context, opts *RevokeOptions, rev *tokenservice.Revoker) error {
	if kind, key := opts.rule(); kind != revocation.RuleNone {
		return revokeRuleRun(ctx, opts, rev, kind, key)
	}
	req := tokenservice.Request{JTI: opts.JTI, TTL: opts.TTL}
	if opts.Token != "" {
		req.Token, req.WholeToken = opts.Token, true
		if req.Token == "-" {
			data, err := io.ReadAll(io.LimitReader(opts.In, 1<<20))
			if err != nil {
				return fmt.Errorf("read the token from stdin: %w", err)
			}
			req.Token = strings.TrimSpace(string(data))
		}
	}
	res, err := rev.Revoke(ctx, req)
	if res.Token.Opaque {
		fmt.Fprintf(opts.Out, "not a JWT: revoked as an opaque token, by its SHA-256 %s, which gateways look up (to revoke a JWT by its jti, use --jti)\n", res.Token.JTI)
	}
	if res.Expired {
		fmt.Fprintf(opts.Out, "the token with jti %s expired at %s: no gateway accepts it, nothing to revoke\n",
			res.Token.JTI, res.Token.Exp.UTC().Format(time.RFC3339))
		return nil
	}
	return sides.Report(opts.Out, res.Done, err, "revocation of jti "+res.Token.JTI)
}

// revokeRuleRun sends the rule of --sub, --client or --issuer.
func revokeRuleRun(ctx context.Context, opts *RevokeOptions, rev *tokenservice.Revoker, kind revocation.RuleKind, key string) error {
	req := tokenservice.RuleRequest{Kind: kind, Key: key, TTL: opts.TTL}
	if opts.Before != "" {
		t, err := tokenservice.ParseIssuedBefore(opts.Before)
		if err != nil {
			return fmt.Errorf("--before: %w", err)
		}
		req.IssuedBefore = t
	}
	res, err := rev.RevokeRule(ctx, req)
	return sides.Report(opts.Out, res.Done, err, fmt.Sprintf("revocation rule for %s %q", kind, key))
}
