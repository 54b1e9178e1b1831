package stompbroker

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"

	"github.com/micro-gw/micro-gw/internal/revocationtest"
	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

func TestTopicReachesEverySubscriber(t *testing.T) {
	b, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	var subs []*stomp.Subscription
	for range 2 {
		conn, err := stomp.Dial("tcp", b.Addr(), stomp.ConnOpt.Host("/"), stomp.ConnOpt.Login("any", "thing"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Disconnect()
		sub, err := conn.Subscribe("/topic/tokenRevocation", stomp.AckAuto)
		if err != nil {
			t.Fatal(err)
		}
		// A message sent on the subscriber's own connection comes back only
		// once the subscription is registered.
		if err := conn.Send("/topic/tokenRevocation", "text/plain", []byte("sync")); err != nil {
			t.Fatal(err)
		}
		for string(revocationtest.Next(t, sub).Body) != "sync" {
		}
		subs = append(subs, sub)
	}

	pub, err := stomp.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect()
	if err := pub.Send("/topic/tokenRevocation", "application/json", []byte(`{"revokedToken":"j1","ttl":"60"}`)); err != nil {
		t.Fatal(err)
	}
	for i, sub := range subs {
		m := revocationtest.Next(t, sub)
		for string(m.Body) == "sync" {
			m = revocationtest.Next(t, sub)
		}
		if got := string(m.Body); got != `{"revokedToken":"j1","ttl":"60"}` {
			t.Errorf("subscriber %d got %q", i, got)
		}
	}
}

func TestCloseDropsClientsAndStopsListening(t *testing.T) {
	b, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	conn, err := stomp.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := conn.Subscribe("/topic/x", stomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	// Only once a message came back is the subscription surely set up on
	// both ends; before that, go-stomp's client may miss the drop.
	if err := conn.Send("/topic/x", "text/plain", []byte("sync")); err != nil {
		t.Fatal(err)
	}
	revocationtest.Next(t, sub)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case m, ok := <-sub.C:
		if ok && m.Err == nil {
			t.Errorf("a message after Close: %q", m.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client's connection was not dropped by Close")
	}
	if c, err := stomp.Dial("tcp", addr); err == nil {
		c.Disconnect()
		t.Error("the broker still accepts connections after Close")
	}
}

// A read cut by the broker's own Close is logged at DEBUG, other errors at INFO.
func TestStompLoggerQuietOnClose(t *testing.T) {
	var logs syncbuf.Buffer
	l := stompLogger{slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l.Errorf("read failed: %v", &net.OpError{Op: "read", Err: net.ErrClosed})
	if logs.String() != "" {
		t.Errorf("a read cut by Close was logged at INFO: %s", logs.String())
	}
	l.Errorf("read failed: %v", errors.New("connection reset by peer"))
	if !strings.Contains(logs.String(), "connection reset by peer") {
		t.Errorf("another error was not logged: %q", logs.String())
	}
}
