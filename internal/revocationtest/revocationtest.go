// Package revocationtest looks at what a published revocation left where a
// gateway would find it (a STOMP topic, etcd keys and their leases), for the
// tests of the packages that publish revocations.
package revocationtest

import (
	"context"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
	clientv3 "go.etcd.io/etcd/client/v3"
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

// Key returns the value of key in etcd and the granted ttl of its lease (0:
// none), ok false when there is no such key.
func Key(t testing.TB, cli *clientv3.Client, key string) (value string, leaseTTL int64, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return "", 0, false
	}
	kv := resp.Kvs[0]
	if kv.Lease != 0 {
		l, err := cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
		if err != nil {
			t.Fatal(err)
		}
		leaseTTL = l.GrantedTTL
	}
	return string(kv.Value), leaseTTL, true
}
