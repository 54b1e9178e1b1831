package revocation

import (
	"errors"
	"log/slog"
	"time"
)

// etcdRuleKeys: each key under the rules prefix is a revocation rule,
// sub/<subject>, client/<id> or iss/<issuer, url.PathEscape'd>, its value
// {"issuedBefore": SECONDS, "ttl": SECONDS}. As with jti keys, the key's
// existence is what holds the rule (its lease, of ttl, ends it: etcd deletes
// the key and the watch un-revokes it), so the rule enters the RuleSet with
// no expiry; the ttl of the value is informational. A key or value that
// cannot be read is logged (the key) and skipped.
type etcdRuleKeys struct{}

func (etcdRuleKeys) check(sink Sink) error {
	if _, ok := sink.(RuleSink); !ok {
		return errors.New("etcd rule source: the sink takes no revocation rules (it is not a RuleSink)")
	}
	return nil
}

func (etcdRuleKeys) keysOnly() bool { return false }

func (etcdRuleKeys) log() etcdKeyLog {
	return etcdKeyLog{loaded: "revocation rules loaded from etcd", restored: "revocation rules restored from the snapshot",
		added: "revocation rule added (etcd)", removed: "revocation rule removed (etcd key deleted)", attr: "key"}
}

func (etcdRuleKeys) put(sink Sink, log *slog.Logger, rel string, value []byte) bool {
	kind, key, err := parseRuleEtcdKey(rel)
	if err == nil {
		var before time.Time
		if before, err = parseRuleEtcdValue(kind, value); err == nil {
			sink.(RuleSink).RevokeRule(Rule{Kind: kind, Key: key, IssuedBefore: before})
			return true
		}
	}
	log.Warn("skipped an etcd revocation rule that cannot be read", "key", rel, "error", err)
	return false
}

func (etcdRuleKeys) del(sink Sink, rel string) {
	if kind, key, err := parseRuleEtcdKey(rel); err == nil {
		sink.(RuleSink).UnrevokeRule(kind, key)
	}
}

// holder is nil: rules are not kept in a Holder, and are few enough to be
// remembered by name.
func (etcdRuleKeys) holder(Sink) Holder { return nil }
