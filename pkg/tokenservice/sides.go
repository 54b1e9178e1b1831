package tokenservice

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
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
		sides = append(sides, &brokerSide{
			cfg: revocation.BrokerConfig{
				URL: rt.ProviderURL, Username: rt.Username, Password: rt.Password,
				Topic: topic, TLS: tlsConf, Logger: logger,
			},
			where: redactURL(rt.ProviderURL),
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
			sides = append(sides, &etcdSide{
				cfg: revocation.EtcdConfig{
					Hostname: p.Hostname, Endpoints: p.Endpoints,
					Username: p.Username, Password: p.Password, TLS: tlsConf, Logger: logger,
					RulesPrefix: p.RulesPrefix,
				},
				prefix:   prefix,
				endpoint: endpoint,
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

// brokerSide publishes revocations to the broker topic that gateways
// subscribe to.
type brokerSide struct {
	cfg   revocation.BrokerConfig
	where string // the provider URL without its password

	mu  sync.Mutex
	pub *revocation.BrokerPublisher
}

func (s *brokerSide) Name() string {
	return fmt.Sprintf("broker %s topic %s", s.where, s.cfg.Topic)
}

func (s *brokerSide) Revoke(ctx context.Context, jti string, ttl time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub == nil {
		pub, err := revocation.DialBrokerPublisher(ctx, s.cfg)
		if err != nil {
			return "", err
		}
		s.pub = pub
	}
	if err := s.pub.Publish(ctx, revocation.Notice{JTI: jti, TTL: ttl}); err != nil {
		s.pub.Close()
		s.pub = nil
		return "", fmt.Errorf("publish: %w", err)
	}
	return fmt.Sprintf("published revocation of jti %s to %s topic %s", jti, s.where, s.cfg.Topic), nil
}

func (s *brokerSide) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != nil {
		s.pub.Close()
		s.pub = nil
	}
}

// etcdSide writes revocations to etcd: key <prefix><jti>, value the ttl in
// seconds, with a lease of ttl so that etcd forgets the key when the token
// could no longer be used anyway.
type etcdSide struct {
	cfg      revocation.EtcdConfig
	prefix   string
	endpoint string

	mu  sync.Mutex
	pub *revocation.EtcdPublisher
}

func (s *etcdSide) Name() string { return "etcd " + s.endpoint }

func (s *etcdSide) Revoke(ctx context.Context, jti string, ttl time.Duration) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub == nil {
		pub, err := revocation.DialEtcdPublisher(ctx, s.cfg)
		if err != nil {
			return "", err
		}
		s.pub = pub
	}
	if err := s.pub.Revoke(ctx, jti, ttl); err != nil {
		s.pub.Close()
		s.pub = nil
		return "", fmt.Errorf("store: %w", err)
	}
	return fmt.Sprintf("stored revocation of jti %s in etcd key %s%s at %s with a lease of %ds",
		jti, s.prefix, jti, s.endpoint, int64(ttl/time.Second)), nil
}

func (s *etcdSide) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != nil {
		s.pub.Close()
		s.pub = nil
	}
}

// redactURL hides the password of a broker URL, for reports and logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
