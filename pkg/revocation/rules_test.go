package revocation

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

var ruleTestCut = time.Unix(1_764_300_000, 0)

func ruleTestToken(sub, client, iss string, iat time.Time) *RuleToken {
	t := &RuleToken{Subject: sub, Client: client, Issuer: iss}
	if !iat.IsZero() {
		t.IssuedAt, t.HasIssuedAt = iat.Unix(), true
	}
	return t
}

// TestRuleSetMatchesEachKind: a rule of each kind refuses two different
// tokens of its key issued before the cut, accepts one issued after, and
// leaves other keys alone; a token without iat matches.
func TestRuleSetMatchesEachKind(t *testing.T) {
	at := ruleTestCut.Add(time.Minute)
	for _, tc := range []struct {
		kind RuleKind
		tok  func(key string, iat time.Time) *RuleToken
	}{
		{RuleSubject, func(k string, iat time.Time) *RuleToken { return ruleTestToken(k, "c", "https://idp", iat) }},
		{RuleClient, func(k string, iat time.Time) *RuleToken { return ruleTestToken("s", k, "https://idp", iat) }},
		{RuleIssuer, func(k string, iat time.Time) *RuleToken { return ruleTestToken("s", "c", k, iat) }},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			rs := NewRuleSet()
			rs.RevokeRule(Rule{Kind: tc.kind, Key: "key-1", IssuedBefore: ruleTestCut}) // no expiry: Match (now) below
			for _, iat := range []time.Time{ruleTestCut.Add(-time.Second), ruleTestCut.Add(-time.Hour)} {
				if got := rs.MatchAt(tc.tok("key-1", iat), at); got != tc.kind {
					t.Errorf("token issued at %v: match %v, want %v", iat.Unix(), got, tc.kind)
				}
			}
			if got := rs.MatchAt(tc.tok("key-1", time.Time{}), at); got != tc.kind {
				t.Errorf("token without iat: match %v, want %v", got, tc.kind)
			}
			for _, iat := range []time.Time{ruleTestCut, ruleTestCut.Add(time.Second)} {
				if got := rs.MatchAt(tc.tok("key-1", iat), at); got != RuleNone {
					t.Errorf("token issued at the cut or after (%v): match %v, want none", iat.Unix(), got)
				}
			}
			if got := rs.MatchAt(tc.tok("key-2", ruleTestCut.Add(-time.Hour)), at); got != RuleNone {
				t.Errorf("another key matched: %v", got)
			}
			if got := rs.Match(tc.tok("key-1", ruleTestCut.Add(-time.Hour))); got != tc.kind {
				t.Errorf("Match (now) = %v, want %v", got, tc.kind)
			}
			rs.UnrevokeRule(tc.kind, "key-1")
			if got := rs.MatchAt(tc.tok("key-1", ruleTestCut.Add(-time.Hour)), at); got != RuleNone || rs.Len() != 0 {
				t.Errorf("after UnrevokeRule: match %v, len %d", got, rs.Len())
			}
		})
	}
}

// TestRuleSetMergesToTheSaferRule: a second rule for a key keeps the later
// cut and the later expiry, whichever order they come in.
func TestRuleSetMergesToTheSaferRule(t *testing.T) {
	rs := NewRuleSet()
	early, late := ruleTestCut.Add(-time.Hour), ruleTestCut
	rs.RevokeRule(Rule{Kind: RuleSubject, Key: "alice", IssuedBefore: late, ExpiresAt: late.Add(time.Hour)})
	rs.RevokeRule(Rule{Kind: RuleSubject, Key: "alice", IssuedBefore: early, ExpiresAt: late.Add(48 * time.Hour)})
	if rs.Len() != 1 {
		t.Fatalf("Len = %d, want 1", rs.Len())
	}
	tok := ruleTestToken("alice", "", "", ruleTestCut.Add(-time.Minute)) // after early, before late
	if rs.MatchAt(tok, late.Add(30*time.Minute)) != RuleSubject {
		t.Error("the later cut was lowered by an earlier rule")
	}
	if rs.MatchAt(tok, late.Add(24*time.Hour)) != RuleSubject {
		t.Error("the later expiry was shortened by a rule that ends sooner")
	}
	rs.RevokeRule(Rule{Kind: RuleSubject, Key: "alice", IssuedBefore: early})
	if rs.MatchAt(tok, late.Add(100*24*time.Hour)) != RuleSubject {
		t.Error("no expiry did not win")
	}
}

