package revocation

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// amqpExchange is where JMS topics live on an AMQP 0-9-1 broker (and where
// RabbitMQ's STOMP plugin puts /topic/X): a topic is a routing key on it.
const amqpExchange = "amq.topic"

// amqpDial connects and logs in to the AMQP broker at addr, on the URL's
// vhost. Without a user or password the AMQP default guest/guest is used,
// as by every AMQP client.
func amqpDial(ctx context.Context, u BrokerURL, addr string, tlsBase *tls.Config) (*amqp.Connection, error) {
	user, pass := u.Username, u.Password
	if user == "" && pass == "" {
		user, pass = "guest", "guest"
	}
	scheme := "amqp"
	if u.TLS {
		scheme = "amqps"
	}
	// Credentials and vhost go in the Config, not in the URL the library
	// parses, so that they need no escaping and never sit in a string.
	target := (&url.URL{Scheme: scheme, Host: addr, Path: "/"}).String()

	var mu sync.Mutex
	var raw net.Conn
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if raw != nil {
			raw.Close()
		}
	})
	defer stop()
	cfg := amqp.Config{
		SASL:      []amqp.Authentication{&amqp.PlainAuth{Username: user, Password: pass}},
		Vhost:     u.VHost,
		Heartbeat: brokerHeartBeat,
		Locale:    "en_US",
		Dial: func(network, a string) (net.Conn, error) {
			d := net.Dialer{Timeout: brokerDialTimeout, KeepAlive: 30 * time.Second}
			c, err := d.DialContext(ctx, network, a)
			if err != nil {
				return nil, err
			}
			// A deadline for the TLS and AMQP handshakes; the library
			// clears it once the connection is open.
			if err := c.SetDeadline(time.Now().Add(brokerLoginTimeout)); err != nil {
				c.Close()
				return nil, err
			}
			mu.Lock()
			raw = c
			mu.Unlock()
			return c, nil
		},
	}
	if u.TLS {
		cfg.TLSClientConfig = brokerTLSConfig(tlsBase, addr)
	}
	conn, err := amqp.DialConfig(target, cfg)
	if err != nil {
		if ae, ok := errors.AsType[*amqp.Error](err); ok {
			switch {
			case errors.Is(err, amqp.ErrVhost):
				return nil, &brokerLoginError{user: user, reason: "no access to virtual host " + strconv.Quote(u.VHost)}
			case ae.Code == amqp.AccessRefused:
				return nil, &brokerLoginError{user: user, reason: ae.Reason}
			case ae.Server:
				// The broker closed the handshake, e.g. 530 NOT_ALLOWED
				// for a virtual host that does not exist.
				return nil, &brokerRefusedError{what: "the connection", err: err}
			}
		}
		return nil, fmt.Errorf("amqp connect to %s: %w", addr, err)
	}
	return conn, nil
}

// amqpSession is one AMQP connection of the subscriber: an exclusive,
// auto-deleted, server-named queue bound to amq.topic with the topic as
// routing key, consumed until the connection is lost (an error) or ctx is
// done (nil). Every step is synchronous, so once Consume returns the binding
// is in place and nothing published afterwards is missed.
func (s *BrokerSubscriber) amqpSession(ctx context.Context, addr string, onSubscribed func(), deliver brokerDeliver) error {
	conn, err := amqpDial(ctx, s.url, addr, s.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))

	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return amqpRefusal("to declare the subscription queue", err)
	}
	if err := ch.QueueBind(q.Name, s.topic, amqpExchange, false, nil); err != nil {
		return amqpRefusal("to bind the subscription queue to "+amqpExchange, err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		return amqpRefusal("to consume from the subscription queue", err)
	}
	onSubscribed()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				select {
				case e := <-closed:
					if e != nil {
						return fmt.Errorf("connection lost: %w", e)
					}
				default:
				}
				return errors.New("the broker ended the subscription")
			}
			deliver(d.Body, func(k string) (string, bool) { return amqpHeader(d.Headers, k) })
		}
	}
}

// amqpRefusal marks an error from the broker about the subscription itself
// (permissions) as a refusal; anything else is a lost connection.
func amqpRefusal(what string, err error) error {
	if ae, ok := errors.AsType[*amqp.Error](err); ok && ae.Server {
		return &brokerRefusedError{what: what, err: err}
	}
	return fmt.Errorf("failed %s: %w", what, err)
}

// amqpHeader reads a message header (an application property, as a JMS
// bridge sets them) as a string.
func amqpHeader(t amqp.Table, key string) (string, bool) {
	v, ok := t[key]
	if !ok {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64, int:
		return fmt.Sprint(v), true
	case float32, float64:
		return fmt.Sprint(v), true
	}
	return "", false
}

// amqpSender publishes over one AMQP channel in confirm mode.
type amqpSender struct {
	conn  *amqp.Connection
	ch    *amqp.Channel
	topic string
}

func dialAMQPSender(ctx context.Context, u BrokerURL, addr, topic string, tlsBase *tls.Config) (*amqpSender, error) {
	conn, err := amqpDial(ctx, u, addr, tlsBase)
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		conn.Close()
		return nil, fmt.Errorf("enable publisher confirms: %w", err)
	}
	return &amqpSender{conn: conn, ch: ch, topic: topic}, nil
}

// send publishes body to amq.topic with the topic as routing key and waits
// for the broker's confirm, so that a nil error means the broker has taken
// the message.
func (p *amqpSender) send(ctx context.Context, body []byte) error {
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, amqpExchange, p.topic, false, false, amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Transient,
		Timestamp:    time.Now(),
		Body:         body,
	})
	if err != nil {
		return fmt.Errorf("amqp publish: %w", err)
	}
	acked, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !acked {
		return errors.New("amqp publish: the broker refused the message (nack)")
	}
	return nil
}

func (p *amqpSender) close() error { return p.conn.Close() }
