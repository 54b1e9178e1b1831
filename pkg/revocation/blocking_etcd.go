package revocation

import (
	"errors"
	"log/slog"
)

// DefaultBlockingPrefix is where blocking conditions live in etcd by
// default: blocking/<type>/<value>, at the root of the revocations' etcd.
const DefaultBlockingPrefix = "blocking/"

// NewEtcdBlockSource validates cfg and returns a source of the blocking
// conditions under cfg.BlockingPrefix: the same list, watch and recovery as
// NewEtcdSource's, on the blocking prefix, feeding a sink that is also a
// BlockSink. Its metrics are labelled store="etcd-blocking".
func NewEtcdBlockSource(cfg EtcdConfig) (*EtcdSource, error) {
	target, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if target.prefix, err = cfg.blockingPrefix(target.prefix); err != nil {
		return nil, err
	}
	return newEtcdSource(cfg, target, "etcd-blocking", etcdBlockKeys{}), nil
}

// blockingPrefix validates c.BlockingPrefix against the jti and rules
// prefixes: none may contain another, or one kind of key would be read as
// another.
func (c EtcdConfig) blockingPrefix(jtiPrefix string) (string, error) {
	rules, err := c.rulesPrefix(jtiPrefix)
	if err != nil {
		return "", err
	}
	return ownPrefix("blockingPrefix", c.BlockingPrefix, DefaultBlockingPrefix, "blocking conditions",
		namedPrefix{"the jti prefix", jtiPrefix}, namedPrefix{"rulesPrefix", rules})
}

// etcdBlockKeys: each key under the blocking prefix is a blocking condition,
// <type>/<value, url.PathEscape'd>; any value (the ttl in seconds, as for
// jti keys). The key's existence blocks, with no expiry in the set (its
// lease ends it: etcd deletes the key and the watch lifts it). A key that
// cannot be read is logged (the key) and skipped.
type etcdBlockKeys struct{}

func (etcdBlockKeys) check(sink Sink) error {
	if _, ok := sink.(BlockSink); !ok {
		return errors.New("etcd blocking source: the sink takes no blocking conditions (it is not a BlockSink)")
	}
	return nil
}

func (etcdBlockKeys) keysOnly() bool { return true }

func (etcdBlockKeys) log() etcdKeyLog {
	return etcdKeyLog{loaded: "blocking conditions loaded from etcd", restored: "blocking conditions restored from the snapshot",
		added: "blocking condition added (etcd)", removed: "blocking condition lifted (etcd key deleted)", attr: "key"}
}

func (etcdBlockKeys) put(sink Sink, log *slog.Logger, rel string, _ []byte) bool {
	kind, value, err := parseBlockEtcdKey(rel)
	if err != nil {
		log.Warn("skipped an etcd blocking condition that cannot be read", "key", rel, "error", err)
		return false
	}
	sink.(BlockSink).Block(Block{Kind: kind, Value: value})
	return true
}

func (etcdBlockKeys) del(sink Sink, rel string) {
	if kind, value, err := parseBlockEtcdKey(rel); err == nil {
		sink.(BlockSink).Unblock(kind, value)
	}
}

// holder is nil: conditions are few enough to be remembered by name.
func (etcdBlockKeys) holder(Sink) Holder { return nil }

var _ etcdKeyspace = etcdBlockKeys{}
