package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

func blockReq(addr, api, app, user string) *BlockRequest {
	r := &BlockRequest{API: api, Application: app, User: user}
	if addr != "" {
		r.Addr = netip.MustParseAddr(addr)
	}
	return r
}

// Each kind blocks what it names and nothing else; ranges of several lengths, IPv4 and IPv6.
func TestBlockSetMatchesEachKind(t *testing.T) {
	b := NewBlockSet()
	if b.Match(blockReq("203.0.113.7", "/p", "app", "alice")) != BlockNone {
		t.Fatal("an empty set blocks")
	}
	for _, c := range []Block{
		{Kind: BlockIP, Value: "203.0.113.7"},
		{Kind: BlockIP, Value: "2001:db8::7"},
		{Kind: BlockIPRange, Value: "10.0.0.0/8"},
		{Kind: BlockIPRange, Value: "192.168.1.0/24"},
		{Kind: BlockIPRange, Value: "2001:db8:1::/48"},
		{Kind: BlockAPI, Value: "/orders/v1"},
		{Kind: BlockApplication, Value: "app-9"},
		{Kind: BlockUser, Value: "mallory"},
	} {
		b.Block(c)
	}
	for _, c := range []struct {
		r    *BlockRequest
		want BlockKind
	}{
		{blockReq("203.0.113.7", "/p", "", ""), BlockIP},
		{blockReq("203.0.113.8", "/p", "", ""), BlockNone},
		{blockReq("2001:db8::7", "/p", "", ""), BlockIP},
		{blockReq("10.200.3.4", "/p", "", ""), BlockIPRange},
		{blockReq("11.0.0.1", "/p", "", ""), BlockNone},
		{blockReq("192.168.1.255", "/p", "", ""), BlockIPRange},
		{blockReq("192.168.2.1", "/p", "", ""), BlockNone},
		{blockReq("2001:db8:1:ffff::1", "/p", "", ""), BlockIPRange},
		{blockReq("2001:db8:2::1", "/p", "", ""), BlockNone},
		{blockReq("198.51.100.1", "/orders/v1", "", ""), BlockAPI},
		{blockReq("198.51.100.1", "/p", "app-9", "bob"), BlockApplication},
		{blockReq("198.51.100.1", "/p", "app-1", "mallory"), BlockUser},
		{blockReq("", "/p", "app-1", "bob"), BlockNone},
		{blockReq("10.1.1.1", "/orders/v1", "app-9", "mallory"), BlockIPRange}, // the first kind asked
	} {
		if got := b.Match(c.r); got != c.want {
			t.Errorf("%+v: %v, want %v", *c.r, got, c.want)
		}
	}
	if b.Len() != 8 || b.LenKind(BlockIPRange) != 3 {
		t.Errorf("Len %d, ranges %d", b.Len(), b.LenKind(BlockIPRange))
	}
	b.Unblock(BlockIPRange, "10.0.0.0/8")
	b.Unblock(BlockUser, "mallory")
	b.Unblock(BlockUser, "nobody")
	if b.Match(blockReq("10.200.3.4", "/p", "", "mallory")) != BlockNone || b.Len() != 6 {
		t.Errorf("after unblocking: %v, Len %d", b.Match(blockReq("10.200.3.4", "/p", "", "mallory")), b.Len())
	}
}

// A condition with a ttl ends then (the later expiry wins, no expiry wins over any); Sweep drops it.
func TestBlockSetExpiry(t *testing.T) {
	b := NewBlockSet()
	now := time.Unix(1_800_000_000, 0)
	b.Block(Block{Kind: BlockUser, Value: "u", ExpiresAt: now.Add(time.Minute)})
	b.Block(Block{Kind: BlockUser, Value: "u", ExpiresAt: now.Add(10 * time.Second)})
	b.Block(Block{Kind: BlockIP, Value: "192.0.2.1", ExpiresAt: now.Add(time.Minute)})
	b.Block(Block{Kind: BlockIP, Value: "192.0.2.1"})
	r := blockReq("192.0.2.9", "/p", "", "u")
	if b.MatchAt(r, now.Add(59*time.Second)) != BlockUser || b.MatchAt(r, now.Add(time.Minute)) != BlockNone {
		t.Error("the user condition does not hold until its later expiry")
	}
	if b.MatchAt(blockReq("192.0.2.1", "/p", "", ""), now.Add(time.Hour)) != BlockIP {
		t.Error("no expiry did not win")
	}
	if n := b.Sweep(now.Add(2 * time.Minute)); n != 1 || b.Len() != 1 {
		t.Errorf("swept %d, %d left", n, b.Len())
	}
}

