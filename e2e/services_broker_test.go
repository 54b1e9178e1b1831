//go:build e2e_services

// Issue 4, end to end: the real-time notifier of a built gateway against Debian's RabbitMQ (its
// STOMP plugin and AMQP 0-9-1), with every message form of docs/revocation.md published raw.
package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// svcForm is one way of getting a revocation to the broker.
type svcForm struct {
	name    string
	publish func(t *testing.T, jti, token string)
}

// svcRunForms revokes a fresh token with each form in turn and expects the gateway to refuse it
// (401, 900901) within the poll deadline; a token nobody revoked must still be served at the end.
func svcRunForms(t *testing.T, p *svcProject, gw *svcGateway, forms []svcForm) {
	bystander := p.issueToken(t, svcJTI("bystander"))
	gw.expectAccepted(t, "a token nobody revoked", bystander)
	var lat []time.Duration
	for i, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			jti := svcJTI(fmt.Sprintf("%s-%d", gw.Name, i))
			tok := p.issueToken(t, jti)
			gw.expectAccepted(t, "the token before its revocation", tok)
			start := time.Now()
			f.publish(t, jti, tok)
			lat = append(lat, gw.expectRevoked(t, f.name, tok, start))
		})
	}
	gw.expectAccepted(t, "the token nobody revoked, after all that", bystander)
	if len(lat) > 0 {
		slices.Sort(lat)
		t.Logf("%s: publish-to-refusal over %d revocations: min %v, median %v, max %v (target %v)", gw.Name, len(lat),
			lat[0].Round(time.Millisecond), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), svcTarget)
	}
}

// svcRevokeCommand is the form "micro-gw revoke --config CONF --jti J --ttl 3600".
func svcRevokeCommand(p *svcProject, conf string) svcForm {
	return svcForm{"micro-gw revoke", func(t *testing.T, jti, _ string) {
		out, err := p.revoke(t, conf, "--jti", jti, "--ttl", "3600")
		if err != nil {
			t.Fatalf("micro-gw revoke --config %s --jti %s: %v\n%s", conf, jti, err, out)
		}
		t.Logf("micro-gw revoke said: %s", out)
	}}
}

func svcSTOMPForms(s svcServices) []svcForm {
	return svcMessageForms("STOMP", func(t *testing.T, m svcMessage) { svcPublishSTOMP(t, s.STOMP, "tokenRevocation", m) })
}

func svcAMQPForms(url string) []svcForm {
	return svcMessageForms("AMQP", func(t *testing.T, m svcMessage) { svcPublishAMQP(t, url, "tokenRevocation", m) })
}

// svcMessageForms are the message forms of docs/revocation.md, each sent with publish and named
// after its protocol: every protocol must carry every form.
func svcMessageForms(protocol string, publish func(*testing.T, svcMessage)) []svcForm {
	pub := func(m func(string) svcMessage) func(t *testing.T, jti, _ string) {
		return func(t *testing.T, jti, _ string) { publish(t, m(jti)) }
	}
	return []svcForm{
		{protocol + " flat JSON", pub(svcFlat)},
		{protocol + " flat JSON with a numeric ttl", pub(svcFlatNumericTTL)},
		{protocol + " WSO2 event JSON", pub(svcEvent)},
		{protocol + " headers only", pub(svcHeadersOnly)},
		{protocol + " whole JWT without ttl", func(t *testing.T, _, tok string) {
			publish(t, svcWholeJWT(tok))
		}},
		{protocol + " after an unreadable message", func(t *testing.T, jti, _ string) {
			publish(t, svcGarbage())
			publish(t, svcFlat(jti))
		}},
	}
}

// (a) STOMP: jmsConnectionProviderUrl = "stomp://127.0.0.1:61613", guest/guest from the
// username/password keys, destination /topic/tokenRevocation. RabbitMQ maps that topic onto
// amq.topic, so a revocation published over AMQP (vhost /) must arrive too.
func TestServicesBrokerSTOMP(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	conf := p.writeConf(t, "svc-stomp", svcConf{BrokerURL: "stomp://" + s.STOMP, BrokerUser: "guest", BrokerPass: "guest"})
	gw := p.startGateway(t, "stomp", conf)
	forms := svcSTOMPForms(s)
	forms = append(forms,
		svcForm{"AMQP flat JSON to amq.topic on vhost / (RabbitMQ's STOMP topic)", func(t *testing.T, jti, _ string) {
			svcPublishAMQP(t, s.amqpURL("/"), "tokenRevocation", svcFlat(jti))
		}},
		svcRevokeCommand(p, conf))
	svcRunForms(t, p, gw, forms)
}

// (b) AMQP 0-9-1 with the Qpid/JMS URL of the original in the gateway's conf:
// amqp://guest:guest@carbon/carbon?brokerlist='tcp://127.0.0.1:5672' (vhost carbon), exchange
// amq.topic, routing key tokenRevocation; (c) and (d) the WSO2 event and headers-only forms.
func TestServicesBrokerAMQPQpidURL(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	url := fmt.Sprintf("amqp://guest:guest@carbon/carbon?brokerlist='tcp://%s'", s.amqpHostPort())
	conf := p.writeConf(t, "svc-qpid", svcConf{BrokerURL: url})
	gw := p.startGateway(t, "amqp-qpid", conf)
	forms := append(svcAMQPForms(s.amqpURL("carbon")), svcRevokeCommand(p, conf))
	svcRunForms(t, p, gw, forms)
}

