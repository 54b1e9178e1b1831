//go:build e2e_services

// The real-time notifier of a built gateway against ActiveMQ Classic (Debian's activemq 5.17,
// started by `scripts/services.sh start activemq`) over STOMP: the broker users migrating from
// WSO2 run, whose token service publishes each revocation as a JMS MapMessage.
package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
)

// svcActiveMQ is the STOMP address of ActiveMQ: MICROGW_E2E_ACTIVEMQ_STOMP, which
// `scripts/services.sh env` prints, else the script's default. The test is skipped when nothing
// listens there and the variable is unset (ActiveMQ was not asked for); when it is set, as in
// .ci/run, a broker that is not there is a failure, not a skip.
func svcActiveMQ(t *testing.T) string {
	t.Helper()
	addr, asked := os.LookupEnv("MICROGW_E2E_ACTIVEMQ_STOMP")
	if !asked || addr == "" {
		addr = "127.0.0.1:61623"
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		msg := fmt.Sprintf("no ActiveMQ STOMP connector on %s (%v): start it with `scripts/services.sh start activemq` "+
			"and `eval \"$(scripts/services.sh env)\"`", addr, err)
		if asked {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	c.Close()
	return addr
}

// svcJMSMap is the JSON of a JMS MapMessage of String entries, as ActiveMQ's STOMP
// transformation jms-map-json reads it (XStream through Jettison).
func svcJMSMap(entries map[string]string) []byte {
	var list []map[string][2]string
	for k, v := range entries {
		list = append(list, map[string][2]string{"string": {k, v}})
	}
	b, err := json.Marshal(map[string]any{"map": map[string]any{"entry": list}})
	if err != nil {
		panic(err)
	}
	return b
}

// svcSendActiveMQ sends body to /topic/TOPIC on ActiveMQ and waits for the receipt. With
// asMap, the SEND carries transformation:jms-map-json and no content-length, which is what makes
// ActiveMQ build a real MapMessage from the JSON (with a content-length it keeps the frame as a
// BytesMessage and the transformation unread), as a JMS client's would be.
func svcSendActiveMQ(t *testing.T, addr, topic string, msg svcMessage, asMap bool) {
	t.Helper()
	conn, err := stomp.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("STOMP connect to ActiveMQ %s: %v", addr, err)
	}
	defer conn.Disconnect()
	opts := []func(*frame.Frame) error{stomp.SendOpt.Receipt}
	for k, v := range msg.Headers {
		opts = append(opts, stomp.SendOpt.Header(k, v))
	}
	if asMap {
		opts = append(opts, stomp.SendOpt.Header("transformation", "jms-map-json"), stomp.SendOpt.NoContentLength)
	}
	if err := conn.Send("/topic/"+topic, "", msg.Body, opts...); err != nil {
		t.Fatalf("STOMP send to ActiveMQ /topic/%s: %v", topic, err)
	}
}

// svcMapMessage is a token revocation as the WSO2 token service publishes it: a MapMessage
// with the String entries revokedToken and ttl.
func svcMapMessage(jti string) svcMessage {
	return svcMessage{Body: svcJMSMap(map[string]string{"revokedToken": jti, "ttl": "3600"})}
}

// TestServicesActiveMQMapMessage pins down the broker behaviour the subscriber relies on: a
// MapMessage reaches a plain STOMP subscriber with an empty body and its entries lost, and a
// subscriber with transformation:jms-map-json gets the entries as JSON.
func TestServicesActiveMQMapMessage(t *testing.T) {
	addr := svcActiveMQ(t)
	topic := svcJTI("amq-map")
	conn, err := stomp.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("STOMP connect to ActiveMQ %s: %v", addr, err)
	}
	defer conn.Disconnect()
	plain, err := conn.Subscribe("/topic/"+topic, stomp.AckAuto)
	if err != nil {
		t.Fatal(err)
	}
	asJSON, err := conn.Subscribe("/topic/"+topic, stomp.AckAuto, stomp.SubscribeOpt.Header("transformation", "jms-map-json"))
	if err != nil {
		t.Fatal(err)
	}
	// A receipted frame after the SUBSCRIBEs returns once the broker has handled them.
	tx, err := conn.BeginWithError()
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.AbortWithReceipt(); err != nil {
		t.Fatal(err)
	}
	svcSendActiveMQ(t, addr, topic, svcMapMessage("svc-amq-probe"), true)
	next := func(sub *stomp.Subscription) *stomp.Message {
		select {
		case m := <-sub.C:
			if m.Err != nil {
				t.Fatalf("subscription to ActiveMQ: %v", m.Err)
			}
			return m
		case <-time.After(10 * time.Second):
			t.Fatalf("no message from ActiveMQ within 10 s")
		}
		return nil
	}
	if m := next(plain); len(m.Body) != 0 {
		t.Errorf("a plain subscriber got the MapMessage with body %q, want it empty (not a MapMessage?)", m.Body)
	}
	m := next(asJSON)
	t.Logf("a MapMessage with transformation jms-map-json: %s", m.Body)
	var got struct {
		Map struct {
			Entry []struct {
				String []any `json:"string"`
			} `json:"entry"`
		} `json:"map"`
	}
	if err := json.Unmarshal(m.Body, &got); err != nil || len(got.Map.Entry) != 2 {
		t.Fatalf("the MapMessage as JSON is %q (%v), want two entries in map.entry", m.Body, err)
	}
}