// TestRuleExpiryLetsNothingThroughThatWasStillValid spells out the ttl
// semantics: a publisher gives ttl >= the longest lifetime of the tokens the
// rule is meant for. Every token the rule matches has iat < issuedBefore and
// exp <= iat + lifetime. At every moment before the token's exp (when the
// validator would accept it), the rule must still refuse it, whether the rule
// was received before or after its cut; once the rule has expired, every such
// token has expired too.
func TestRuleExpiryLetsNothingThroughThatWasStillValid(t *testing.T) {
	const lifetime = 3600 * time.Second
	for _, received := range []time.Time{
		ruleTestCut.Add(-30 * time.Minute), // a cut announced ahead ("from the top of the hour")
		ruleTestCut,
		ruleTestCut.Add(45 * time.Minute), // a cut in the past (a leaked key found late)
	} {
		rs := NewRuleSet()
		n := RuleNotice{Kind: RuleIssuer, Key: "https://idp", IssuedBefore: ruleTestCut, TTL: lifetime}
		rule := n.Rule(received)
		rs.RevokeRule(rule)
		checked := 0
		var iats []time.Time
		for iat := ruleTestCut.Add(-2 * lifetime); iat.Before(ruleTestCut); iat = iat.Add(7 * time.Minute) {
			iats = append(iats, iat)
		}
		// The last token issued before the cut lives the longest past it.
		iats = append(iats, ruleTestCut.Add(-time.Second))
		for _, iat := range iats {
			for _, life := range []time.Duration{time.Minute, lifetime / 2, lifetime} {
				// Accepted by the validator until exp plus its leeway.
				exp := iat.Add(life).Add(ExpiryLeeway)
				tok := ruleTestToken("s", "c", "https://idp", iat)
				for at := received; at.Before(exp); at = at.Add(10 * time.Second) {
					checked++
					if rs.MatchAt(tok, at) != RuleIssuer {
						t.Fatalf("received %v: a token issued at %v, valid until %v, passes at %v (rule expires %v)",
							received.Unix(), iat.Unix(), exp.Unix(), at.Unix(), rule.ExpiresAt.Unix())
					}
				}
			}
		}
		if checked == 0 {
			t.Fatal("no case checked")
		}
		// And the rule does end: after its expiry nothing matches any more,
		// and a sweep drops it.
		if rs.MatchAt(ruleTestToken("s", "c", "https://idp", ruleTestCut.Add(-time.Second)), rule.ExpiresAt) != RuleNone {
			t.Error("the rule still matches at its expiry")
		}
		if n := rs.Sweep(rule.ExpiresAt.Add(-time.Second)); n != 0 {
			t.Errorf("a sweep before the expiry removed %d", n)
		}
		if n := rs.Sweep(rule.ExpiresAt); n != 1 || rs.Len() != 0 {
			t.Errorf("a sweep at the expiry removed %d, left %d", n, rs.Len())
		}
	}
	if got := RuleExpiry(ruleTestCut, ruleTestCut, 0); !got.IsZero() {
		t.Errorf("no ttl gives expiry %v, want none", got)
	}
}