func TestBlockSetMatchDoesNotAllocate(t *testing.T) {
	b := NewBlockSet()
	b.Block(Block{Kind: BlockIPRange, Value: "10.0.0.0/8"})
	b.Block(Block{Kind: BlockUser, Value: "x"})
	r := blockReq("192.0.2.1", "/p", "app", "alice")
	if n := testing.AllocsPerRun(100, func() { b.Match(r) }); n != 0 {
		t.Errorf("%v allocations a lookup", n)
	}
}

func TestParseBlockValue(t *testing.T) {
	for _, c := range []struct {
		kind        BlockKind
		value, want string
	}{
		{BlockIP, "203.0.113.7", "203.0.113.7"},
		{BlockIP, "2001:DB8:0::7", "2001:db8::7"},
		{BlockIP, "::ffff:192.0.2.1", "192.0.2.1"},
		{BlockIPRange, "10.1.2.3/8", "10.0.0.0/8"},
		{BlockIPRange, "::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{BlockAPI, "/petstore/v1/", "/petstore/v1"},
		{BlockAPI, "/", "/"},
		{BlockUser, "alice@example.com", "alice@example.com"},
		{BlockApplication, "Xy7:app", "Xy7:app"},
	} {
		if got, err := ParseBlockValue(c.kind, c.value); err != nil || got != c.want {
			t.Errorf("%v %q: %q, %v; want %q", c.kind, c.value, got, err, c.want)
		}
	}
	for _, c := range []struct {
		kind  BlockKind
		value string
	}{
		{BlockIP, "host.example"}, {BlockIP, "fe80::1%eth0"}, {BlockIP, "10.0.0.0/8"},
		{BlockIPRange, "10.0.0.1"}, {BlockIPRange, "10.0.0.0/33"}, {BlockAPI, "petstore"},
		{BlockAPI, "/a b"}, {BlockUser, ""}, {BlockUser, "a\nb"}, {BlockUser, strings.Repeat("x", 1025)},
		{BlockNone, "x"},
	} {
		if _, err := ParseBlockValue(c.kind, c.value); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("%v %q accepted (%v)", c.kind, c.value, err)
		}
	}
}

