package revocation

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
	"github.com/go-stomp/stomp/v3/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

// brokerTestDeadline bounds every wait for an eventual result. It is generous
// on purpose: the tests assert what happens, never how fast.
const brokerTestDeadline = 20 * time.Second

// stompTestBroker is the real go-stomp server, in process on loopback, with
// a listener that remembers its connections so that Stop can cut them all,
// as a broker that dies does.
type stompTestBroker struct {
	addr    string
	ln      net.Listener
	accepts atomic.Int64

	mu      sync.Mutex
	conns   []net.Conn
	stopped bool
}

// startStompTestBroker starts a broker on addr ("127.0.0.1:0" for a new
// port). auth may be nil (no authentication).
func startStompTestBroker(t *testing.T, addr string, auth server.Authenticator) *stompTestBroker {
	t.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(brokerTestDeadline); ; {
		if ln, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // the old listener's port may take a moment to free
	}
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	b := &stompTestBroker{addr: ln.Addr().String(), ln: ln}
	srv := &server.Server{
		Authenticator: auth,
		Log:           stompLogger{slog.New(slog.DiscardHandler)},
	}
	// Serve never returns (its dispatcher outlives the listener); the
	// goroutine ends with the test binary.
	go srv.Serve(brokerTestListener{ln, b})
	t.Cleanup(b.Stop)
	return b
}

// Stop closes the listener and every connection.
func (b *stompTestBroker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	b.stopped = true
	b.ln.Close()
	for _, c := range b.conns {
		c.Close()
	}
}

type brokerTestListener struct {
	net.Listener
	b *stompTestBroker
}

func (l brokerTestListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.b.accepts.Add(1)
	l.b.mu.Lock()
	defer l.b.mu.Unlock()
	if l.b.stopped {
		c.Close()
	} else {
		l.b.conns = append(l.b.conns, c)
	}
	return c, nil
}

// brokerTestLog collects log output for assertions, safely across goroutines.
type brokerTestLog struct{ syncbuf.Buffer }

func (l *brokerTestLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// brokerTestRun is a subscriber running into a fresh Set.
type brokerTestRun struct {
	sub   *BrokerSubscriber
	set   *Set
	log   *brokerTestLog
	reg   *prometheus.Registry
	ready chan struct{}
	done  chan error
	stop  context.CancelFunc
}

func startBrokerTestRun(t *testing.T, cfg BrokerConfig) *brokerTestRun {
	t.Helper()
	r := &brokerTestRun{
		set:   NewSet(),
		log:   &brokerTestLog{},
		reg:   prometheus.NewRegistry(),
		ready: make(chan struct{}),
		done:  make(chan error, 1),
	}
	cfg.Logger = r.log.logger()
	cfg.Registerer = r.reg
	sub, err := NewBrokerSubscriber(cfg)
	if err != nil {
		t.Fatalf("NewBrokerSubscriber: %v", err)
	}
	r.sub = sub
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	var once sync.Once
	go func() { r.done <- sub.Run(ctx, r.set, func() { once.Do(func() { close(r.ready) }) }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run returned %v, want nil after cancel", err)
			}
		case <-time.After(brokerTestDeadline):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	return r
}

func (r *brokerTestRun) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-r.ready:
	case <-time.After(brokerTestDeadline):
		t.Fatalf("subscriber never became ready; log:\n%s", r.log)
	}
}

// metric returns the value of a gathered metric with the given labels.
func (r *brokerTestRun) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metrics
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

func brokerEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(brokerTestDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawStompSend sends one message as a token service would, waiting for the
// broker's receipt.
func rawStompSend(t *testing.T, addr, body string, headers map[string]string) {
	t.Helper()
	conn, err := stomp.Dial("tcp", addr, stomp.ConnOpt.Logger(stompLogger{slog.New(slog.DiscardHandler)}))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Disconnect()
	opts := []func(*frame.Frame) error{stomp.SendOpt.Receipt}
	for k, v := range headers {
		opts = append(opts, stomp.SendOpt.Header(k, v))
	}
	if err := conn.Send(stompDestination(DefaultBrokerTopic), "application/json", []byte(body), opts...); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func TestBrokerSubscriberAppliesEveryForm(t *testing.T) {
	b := startStompTestBroker(t, "127.0.0.1:0", nil)
	r := startBrokerTestRun(t, BrokerConfig{URL: "stomp://" + b.addr})
	r.waitReady(t)
	if !r.sub.Connected() || r.metric(t, "microgw_revocation_broker_connected", nil) != 1 {
		t.Fatal("ready, but not reported as connected")
	}

	jwt := messageTestJWT(t, map[string]any{"jti": "jwt-form-jti", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	rawStompSend(t, b.addr, `{"revokedToken":"flat-string-ttl","ttl":"3600"}`, nil)
	rawStompSend(t, b.addr, `{"revokedToken":"flat-number-ttl","ttl":3600}`, nil)
	rawStompSend(t, b.addr, `{"event":{"payloadData":{"revokedToken":"event-form","ttl":"3600"}}}`, nil)
	rawStompSend(t, b.addr, "", map[string]string{"revokedToken": "headers-only", "ttl": "3600"})
	rawStompSend(t, b.addr, `{"revokedToken":"`+jwt+`"}`, nil)

	want := []string{"flat-string-ttl", "flat-number-ttl", "event-form", "headers-only", "jwt-form-jti"}
	brokerEventually(t, "every form applied", func() bool { return r.sub.Stats().Applied == uint64(len(want)) })
	for _, jti := range want {
		if !r.set.Revoked(jti) {
			t.Errorf("%s is not revoked", jti)
		}
	}
	if r.set.Revoked(jwt) {
		t.Error("the whole JWT was used as the key")
	}
	if got := r.metric(t, "microgw_revocation_messages_total", map[string]string{"result": "applied"}); got != 5 {
		t.Errorf("applied metric = %v, want 5", got)
	}
	logs := r.log.String()
	for _, line := range []string{"subscriber service for token revocation is started", "Successfully added to revoked token map", "jti=jwt-form-jti"} {
		if !strings.Contains(logs, line) {
			t.Errorf("log lacks %q:\n%s", line, logs)
		}
	}
	for _, part := range strings.Split(jwt, ".") {
		if strings.Contains(logs, part) {
			t.Fatalf("the log shows part of the token:\n%s", logs)
		}
	}
}

func TestBrokerSubscriberDropsBadMessages(t *testing.T) {
	b := startStompTestBroker(t, "127.0.0.1:0", nil)
	r := startBrokerTestRun(t, BrokerConfig{URL: "stomp://" + b.addr})
	r.waitReady(t)

	noJTI := messageTestJWT(t, map[string]any{"sub": "bob"})
	rawStompSend(t, b.addr, `this is not json secret-token-1`, nil)
	rawStompSend(t, b.addr, `{"revokedToken":"`+noJTI+`"}`, nil)
	rawStompSend(t, b.addr, `{"revokedToken":"secret-token-2","ttl":"-1"}`, nil)
	rawStompSend(t, b.addr, `{"revokedToken":"good-after-bad","ttl":"60"}`, nil)

	// The subscriber handles messages in order: once the good one is in,
	// the bad ones before it have been handled. A message is counted in
	// Stats last, after the set has it: wait for the count too.
	brokerEventually(t, "good message applied after bad ones", func() bool {
		return r.set.Revoked("good-after-bad") && r.sub.Stats().Applied == 1
	})
	if st := r.sub.Stats(); st.Rejected != 3 || st.Applied != 1 {
		t.Fatalf("stats = %+v, want 3 rejected, 1 applied", st)
	}
	if got := r.metric(t, "microgw_revocation_messages_total", map[string]string{"result": "rejected"}); got != 3 {
		t.Errorf("rejected metric = %v, want 3", got)
	}
	if !r.sub.Connected() {
		t.Error("bad messages disconnected the subscriber")
	}
	logs := r.log.String()
	if strings.Count(logs, "dropped a revocation message that cannot be read") != 3 {
		t.Errorf("want 3 warnings for dropped messages:\n%s", logs)
	}
	for _, secret := range append(strings.Split(noJTI, "."), "secret-token-1", "secret-token-2") {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log shows a token (%q):\n%s", secret, logs)
		}
	}
}

func TestBrokerSubscriberTTL(t *testing.T) {
	b := startStompTestBroker(t, "127.0.0.1:0", nil)
	r := startBrokerTestRun(t, BrokerConfig{URL: "stomp://" + b.addr})
	r.waitReady(t)

	before := time.Now()
	rawStompSend(t, b.addr, `{"revokedToken":"ttl-60","ttl":"60"}`, nil)
	rawStompSend(t, b.addr, `{"revokedToken":"no-ttl"}`, nil)
	rawStompSend(t, b.addr, `{"revokedToken":"ttl-1","ttl":1}`, nil)
	brokerEventually(t, "messages applied", func() bool { return r.sub.Stats().Applied == 3 })
	after := time.Now()

	// Applied between before and after, so it expires between before+60s
	// and after+60s.
	if !r.set.RevokedAt("ttl-60", before.Add(59*time.Second)) {
		t.Error("ttl-60 is not revoked before its ttl ran out")
	}
	if r.set.RevokedAt("ttl-60", after.Add(61*time.Second)) {
		t.Error("ttl-60 is still revoked after its ttl ran out")
	}
	if !r.set.RevokedAt("no-ttl", after.Add(100*365*24*time.Hour)) {
		t.Error("a revocation without ttl expired")
	}
	// And on the real clock: a 1 s ttl ends, and the sweep removes it.
	brokerEventually(t, "ttl-1 expires", func() bool { return !r.set.Revoked("ttl-1") })
	r.set.Sweep(time.Now())
	if r.set.Len() != 2 {
		t.Errorf("Len after sweep = %d, want 2", r.set.Len())
	}
}

func TestBrokerSubscriberReconnects(t *testing.T) {
	b1 := startStompTestBroker(t, "127.0.0.1:0", nil)
	reconnected := make(chan struct{}, 10)
	r := startBrokerTestRun(t, BrokerConfig{
		URL:         "stomp://" + b1.addr,
		OnReconnect: func() { reconnected <- struct{}{} },
	})
	r.waitReady(t)
	pub := brokerTestPublisher(t, "stomp://"+b1.addr)
	if err := pub.Publish(context.Background(), Notice{JTI: "before-loss", TTL: time.Hour}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	brokerEventually(t, "first revocation applied", func() bool { return r.set.Revoked("before-loss") })
	select {
	case <-reconnected:
		t.Fatal("OnReconnect was called for the first connection")
	default:
	}

	b1.Stop()
	brokerEventually(t, "loss noticed", func() bool { return !r.sub.Connected() })
	if r.metric(t, "microgw_revocation_broker_connected", nil) != 0 {
		t.Error("connected gauge still 1 after the loss")
	}
	// Let a few attempts fail against the closed port before the broker
	// comes back: they must not be logged one by one.
	brokerEventually(t, "retries against the dead broker", func() bool {
		return strings.Count(r.log.String(), "broker still unavailable") >= 2
	})

	b2 := startStompTestBroker(t, b1.addr, nil)
	select {
	case <-reconnected:
	case <-time.After(brokerTestDeadline):
		t.Fatalf("OnReconnect never called; log:\n%s", r.log)
	}
	if !r.sub.Connected() {
		t.Error("not connected after OnReconnect")
	}
	// Published to the new broker after the re-subscription: applied.
	rawStompSend(t, b2.addr, `{"revokedToken":"after-reconnect","ttl":"60"}`, nil)
	brokerEventually(t, "revocation after reconnect applied", func() bool { return r.set.Revoked("after-reconnect") })

	logs := r.log.String()
	if n := strings.Count(logs, "connection to broker lost, retrying"); n != 1 {
		t.Errorf("loss logged %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "reconnected to broker"); n != 1 {
		t.Errorf("reconnect logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs, "cannot connect to broker") {
		t.Errorf("the failed retries of one outage were logged as a new state:\n%s", logs)
	}
	// The publisher's connection died with b1: Publish replaces it.
	if err := pub.Publish(context.Background(), Notice{JTI: "publisher-reconnected", TTL: time.Hour}); err != nil {
		t.Fatalf("Publish after the broker restarted: %v", err)
	}
	brokerEventually(t, "revocation from the reconnected publisher", func() bool { return r.set.Revoked("publisher-reconnected") })
}

func TestBrokerSubscriberFailover(t *testing.T) {
	dead := brokerTestClosedAddr(t)
	b := startStompTestBroker(t, "127.0.0.1:0", nil)
	reconnects := atomic.Int32{}
	r := startBrokerTestRun(t, BrokerConfig{
		URL:         "stomp://" + dead + "," + b.addr,
		OnReconnect: func() { reconnects.Add(1) },
	})
	r.waitReady(t)
	rawStompSend(t, b.addr, `{"revokedToken":"via-second-broker","ttl":"60"}`, nil)
	brokerEventually(t, "applied via the second broker", func() bool { return r.set.Revoked("via-second-broker") })
	if reconnects.Load() != 0 {
		t.Error("OnReconnect called for the first subscription")
	}
	if !strings.Contains(r.log.String(), "cannot connect to broker, retrying") {
		t.Errorf("the dead first broker was not logged:\n%s", r.log)
	}
}

// brokerTestClosedAddr returns a loopback address nobody listens on.
func brokerTestClosedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type brokerTestAuth struct{ pass atomic.Value }

func (a *brokerTestAuth) Authenticate(login, passcode string) bool {
	return login == "gw" && passcode == a.pass.Load().(string)
}

func TestBrokerSubscriberWrongCredentials(t *testing.T) {
	const wrong = "Wrong-Passw0rd-123"
	auth := &brokerTestAuth{}
	auth.pass.Store("right-password")
	b := startStompTestBroker(t, "127.0.0.1:0", auth)
	r := startBrokerTestRun(t, BrokerConfig{URL: "stomp://" + b.addr, Username: "gw", Password: wrong})

	// The go-stomp server waits a second before refusing a login; wait for
	// two refusals to see that the second is not logged as loudly.
	brokerEventually(t, "two refused logins", func() bool {
		return b.accepts.Load() >= 3 && strings.Count(r.log.String(), "broker still unavailable") >= 1
	})
	select {
	case <-r.ready:
		t.Fatal("ready although the login was refused")
	default:
	}
	if r.sub.Connected() {
		t.Fatal("connected although the login was refused")
	}
	logs := r.log.String()
	if n := strings.Count(logs, `level=ERROR msg="broker refused the login for user \"gw\"`); n != 1 {
		t.Errorf("refused login logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs, wrong) {
		t.Fatalf("the log shows the password:\n%s", logs)
	}

	// Once the broker accepts the credentials, the subscriber carries on
	// by itself: no crash, no restart needed.
	auth.pass.Store(wrong)
	r.waitReady(t)
	rawStompSendAuth(t, b.addr, "gw", wrong, `{"revokedToken":"after-auth-fix","ttl":"60"}`)
	brokerEventually(t, "applied after the login was accepted", func() bool { return r.set.Revoked("after-auth-fix") })
}

func rawStompSendAuth(t *testing.T, addr, user, pass, body string) {
	t.Helper()
	conn, err := stomp.Dial("tcp", addr, stomp.ConnOpt.Login(user, pass), stomp.ConnOpt.Logger(stompLogger{slog.New(slog.DiscardHandler)}))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Disconnect()
	if err := conn.Send(stompDestination(DefaultBrokerTopic), "application/json", []byte(body), stomp.SendOpt.Receipt); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// TestBrokerSTOMPConnectFrame reads the CONNECT frame the subscriber sends,
// with go-stomp's own frame reader: the vhost goes in the host header ("/"
// when the URL has no path, which RabbitMQ needs), login and heart-beats.
func TestBrokerSTOMPConnectFrame(t *testing.T) {
	for _, tc := range []struct{ path, wantHost string }{{"", "/"}, {"/carbon", "carbon"}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan *frame.Frame, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			f, err := frame.NewReader(c).Read()
			if err == nil {
				got <- f
			}
		}()
		r := startBrokerTestRun(t, BrokerConfig{URL: "stomp://u:p@" + ln.Addr().String() + tc.path})
		var f *frame.Frame
		select {
		case f = <-got:
		case <-time.After(brokerTestDeadline):
			t.Fatal("no CONNECT frame")
		}
		r.stop()
		ln.Close()
		if f.Command != frame.CONNECT {
			t.Fatalf("first frame is %s", f.Command)
		}
		for k, want := range map[string]string{"host": tc.wantHost, "login": "u", "passcode": "p", "heart-beat": "10000,10000", "accept-version": "1.1,1.2"} {
			if v := f.Header.Get(k); v != want {
				t.Errorf("path %q: header %s = %q, want %q", tc.path, k, v, want)
			}
		}
	}
}

func brokerTestPublisher(t *testing.T, url string) *BrokerPublisher {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), brokerTestDeadline)
	defer cancel()
	pub, err := DialBrokerPublisher(ctx, BrokerConfig{URL: url, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("DialBrokerPublisher: %v", err)
	}
	t.Cleanup(func() { pub.Close() })
	return pub
}

func TestBrokerPublisherRoundTrip(t *testing.T) {
	b := startStompTestBroker(t, "127.0.0.1:0", nil)
	r := startBrokerTestRun(t, BrokerConfig{URL: "tcp://" + b.addr})
	r.waitReady(t)
	pub := brokerTestPublisher(t, "stomp://"+b.addr)
	ctx := context.Background()
	for _, n := range []Notice{{"pub-1", time.Hour}, {"pub-2", 0}, {"pub-3", time.Second}} {
		if err := pub.Publish(ctx, n); err != nil {
			t.Fatalf("Publish(%+v): %v", n, err)
		}
	}
	brokerEventually(t, "published revocations applied", func() bool { return r.sub.Stats().Applied == 3 })
	if !r.set.Revoked("pub-1") || !r.set.RevokedAt("pub-2", time.Now().Add(1000*time.Hour)) {
		t.Error("published revocations missing or with the wrong expiry")
	}
	// A whole JWT is reduced to its jti before it goes out: the token itself
	// never reaches the broker, whatever its length.
	raw, err := stomp.Dial("tcp", b.addr, stomp.ConnOpt.Logger(stompLogger{slog.New(slog.DiscardHandler)}))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Disconnect()
	rawSub, err := raw.Subscribe(stompDestination(DefaultBrokerTopic), stomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	if err := stompConfirm(raw); err != nil {
		t.Fatal(err)
	}
	jwt := messageTestJWT(t, map[string]any{"jti": "published-jwt", "exp": time.Now().Add(time.Hour).Unix(), "pad": strings.Repeat("p", 3000)})
	if err := pub.Publish(ctx, Notice{JTI: jwt}); err != nil {
		t.Fatalf("Publish of a whole JWT: %v", err)
	}
	select {
	case msg := <-rawSub.C:
		if msg.Err != nil {
			t.Fatal(msg.Err)
		}
		n, err := decodeNotice(msg.Body, nil)
		if err != nil || n.JTI != "published-jwt" || n.TTL <= 59*time.Minute+ExpiryLeeway || n.TTL > time.Hour+ExpiryLeeway+time.Second {
			t.Errorf("published %s: %+v, %v; want jti published-jwt with the token's remaining hour", msg.Body, n, err)
		}
		if strings.Contains(string(msg.Body), strings.Split(jwt, ".")[1]) {
			t.Error("the token was put on the broker")
		}
	case <-time.After(brokerTestDeadline):
		t.Fatal("nothing published")
	}
	brokerEventually(t, "published JWT applied", func() bool { return r.set.Revoked("published-jwt") })
	if err := pub.Publish(ctx, Notice{JTI: "bad\x00jti"}); !errors.Is(err, ErrInvalidNotice) {
		t.Errorf("Publish of an invalid jti: %v, want ErrInvalidNotice", err)
	}
	if err := pub.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := pub.Publish(ctx, Notice{JTI: "late"}); !errors.Is(err, ErrPublisherClosed) {
		t.Errorf("Publish after Close: %v, want ErrPublisherClosed", err)
	}
}

func TestBrokerPublisherNoBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), brokerTestDeadline)
	defer cancel()
	_, err := DialBrokerPublisher(ctx, BrokerConfig{URL: "stomp://u:Secret-Pw-42@" + brokerTestClosedAddr(t)})
	if err == nil {
		t.Fatal("DialBrokerPublisher succeeded with no broker")
	}
	if strings.Contains(err.Error(), "Secret-Pw-42") {
		t.Fatalf("error shows the password: %v", err)
	}
}

func TestBrokerConfigErrors(t *testing.T) {
	for _, cfg := range []BrokerConfig{
		{URL: "http://localhost"},
		{URL: ""},
		{URL: "stomp://localhost", Topic: "two words"},
		{URL: "stomp://localhost", Topic: strings.Repeat("t", 256)},
	} {
		if _, err := NewBrokerSubscriber(cfg); err == nil {
			t.Errorf("NewBrokerSubscriber(%+v) accepted", cfg)
		}
	}
	s, err := NewBrokerSubscriber(BrokerConfig{URL: "stomp://localhost"})
	if err != nil || s.topic != DefaultBrokerTopic {
		t.Fatalf("default topic: %v %v", s, err)
	}
	// Two subscribers in one registry share the metrics instead of failing.
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := NewBrokerSubscriber(BrokerConfig{URL: "stomp://localhost", Registerer: reg}); err != nil {
			t.Fatalf("second subscriber on one registry: %v", err)
		}
	}
}

// TestBrokerExternal runs against real brokers when the environment names
// them: MICROGW_TEST_AMQP_URL (e.g. amqp://guest:guest@127.0.0.1:5672/) and
// MICROGW_TEST_STOMP_URL (e.g. stomp://guest:guest@127.0.0.1:61613, RabbitMQ's
// STOMP plugin). With both, both ways across the protocols, as the token
// service and the gateways may use different ones. The end-to-end suite
// covers RabbitMQ otherwise.
func TestBrokerExternal(t *testing.T) {
	amqpURL, stompURL := os.Getenv("MICROGW_TEST_AMQP_URL"), os.Getenv("MICROGW_TEST_STOMP_URL")
	var pairs [][2]string // subscriber, publisher
	for _, u := range []string{amqpURL, stompURL} {
		if u != "" {
			pairs = append(pairs, [2]string{u, u})
		}
	}
	if amqpURL != "" && stompURL != "" {
		pairs = append(pairs, [2]string{stompURL, amqpURL}, [2]string{amqpURL, stompURL})
	}
	if len(pairs) == 0 {
		t.Skip("neither MICROGW_TEST_AMQP_URL nor MICROGW_TEST_STOMP_URL is set")
	}
	for i, p := range pairs {
		subURL, pubURL := p[0], p[1]
		t.Run(strings.SplitN(subURL, ":", 2)[0]+"<-"+strings.SplitN(pubURL, ":", 2)[0], func(t *testing.T) {
			topic := "microgwTest" + strconv.Itoa(i) + time.Now().Format("150405.000000")
			r := startBrokerTestRun(t, BrokerConfig{URL: subURL, Topic: topic})
			r.waitReady(t)
			ctx, cancel := context.WithTimeout(context.Background(), brokerTestDeadline)
			defer cancel()
			pub, err := DialBrokerPublisher(ctx, BrokerConfig{URL: pubURL, Topic: topic})
			if err != nil {
				t.Fatalf("DialBrokerPublisher: %v", err)
			}
			defer pub.Close()
			jwt := messageTestJWT(t, map[string]any{"jti": "ext-jwt-jti"})
			for _, n := range []Notice{{"ext-1", time.Hour}, {jwt, time.Hour}} {
				if err := pub.Publish(ctx, n); err != nil {
					t.Fatalf("Publish: %v", err)
				}
			}
			brokerEventually(t, "revocations applied", func() bool {
				return r.set.Revoked("ext-1") && r.set.Revoked("ext-jwt-jti")
			})
			if got := r.set.Len(); got != 2 {
				t.Errorf("Len = %d, want 2", got)
			}
		})
	}
	// Wrong credentials: one clear line, retries, no crash.
	for _, u := range []string{amqpURL, stompURL} {
		if u == "" {
			continue
		}
		bad := startBrokerTestRun(t, BrokerConfig{URL: u, Username: "microgw-no-such-user", Password: "Wrong-Passw0rd-123"})
		brokerEventually(t, "refused login logged", func() bool {
			return strings.Contains(bad.log.String(), `broker refused the login for user \"microgw-no-such-user\"`)
		})
		if strings.Contains(bad.log.String(), "Wrong-Passw0rd-123") {
			t.Fatalf("the log shows the password:\n%s", bad.log)
		}
	}
}

// brokerTestTLS makes a CA and a server certificate for 127.0.0.1 signed by it.
func brokerTestTLS(t *testing.T) (server *tls.Config, roots *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "micro-gw test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "broker"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(caCert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}}, roots
}

// startStompTLSTestBroker is the go-stomp server behind a TLS listener.
func startStompTLSTestBroker(t *testing.T, serverTLS *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go (&server.Server{Log: stompLogger{slog.New(slog.DiscardHandler)}}).Serve(ln)
	return ln.Addr().String()
}

func TestBrokerSTOMPOverTLS(t *testing.T) {
	serverTLS, roots := brokerTestTLS(t)
	addr := startStompTLSTestBroker(t, serverTLS)
	url := "stomp+ssl://" + addr
	clientTLS := &tls.Config{RootCAs: roots}

	// Trusted through the configured roots: subscribe and publish over TLS.
	r := startBrokerTestRun(t, BrokerConfig{URL: url, TLS: clientTLS})
	r.waitReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), brokerTestDeadline)
	defer cancel()
	pub, err := DialBrokerPublisher(ctx, BrokerConfig{URL: url, TLS: clientTLS})
	if err != nil {
		t.Fatalf("DialBrokerPublisher over TLS: %v", err)
	}
	defer pub.Close()
	if err := pub.Publish(ctx, Notice{JTI: "over-tls", TTL: time.Minute}); err != nil {
		t.Fatalf("Publish over TLS: %v", err)
	}
	brokerEventually(t, "revocation over TLS applied", func() bool { return r.set.Revoked("over-tls") })
	if clientTLS.ServerName != "" {
		t.Error("the caller's tls.Config was modified")
	}

	// Without the CA (system roots only), the broker is not trusted.
	untrusted := startBrokerTestRun(t, BrokerConfig{URL: url})
	brokerEventually(t, "untrusted certificate reported", func() bool {
		return strings.Contains(untrusted.log.String(), "cannot connect to broker, retrying") &&
			strings.Contains(untrusted.log.String(), "certificate")
	})
	if untrusted.sub.Connected() {
		t.Fatal("connected to a broker whose certificate is not trusted")
	}
	// A plain-text client cannot subscribe to the TLS port either.
	if _, err := DialBrokerPublisher(ctx, BrokerConfig{URL: "stomp://" + addr}); err == nil {
		t.Fatal("plain STOMP against a TLS port succeeded")
	}
}

// TestBrokerSTOMPBrokerWithoutHeartBeats stands in, at the wire level, for a
// broker that answers CONNECT with "heart-beat:0,0" (the go-stomp server
// always honours the request, so it cannot play this part). The subscriber
// must dial again without asking for heart-beats, instead of being dropped
// by go-stomp's read timeout every 15 s.
func TestBrokerSTOMPBrokerWithoutHeartBeats(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	asked := make(chan string, 10) // the heart-beat header of each CONNECT
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r, w := frame.NewReader(c), frame.NewWriter(c)
				for {
					f, err := r.Read()
					if err != nil {
						return
					}
					if f == nil {
						continue // a heart-beat
					}
					switch {
					case f.Command == frame.CONNECT:
						asked <- f.Header.Get(frame.HeartBeat)
						w.Write(frame.New(frame.CONNECTED, frame.Version, "1.2", frame.HeartBeat, "0,0"))
					case f.Header.Get(frame.Receipt) != "":
						w.Write(frame.New(frame.RECEIPT, frame.ReceiptId, f.Header.Get(frame.Receipt)))
					}
				}
			}()
		}
	}()
	r := startBrokerTestRun(t, BrokerConfig{URL: "stomp://" + ln.Addr().String()})
	r.waitReady(t)
	var got []string
	for len(got) < 2 {
		select {
		case hb := <-asked:
			got = append(got, hb)
		case <-time.After(brokerTestDeadline):
			t.Fatalf("CONNECT frames: %q, want two", got)
		}
	}
	if got[0] != "10000,10000" || got[1] != "10000,0" {
		t.Fatalf("CONNECT heart-beats %q, want [10000,10000 10000,0]", got)
	}
	if !r.sub.Connected() {
		t.Fatal("not connected")
	}
}