func TestRuleSetLookupDoesNotAllocate(t *testing.T) {
	rs := NewRuleSet()
	for i := range 1000 {
		rs.RevokeRule(Rule{Kind: RuleKind(1 + i%3), Key: "k" + string(rune('a'+i%26)) + strings.Repeat("x", i%7), IssuedBefore: ruleTestCut})
	}
	tok := ruleTestToken("alice", "app", "https://idp", ruleTestCut.Add(-time.Hour))
	if n := testing.AllocsPerRun(100, func() { rs.Match(tok) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}

func TestDecodeMessageRules(t *testing.T) {
	for _, tc := range []struct {
		body string
		want RuleNotice
	}{
		{`{"revokedSubject":"alice","issuedBefore":1764300000,"ttl":86400}`,
			RuleNotice{RuleSubject, "alice", ruleTestCut, 86400 * time.Second}},
		{`{"revokedClient":"app-1","issuedBefore":"1764300000","ttl":"60"}`,
			RuleNotice{RuleClient, "app-1", ruleTestCut, time.Minute}},
		{`{"revokedIssuer":"https://idp/oauth2/token","issuedBefore":1764300000}`,
			RuleNotice{RuleIssuer, "https://idp/oauth2/token", ruleTestCut, 0}},
		{`{"event":{"payloadData":{"revokedSubject":"bob","issuedBefore":1764300000,"ttl":5}}}`,
			RuleNotice{RuleSubject, "bob", ruleTestCut, 5 * time.Second}},
	} {
		m, err := DecodeMessage([]byte(tc.body), nil)
		if err != nil || m.Rule != tc.want || m.Notice != (Notice{}) {
			t.Errorf("DecodeMessage(%s) = %+v, %v; want %+v", tc.body, m, err, tc.want)
		}
		if _, err := decodeNotice([]byte(tc.body), nil); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("decodeNotice(%s) accepted a rule", tc.body)
		}
		back, err := DecodeMessage(EncodeRuleNotice(tc.want), nil)
		if err != nil || back.Rule != tc.want {
			t.Errorf("round trip of %+v = %+v, %v", tc.want, back.Rule, err)
		}
	}
	// The jti path is unchanged.
	m, err := DecodeMessage([]byte(`{"revokedToken":"j1","ttl":"3600"}`), nil)
	if err != nil || m.Rule.Kind != RuleNone || m.Notice != (Notice{JTI: "j1", TTL: time.Hour}) {
		t.Errorf("a jti message decodes as %+v, %v", m, err)
	}
	for _, bad := range []string{
		`{"revokedSubject":"alice"}`,
		`{"revokedSubject":"alice","issuedBefore":0}`,
		`{"revokedSubject":"alice","issuedBefore":-5}`,
		`{"revokedSubject":"alice","issuedBefore":1.5}`,
		`{"revokedSubject":"alice","issuedBefore":"soon"}`,
		`{"revokedSubject":"alice","issuedBefore":99999999999}`,
		`{"revokedSubject":"","issuedBefore":1764300000}`,
		`{"revokedSubject":7,"issuedBefore":1764300000}`,
		`{"revokedSubject":"a\u0001b","issuedBefore":1764300000}`,
		`{"revokedSubject":"alice","revokedClient":"x","issuedBefore":1764300000}`,
		`{"revokedSubject":"alice","issuedBefore":1764300000,"ttl":0}`,
		`{"revokedSubject":"alice","issuedBefore":1764300000,"ttl":"1h"}`,
	} {
		if _, err := DecodeMessage([]byte(bad), nil); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("DecodeMessage(%s) = %v, want ErrInvalidNotice", bad, err)
		}
	}
}

