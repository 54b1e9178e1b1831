package revocation

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// defaultEtcdDialTimeout bounds connecting (and logging in) when
// EtcdConfig.DialTimeout is zero.
const defaultEtcdDialTimeout = 5 * time.Second

// EtcdConfig is what the etcd source and publisher need: the keys of
// [tokenRevocationConfig.persistent] plus what the runtime adds.
type EtcdConfig struct {
	// Hostname is the configured hostname: endpoint and key prefix, as in
	// https://127.0.0.1:2379/v2/keys/jti/ (see ParseEtcdHostname).
	Hostname string
	// Endpoints, when set, lists the members of an etcd cluster; Hostname
	// then only gives the key prefix.
	Endpoints []string
	// Username and Password are used when etcd auth is on. When they are set
	// and the server says auth is not enabled, the client goes on without.
	Username, Password string
	// TLS is used for https endpoints; the runtime sets RootCAs from the
	// gateway trust store. Nil means the system roots.
	TLS *tls.Config
	// Logger receives the source's logs; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the source's metrics; nil means they are kept but
	// not exported.
	Registerer prometheus.Registerer
	// DialTimeout bounds connecting and logging in; zero means 5 s.
	DialTimeout time.Duration
	// RulesPrefix is the key prefix of revocation rules (rulesPrefix), an
	// etcd key prefix of its own, not under Hostname's; empty means
	// DefaultRulesPrefix.
	RulesPrefix string
	// BlockingPrefix is the key prefix of blocking conditions
	// (blockingPrefix), beside the jti and rules prefixes; empty means
	// DefaultBlockingPrefix.
	BlockingPrefix string
	// SnapshotDir is the folder of the sources' local snapshots
	// (docs/revocation.md, "Snapshots"); empty: none.
	SnapshotDir string
}

// DefaultRulesPrefix is where revocation rules live in etcd by default.
const DefaultRulesPrefix = "revocation-rules/"

// rulesPrefix validates c.RulesPrefix against the jti prefix: neither may
// contain the other, or rule keys would be read as revoked jtis (or jtis as
// malformed rules).
func (c EtcdConfig) rulesPrefix(jtiPrefix string) (string, error) {
	return ownPrefix("rulesPrefix", c.RulesPrefix, DefaultRulesPrefix, "the rules", namedPrefix{"the jti prefix", jtiPrefix})
}

// namedPrefix is a key prefix and how a message names it.
type namedPrefix struct{ name, prefix string }

// ownPrefix is the prefix p of the conf's key (def when p is empty), which
// what keeps in etcd: it must not be "/" (every key) nor contain or be
// contained in any of others, or one kind of key would be read as another.
func ownPrefix(key, p, def, what string, others ...namedPrefix) (string, error) {
	if p == "" {
		p = def
	}
	if p == "/" {
		return "", fmt.Errorf("etcd %s \"/\" would be every key of etcd", key)
	}
	for _, o := range others {
		if strings.HasPrefix(p, o.prefix) || strings.HasPrefix(o.prefix, p) {
			return "", fmt.Errorf("etcd %s %q and %s %q overlap; give %s a prefix of their own", key, p, o.name, o.prefix, what)
		}
	}
	return p, nil
}

// resolveRules is resolve for the rules prefix.
func (c EtcdConfig) resolveRules() (etcdTarget, error) {
	t, err := c.resolve()
	if err != nil {
		return etcdTarget{}, err
	}
	if t.prefix, err = c.rulesPrefix(t.prefix); err != nil {
		return etcdTarget{}, err
	}
	return t, nil
}