func TestDecodeBlockingMessages(t *testing.T) {
	for _, c := range []struct {
		body string
		want BlockNotice
	}{
		{`{"blockingCondition":{"type":"ip","value":"203.0.113.7","enabled":true}}`, BlockNotice{BlockIP, "203.0.113.7", true, 0}},
		{`{"blockingCondition":{"type":"iprange","value":"10.9.9.9/8","enabled":"true","ttl":"60"}}`, BlockNotice{BlockIPRange, "10.0.0.0/8", true, time.Minute}},
		{`{"blockingCondition":{"type":"user","value":"alice"},"ttl":3600}`, BlockNotice{BlockUser, "alice", true, time.Hour}},
		{`{"blockingCondition":{"type":"application","value":"app","enabled":false,"ttl":5}}`, BlockNotice{BlockApplication, "app", false, 0}},
		{`{"event":{"payloadData":{"blockingCondition":{"type":"api","value":"/p/v1/","enabled":true}}}}`, BlockNotice{BlockAPI, "/p/v1", true, 0}},
	} {
		m, err := DecodeMessage([]byte(c.body), nil)
		if err != nil || m.Block != c.want || m.Rule.Kind != RuleNone || m.Notice.JTI != "" {
			t.Errorf("%s: %+v, %v; want %+v", c.body, m, err, c.want)
		}
	}
	for _, body := range []string{
		`{"blockingCondition":{"type":"country","value":"x"}}`,
		`{"blockingCondition":{"type":"ip","value":"not-an-ip","enabled":true}}`,
		`{"blockingCondition":{"type":"ip","value":7}}`,
		`{"blockingCondition":{"type":"ip","value":"192.0.2.1","enabled":"maybe"}}`,
		`{"blockingCondition":{"type":"ip","value":"192.0.2.1","ttl":0}}`,
		`{"blockingCondition":{"type":"ip","value":"192.0.2.1","ttl":1},"ttl":2}`,
		`{"blockingCondition":[1]}`,
	} {
		if _, err := DecodeMessage([]byte(body), nil); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("%s accepted (%v)", body, err)
		}
	}
	// A token revocation that mentions the word is still one.
	if m, err := DecodeMessage([]byte(`{"revokedToken":"blockingCondition","ttl":"60"}`), nil); err != nil || m.Notice.JTI != "blockingCondition" {
		t.Errorf("%+v, %v", m, err)
	}
	n := BlockNotice{Kind: BlockIPRange, Value: "10.0.0.0/8", Enabled: true, TTL: 90 * time.Second}
	if m, err := DecodeMessage(EncodeBlockNotice(n), nil); err != nil || m.Block != n {
		t.Errorf("round trip of %s: %+v, %v", EncodeBlockNotice(n), m.Block, err)
	}
}

func TestBlockEtcdKeys(t *testing.T) {
	for _, c := range []struct {
		kind  BlockKind
		value string
		key   string
	}{
		{BlockIP, "203.0.113.7", "ip/203.0.113.7"},
		{BlockIPRange, "10.0.0.0/8", "iprange/10.0.0.0%2F8"},
		{BlockAPI, "/petstore/v1", "api/%2Fpetstore%2Fv1"},
		{BlockUser, "a b", "user/a%20b"},
	} {
		if got := BlockEtcdKey(c.kind, c.value); got != c.key {
			t.Errorf("BlockEtcdKey(%v, %q) = %q, want %q", c.kind, c.value, got, c.key)
		}
		if k, v, err := parseBlockEtcdKey(c.key); err != nil || k != c.kind || v != c.value {
			t.Errorf("parse %q: %v %q %v", c.key, k, v, err)
		}
	}
	for _, key := range []string{"ip", "country/x", "ip/%zz", "iprange/10.1.2.3%2F8", "ip/2001:DB8::1", "api/petstore"} {
		if _, _, err := parseBlockEtcdKey(key); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("%q accepted (%v)", key, err)
		}
	}
	if _, _, err := parseBlockEtcdKey("iprange/10.1.2.3%2F8"); err == nil || !strings.Contains(err.Error(), "write the key as iprange/10.0.0.0%2F8") {
		t.Errorf("a range not at its start: %v", err)
	}
}

func TestEtcdBlockingPrefixMustNotOverlap(t *testing.T) {
	for _, p := range []string{"jti/", "jti/blocking/", "revocation-rules/b/", "revocation", "/"} {
		if _, err := NewEtcdBlockSource(EtcdConfig{Hostname: "http://127.0.0.1:2379/v2/keys/jti/", BlockingPrefix: p}); err == nil {
			t.Errorf("blockingPrefix %q accepted beside jti/ and revocation-rules/", p)
		}
	}
}

