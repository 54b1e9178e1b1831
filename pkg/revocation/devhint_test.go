package revocation

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

func TestDevHint(t *testing.T) {
	for _, tc := range []struct {
		dev   string
		addrs []string
		hint  bool
	}{
		{DevEtcdAddr, []string{"http://127.0.0.1:2379"}, true},
		{DevEtcdAddr, []string{"https://localhost:2379"}, true},
		{DevEtcdAddr, []string{"http://10.0.0.1:2379", "http://[::1]:2379"}, true},
		{DevEtcdAddr, []string{"http://10.0.0.1:2379"}, false},
		{DevEtcdAddr, []string{"http://127.0.0.1:12379"}, false},
		{DevStompAddr, []string{"127.0.0.1:61613"}, true},
		{DevStompAddr, []string{"localhost:61613"}, true},
		{DevStompAddr, []string{"broker.example.com:61613"}, false},
		{DevStompAddr, []string{"not an address"}, false},
	} {
		if got := devHint(tc.dev, tc.addrs...); (got != "") != tc.hint {
			t.Errorf("devHint(%s, %q) = %q, want a hint: %v", tc.dev, tc.addrs, got, tc.hint)
		}
	}
}

// TestBrokerFailureHint: the WARN of a broker that cannot be reached says
// that micro-gw dev serves it, when it is micro-gw dev's default address.
func TestBrokerFailureHint(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:61613": true, "broker.example.com:61613": false} {
		var log syncbuf.Buffer
		s, err := NewBrokerSubscriber(BrokerConfig{URL: "stomp://" + addr, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		s.logFailure(brokerFailDown, addr, errors.New("connection refused"))
		if got := strings.Contains(log.String(), "micro-gw dev serves"); got != want {
			t.Errorf("%s: hint logged %v, want %v:\n%s", addr, got, want, log.String())
		}
	}
}

// TestStoreFailureHint: a store's failure is logged with its hint.
func TestStoreFailureHint(t *testing.T) {
	var log syncbuf.Buffer
	var f failureLog
	f.log(slog.New(slog.NewTextHandler(&log, nil)), "load from etcd", errors.New("refused"), time.Second, devHint(DevEtcdAddr, "http://127.0.0.1:2379"))
	if !strings.Contains(log.String(), `hint="micro-gw dev serves 127.0.0.1:2379 by default: is it running?"`) {
		t.Errorf("no hint in:\n%s", log.String())
	}
}
