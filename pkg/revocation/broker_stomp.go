package revocation

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
)

// stompDestination is the STOMP destination of a topic: /topic/<topic>, the
// name ActiveMQ, Artemis and RabbitMQ's STOMP plugin all give a topic (on
// RabbitMQ it is the exchange amq.topic with routing key <topic>).
func stompDestination(topic string) string { return "/topic/" + topic }

// The SUBSCRIBE header with which ActiveMQ delivers a JMS MapMessage as JSON,
// sent when the URL asks for it (BrokerURL.Transformation).
const (
	stompTransformation = "transformation"
	stompMapJSON        = "jms-map-json"
)

// stompDial connects and logs in to the STOMP broker at addr: TLS when the
// URL says so, CONNECT host header = the URL's vhost, login when a user or
// password is set, heart-beats both ways. Closing the network connection when
// ctx is done is armed until the returned stop is called; a subscriber keeps
// it for the whole session, a publisher stops it once connected.
//
// go-stomp expects the broker's heart-beats whenever it asked for them, even
// when the broker answers that it will send none ("heart-beat:0,..."), and
// would then drop a quiet connection every 15 s. With such a broker it dials
// again without asking, and a dead broker is noticed when a write fails.
func stompDial(ctx context.Context, u BrokerURL, addr string, tlsBase *tls.Config, logger *slog.Logger) (*stomp.Conn, func() bool, error) {
	conn, stop, beats, err := stompDialOnce(ctx, u, addr, tlsBase, logger, brokerHeartBeat)
	if err != nil || beats {
		return conn, stop, err
	}
	stop()
	conn.MustDisconnect()
	logger.Debug("broker sends no heart-beats; reconnecting without asking for them", "broker", addr)
	conn, stop, _, err = stompDialOnce(ctx, u, addr, tlsBase, logger, 0)
	return conn, stop, err
}

// stompDialOnce is one connection attempt of stompDial, asking the broker
// for heart-beats every recvBeat (0: none). beats reports whether the broker
// will send them (or was not asked to).
func stompDialOnce(ctx context.Context, u BrokerURL, addr string, tlsBase *tls.Config, logger *slog.Logger, recvBeat time.Duration) (conn *stomp.Conn, stop func() bool, beats bool, err error) {
	d := net.Dialer{Timeout: brokerDialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, false, err
	}
	stop = context.AfterFunc(ctx, func() { nc.Close() })
	fail := func(err error) (*stomp.Conn, func() bool, bool, error) {
		stop()
		nc.Close()
		return nil, nil, false, err
	}
	lctx, cancel := context.WithTimeout(ctx, brokerLoginTimeout)
	defer cancel()
	if u.TLS {
		tc := tls.Client(nc, brokerTLSConfig(tlsBase, addr))
		if err := tc.HandshakeContext(lctx); err != nil {
			return fail(fmt.Errorf("tls handshake with %s: %w", addr, err))
		}
		nc = tc
	}
	beats = true
	opts := []func(*stomp.Conn) error{
		stomp.ConnOpt.Host(u.VHost),
		stomp.ConnOpt.AcceptVersion(stomp.V11, stomp.V12),
		stomp.ConnOpt.HeartBeat(brokerHeartBeat, recvBeat),
		stomp.ConnOpt.MsgSendTimeout(brokerDialTimeout),
		stomp.ConnOpt.RcvReceiptTimeout(brokerLoginTimeout),
		stomp.ConnOpt.DisconnectReceiptTimeout(2 * time.Second),
		stomp.ConnOpt.Logger(stompLogger{logger}),
		stomp.ConnOpt.ResponseHeaders(func(h *frame.Header) {
			if hb, ok := h.Contains(frame.HeartBeat); ok && recvBeat > 0 {
				if send, _, err := frame.ParseHeartBeat(hb); err == nil && send == 0 {
					beats = false
				}
			}
		}),
	}
	if u.Username != "" || u.Password != "" {
		opts = append(opts, stomp.ConnOpt.Login(u.Username, u.Password))
	}
	conn, err = stomp.ConnectWithContext(lctx, nc, opts...)
	if err != nil {
		if se, ok := errors.AsType[stomp.Error](err); ok && se.Frame != nil {
			// The broker answered CONNECT with ERROR: credentials, or
			// (RabbitMQ) a virtual host it does not know or allow.
			return fail(&brokerLoginError{user: u.Username, reason: stompErrorReason(se)})
		}
		return fail(fmt.Errorf("stomp connect to %s: %w", addr, err))
	}
	return conn, stop, beats, nil
}

// stompErrorReason is the broker's explanation in an ERROR frame: its
// message header and the start of its body.
func stompErrorReason(se stomp.Error) string {
	reason := se.Message
	if se.Frame != nil {
		if body := strings.TrimSpace(string(se.Frame.Body)); body != "" {
			if len(body) > 200 {
				body = body[:200] + "..."
			}
			reason += ": " + body
		}
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, reason)
}

