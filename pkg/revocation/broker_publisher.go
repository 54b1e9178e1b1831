package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrPublisherClosed is returned by Publish after Close.
var ErrPublisherClosed = errors.New("broker publisher is closed")

// BrokerPublisher publishes revocations to the broker topic: what the
// token-service side uses (micro-gw revoke, the dev token service). Messages
// are the flat JSON form of EncodeNotice, body only, content-type
// application/json: every subscriber reads the body first, and a header copy
// would only be a second place for the two to disagree.
//
// It is safe for concurrent use; publications are sent one at a time.
type BrokerPublisher struct {
	url   BrokerURL
	topic string
	cfg   BrokerConfig
	log   *slog.Logger

	mu     sync.Mutex
	sender brokerSender // nil while disconnected
	closed bool
}

// brokerSender is one connection of a publisher, STOMP or AMQP.
type brokerSender interface {
	send(ctx context.Context, body []byte) error
	close() error
}

// DialBrokerPublisher connects to the first broker of cfg.URL that answers.
// OnReconnect and Registerer of cfg are not used.
func DialBrokerPublisher(ctx context.Context, cfg BrokerConfig) (*BrokerPublisher, error) {
	u, topic, err := brokerConfigCheck(cfg)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	p := &BrokerPublisher{url: u, topic: topic, cfg: cfg, log: logger.With("component", "revocation.publisher", "topic", topic)}
	if err := p.connect(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// connect dials the brokers of the URL in order and keeps the first that
// answers. Called with p.mu held (or before p is shared).
func (p *BrokerPublisher) connect(ctx context.Context) error {
	var errs []error
	for _, addr := range p.url.Addrs {
		var s brokerSender
		var err error
		switch p.url.Protocol {
		case ProtocolAMQP:
			s, err = dialAMQPSender(ctx, p.url, addr, p.topic, p.cfg.TLS)
		default:
			s, err = dialStompSender(ctx, p.url, addr, p.topic, p.cfg.TLS, p.log)
		}
		if err == nil {
			p.sender = s
			return nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("connect to broker %s: %w", p.url, errors.Join(errs...))
}

// Publish sends n to the topic and returns once the broker has taken it
// (STOMP: its RECEIPT; AMQP: its publisher confirm). n.JTI may also be a
// whole JWT: it is reduced to its jti claim (see ReadRevokedToken), with the TTL
// running to the token's exp when n.TTL is zero, so that no token is ever
// put on the broker. A connection found broken is replaced and the send
// tried once more: a revocation received twice is harmless.
func (p *BrokerPublisher) Publish(ctx context.Context, n Notice) error {
	tok, err := ReadRevokedToken(n.JTI)
	if err != nil {
		return fmt.Errorf("publish revocation: %w", err)
	}
	n.JTI = tok.JTI
	if until := tok.Until(); n.TTL == 0 && !until.IsZero() {
		n.TTL = max(time.Until(until).Truncate(time.Second)+time.Second, time.Second)
	}
	return p.publish(ctx, EncodeNotice(n), "revocation", fmt.Sprintf(" of jti %q", n.JTI), "jti", n.JTI, "ttl", n.TTL)
}

// PublishRule sends the rule n to the topic, as Publish does a notice.
func (p *BrokerPublisher) PublishRule(ctx context.Context, n RuleNotice) error {
	if err := ValidateRuleNotice(n); err != nil {
		return fmt.Errorf("publish revocation rule: %w", err)
	}
	return p.publish(ctx, EncodeRuleNotice(n), "revocation rule", fmt.Sprintf(" for %s %q", n.Kind, n.Key),
		"kind", n.Kind.String(), "key", n.Key, "issued_before", n.IssuedBefore.Unix(), "ttl", n.TTL)
}

// PublishBlock sends the blocking condition n to the topic (n.Enabled
// false lifts it), as Publish does a notice.
func (p *BrokerPublisher) PublishBlock(ctx context.Context, n BlockNotice) error {
	if err := ValidateBlockNotice(n); err != nil {
		return fmt.Errorf("publish blocking condition: %w", err)
	}
	return p.publish(ctx, EncodeBlockNotice(n), "blocking condition", fmt.Sprintf(" %s %q", n.Kind, n.Value),
		"type", n.Kind.String(), "value", n.Value, "enabled", n.Enabled, "ttl", n.TTL)
}

// publish sends body, the message of a what (of which names the one),
// and logs it with attrs. A closed publisher's ErrPublisherClosed is
// returned as it is.
func (p *BrokerPublisher) publish(ctx context.Context, body []byte, what, which string, attrs ...any) error {
	if err := p.send(ctx, body); err != nil {
		if errors.Is(err, ErrPublisherClosed) {
			return err
		}
		return fmt.Errorf("publish %s%s: %w", what, which, err)
	}
	p.log.Debug("published "+what, attrs...)
	return nil
}

// send sends body, replacing a broken connection once.
func (p *BrokerPublisher) send(ctx context.Context, body []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPublisherClosed
	}
	var last error
	for range 2 {
		if p.sender == nil {
			if err := p.connect(ctx); err != nil {
				return err
			}
		}
		err := p.sender.send(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		p.sender.close()
		p.sender = nil
		if ctx.Err() != nil {
			break
		}
	}
	return last
}

// Close disconnects from the broker. Publish fails afterwards.
func (p *BrokerPublisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.sender == nil {
		return nil
	}
	err := p.sender.close()
	p.sender = nil
	return err
}