// The blocking source: conditions written before start are in at ready, later ones and deletions
// follow through the watch, a key that cannot be read is logged and skipped; EtcdPublisher writes
// the documented keys with a lease.
func TestEtcdBlockSource(t *testing.T) {
	srv := etcdtest.StartServer(t)
	cli := srv.Client
	etcdPut(t, cli, "blocking/ip/203.0.113.7", "0")
	etcdPut(t, cli, "blocking/iprange/10.1.2.3%2F8", "0")
	etcdPut(t, cli, "revocation-rules/sub/alice", `{"issuedBefore":1}`)
	logs := newStoreLogs()
	src, err := NewEtcdBlockSource(EtcdConfig{Hostname: srv.Endpoint + "/v2/keys/jti/", Logger: logs.logger(), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	v := Revocations{Tokens: NewSet(), Rules: NewRuleSet(), Blocks: NewBlockSet()}
	startStoreSource(t, src, v).waitReady(t)
	if v.Blocks.Len() != 1 || v.Blocks.Match(blockReq("203.0.113.7", "/p", "", "")) != BlockIP {
		t.Fatalf("loaded %d conditions", v.Blocks.Len())
	}
	if rec, ok := logs.find("skipped an etcd blocking condition that cannot be read"); !ok || !strings.Contains(rec.attrs, "10.0.0.0%2F8") {
		t.Errorf("a non-canonical key not logged with its canonical form: %+v", rec)
	}
	pub, err := DialEtcdPublisher(storeTestCtx(t), EtcdConfig{Hostname: srv.Endpoint + "/v2/keys/jti/"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Block(storeTestCtx(t), BlockNotice{Kind: BlockAPI, Value: "/orders/v1", Enabled: true, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(storeTestCtx(t), "blocking/api/%2Forders%2Fv1")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 || string(resp.Kvs[0].Value) != "3600" {
		t.Fatalf("the published key: %+v, %v", resp, err)
	}
	storeEventually(t, "the published condition applies", func() bool {
		return v.Blocks.Match(blockReq("", "/orders/v1", "", "")) == BlockAPI
	})
	if err := pub.Unblock(storeTestCtx(t), BlockIP, "203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "the deleted condition is lifted", func() bool {
		return v.Blocks.Match(blockReq("203.0.113.7", "/p", "", "")) == BlockNone
	})
	if err := pub.Block(storeTestCtx(t), BlockNotice{Kind: BlockIP, Value: "2001:DB8::1", Enabled: true}); err == nil {
		t.Error("a value not in its canonical form was written")
	}
}

// Blocking messages over the real STOMP server reach the BlockSet: blocked, then lifted.
func TestBrokerBlockingOverStomp(t *testing.T) {
	b := startStompTestBroker(t, "127.0.0.1:0", nil)
	v := Revocations{Tokens: NewSet(), Rules: NewRuleSet(), Blocks: NewBlockSet()}
	sub, err := NewBrokerSubscriber(BrokerConfig{URL: "stomp://" + b.addr, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx, v, func() { close(ready) }) }()
	defer func() { cancel(); <-done }()
	<-ready
	rawStompSend(t, b.addr, `{"blockingCondition":{"type":"user","value":"mallory","enabled":true}}`, nil)
	pub, err := DialBrokerPublisher(context.Background(), BrokerConfig{URL: "stomp://" + b.addr, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.PublishBlock(context.Background(), BlockNotice{Kind: BlockIPRange, Value: "198.51.100.0/24", Enabled: true, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	brokerEventually(t, "two conditions applied", func() bool { return v.Blocks.Len() == 2 })
	if v.Blocks.Match(blockReq("198.51.100.9", "/p", "", "")) != BlockIPRange || v.Blocks.Match(blockReq("", "/p", "", "mallory")) != BlockUser {
		t.Fatal("the conditions do not block")
	}
	if err := pub.PublishBlock(context.Background(), BlockNotice{Kind: BlockUser, Value: "mallory"}); err != nil {
		t.Fatal(err)
	}
	brokerEventually(t, "the lifted condition is gone", func() bool { return v.Blocks.Len() == 1 })
	if sub.Stats().Rejected != 0 || sub.Stats().Applied != 3 {
		t.Errorf("stats %+v", sub.Stats())
	}
}

// FuzzDecodeBlockingCondition: any body with a blocking condition is refused with
// ErrInvalidNotice or read into a condition that ValidateBlockNotice accepts and that encodes
// back to itself.
func FuzzDecodeBlockingCondition(f *testing.F) {
	f.Add([]byte(`{"blockingCondition":{"type":"ip","value":"203.0.113.7","enabled":true}}`))
	f.Add([]byte(`{"blockingCondition":{"type":"iprange","value":"::ffff:10.0.0.0/104","ttl":"60"}}`))
	f.Add([]byte(`{"event":{"payloadData":{"blockingCondition":{"type":"api","value":"//","enabled":"false"}}}}`))
	f.Add([]byte(`{"blockingCondition":{"type":"user","value":"\u0000"},"ttl":99999999999999}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := DecodeMessage(body, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidNotice) {
				t.Fatalf("error does not wrap ErrInvalidNotice: %v", err)
			}
			return
		}
		if m.Block.Kind == BlockNone {
			return
		}
		if err := ValidateBlockNotice(m.Block); err != nil {
			t.Fatalf("decoded an invalid condition %+v: %v", m.Block, err)
		}
		back, err := DecodeMessage(EncodeBlockNotice(m.Block), nil)
		if err != nil || back.Block != m.Block {
			t.Fatalf("%+v encodes to %s, which reads as %+v (%v)", m.Block, EncodeBlockNotice(m.Block), back.Block, err)
		}
	})
}

// FuzzBlockEtcdKey: a key under the blocking prefix is refused with ErrInvalidNotice or read
// into a valid condition whose key is the same.
func FuzzBlockEtcdKey(f *testing.F) {
	for _, k := range []string{"ip/203.0.113.7", "iprange/10.0.0.0%2F8", "api/%2Fp", "user/a%20b", "application/%zz", "ip/"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		kind, value, err := parseBlockEtcdKey(rel)
		if err != nil {
			if !errors.Is(err, ErrInvalidNotice) {
				t.Fatalf("error does not wrap ErrInvalidNotice: %v", err)
			}
			return
		}
		if err := ValidateBlockNotice(BlockNotice{Kind: kind, Value: value, Enabled: true}); err != nil {
			t.Fatalf("%q read as an invalid condition: %v", rel, err)
		}
		if k2, v2, err := parseBlockEtcdKey(BlockEtcdKey(kind, value)); err != nil || k2 != kind || v2 != value {
			t.Fatalf("%q: %v %q written back as %q reads as %v %q (%v)", rel, kind, value, BlockEtcdKey(kind, value), k2, v2, err)
		}
	})
}

// The rules and blocking prefixes must each be a prefix of their own: not
// all of etcd, and overlapping neither the jti prefix nor each other.
func TestEtcdPrefixesOfTheirOwn(t *testing.T) {
	for _, c := range []struct {
		cfg     EtcdConfig
		jti     string
		wantErr string // "" for none
	}{
		{EtcdConfig{}, "jti/", ""},
		{EtcdConfig{RulesPrefix: "/"}, "jti/", `etcd rulesPrefix "/" would be every key of etcd`},
		{EtcdConfig{RulesPrefix: "jti/rules/"}, "jti/", `etcd rulesPrefix "jti/rules/" and the jti prefix "jti/" overlap; give the rules a prefix of their own`},
		{EtcdConfig{BlockingPrefix: "/"}, "jti/", `etcd blockingPrefix "/" would be every key of etcd`},
		{EtcdConfig{BlockingPrefix: "j"}, "jti/", `etcd blockingPrefix "j" and the jti prefix "jti/" overlap; give blocking conditions a prefix of their own`},
		{EtcdConfig{BlockingPrefix: DefaultRulesPrefix + "b/"}, "jti/", `etcd blockingPrefix "` + DefaultRulesPrefix + `b/" and rulesPrefix "` + DefaultRulesPrefix + `" overlap; give blocking conditions a prefix of their own`},
	} {
		_, err := c.cfg.blockingPrefix(c.jti)
		if got := fmt.Sprint(err); (c.wantErr == "" && err != nil) || (c.wantErr != "" && got != c.wantErr) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.wantErr)
		}
	}
}