// stompSession is one STOMP connection of the subscriber: connect,
// subscribe, confirm, then deliver messages until the connection is lost
// (an error) or ctx is done (nil).
func (s *BrokerSubscriber) stompSession(ctx context.Context, addr string, onSubscribed func(), deliver brokerDeliver) error {
	conn, stop, err := stompDial(ctx, s.url, addr, s.tls, s.log)
	if err != nil {
		return err
	}
	defer stop()
	defer conn.MustDisconnect()

	dest := stompDestination(s.topic)
	// The token service publishes JMS MapMessages; ActiveMQ gives a plain
	// STOMP subscriber such a message with an empty body and its entries
	// lost, and with this header the entries as a JSON body (jmsMapJSON).
	// Other messages pass unchanged, and other brokers ignore the header;
	// but it is asked for only when the URL says so, since an ActiveMQ
	// without XStream drops such a subscription at its first message.
	var opts []func(*frame.Frame) error
	if s.url.Transformation != "" {
		opts = append(opts, stomp.SubscribeOpt.Header(stompTransformation, s.url.Transformation))
	}
	sub, err := conn.Subscribe(dest, stomp.AckAuto, opts...)
	if err != nil {
		return fmt.Errorf("subscribe to %s: %w", dest, err)
	}
	// When the session ends, read sub.C until go-stomp closes it: it hands
	// the subscription its final error through sub.C before closing, and
	// with messages still buffered and nobody reading, its goroutines
	// would block forever.
	defer func() {
		go func() {
			for range sub.C {
			}
		}()
	}()
	// SUBSCRIBE has no answer of its own. A frame with a receipt sent after
	// it (here an empty transaction, aborted) is answered only once the
	// broker has handled the SUBSCRIBE, so that after this nothing published
	// to the topic can be missed. An ERROR instead means the broker refused
	// the subscription (e.g. no read permission on RabbitMQ).
	if err := stompConfirm(conn); err != nil {
		if se, ok := errors.AsType[stomp.Error](err); ok && se.Frame != nil {
			return &brokerRefusedError{what: "the subscription to " + dest, err: errors.New(stompErrorReason(se))}
		}
		return fmt.Errorf("confirm subscription to %s: %w", dest, err)
	}
	onSubscribed()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-sub.C:
			if !ok {
				return errors.New("the broker ended the subscription")
			}
			if msg.Err != nil {
				// A broker's ERROR frame, or go-stomp's own for a lost
				// connection ("connection closed", "read timeout").
				if se, ok := errors.AsType[*stomp.Error](msg.Err); ok {
					return fmt.Errorf("connection lost: %s", stompErrorReason(*se))
				}
				return fmt.Errorf("connection lost: %w", msg.Err)
			}
			deliver(msg.Body, func(k string) (string, bool) {
				if msg.Header == nil {
					return "", false
				}
				return msg.Header.Contains(k)
			})
		}
	}
}

// stompConfirm makes a round trip to the broker (BEGIN, then ABORT with a
// receipt) and returns when the broker has handled every earlier frame.
func stompConfirm(conn *stomp.Conn) error {
	tx, err := conn.BeginWithError()
	if err != nil {
		return err
	}
	return tx.AbortWithReceipt()
}

// stompSender publishes over one STOMP connection.
type stompSender struct {
	conn *stomp.Conn
	dest string
}

func dialStompSender(ctx context.Context, u BrokerURL, addr, topic string, tlsBase *tls.Config, logger *slog.Logger) (*stompSender, error) {
	conn, stop, err := stompDial(ctx, u, addr, tlsBase, logger)
	if err != nil {
		return nil, err
	}
	stop() // the connection outlives the dial's context
	return &stompSender{conn: conn, dest: stompDestination(topic)}, nil
}

// send sends body to the topic and waits for the broker's RECEIPT, so that
// a nil error means the broker has taken the message.
func (p *stompSender) send(ctx context.Context, body []byte) error {
	done := make(chan error, 1)
	go func() {
		done <- p.conn.Send(p.dest, "application/json", body, stomp.SendOpt.Receipt)
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("stomp send to %s: %w", p.dest, err)
		}
		return nil
	case <-ctx.Done():
		// Send holds the connection's lock until its receipt times out;
		// drop the connection without waiting. The caller discards it.
		go p.conn.MustDisconnect()
		return ctx.Err()
	}
}

func (p *stompSender) close() error {
	err := p.conn.Disconnect()
	p.conn.MustDisconnect()
	return err
}

// stompLogger passes go-stomp's own log lines to slog at DEBUG. It keeps the
// format and drops the arguments: go-stomp formats whole frames into some
// lines, and a frame can carry a token.
type stompLogger struct{ log *slog.Logger }

func (l stompLogger) Debugf(format string, _ ...any)   { l.log.Debug("stomp: " + format) }
func (l stompLogger) Infof(format string, _ ...any)    { l.log.Debug("stomp: " + format) }
func (l stompLogger) Warningf(format string, _ ...any) { l.log.Debug("stomp: " + format) }
func (l stompLogger) Errorf(format string, _ ...any)   { l.log.Debug("stomp: " + format) }
func (l stompLogger) Debug(message string)             { l.log.Debug("stomp: " + stompLogClip(message)) }
func (l stompLogger) Info(message string)              { l.log.Debug("stomp: " + stompLogClip(message)) }
func (l stompLogger) Warning(message string)           { l.log.Debug("stomp: " + stompLogClip(message)) }
func (l stompLogger) Error(message string)             { l.log.Debug("stomp: " + stompLogClip(message)) }

// stompLogClip keeps the plain messages short; they hold at most a
// subscription id and a broker's ERROR message.
func stompLogClip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

var _ stomp.Logger = stompLogger{}
