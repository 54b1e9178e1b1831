//go:build e2e_services

// Issue 9, end to end: revocation rules (by subject, client and issuer) reaching a built gateway
// through Debian's RabbitMQ and etcd, and surviving the gateway's restart.
package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
)

// svcRuleToken signs a token with the project's development issuer key, with the claims a rule
// matches set by the test (`micro-gw token issue` always issues now, and a rule is about tokens
// issued before a cut): sub, extra claims (azp, consumerKey), issued at iat, valid two hours.
func svcRuleToken(t *testing.T, p *svcProject, sub string, extra map[string]any, iat time.Time) string {
	t.Helper()
	key, err := issuer.LoadKey(filepath.Join(p.Root, project.IssuerKeyFile))
	if err != nil {
		t.Fatalf("load the project's issuer key: %v", err)
	}
	tok, err := issuer.Sign(key, "wso2apim", issuer.Claims{
		Issuer:   "https://localhost:9443/oauth2/token",
		Subject:  sub,
		Audience: []string{"http://org.wso2.apimgt/gateway"},
		TTL:      2 * time.Hour,
		IssuedAt: iat,
		Extra:    extra,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// svcRuleMessage is a raw rule message of docs/revocation.md, as extended in
// docs/revocation.md ("Rules"); event wraps it in WSO2's event.payloadData.
func svcRuleMessage(field, key string, before time.Time, ttl int, event bool) svcMessage {
	body := fmt.Sprintf(`{%q:%q,"issuedBefore":%d,"ttl":%d}`, field, key, before.Unix(), ttl)
	if event {
		body = `{"event":{"payloadData":` + body + `}}`
	}
	return svcMessage{Body: []byte(body)}
}

// One rule of each kind: a subject rule by `micro-gw revoke --sub` (topic and etcd), a client
// rule published raw over AMQP and put with etcdctl, an issuer rule put with etcdctl only (the
// watch) and published raw over STOMP in the WSO2 event form. Each refuses two tokens issued
// before its cut and accepts one issued after; a restarted gateway loads them all from etcd.
func TestServicesRevocationRules(t *testing.T) {
	s := svcEnv(t)
	p := svcSharedProject(t)
	// A topic and a rules prefix of this test's own: the rules reach no other suite's gateway.
	tag := fmt.Sprintf("%08x", rand.Uint32())
	topic := "svcRules" + tag
	prefix := "svc-rules-" + tag + "/"
	conf := p.writeConf(t, "svc-rules", svcConf{
		BrokerURL:    s.amqpURL("/"),
		Topic:        topic,
		EtcdHostname: svcEtcdHostname(s),
		Persistent:   []string{"rulesPrefix = " + strconv.Quote(prefix)},
	})
	t.Cleanup(func() { svcEtcdctl(t, s, "del", prefix, "--prefix") })
	gw := p.startGateway(t, "rules", conf)

	now := time.Now()
	cut := now.Add(-10 * time.Minute)    // subject and client rules
	issCut := now.Add(-30 * time.Minute) // the issuer rule: earlier, so that it does not mask the others
	recent := now.Add(-time.Minute)      // after every cut
	alice, app := "svc-alice-"+tag, "svc-app-"+tag
	iss := "https://localhost:9443/oauth2/token"

	type kind struct {
		name     string
		refused  []string
		accepted string
	}
	kinds := []kind{
		{"subject", []string{
			svcRuleToken(t, p, alice, nil, cut.Add(-time.Minute)),
			svcRuleToken(t, p, alice, nil, cut.Add(-15*time.Minute)),
		}, svcRuleToken(t, p, alice, nil, recent)},
		{"client", []string{
			svcRuleToken(t, p, "svc-u1", map[string]any{"azp": app}, cut.Add(-time.Minute)),
			svcRuleToken(t, p, "svc-u2", map[string]any{"consumerKey": app}, cut.Add(-15*time.Minute)),
		}, svcRuleToken(t, p, "svc-u3", map[string]any{"azp": app}, recent)},
		{"issuer", []string{
			svcRuleToken(t, p, "svc-u4", nil, issCut.Add(-time.Minute)),
			svcRuleToken(t, p, "svc-u5", nil, issCut.Add(-time.Hour)),
		}, svcRuleToken(t, p, "svc-u6", nil, recent)},
	}
	for _, k := range kinds {
		for i, tok := range append([]string{k.accepted}, k.refused...) {
			gw.expectAccepted(t, fmt.Sprintf("%s token %d before any rule", k.name, i), tok)
		}
	}

	// Subject: micro-gw revoke --sub, to the topic and to etcd.
	start := time.Now()
	out, err := p.revoke(t, conf, "--sub", alice, "--before", cut.UTC().Format(time.RFC3339), "--ttl", "7200")
	if err != nil {
		t.Fatalf("micro-gw revoke --sub: %v\n%s", err, out)
	}
	t.Logf("micro-gw revoke said: %s", out)
	if k, ok := svcEtcdGet(t, s, prefix+"sub/"+alice); !ok || k.Lease == 0 {
		t.Errorf("micro-gw revoke --sub left no etcd key %ssub/%s with a lease (%+v)", prefix, alice, k)
	}
	// Client: raw over AMQP, and etcdctl with a lease for the gateways that start later.
	svcPublishAMQP(t, s.amqpURL("/"), topic, svcRuleMessage("revokedClient", app, cut, 7200, false))
	lease := svcLeaseGrant(t, s, 7200)
	svcEtcdctl(t, s, "put", prefix+"client/"+app, fmt.Sprintf(`{"issuedBefore":%d,"ttl":7200}`, cut.Unix()), "--lease="+lease)
	for i, tok := range kinds[0].refused {
		gw.expectRevoked(t, fmt.Sprintf("subject token %d issued before the cut", i), tok, start)
	}
	for i, tok := range kinds[1].refused {
		gw.expectRevoked(t, fmt.Sprintf("client token %d issued before the cut", i), tok, start)
	}
	// Issuer: etcdctl only (the watch), then the same rule over STOMP in the event form (merged).
	start = time.Now()
	svcEtcdctl(t, s, "put", prefix+"iss/"+url.PathEscape(iss), fmt.Sprintf(`{"issuedBefore":%d,"ttl":7200}`, issCut.Unix()), "--lease="+lease)
	for i, tok := range kinds[2].refused {
		gw.expectRevoked(t, fmt.Sprintf("issuer token %d issued before the cut", i), tok, start)
	}
	svcPublishSTOMP(t, s.STOMP, topic, svcRuleMessage("revokedIssuer", iss, issCut, 7200, true))
	for _, k := range kinds {
		gw.expectAccepted(t, k.name+" token issued after the cut", k.accepted)
	}

	// A restarted gateway knows every rule from etcd as soon as it is ready.
	gw.Stop()
	gw = p.startGateway(t, "rules-restarted", conf)
	for _, k := range kinds {
		for i, tok := range k.refused {
			if a := gw.call(tok); !a.revoked() {
				t.Errorf("after the restart, %s token %d issued before the cut got %s, want 401 fault 900901", k.name, i, a)
			}
		}
		gw.expectAccepted(t, "after the restart, "+k.name+" token issued after the cut", k.accepted)
	}

	// Deleting the subject rule's key lets its tokens in again.
	svcEtcdctl(t, s, "del", prefix+"sub/"+alice)
	for i, tok := range kinds[0].refused {
		gw.expectAccepted(t, fmt.Sprintf("subject token %d once its rule is deleted", i), tok)
	}
}
