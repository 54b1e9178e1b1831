// Package stomptest listens on a STOMP topic the way a gateway does, for the
// tests of the packages that publish revocations to one.
package stomptest

import (
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
)

// Subscribe subscribes to /topic/TOPIC on the broker at addr (host:port) and
// returns once the subscription is surely in place: a message of its own came
// back, so a message published after the return cannot be missed.
func Subscribe(t testing.TB, addr, topic string) *stomp.Subscription {
	t.Helper()
	conn, err := stomp.Dial("tcp", addr, stomp.ConnOpt.Host("/"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Disconnect() })
	sub, err := conn.Subscribe("/topic/"+topic, stomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send("/topic/"+topic, "text/plain", []byte("sync")); err != nil {
		t.Fatal(err)
	}
	if m := Next(t, sub); string(m.Body) != "sync" {
		t.Fatalf("first message %q, want our sync", m.Body)
	}
	return sub
}

// Next waits for the next message on sub; the bound only keeps a broken
// publisher or broker from hanging the test.
func Next(t testing.TB, sub *stomp.Subscription) *stomp.Message {
	t.Helper()
	select {
	case m, ok := <-sub.C:
		if !ok || m.Err != nil {
			t.Fatalf("subscription ended: %v", m)
		}
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no message on the topic")
	}
	return nil
}