// The plain AMQP URL form, amqp://user:pass@host:port/ (vhost /), with the credentials in the
// username/password keys winning over wrong ones in the URL.
func TestServicesBrokerAMQPPlainURL(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	conf := p.writeConf(t, "svc-amqp", svcConf{
		BrokerURL:  "amqp://nobody:wrong@" + s.amqpHostPort() + "/",
		BrokerUser: "guest", BrokerPass: "guest"})
	gw := p.startGateway(t, "amqp-plain", conf)
	forms := svcAMQPForms(s.amqpURL("/"))[:2]
	forms = append(forms, svcForm{"STOMP flat JSON to /topic/tokenRevocation (RabbitMQ's amq.topic)", func(t *testing.T, jti, _ string) {
		svcPublishSTOMP(t, s.STOMP, "tokenRevocation", svcFlat(jti))
	}})
	svcRunForms(t, p, gw, forms)
}

// After RabbitMQ is restarted (scripts/services.sh restart rabbitmq) under running gateways, what
// they revoked before is still refused, and a revocation published after the restart is applied
// once each gateway has resubscribed. A non-durable topic drops what is published while a
// subscriber is away, so the test publishes the same revocation once a second until it is refused,
// as a token service retrying would, and reports how long resubscribing took.
func TestServicesBrokerRestart(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	stompConf := p.writeConf(t, "svc-restart-stomp", svcConf{BrokerURL: "stomp://" + s.STOMP, BrokerUser: "guest", BrokerPass: "guest"})
	qpidConf := p.writeConf(t, "svc-restart-qpid", svcConf{
		BrokerURL: fmt.Sprintf("amqp://guest:guest@carbon/carbon?brokerlist='tcp://%s'", s.amqpHostPort())})
	type side struct {
		gw      *svcGateway
		conf    string
		publish func(t *testing.T, m svcMessage)
	}
	sides := []side{
		{p.startGateway(t, "restart-stomp", stompConf), stompConf,
			func(t *testing.T, m svcMessage) { svcPublishSTOMP(t, s.STOMP, "tokenRevocation", m) }},
		{p.startGateway(t, "restart-qpid", qpidConf), qpidConf,
			func(t *testing.T, m svcMessage) { svcPublishAMQP(t, s.amqpURL("carbon"), "tokenRevocation", m) }},
	}
	guard := svcStartGuard(t)
	before := map[*svcGateway]string{}
	for _, sd := range sides {
		guard.watchGateway(sd.gw)
		jti := svcJTI(sd.gw.Name + "-before")
		tok := p.issueToken(t, jti)
		start := time.Now()
		sd.publish(t, svcFlat(jti))
		sd.gw.expectRevoked(t, "a token revoked before the broker restart", tok, start)
		guard.add(sd.gw.Name+" before", tok, sd.gw)
		before[sd.gw] = tok
	}

	svcRestartService(t, s, "rabbitmq")
	up := time.Now()

	for _, sd := range sides {
		if a := sd.gw.call(before[sd.gw]); !a.revoked() {
			t.Errorf("%s: the token revoked before the broker restart got %s after it, want 401 fault 900901", sd.gw.Name, a)
		}
	}
	for _, sd := range sides {
		t.Run(sd.gw.Name+" after the restart", func(t *testing.T) {
			jti := svcJTI(sd.gw.Name + "-after")
			tok := p.issueToken(t, jti)
			sd.gw.expectAccepted(t, "a token not yet revoked", tok)
			deadline := time.Now().Add(90 * time.Second)
			sends := 0
			for {
				sd.publish(t, svcFlat(jti))
				sends++
				end := time.Now().Add(time.Second)
				for time.Now().Before(end) && !sd.gw.call(tok).revoked() {
					time.Sleep(svcPollEvery)
				}
				if sd.gw.call(tok).revoked() {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: a revocation published once a second for 90 s after the broker restart was never applied "+
						"(the subscriber did not reconnect); last answer %s", sd.gw.Name, sd.gw.call(tok))
				}
			}
			guard.add(sd.gw.Name+" after", tok, sd.gw)
			t.Logf("%s: revocation applied %v after the broker was back (%d publish(es), one a second)",
				sd.gw.Name, time.Since(up).Round(time.Millisecond), sends)
			// Now that it has resubscribed, a single message must do, as before the restart.
			jti2 := svcJTI(sd.gw.Name + "-after2")
			tok2 := p.issueToken(t, jti2)
			start := time.Now()
			sd.publish(t, svcEvent(jti2))
			sd.gw.expectRevoked(t, "a WSO2 event published once after resubscribing", tok2, start)
			jti3 := svcJTI(sd.gw.Name + "-after3")
			tok3 := p.issueToken(t, jti3)
			start = time.Now()
			out, err := p.revoke(t, sd.conf, "--jti", jti3, "--ttl", "3600")
			if err != nil {
				t.Fatalf("micro-gw revoke after the broker restart: %v\n%s", err, out)
			}
			sd.gw.expectRevoked(t, "micro-gw revoke after the broker restart", tok3, start)
		})
	}
}
