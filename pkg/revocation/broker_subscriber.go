package revocation

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBrokerTopic is jmsConnectionTopic when the configuration leaves it empty.
const DefaultBrokerTopic = "tokenRevocation"

// Timings of a broker connection.
const (
	brokerBackoffMin = 100 * time.Millisecond
	// brokerBackoffMax is short because every second unsubscribed is a
	// second in which a revocation reaches this gateway only through the
	// persistent store; one connection attempt every few seconds costs a
	// broker nothing. (At 30 s the chaos suite saw gateways still away 25 s
	// after RabbitMQ came back.)
	brokerBackoffMax = 5 * time.Second
	// brokerStableAfter is how long a subscription must last for the
	// backoff to start over at brokerBackoffMin after it is lost; a broker
	// that drops every subscription at once is retried ever more slowly.
	brokerStableAfter  = 30 * time.Second
	brokerDialTimeout  = 10 * time.Second
	brokerLoginTimeout = 30 * time.Second
	// brokerHeartBeat is asked of the broker both ways (STOMP heart-beat,
	// AMQP heartbeat), so that a broker that died without closing the
	// connection is noticed within about two intervals.
	brokerHeartBeat = 10 * time.Second
)

// BrokerConfig configures a BrokerSubscriber or a BrokerPublisher; the
// runtime fills it from [tokenRevocationConfig.realtime].
type BrokerConfig struct {
	// URL is jmsConnectionProviderUrl (see ParseBrokerURL).
	URL string
	// Username and Password are jmsConnectionUsername/Password; each, where
	// set, wins over the URL's.
	Username, Password string
	// Topic is jmsConnectionTopic: STOMP destination /topic/<Topic>, AMQP
	// routing key <Topic> on the exchange amq.topic. DefaultBrokerTopic if empty.
	Topic string
	// TLS is used for amqps:// and stomp+ssl:// URLs: RootCAs from the
	// gateway trust store, set by the runtime. Nil means the system roots.
	// ServerName is taken from each broker address when left empty.
	TLS *tls.Config
	// Logger receives the subscriber's logs; slog.Default() if nil.
	Logger *slog.Logger
	// Registerer receives the subscriber's metrics; may be nil.
	Registerer prometheus.Registerer
	// OnReconnect is called after each re-subscription (not after the first
	// one). The runtime wires it to the persistent source's Resync, because
	// a topic keeps nothing for a subscriber that was away. It runs on the
	// subscriber's goroutine, before the next message is read: it should
	// signal work, not do it.
	OnReconnect func()
}

// BrokerSubscriber is the real-time revocation source: it subscribes to the
// revocation topic of a message broker (STOMP 1.2 or AMQP 0-9-1) and feeds
// every revocation it receives into the sink. It implements Source.
type BrokerSubscriber struct {
	url         BrokerURL
	topic       string
	tls         *tls.Config
	log         *slog.Logger
	onReconnect func()
	metrics     *brokerMetrics

	backoffMin, backoffMax time.Duration

	connected atomic.Bool
	applied   atomic.Uint64
	rejected  atomic.Uint64
}

// BrokerStats counts the messages a BrokerSubscriber has received.
type BrokerStats struct {
	Applied  uint64 // decoded and added to the sink
	Rejected uint64 // could not be read, dropped
}

// NewBrokerSubscriber checks cfg and returns a subscriber ready to Run.
// Configuration faults (a bad URL, a bad topic) are reported here; a
// broker that cannot be reached is not a fault, Run keeps trying.
func NewBrokerSubscriber(cfg BrokerConfig) (*BrokerSubscriber, error) {
	u, topic, err := brokerConfigCheck(cfg)
	if err != nil {
		return nil, err
	}
	m, err := newBrokerMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &BrokerSubscriber{
		url:         u,
		topic:       topic,
		tls:         cfg.TLS,
		log:         logger.With("component", "revocation.broker", "topic", topic),
		onReconnect: cfg.OnReconnect,
		metrics:     m,
		backoffMin:  brokerBackoffMin,
		backoffMax:  brokerBackoffMax,
	}, nil
}

// brokerConfigCheck parses the URL and checks the topic of cfg.
func brokerConfigCheck(cfg BrokerConfig) (BrokerURL, string, error) {
	u, err := ParseBrokerURL(cfg.URL, cfg.Username, cfg.Password)
	if err != nil {
		return BrokerURL{}, "", err
	}
	topic := cfg.Topic
	if topic == "" {
		topic = DefaultBrokerTopic
	}
	if len(topic) > 255 {
		return BrokerURL{}, "", fmt.Errorf("invalid jmsConnectionTopic: longer than 255 bytes")
	}
	for _, r := range topic {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return BrokerURL{}, "", fmt.Errorf("invalid jmsConnectionTopic %q: no spaces or control characters allowed", topic)
		}
	}
	return u, topic, nil
}

