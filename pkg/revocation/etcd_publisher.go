package revocation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EtcdPublisher writes revocations to etcd the way a token service does, for
// `micro-gw revoke` and the development token service: one key
// <prefix><jti> per revoked token, its value the ttl in seconds, attached to
// a lease of that ttl so that etcd deletes the key when the token could no
// longer be used anyway.
type EtcdPublisher struct {
	cli    *clientv3.Client
	prefix string
	// rulesPrefix is where RevokeRule writes (EtcdConfig.RulesPrefix).
	rulesPrefix string
	// blockingPrefix is where Block writes (EtcdConfig.BlockingPrefix).
	blockingPrefix string
}

// DialEtcdPublisher connects to the etcd of cfg (logging in when
// credentials are set and auth is on) and checks that a member answers
// before ctx is done.
func DialEtcdPublisher(ctx context.Context, cfg EtcdConfig) (*EtcdPublisher, error) {
	target, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	rulesPrefix, err := cfg.rulesPrefix(target.prefix)
	if err != nil {
		return nil, err
	}
	blockingPrefix, err := cfg.blockingPrefix(target.prefix)
	if err != nil {
		return nil, err
	}
	cc := target.client
	if deadline, ok := ctx.Deadline(); ok {
		cc.DialTimeout = min(cc.DialTimeout, time.Until(deadline))
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, describeEtcdError(err, target)
	}
	// clientv3.New does not wait for a connection; ask each member for its
	// status until one answers, so that an unreachable etcd is reported here
	// rather than at the first Revoke.
	var errs []error
	for _, ep := range target.endpoints {
		if _, err := cli.Status(ctx, ep); err != nil {
			errs = append(errs, err)
			continue
		}
		return &EtcdPublisher{cli: cli, prefix: target.prefix, rulesPrefix: rulesPrefix, blockingPrefix: blockingPrefix}, nil
	}
	cli.Close()
	return nil, describeEtcdError(errors.Join(errs...), target)
}

// Revoke writes the key of jti. With ttl > 0 the key carries a lease of ttl
// (rounded up to whole seconds) and its value is the ttl in seconds; with
// ttl <= 0 it has no lease and the value "0": it stays until Unrevoke.
// Revoking a jti again replaces its value and lease.
func (p *EtcdPublisher) Revoke(ctx context.Context, jti string, ttl time.Duration) error {
	if jti == "" {
		return errors.New("revoke: empty jti")
	}
	return p.putWithTTL(ctx, p.prefix+jti, ttl)
}

// putWithTTL puts key: with ttl > 0 its value is the ttl in seconds
// (rounded up) and it carries a lease of that ttl; with ttl <= 0 it has no
// lease and the value "0": it stays until it is deleted.
func (p *EtcdPublisher) putWithTTL(ctx context.Context, key string, ttl time.Duration) error {
	if ttl <= 0 {
		return p.put(ctx, key, "0")
	}
	secs := int64((ttl + time.Second - 1) / time.Second)
	return p.putLeased(ctx, key, strconv.FormatInt(secs, 10), secs)
}

// put puts key with value and no lease.
func (p *EtcdPublisher) put(ctx context.Context, key, value string) error {
	if _, err := p.cli.Put(ctx, key, value); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// putLeased puts key with value under a new lease of secs seconds.
func (p *EtcdPublisher) putLeased(ctx context.Context, key, value string, secs int64) error {
	lease, err := p.cli.Grant(ctx, secs)
	if err != nil {
		return fmt.Errorf("grant a lease of %ds for %q: %w", secs, key, err)
	}
	if _, err := p.cli.Put(ctx, key, value, clientv3.WithLease(lease.ID)); err != nil {
		// Do not leave an unused lease behind; its own ttl would end it
		// anyway, so a failure here is not worth reporting.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, _ = p.cli.Revoke(rctx, lease.ID)
		cancel()
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// Unrevoke deletes the key of jti; gateways watching the prefix accept the
// token again. Deleting a key that does not exist is not an error.
func (p *EtcdPublisher) Unrevoke(ctx context.Context, jti string) error {
	if jti == "" {
		return errors.New("unrevoke: empty jti")
	}
	return p.delete(ctx, p.prefix+jti)
}

// delete deletes key; deleting a key that does not exist is not an error.
func (p *EtcdPublisher) delete(ctx context.Context, key string) error {
	if _, err := p.cli.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// RuleKey is the etcd key of the rule of kind for key.
func (p *EtcdPublisher) RuleKey(kind RuleKind, key string) string {
	return p.rulesPrefix + RuleEtcdKey(kind, key)
}

// RevokeRule writes the key of rule n under the rules prefix, value
// {"issuedBefore": ..., "ttl": ...}. With n.TTL > 0 the key carries a lease
// that outlives every token the rule can match: the rule's expiry
// (RuleExpiry from now) minus now, rounded up to whole seconds. With
// n.TTL <= 0 it has no lease and stays until UnrevokeRule.
func (p *EtcdPublisher) RevokeRule(ctx context.Context, n RuleNotice) error {
	if err := ValidateRuleNotice(n); err != nil {
		return fmt.Errorf("revoke rule: %w", err)
	}
	key := p.RuleKey(n.Kind, n.Key)
	value := string(EncodeRuleEtcdValue(n))
	if n.TTL <= 0 {
		return p.put(ctx, key, value)
	}
	now := time.Now()
	left := RuleExpiry(now, n.IssuedBefore, n.TTL).Sub(now)
	return p.putLeased(ctx, key, value, int64((left+time.Second-1)/time.Second))
}

// UnrevokeRule deletes the key of the rule of kind for key; gateways
// watching the rules prefix drop the rule.
func (p *EtcdPublisher) UnrevokeRule(ctx context.Context, kind RuleKind, key string) error {
	return p.delete(ctx, p.RuleKey(kind, key))
}

// BlockKey is the etcd key of the blocking condition of kind for value.
func (p *EtcdPublisher) BlockKey(kind BlockKind, value string) string {
	return p.blockingPrefix + BlockEtcdKey(kind, value)
}

// Block writes the key of condition n under the blocking prefix: with
// n.TTL > 0 under a lease of the ttl (value the ttl in seconds), else
// without one (value "0"), until Unblock.
func (p *EtcdPublisher) Block(ctx context.Context, n BlockNotice) error {
	if err := ValidateBlockNotice(n); err != nil {
		return fmt.Errorf("block: %w", err)
	}
	return p.putWithTTL(ctx, p.BlockKey(n.Kind, n.Value), n.TTL)
}

// Unblock deletes the key of the condition of kind for value; gateways
// watching the blocking prefix lift it.
func (p *EtcdPublisher) Unblock(ctx context.Context, kind BlockKind, value string) error {
	return p.delete(ctx, p.BlockKey(kind, value))
}

// Close closes the connection.
func (p *EtcdPublisher) Close() error { return p.cli.Close() }