func TestRuleEtcdKeys(t *testing.T) {
	for _, tc := range []struct {
		kind     RuleKind
		key, rel string
	}{
		{RuleSubject, "alice@example.com", "sub/alice@example.com"},
		{RuleClient, "Xy_12", "client/Xy_12"},
		{RuleIssuer, "https://idp:9443/oauth2/token", "iss/https:%2F%2Fidp:9443%2Foauth2%2Ftoken"},
	} {
		if got := RuleEtcdKey(tc.kind, tc.key); got != tc.rel {
			t.Errorf("RuleEtcdKey(%v, %q) = %q, want %q", tc.kind, tc.key, got, tc.rel)
		}
		kind, key, err := parseRuleEtcdKey(tc.rel)
		if err != nil || kind != tc.kind || key != tc.key {
			t.Errorf("parseRuleEtcdKey(%q) = %v, %q, %v", tc.rel, kind, key, err)
		}
	}
	for _, bad := range []string{"jti/x", "sub/", "iss/%zz", "client"} {
		if _, _, err := parseRuleEtcdKey(bad); err == nil {
			t.Errorf("parseRuleEtcdKey(%q) accepted", bad)
		}
	}
	v := EncodeRuleEtcdValue(RuleNotice{Kind: RuleSubject, Key: "a", IssuedBefore: ruleTestCut, TTL: time.Hour})
	if string(v) != `{"issuedBefore":1764300000,"ttl":3600}` {
		t.Errorf("value = %s", v)
	}
	if before, err := parseRuleEtcdValue(RuleSubject, v); err != nil || !before.Equal(ruleTestCut) {
		t.Errorf("parseRuleEtcdValue = %v, %v", before, err)
	}
	// A certificate rule: cert/<fingerprint>, value {"ttl": N}, no cut; a
	// cut is refused, and a token rule without one.
	fp := CertificateFingerprint([]byte("a DER"))
	if got := RuleEtcdKey(RuleCertificate, fp); got != "cert/"+fp {
		t.Errorf("RuleEtcdKey(certificate) = %q", got)
	}
	if kind, key, err := parseRuleEtcdKey("cert/" + fp); err != nil || kind != RuleCertificate || key != fp {
		t.Errorf("parseRuleEtcdKey(cert/...) = %v, %q, %v", kind, key, err)
	}
	for _, bad := range []string{"cert/" + strings.ToUpper(fp), "cert/" + fp[:63], "cert/" + fp + "0", "cert/"} {
		if _, _, err := parseRuleEtcdKey(bad); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("parseRuleEtcdKey(%q) = %v, want ErrInvalidNotice", bad, err)
		}
	}
	cv := EncodeRuleEtcdValue(RuleNotice{Kind: RuleCertificate, Key: fp, TTL: time.Hour})
	if string(cv) != `{"ttl":3600}` {
		t.Errorf("certificate value = %s", cv)
	}
	if before, err := parseRuleEtcdValue(RuleCertificate, cv); err != nil || !before.IsZero() {
		t.Errorf("parseRuleEtcdValue(certificate) = %v, %v", before, err)
	}
	if _, err := parseRuleEtcdValue(RuleCertificate, v); !errors.Is(err, ErrInvalidNotice) {
		t.Errorf("a certificate value with a cut: %v, want ErrInvalidNotice", err)
	}
	if _, err := parseRuleEtcdValue(RuleSubject, cv); !errors.Is(err, ErrInvalidNotice) {
		t.Errorf("a subject value without a cut: %v, want ErrInvalidNotice", err)
	}
}