// A built gateway subscribed to ActiveMQ (jmsConnectionProviderUrl =
// "stomp://127.0.0.1:61623?transformation=jms-map-json", no credentials) refuses tokens revoked by
// micro-gw revoke, by every JSON form sent as text, by a real MapMessage, and by rule messages
// (JSON and MapMessage); a token nobody revoked is served. A gateway with the plain URL, which
// asks for no transformation, refuses a token revoked by the flat JSON form.
func TestServicesActiveMQ(t *testing.T) {
	addr := svcActiveMQ(t)
	p := svcSharedProject(t)
	t.Run("plain URL", func(t *testing.T) {
		conf := p.writeConf(t, "svc-activemq-plain", svcConf{BrokerURL: "stomp://" + addr})
		gw := p.startGateway(t, "activemq-plain", conf)
		jti := svcJTI("amq-plain")
		tok := p.issueToken(t, jti)
		gw.expectAccepted(t, "a token before its revocation", tok)
		start := time.Now()
		svcSendActiveMQ(t, addr, "tokenRevocation", svcFlat(jti), false)
		gw.expectRevoked(t, "a token revoked by the flat form, no transformation asked", tok, start)
	})
	conf := p.writeConf(t, "svc-activemq", svcConf{BrokerURL: "stomp://" + addr + "?transformation=jms-map-json"})
	gw := p.startGateway(t, "activemq", conf)
	send := func(asMap bool) func(*testing.T, svcMessage) {
		return func(t *testing.T, m svcMessage) { svcSendActiveMQ(t, addr, "tokenRevocation", m, asMap) }
	}
	forms := svcMessageForms("ActiveMQ STOMP", send(false))
	forms = append(forms,
		svcForm{"ActiveMQ MapMessage", func(t *testing.T, jti, _ string) { send(true)(t, svcMapMessage(jti)) }},
		svcRevokeCommand(p, conf))
	svcRunForms(t, p, gw, forms)

	t.Run("rules", func(t *testing.T) {
		cut := time.Now().Add(-10 * time.Minute)
		for i, asMap := range []bool{false, true} {
			sub := svcJTI(fmt.Sprintf("amq-rule-%d", i))
			old := svcRuleToken(t, p, sub, nil, cut.Add(-time.Minute))
			recent := svcRuleToken(t, p, sub, nil, time.Now().Add(-time.Minute))
			gw.expectAccepted(t, "a token of "+sub+" before the rule", old)
			msg := svcRuleMessage("revokedSubject", sub, cut, 3600, false)
			what := "a token issued before a subject rule sent as JSON"
			if asMap {
				msg = svcMessage{Body: svcJMSMap(map[string]string{
					"revokedSubject": sub, "issuedBefore": fmt.Sprint(cut.Unix()), "ttl": "3600"})}
				what = "a token issued before a subject rule sent as a MapMessage"
			}
			start := time.Now()
			send(asMap)(t, msg)
			gw.expectRevoked(t, what, old, start)
			gw.expectAccepted(t, "a token of the same subject issued after the cut", recent)
		}
	})
}

// After ActiveMQ is restarted (scripts/services.sh restart activemq) under a running gateway, the
// gateway subscribes again and a revocation sent after the restart is refused. A topic keeps
// nothing for a subscriber that is away, so the MapMessage is sent once a second until it is
// refused, as a token service retrying would.
func TestServicesActiveMQRestart(t *testing.T) {
	addr := svcActiveMQ(t)
	p := svcSharedProject(t)
	conf := p.writeConf(t, "svc-activemq-restart", svcConf{BrokerURL: "stomp://" + addr + "?transformation=jms-map-json"})
	gw := p.startGateway(t, "activemq-restart", conf)
	jti := svcJTI("amq-before")
	before := p.issueToken(t, jti)
	start := time.Now()
	svcSendActiveMQ(t, addr, "tokenRevocation", svcMapMessage(jti), true)
	gw.expectRevoked(t, "a token revoked before the ActiveMQ restart", before, start)

	script, ok := os.LookupEnv("MICROGW_E2E_SERVICES")
	if !ok {
		script = filepath.Join(moduleRoot(t), "scripts", "services.sh")
	}
	svcRestartService(t, svcServices{Script: script}, "activemq")
	up := time.Now()

	if a := gw.call(before); !a.revoked() {
		t.Errorf("the token revoked before the ActiveMQ restart got %s after it, want 401 fault 900901", a)
	}
	jtiAfter := svcJTI("amq-after")
	after := p.issueToken(t, jtiAfter)
	gw.expectAccepted(t, "a token not yet revoked", after)
	sends := 0
	for ; sends < 90 && !gw.call(after).revoked(); sends++ {
		svcSendActiveMQ(t, addr, "tokenRevocation", svcMapMessage(jtiAfter), true)
		for end := time.Now().Add(time.Second); time.Now().Before(end) && !gw.call(after).revoked(); {
			time.Sleep(svcPollEvery)
		}
	}
	if a := gw.call(after); !a.revoked() {
		t.Fatalf("a MapMessage sent once a second %d times after the ActiveMQ restart was never applied "+
			"(the subscriber did not reconnect); last answer %s", sends, a)
	}
	t.Logf("revocation applied %v after ActiveMQ was back (%d send(s), one a second)", time.Since(up).Round(time.Millisecond), sends)
}
