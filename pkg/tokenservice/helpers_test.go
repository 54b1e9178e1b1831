package tokenservice

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/micro-gw/micro-gw/internal/revocationtest"
	"github.com/micro-gw/micro-gw/pkg/devservices/stompbroker"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// services are a real etcd and a real STOMP broker, with a subscriber on the
// revocation topic: what a gateway would see.
type services struct {
	etcdEndpoint string
	etcd         *clientv3.Client
	stompAddr    string
	sub          *stomp.Subscription
}

func startServices(t *testing.T) *services {
	t.Helper()
	endpoint, cli := etcdtest.Start(t)
	b, err := stompbroker.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &services{etcdEndpoint: endpoint, etcd: cli, stompAddr: b.Addr(), sub: revocationtest.Subscribe(t, b.Addr(), "tokenRevocation")}
}

// nextNotice decodes the next message as the gateway's subscriber does.
func (s *services) nextNotice(t *testing.T) revocation.Notice {
	t.Helper()
	m := revocationtest.Next(t, s.sub)
	msg, err := revocation.DecodeMessage(m.Body, func(k string) (string, bool) { return m.Header.Contains(k) })
	n := msg.Notice
	if err != nil {
		t.Fatalf("the published message does not decode: %v (%s)", err, m.Body)
	}
	return n
}

// key returns the value of key in etcd and the ttl of its lease (0: none).
func (s *services) key(t *testing.T, key string) (value string, leaseTTL int64, ok bool) {
	t.Helper()
	return revocationtest.Key(t, s.etcd, key)
}

// revocationConf is the [tokenRevocationConfig] of a gateway using s.
func (s *services) revocationConf() config.Revocation {
	rev := config.Default().Revocation
	rev.Realtime.Enabled = true
	rev.Realtime.ProviderURL = "stomp://" + s.stompAddr
	rev.Persistent.Enabled = true
	rev.Persistent.Hostname = s.etcdEndpoint + "/v2/keys/jti/"
	rev.Persistent.Username, rev.Persistent.Password = "", ""
	return rev
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

var testKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

// jwtFor signs a token with jti, issued at iat with lifetime ttl.
func jwtFor(t *testing.T, jti string, iat time.Time, ttl time.Duration) string {
	t.Helper()
	tok, err := issuer.Sign(testKey, issuer.DefaultKeyID, issuer.Claims{JTI: jti, IssuedAt: iat, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func uniqueJTI(label string) string {
	return fmt.Sprintf("%s-%d", label, time.Now().UnixNano())
}