// ParseEtcdHostname splits the configured hostname into an etcd endpoint and
// a key prefix.
//
//	https://127.0.0.1:2379/v2/keys/jti/  ->  https://127.0.0.1:2379, "jti/"
//	http://10.0.0.1:2379/v3/keys/jti     ->  http://10.0.0.1:2379, "jti/"
//	http://10.0.0.1:2379/revoked/        ->  http://10.0.0.1:2379, "/revoked/"
//	jti/                                 ->  "", "jti/"   (a prefix only: endpoints must be set)
//	/v2/keys/jti/                        ->  "", "jti/"
//
// The /v2/keys/ or /v3/keys/ part only marks where the prefix starts, and
// what follows is an etcd v2 directory, so the prefix gets a trailing slash.
// Any other URL path is the prefix as it is written. An empty prefix (the
// whole key space) is refused: every key in etcd would count as a revoked
// token.
func ParseEtcdHostname(hostname string) (endpoint, prefix string, err error) {
	hostname = strings.TrimSpace(hostname)
	if hostname == "" {
		return "", "", errors.New("etcd hostname is empty")
	}
	prefix = hostname
	if strings.Contains(hostname, "://") {
		u, err := url.Parse(hostname)
		if err != nil {
			return "", "", fmt.Errorf("etcd hostname %q: %w", hostname, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return "", "", fmt.Errorf("etcd hostname %q: scheme must be http or https", hostname)
		}
		if u.Host == "" {
			return "", "", fmt.Errorf("etcd hostname %q has no host", hostname)
		}
		endpoint = u.Scheme + "://" + u.Host
		prefix = u.Path
	}
	for _, mark := range []string{"/v2/keys", "/v3/keys"} {
		if rest, ok := strings.CutPrefix(prefix, mark); ok && (rest == "" || rest[0] == '/') {
			prefix = strings.TrimPrefix(rest, "/")
			if prefix != "" && !strings.HasSuffix(prefix, "/") {
				prefix += "/"
			}
			break
		}
	}
	if prefix == "" || prefix == "/" {
		return "", "", fmt.Errorf("etcd hostname %q names no key prefix (e.g. https://127.0.0.1:2379/v2/keys/jti/)", hostname)
	}
	return endpoint, prefix, nil
}

// etcdTarget is a validated EtcdConfig: where to connect and what to read.
type etcdTarget struct {
	endpoints []string
	prefix    string
	client    clientv3.Config
}

// resolve validates c and builds the client configuration.
func (c EtcdConfig) resolve() (etcdTarget, error) {
	endpoint, prefix, err := ParseEtcdHostname(c.Hostname)
	if err != nil {
		return etcdTarget{}, err
	}
	endpoints := c.Endpoints
	if len(endpoints) == 0 {
		if endpoint == "" {
			return etcdTarget{}, fmt.Errorf("etcd hostname %q gives no endpoint (http:// or https://) and no endpoints are set", c.Hostname)
		}
		endpoints = []string{endpoint}
	}
	secure := 0
	for _, ep := range endpoints {
		if strings.TrimSpace(ep) == "" {
			return etcdTarget{}, errors.New("etcd endpoints: an endpoint is empty")
		}
		if strings.HasPrefix(ep, "https://") {
			secure++
		}
	}
	if secure != 0 && secure != len(endpoints) {
		return etcdTarget{}, fmt.Errorf("etcd endpoints %v mix http and https", endpoints)
	}
	if (c.Username == "") != (c.Password == "") {
		return etcdTarget{}, errors.New("etcd username and password must be set together")
	}
	dialTimeout := c.DialTimeout
	if dialTimeout <= 0 {
		dialTimeout = defaultEtcdDialTimeout
	}
	cc := clientv3.Config{
		Endpoints:   endpoints,
		Username:    c.Username,
		Password:    c.Password,
		DialTimeout: dialTimeout,
		// The client's own zap logs are silenced; the source reports
		// connection state and failures through slog itself.
		Logger: zap.NewNop(),
	}
	if secure != 0 {
		cc.TLS = c.TLS
		if cc.TLS == nil {
			cc.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	return etcdTarget{endpoints: endpoints, prefix: prefix, client: cc}, nil
}

// etcdKeyJTI returns the jti that key stands for under prefix: the key with
// the prefix taken off. ok is false for a key outside the prefix and for the
// prefix itself (no jti).
func etcdKeyJTI(prefix string, key []byte) (jti string, ok bool) {
	if len(key) <= len(prefix) || string(key[:len(prefix)]) != prefix {
		return "", false
	}
	return string(key[len(prefix):]), true
}