// TestCertificateRules: a certificate rule refuses its fingerprint whatever
// the time, travels as {"revokedCertificate", "ttl"} without issuedBefore,
// and ends at its expiry.
func TestCertificateRules(t *testing.T) {
	fp := CertificateFingerprint([]byte("client certificate DER"))
	if len(fp) != 64 || strings.ToLower(fp) != fp {
		t.Fatalf("fingerprint %q is not 64 lowercase hex digits", fp)
	}
	m, err := DecodeMessage([]byte(`{"revokedCertificate":"`+fp+`","ttl":3600}`), nil)
	want := RuleNotice{Kind: RuleCertificate, Key: fp, TTL: time.Hour}
	if err != nil || m.Rule != want {
		t.Fatalf("DecodeMessage = %+v, %v; want %+v", m.Rule, err, want)
	}
	if enc := string(EncodeRuleNotice(want)); enc != `{"revokedCertificate":"`+fp+`","ttl":3600}` {
		t.Errorf("EncodeRuleNotice = %s", enc)
	}
	for _, bad := range []string{
		`{"revokedCertificate":"` + fp + `","issuedBefore":1764300000,"ttl":3600}`,
		`{"revokedCertificate":"` + strings.ToUpper(fp) + `"}`,
		`{"revokedCertificate":"` + fp[:40] + `"}`,
		`{"revokedCertificate":"` + fp + `","revokedSubject":"alice","issuedBefore":1764300000}`,
	} {
		if _, err := DecodeMessage([]byte(bad), nil); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("DecodeMessage(%s) = %v, want ErrInvalidNotice", bad, err)
		}
	}
	if ValidateRuleNotice(RuleNotice{Kind: RuleCertificate, Key: fp, IssuedBefore: ruleTestCut}) == nil {
		t.Error("a certificate rule with a cut validated")
	}

	rs := NewRuleSet()
	if rs.MatchCertificate(fp) {
		t.Fatal("an empty set matched")
	}
	now := time.Now()
	rs.RevokeRule(want.Rule(now))
	if !rs.MatchCertificate(fp) {
		t.Fatal("the revoked certificate is not matched")
	}
	if rs.MatchCertificate(CertificateFingerprint([]byte("another"))) {
		t.Fatal("another certificate matched")
	}
	// The token kinds are not asked about certificates, nor the other way.
	if got := rs.Match(&RuleToken{Subject: fp, Client: fp, Issuer: fp}); got != RuleNone {
		t.Errorf("a token whose claims equal the fingerprint matched %v", got)
	}
	if n := rs.Sweep(now.Add(time.Hour + ExpiryLeeway + time.Second)); n != 1 || rs.MatchCertificate(fp) {
		t.Errorf("swept %d at the rule's expiry; still matched: %v", n, rs.MatchCertificate(fp))
	}
	if allocs := testing.AllocsPerRun(100, func() { rs.MatchCertificate(fp) }); allocs != 0 {
		t.Errorf("MatchCertificate allocates %v", allocs)
	}
}

func TestEtcdRulesPrefixMustNotOverlap(t *testing.T) {
	for _, p := range []string{"jti/", "jti/rules/", "j", "/"} {
		_, err := NewEtcdRuleSource(EtcdConfig{Hostname: "http://127.0.0.1:2379/v2/keys/jti/", RulesPrefix: p})
		if err == nil {
			t.Errorf("rulesPrefix %q accepted beside the jti prefix jti/", p)
		}
	}
}

func newTestRuleSource(t testing.TB, endpoint string) (*EtcdSource, *storeLogs) {
	t.Helper()
	logs := newStoreLogs()
	src, err := NewEtcdRuleSource(EtcdConfig{
		Hostname: endpoint + "/v2/keys/jti/", Logger: logs.logger(), Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatalf("NewEtcdRuleSource: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs.dump(t)
		}
	})
	return src, logs
}

