package tokenservice

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// FromConfig returns a Revoker for the [tokenRevocationConfig] of a conf:
// the broker side when realtime is enabled, the etcd side when persistent is
// enabled with useDefault = true. Sides connect on their first revocation and
// keep the connection; a side whose revocation fails connects again next time.
//
// A persistent custom store (useDefault = false) cannot be written from here;
// it is left out with a note in Revoker.Notes. With no side left, FromConfig
// fails: a revocation would reach no gateway.
func FromConfig(rev config.Revocation, tlsConf *tls.Config, logger *slog.Logger) (*Revoker, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var sides []Side
	var notes []string
	if rt := rev.Realtime; rt.Enabled {
		if strings.TrimSpace(rt.ProviderURL) == "" {
			return nil, errors.New("[tokenRevocationConfig.realtime] jmsConnectionProviderUrl is empty")
		}
		topic := rt.Topic
		if topic == "" {
			topic = config.DefaultTopic
		}
		if _, err := revocation.ParseBrokerURL(rt.ProviderURL, rt.Username, rt.Password); err != nil {
			return nil, fmt.Errorf("[tokenRevocationConfig.realtime] %w", err)
		}
		cfg := revocation.BrokerConfig{
			URL: rt.ProviderURL, Username: rt.Username, Password: rt.Password,
			Topic: topic, TLS: tlsConf, Logger: logger,
		}
		sides = append(sides, &brokerSide{
			topic: topic,
			where: redactURL(rt.ProviderURL),
			conn: sideConn[*revocation.BrokerPublisher]{what: "publish", dial: func(ctx context.Context) (*revocation.BrokerPublisher, error) {
				return revocation.DialBrokerPublisher(ctx, cfg)
			}},
		})
	}
	if p := rev.Persistent; p.Enabled {
		if p.UseDefault {
			endpoint, prefix, err := revocation.ParseEtcdHostname(p.Hostname)
			if err != nil {
				return nil, fmt.Errorf("[tokenRevocationConfig.persistent] hostname: %w", err)
			}
			if len(p.Endpoints) > 0 {
				endpoint = strings.Join(p.Endpoints, ",")
			}
			cfg := revocation.EtcdConfig{
				Hostname: p.Hostname, Endpoints: p.Endpoints,
				Username: p.Username, Password: p.Password, TLS: tlsConf, Logger: logger,
				RulesPrefix: p.RulesPrefix, BlockingPrefix: p.BlockingPrefix,
			}
			sides = append(sides, &etcdSide{
				prefix:   prefix,
				endpoint: endpoint,
				conn: sideConn[*revocation.EtcdPublisher]{what: "store", dial: func(ctx context.Context) (*revocation.EtcdPublisher, error) {
					return revocation.DialEtcdPublisher(ctx, cfg)
				}},
			})
		} else {
			notes = append(notes, "the persistent store is a custom one (useDefault = false): only its own code can write to it, so record this revocation there yourself")
		}
	}
	if len(sides) == 0 {
		if len(notes) > 0 {
			return nil, errors.New("no revocation side can be reached from here: the real-time notifier is off and " + notes[0])
		}
		return nil, errors.New("token revocation is off: enable [tokenRevocationConfig.realtime] enableRealtimeMessageRetrieval and/or [tokenRevocationConfig.persistent] enablePersistentStorageRetrieval")
	}
	r := NewRevoker(logger, sides...)
	r.Notes = notes
	return r, nil
}

// sideConn is a side's connection to its service: made on the first
// revocation and kept, and dropped when a revocation fails on it, so that the
// next one connects again rather than trying a connection that may be dead.
type sideConn[P interface{ Close() error }] struct {
	dial func(context.Context) (P, error)
	what string // the failing step in errors: "publish", "store"

	mu  sync.Mutex
	pub P
	up  bool
}

// use runs do on the connection, connecting first when there is none.
func (c *sideConn[P]) use(ctx context.Context, do func(P) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.up {
		pub, err := c.dial(ctx)
		if err != nil {
			return err
		}
		c.pub, c.up = pub, true
	}
	if err := do(c.pub); err != nil {
		c.drop()
		return fmt.Errorf("%s: %w", c.what, err)
	}
	return nil
}

func (c *sideConn[P]) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop()
}

func (c *sideConn[P]) drop() {
	if c.up {
		c.pub.Close()
		var none P
		c.pub, c.up = none, false
	}
}

// brokerSide publishes revocations to the broker topic that gateways
// subscribe to.
type brokerSide struct {
	topic string
	where string // the provider URL without its password
	conn  sideConn[*revocation.BrokerPublisher]
}

func (s *brokerSide) Name() string {
	return fmt.Sprintf("broker %s topic %s", s.where, s.topic)
}

func (s *brokerSide) Revoke(ctx context.Context, jti string, ttl time.Duration) (string, error) {
	err := s.conn.use(ctx, func(pub *revocation.BrokerPublisher) error {
		return pub.Publish(ctx, revocation.Notice{JTI: jti, TTL: ttl})
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("published revocation of jti %s to %s topic %s", jti, s.where, s.topic), nil
}

func (s *brokerSide) Close() { s.conn.Close() }

// etcdSide writes revocations to etcd: key <prefix><jti>, value the ttl in
// seconds, with a lease of ttl so that etcd forgets the key when the token
// could no longer be used anyway.
type etcdSide struct {
	prefix   string
	endpoint string
	conn     sideConn[*revocation.EtcdPublisher]
}

func (s *etcdSide) Name() string { return "etcd " + s.endpoint }

func (s *etcdSide) Revoke(ctx context.Context, jti string, ttl time.Duration) (string, error) {
	err := s.conn.use(ctx, func(pub *revocation.EtcdPublisher) error {
		return pub.Revoke(ctx, jti, ttl)
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("stored revocation of jti %s in etcd key %s%s at %s with a lease of %ds",
		jti, s.prefix, jti, s.endpoint, int64(ttl/time.Second)), nil
}

func (s *etcdSide) Close() { s.conn.Close() }

// redactURL hides the password of a broker URL, for reports and logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// LoadRevoker is the Revoker of the gateway configuration in file (with the
// -e overrides; name is the file as the user wrote it, for messages), as
// `micro-gw revoke`, `block` and `unblock` use it: TLS trusts the system's
// roots and the conf's trust store, and the sides log their errors to
// errOut. The caller prints Notes and closes it.
func LoadRevoker(file, name string, overrides []string, errOut io.Writer) (*Revoker, error) {
	cfg, err := config.Load(file, overrides)
	if err != nil {
		return nil, err
	}
	tlsConf, err := TLSConfig(cfg.Listener.TrustStorePath, cfg.Listener.TrustStorePassword)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelError}))
	rev, err := FromConfig(cfg.Revocation, tlsConf, logger)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rev, nil
}
