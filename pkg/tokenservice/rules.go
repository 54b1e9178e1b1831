package tokenservice

import (
	"context"
	"fmt"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// DefaultRuleTTL is the ttl of a revocation rule when none is given. A
// rule's ttl must be at least the longest lifetime of the tokens it is meant
// to refuse (docs/revocation.md, "Rules"): a day covers the access tokens of
// `micro-gw token issue` (1 h) and of WSO2 (1 h by default) with room for
// identity providers that issue longer ones.
const DefaultRuleTTL = 24 * time.Hour

// RuleSide is a Side that can also carry revocation rules.
type RuleSide interface {
	Side
	// RevokeRule makes the rule n known and returns one line saying what it did.
	RevokeRule(ctx context.Context, n revocation.RuleNotice) (string, error)
}

// RuleRequest is one revocation rule: refuse the tokens whose claim of Kind
// is Key and that were issued before IssuedBefore, or the client
// certificate of fingerprint Key (Kind revocation.RuleCertificate).
type RuleRequest struct {
	Kind revocation.RuleKind
	Key  string
	// IssuedBefore is the cut; zero means now (none for a certificate).
	IssuedBefore time.Time
	// TTL is how long the rule holds after the later of now and the cut;
	// zero means DefaultRuleTTL.
	TTL time.Duration
}

// RuleResult says what a rule revocation did.
type RuleResult struct {
	Rule revocation.RuleNotice
	// Done has one line per side that did its part, in the order of the sides.
	Done []string
}

// RevokeRule sends the rule of req to every side, all of them tried even
// when one fails; the error joins the failures. An invalid rule is an
// *InvalidTokenError and reaches no side.
func (r *Revoker) RevokeRule(ctx context.Context, req RuleRequest) (RuleResult, error) {
	n := revocation.RuleNotice{Kind: req.Kind, Key: req.Key, IssuedBefore: req.IssuedBefore, TTL: req.TTL}
	if n.IssuedBefore.IsZero() && n.Kind != revocation.RuleCertificate {
		// Whole seconds, rounded up: a token issued in this second is cut too.
		n.IssuedBefore = r.now().Truncate(time.Second).Add(time.Second)
	}
	if n.TTL <= 0 {
		n.TTL = DefaultRuleTTL
	}
	n.TTL = roundUpToSecond(n.TTL)
	if err := revocation.ValidateRuleNotice(n); err != nil {
		return RuleResult{}, &InvalidTokenError{Err: err}
	}
	res := RuleResult{Rule: n}
	var err error
	res.Done, err = toEverySideOf(ctx, r, func(ctx context.Context, s RuleSide) (string, error) {
		line, err := s.RevokeRule(ctx, n)
		if err != nil {
			return "", err
		}
		r.Logger.Debug("rule revoked", "side", s.Name(), "kind", n.Kind.String(), "key", n.Key)
		return line, nil
	})
	return res, err
}

// describeRule is how the sides' reports name a rule.
func describeRule(n revocation.RuleNotice) string {
	if n.Kind == revocation.RuleCertificate {
		return fmt.Sprintf("revocation of the client certificate %s (ttl %ds)", n.Key, int64(n.TTL/time.Second))
	}
	return fmt.Sprintf("revocation rule for %s %q (tokens issued before %s, ttl %ds)",
		n.Kind, n.Key, n.IssuedBefore.UTC().Format(time.RFC3339), int64(n.TTL/time.Second))
}

func (s *brokerSide) RevokeRule(ctx context.Context, n revocation.RuleNotice) (string, error) {
	err := s.conn.use(ctx, func(pub *revocation.BrokerPublisher) error {
		return pub.PublishRule(ctx, n)
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("published %s to %s topic %s", describeRule(n), s.where, s.topic), nil
}

func (s *etcdSide) RevokeRule(ctx context.Context, n revocation.RuleNotice) (string, error) {
	var key string
	err := s.conn.use(ctx, func(pub *revocation.EtcdPublisher) error {
		key = pub.RuleKey(n.Kind, n.Key)
		return pub.RevokeRule(ctx, n)
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("stored %s in etcd key %s at %s", describeRule(n), key, s.endpoint), nil
}

var (
	_ RuleSide = (*brokerSide)(nil)
	_ RuleSide = (*etcdSide)(nil)
)