// TestEtcdRuleSourceLoadsWatchesAndRecovers: rules written before start are
// in at ready, later ones and deletions follow through the watch, a
// malformed value is logged and skipped, and after a compaction behind the
// source's back the reload drops the rules deleted meanwhile.
func TestEtcdRuleSourceLoadsWatchesAndRecovers(t *testing.T) {
	srv := etcdtest.StartServer(t)
	cli := srv.Client
	proxy := etcdtest.NewProxy(t, srv.Endpoint)
	val := `{"issuedBefore":1764300000,"ttl":3600}`
	etcdPut(t, cli, "revocation-rules/sub/alice", val)
	etcdPut(t, cli, "revocation-rules/iss/"+strings.ReplaceAll("https://idp/token", "/", "%2F"), val)
	etcdPut(t, cli, "revocation-rules/sub/broken", `{"issuedBefore":"tomorrow"}`)
	etcdPut(t, cli, "jti/not-a-rule", "3600")

	src, logs := newTestRuleSource(t, proxy.Endpoint)
	rules := Revocations{Tokens: NewSet(), Rules: NewRuleSet()}
	run := startStoreSource(t, src, rules)
	run.waitReady(t)

	old := ruleTestCut.Add(-time.Hour)
	if rules.Rules.Match(ruleTestToken("alice", "", "", old)) != RuleSubject {
		t.Error("the subject rule is not loaded at ready")
	}
	if rules.Rules.Match(ruleTestToken("x", "", "https://idp/token", old)) != RuleIssuer {
		t.Error("the issuer rule (URL-escaped key) is not loaded at ready")
	}
	if rules.Rules.Len() != 2 || rules.Tokens.Len() != 0 {
		t.Errorf("loaded %d rules and %d jtis, want 2 and 0", rules.Rules.Len(), rules.Tokens.Len())
	}
	if rec, ok := logs.find("skipped an etcd revocation rule that cannot be read"); !ok || !strings.Contains(rec.attrs, "sub/broken") {
		t.Errorf("malformed value not logged with its key: %+v", rec)
	}

	etcdPut(t, cli, "revocation-rules/client/app-1", val)
	storeEventually(t, "a client rule written after start applies", func() bool {
		return rules.Rules.Match(ruleTestToken("", "app-1", "", old)) == RuleClient
	})
	etcdDelete(t, cli, "revocation-rules/sub/alice")
	storeEventually(t, "a deleted rule is dropped", func() bool {
		return rules.Rules.Match(ruleTestToken("alice", "", "", old)) == RuleNone
	})

	proxy.Cut()
	storeEventually(t, "the source notices the connection is lost", func() bool {
		return logs.count(slog.LevelWarn, "connection to etcd lost") > 0
	})
	etcdDelete(t, cli, "revocation-rules/client/app-1")
	etcdPut(t, cli, "revocation-rules/sub/carol", val)
	resp, err := cli.Put(storeTestCtx(t), "unrelated", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(storeTestCtx(t), resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	proxy.Restore()
	storeEventually(t, "the reload applies what changed while away", func() bool {
		return rules.Rules.Match(ruleTestToken("carol", "", "", old)) == RuleSubject &&
			rules.Rules.Match(ruleTestToken("", "app-1", "", old)) == RuleNone
	})
	if logs.count(slog.LevelInfo, "revocation rules loaded from etcd") < 2 {
		t.Error("no second full load logged")
	}
}

// ruleTestSubscriber runs a broker subscriber into a Set and a RuleSet.
func ruleTestSubscriber(t *testing.T, url string) (*BrokerSubscriber, Revocations) {
	t.Helper()
	v := Revocations{Tokens: NewSet(), Rules: NewRuleSet()}
	sub, err := NewBrokerSubscriber(BrokerConfig{URL: url, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx, v, func() { once.Do(func() { close(ready) }) }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(brokerTestDeadline):
			t.Error("subscriber did not stop")
		}
	})
	select {
	case <-ready:
	case <-time.After(brokerTestDeadline):
		t.Fatal("subscriber not ready")
	}
	return sub, v
}

// TestBrokerRulesOverStomp: the rule messages, flat and in the WSO2 event
// form, published raw and by BrokerPublisher, reach the RuleSet through the
// real STOMP server; a Set alone counts them as rejected.
func TestBrokerRulesOverStomp(t *testing.T) {
	b := startStompTestBroker(t, "127.0.0.1:0", nil)
	sub, v := ruleTestSubscriber(t, "stomp://"+b.addr)
	rawStompSend(t, b.addr, `{"revokedSubject":"alice","issuedBefore":1764300000,"ttl":86400}`, nil)
	rawStompSend(t, b.addr, `{"event":{"payloadData":{"revokedClient":"app-1","issuedBefore":"1764300000","ttl":"86400"}}}`, nil)
	pub, err := DialBrokerPublisher(context.Background(), BrokerConfig{URL: "stomp://" + b.addr, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.PublishRule(context.Background(), RuleNotice{Kind: RuleIssuer, Key: "https://idp", IssuedBefore: ruleTestCut, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(context.Background(), Notice{JTI: "plain-jti", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	fp := CertificateFingerprint([]byte("client certificate"))
	if err := pub.PublishRule(context.Background(), RuleNotice{Kind: RuleCertificate, Key: fp, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	brokerEventually(t, "five messages applied", func() bool { return sub.Stats().Applied == 5 })
	if !v.Rules.MatchCertificate(fp) {
		t.Error("the certificate rule was not applied")
	}
	old := ruleTestCut.Add(-time.Hour)
	// The ttl counts from receipt or from the cut, whichever is later: the
	// rules received now hold.
	for _, c := range []struct {
		tok  *RuleToken
		want RuleKind
	}{
		{ruleTestToken("alice", "", "", old), RuleSubject},
		{ruleTestToken("", "app-1", "", old), RuleClient},
		{ruleTestToken("", "", "https://idp", old), RuleIssuer},
		{ruleTestToken("alice", "", "", ruleTestCut), RuleNone},
	} {
		if got := v.Rules.Match(c.tok); got != c.want {
			t.Errorf("match %+v = %v, want %v", *c.tok, got, c.want)
		}
	}
	if !v.Tokens.Revoked("plain-jti") {
		t.Error("the jti message was not applied beside the rules")
	}
	if sub.Stats().Rejected != 0 {
		t.Errorf("rejected %d", sub.Stats().Rejected)
	}
}

// TestEtcdPublisherRuleRoundTrip: a rule written by EtcdPublisher has the
// documented key, value and a lease that outlives its tokens, and a rule
// source picks it up.
func TestEtcdPublisherRuleRoundTrip(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	pub, err := DialEtcdPublisher(storeTestCtx(t), EtcdConfig{Hostname: endpoint + "/v2/keys/jti/"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	cut := time.Now().Truncate(time.Second)
	n := RuleNotice{Kind: RuleIssuer, Key: "https://idp/t", IssuedBefore: cut, TTL: time.Hour}
	if err := pub.RevokeRule(storeTestCtx(t), n); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(storeTestCtx(t), "revocation-rules/iss/https:%2F%2Fidp%2Ft")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get rule key: %v, %v", resp, err)
	}
	kv := resp.Kvs[0]
	if string(kv.Value) != string(EncodeRuleEtcdValue(n)) || kv.Lease == 0 {
		t.Errorf("value %s lease %d", kv.Value, kv.Lease)
	}
	ttl, err := cli.TimeToLive(storeTestCtx(t), clientv3.LeaseID(kv.Lease))
	if err != nil || ttl.GrantedTTL < 3600 {
		t.Errorf("lease granted %d s, want >= 3600: %v", ttl.GrantedTTL, err)
	}

	src, _ := newTestRuleSource(t, endpoint)
	v := Revocations{Tokens: NewSet(), Rules: NewRuleSet()}
	startStoreSource(t, src, v).waitReady(t)
	if v.Rules.Match(ruleTestToken("", "", "https://idp/t", cut.Add(-time.Second))) != RuleIssuer {
		t.Fatal("the published rule is not loaded")
	}
	// A certificate rule, written while the source watches.
	fp := CertificateFingerprint([]byte("client certificate"))
	if err := pub.RevokeRule(storeTestCtx(t), RuleNotice{Kind: RuleCertificate, Key: fp, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if resp, err := cli.Get(storeTestCtx(t), "revocation-rules/cert/"+fp); err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != `{"ttl":3600}` || resp.Kvs[0].Lease == 0 {
		t.Fatalf("certificate rule key: %v, %v", resp, err)
	}
	storeEventually(t, "the certificate rule is watched in", func() bool { return v.Rules.MatchCertificate(fp) })
	for _, r := range []struct {
		kind RuleKind
		key  string
	}{{RuleIssuer, "https://idp/t"}, {RuleCertificate, fp}} {
		if err := pub.UnrevokeRule(storeTestCtx(t), r.kind, r.key); err != nil {
			t.Fatal(err)
		}
	}
	storeEventually(t, "the deleted rules are dropped", func() bool { return v.Rules.Len() == 0 })
}
