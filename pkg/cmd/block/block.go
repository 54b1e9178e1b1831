// Package block is `micro-gw block` and `micro-gw unblock`: what a token
// service does to cut a client off every gateway at once (docs/traffic.md,
// "Blocking conditions"), driven by a gateway's micro-gw.conf as
// `micro-gw revoke` is.
package block

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

// BlockOptions are the inputs of `micro-gw block` and `micro-gw unblock`.
type BlockOptions struct {
	Out    io.Writer
	ErrOut io.Writer
	Getwd  func() (string, error)

	sides.Flags // --config, -e, --timeout
	// Lift is true for unblock.
	Lift bool
	// One of them: --ip, --iprange, --application, --user, --api.
	IP, IPRange, Application, User, API string
	// TTL is --ttl (block only); zero holds the condition until it is lifted.
	TTL time.Duration
}

// condition is the kind and value the options name.
func (o *BlockOptions) condition() (revocation.BlockKind, string, error) {
	kind, value, given := revocation.BlockNone, "", 0
	for _, c := range []struct {
		kind  revocation.BlockKind
		value string
	}{{revocation.BlockIP, o.IP}, {revocation.BlockIPRange, o.IPRange}, {revocation.BlockApplication, o.Application},
		{revocation.BlockUser, o.User}, {revocation.BlockAPI, o.API}} {
		if c.value != "" {
			kind, value = c.kind, c.value
			given++
		}
	}
	if given != 1 {
		return revocation.BlockNone, "", errors.New("give exactly one of --ip, --iprange, --application, --user and --api")
	}
	return kind, value, nil
}

// NewCmdBlock returns `micro-gw block`; runF, when not nil, replaces
// blockRun (tests of flag parsing).
func NewCmdBlock(f *factory.Factory, runF func(*BlockOptions) error) *cobra.Command {
	return newCmd(f, runF, false)
}

// NewCmdUnblock returns `micro-gw unblock`.
func NewCmdUnblock(f *factory.Factory, runF func(*BlockOptions) error) *cobra.Command {
	return newCmd(f, runF, true)
}

func newCmd(f *factory.Factory, runF func(*BlockOptions) error, lift bool) *cobra.Command {
	opts := &BlockOptions{Out: f.Out, ErrOut: f.ErrOut, Getwd: f.Getwd, Lift: lift}
	verb := "block"
	cmd := &cobra.Command{
		Use:   "block --config FILE (--ip A | --iprange CIDR | --application ID | --user SUB | --api BASEPATH) [--ttl S]",
		Short: "Block a client address, range, application, user or API on every gateway: publish to the broker topic and store in etcd",
		Long: "Do what a token service does to cut a client off, as the gateways configured by FILE (a\n" +
			"micro-gw.conf) expect it (docs/traffic.md, \"Blocking conditions\"):\n" +
			"  - with [tokenRevocationConfig.realtime] enabled, publish\n" +
			"    {\"blockingCondition\": {\"type\": T, \"value\": V, \"enabled\": true}} to jmsConnectionTopic;\n" +
			"  - with [tokenRevocationConfig.persistent] enabled and useDefault = true, put the etcd key\n" +
			"    <blockingPrefix><T>/<V, URL-escaped>, which gateways load when they start.\n" +
			"Every gateway then answers the matching requests 403 (fault 900805). --ttl (seconds or a\n" +
			"duration) ends the condition by itself (a lease in etcd); without it, it holds until\n" +
			"`micro-gw unblock`. It prints one line for each side, tries both even when one fails, and\n" +
			"exits 1 if either failed.",
		Example: "  micro-gw block --config petstore/conf/micro-gw.conf --ip 203.0.113.7\n" +
			"  micro-gw block --config petstore/conf/micro-gw.conf --iprange 198.51.100.0/24 --ttl 1h\n" +
			"  micro-gw block --config petstore/conf/micro-gw.conf --user mallory\n" +
			"  micro-gw unblock --config petstore/conf/micro-gw.conf --user mallory",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Check(); err != nil {
				return err
			}
			kind, value, err := opts.condition()
			if err != nil {
				return err
			}
			if _, err := revocation.ParseBlockValue(kind, value); err != nil {
				return fmt.Errorf("--%s: %s", flagOf(kind), strings.TrimPrefix(err.Error(), revocation.ErrInvalidNotice.Error()+": "))
			}
			if runF != nil {
				return runF(opts)
			}
			return blockRun(cmd.Context(), opts)
		},
	}
	if lift {
		verb = "unblock"
		cmd.Use = "unblock --config FILE (--ip A | --iprange CIDR | --application ID | --user SUB | --api BASEPATH)"
		cmd.Short = "Lift a blocking condition on every gateway: publish to the broker topic and delete it from etcd"
		cmd.Long = "Lift a condition set by `micro-gw block`: publish it with \"enabled\": false to the topic and\n" +
			"delete its etcd key, as the gateways configured by FILE expect it. It prints one line for\n" +
			"each side, tries both even when one fails, and exits 1 if either failed."
		cmd.Example = "  micro-gw unblock --config petstore/conf/micro-gw.conf --ip 203.0.113.7"
	}
	fl := cmd.Flags()
	opts.Add(fl)
	fl.StringVar(&opts.IP, "ip", "", verb+" a client address (the connection's, or the trusted proxies' X-Forwarded-For)")
	fl.StringVar(&opts.IPRange, "iprange", "", verb+" a range of client addresses, CIDR")
	fl.StringVar(&opts.Application, "application", "", verb+" an application (application.id, else azp, else client_id)")
	fl.StringVar(&opts.User, "user", "", verb+" a user (sub)")
	fl.StringVar(&opts.API, "api", "", verb+" an API, by its base path")
	if !lift {
		fl.Var((*tokenservice.TTLFlag)(&opts.TTL), "ttl", "how long the condition holds: seconds (3600) or a duration (1h) (default: until micro-gw unblock)")
	}
	return cmd
}

// flagOf is the flag that names kind.
func flagOf(kind revocation.BlockKind) string { return kind.String() }

func blockRun(ctx context.Context, opts *BlockOptions) error {
	return opts.Run(ctx, opts.Getwd, opts.ErrOut, func(ctx context.Context, rev *tokenservice.Revoker) error {
		return send(ctx, opts, rev)
	})
}

// send sends the condition of opts through rev.
func send(ctx context.Context, opts *BlockOptions, rev *tokenservice.Revoker) error {
	kind, value, err := opts.condition()
	if err != nil {
		return err
	}
	res, err := rev.Block(ctx, tokenservice.BlockRequest{Kind: kind, Value: value, Lift: opts.Lift, TTL: opts.TTL})
	what := "blocking"
	if opts.Lift {
		what = "lifting"
	}
	return sides.Report(opts.Out, res.Done, err, fmt.Sprintf("%s of %s %s", what, kind, res.Condition.Value))
}