// Connected reports whether the subscriber is subscribed right now.
func (s *BrokerSubscriber) Connected() bool { return s.connected.Load() }

// Stats returns how many messages were applied and rejected so far.
func (s *BrokerSubscriber) Stats() BrokerStats {
	return BrokerStats{Applied: s.applied.Load(), Rejected: s.rejected.Load()}
}

// brokerDeliver is how a protocol session hands a received message over.
type brokerDeliver func(body []byte, header func(string) (string, bool))

// Run subscribes and delivers revocations into sink until ctx is done; see
// Source. It calls ready after the first subscription is in place. Any loss
// is retried forever, with exponential backoff (brokerBackoffMin doubling to
// brokerBackoffMax, 100 ms to 5 s, with jitter; it starts over once a
// subscription has lasted brokerStableAfter, 30 s), each
// attempt on the next broker address of the URL. State changes are logged
// once each, not every retry. Run is not meant to be called twice at once.
func (s *BrokerSubscriber) Run(ctx context.Context, sink Sink, ready func()) error {
	if sink == nil {
		return errors.New("broker subscriber: nil sink")
	}
	deliver := func(body []byte, header func(string) (string, bool)) { s.apply(sink, body, header) }
	bo := newBackoff(s.backoffMin, s.backoffMax)
	started := false
	logged := brokerFailNone // the failure already logged for the current outage
	for attempt := 0; ; attempt++ {
		addr := s.url.Addrs[attempt%len(s.url.Addrs)]
		subscribed := false
		var subscribedAt time.Time
		onSubscribed := func() {
			subscribed, subscribedAt = true, time.Now()
			s.setConnected(true)
			logged = brokerFailNone
			if !started {
				started = true
				s.log.Info("subscriber service for token revocation is started",
					"broker", addr, "protocol", string(s.url.Protocol), "vhost", s.url.VHost)
				if ready != nil {
					ready()
				}
				return
			}
			s.log.Info("reconnected to broker", "broker", addr)
			if s.onReconnect != nil {
				s.onReconnect()
			}
		}
		var err error
		switch s.url.Protocol {
		case ProtocolAMQP:
			err = s.amqpSession(ctx, addr, onSubscribed, deliver)
		default:
			err = s.stompSession(ctx, addr, onSubscribed, deliver)
		}
		s.setConnected(false)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("session ended")
		}
		if subscribed && time.Since(subscribedAt) >= brokerStableAfter {
			bo.reset()
		}
		delay := bo.next()
		kind := brokerFailKind(err)
		switch {
		case subscribed:
			s.log.Warn("connection to broker lost, retrying", "broker", addr, "error", err)
			logged = brokerFailDown
		case kind != logged:
			s.logFailure(kind, addr, err)
			logged = kind
		default:
			s.log.Debug("broker still unavailable", "broker", addr, "error", err, "retry_in", delay)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (s *BrokerSubscriber) logFailure(kind brokerFail, addr string, err error) {
	switch kind {
	case brokerFailLogin:
		le, _ := errors.AsType[*brokerLoginError](err)
		s.log.Error(fmt.Sprintf("broker refused the login for user %q, retrying", s.url.Username),
			"broker", addr, "vhost", s.url.VHost, "reason", le.reason)
	case brokerFailRefused:
		re, _ := errors.AsType[*brokerRefusedError](err)
		s.log.Error("broker refused "+re.what+", retrying", "broker", addr, "vhost", s.url.VHost, "reason", re.err)
	default:
		args := []any{"broker", addr, "error", err}
		if hint := devHint(DevStompAddr, addr); hint != "" {
			args = append(args, "hint", hint)
		}
		s.log.Warn("cannot connect to broker, retrying", args...)
	}
}

func (s *BrokerSubscriber) setConnected(v bool) {
	s.connected.Store(v)
	if v {
		s.metrics.connected.Set(1)
	} else {
		s.metrics.connected.Set(0)
	}
}

// apply decodes one message and revokes its jti, or adds its rule when sink
// is also a RuleSink; a message that cannot be read is counted and dropped.
// The token is never logged, the jti may be.
func (s *BrokerSubscriber) apply(sink Sink, body []byte, header func(string) (string, bool)) {
	m, err := DecodeMessage(body, header)
	if err == nil && m.Block.Kind != BlockNone {
		if s.applyBlock(sink, m.Block) {
			return
		}
		err = fmt.Errorf("%w: a blocking condition, and this gateway's sink takes none", ErrInvalidNotice)
	}
	if err == nil && m.Rule.Kind != RuleNone {
		rs, ok := sink.(RuleSink)
		if !ok {
			err = fmt.Errorf("%w: a revocation rule, and this gateway's revoked set takes none", ErrInvalidNotice)
		} else {
			rs.RevokeRule(m.Rule.Rule(time.Now()))
			s.log.Debug("revocation rule added", "kind", m.Rule.Kind.String(), "key", m.Rule.Key,
				"issued_before", m.Rule.IssuedBefore.Unix(), "ttl", m.Rule.TTL)
			s.counted(true)
			return
		}
	}
	if err != nil {
		s.log.Warn("dropped a revocation message that cannot be read", "error", err, "bytes", len(body))
		s.counted(false)
		return
	}
	n := m.Notice
	var exp time.Time
	if n.TTL > 0 {
		exp = time.Now().Add(n.TTL)
	}
	sink.Revoke(n.JTI, exp)
	s.log.Debug("Successfully added to revoked token map", "jti", n.JTI, "ttl", n.TTL)
	s.counted(true)
}

// counted records one message as applied or rejected, once all else about
// it is done: whoever watches Stats (a test, an operator) then also finds
// its log line and its metric.
func (s *BrokerSubscriber) counted(applied bool) {
	if applied {
		s.metrics.applied.Inc()
		s.applied.Add(1)
		return
	}
	s.metrics.rejected.Inc()
	s.rejected.Add(1)
}

// applyBlock applies a blocking condition to sink; false when the sink
// takes none.
func (s *BrokerSubscriber) applyBlock(sink Sink, n BlockNotice) bool {
	bs, ok := sink.(BlockSink)
	if !ok {
		return false
	}
	if n.Enabled {
		bs.Block(n.Block(time.Now()))
		s.log.Debug("blocking condition added", "type", n.Kind.String(), "value", n.Value, "ttl", n.TTL)
	} else {
		bs.Unblock(n.Kind, n.Value)
		s.log.Debug("blocking condition lifted", "type", n.Kind.String(), "value", n.Value)
	}
	s.counted(true)
	return true
}

// brokerFail classifies why a session ended, for logging once per state.
type brokerFail int

const (
	brokerFailNone    brokerFail = iota
	brokerFailDown               // network: unreachable, reset, timed out
	brokerFailLogin              // the broker refused the credentials (or the vhost)
	brokerFailRefused            // the broker refused something else: the subscription
)

// brokerLoginError is a login the broker refused. reason is the broker's
// own word, which names the user at most, never the password.
type brokerLoginError struct {
	user, reason string
}

func (e *brokerLoginError) Error() string {
	return fmt.Sprintf("broker refused the login for user %q: %s", e.user, e.reason)
}

// brokerRefusedError is any other refusal by the broker; what names the
// refused thing ("the subscription to /topic/x", "the connection", "to ...").
type brokerRefusedError struct {
	what string
	err  error
}

func (e *brokerRefusedError) Error() string { return "broker refused " + e.what + ": " + e.err.Error() }
func (e *brokerRefusedError) Unwrap() error { return e.err }

func brokerFailKind(err error) brokerFail {
	var le *brokerLoginError
	var re *brokerRefusedError
	switch {
	case errors.As(err, &le):
		return brokerFailLogin
	case errors.As(err, &re):
		return brokerFailRefused
	}
	return brokerFailDown
}

// brokerTLSConfig returns the TLS configuration for one broker address:
// a copy of base (or an empty config: system roots), with ServerName the
// address's host when base leaves it empty.
func brokerTLSConfig(base *tls.Config, addr string) *tls.Config {
	var c *tls.Config
	if base != nil {
		c = base.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			c.ServerName = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		}
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// brokerMetrics are the subscriber's Prometheus metrics.
type brokerMetrics struct {
	connected         prometheus.Gauge
	applied, rejected prometheus.Counter
}

func newBrokerMetrics(reg prometheus.Registerer) (*brokerMetrics, error) {
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "microgw_revocation_broker_connected",
		Help: "1 while the revocation subscriber is subscribed to its broker topic, else 0.",
	})
	messages := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "microgw_revocation_messages_total",
		Help: "Revocation messages received from the broker, by result: applied to the revoked set, or rejected (unreadable, dropped).",
	}, []string{"result"})
	if reg != nil {
		if err := reg.Register(gauge); err != nil {
			are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
			if !ok {
				return nil, fmt.Errorf("register broker metrics: %w", err)
			}
			gauge = are.ExistingCollector.(prometheus.Gauge)
		}
		if err := reg.Register(messages); err != nil {
			are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
			if !ok {
				return nil, fmt.Errorf("register broker metrics: %w", err)
			}
			messages = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &brokerMetrics{
		connected: gauge,
		applied:   messages.WithLabelValues("applied"),
		rejected:  messages.WithLabelValues("rejected"),
	}, nil
}

var _ Source = (*BrokerSubscriber)(nil)
