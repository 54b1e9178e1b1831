//go:build chaos

// The chaos suite (build tag chaos): real gateways, Debian's etcd and RabbitMQ run by the suite
// itself on their own loopback ports (see chaos_helpers_test.go), faults injected while a token
// service revokes, and at the end every gateway must refuse every revoked token and accept every
// other one. docs/reliability.md has the failure modes and the measured results.
//
//	make chaos         N = 10,000 (scripts/chaos.sh)
//	make chaos-smoke   N = 300, one fault of each kind, plus the start-up faults and limits, for CI
//	scripts/chaos.sh --startup   the start-up faults, limits and log scanner only (about 1 min)
//
// Knobs (environment): MICROGW_CHAOS_N (tokens), MICROGW_CHAOS_SPAN (how long revocations are
// published, Go duration), MICROGW_CHAOS_SEED, MICROGW_CHAOS_CLUSTER_N, MICROGW_CHAOS_LOGS (a
// folder where gateway logs are kept; default the test's temp folder), MICROGW_CHAOS_SCAN (a
// folder or glob of logs for TestChaosScanLogs).
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/cutproxy"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// chaosLogDir is where a test's gateway logs go: MICROGW_CHAOS_LOGS/<test> when set (kept after
// the run), else the test's temp folder.
func chaosLogDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("MICROGW_CHAOS_LOGS"); d != "" {
		dir := filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// chaosSeed is MICROGW_CHAOS_SEED or a fresh one, logged so that a run can be replayed (the
// faults' order and the revoked subset; the timing of a shared machine cannot be).
func chaosSeed(t *testing.T) uint64 {
	var seed uint64
	if _, err := fmt.Sscan(os.Getenv("MICROGW_CHAOS_SEED"), &seed); err != nil || seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (MICROGW_CHAOS_SEED=%d replays the choices)", seed, seed)
	return seed
}

// chaosTokens signs n tokens with jtis chaos-<tag>-<i>, and picks about half of them to revoke.
func chaosTokens(t *testing.T, p *chaosProject, rng *rand.Rand, tag string, n int) (tokens, jtis []string, revoked map[int]bool) {
	t.Helper()
	start := time.Now()
	tokens = make([]string, n)
	jtis = make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				jtis[i] = fmt.Sprintf("chaos-%s-%05d", tag, i)
				tok, err := p.Token(jtis[i], 3*time.Hour)
				if err != nil {
					errs <- err
					return
				}
				tokens[i] = tok
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	revoked = map[int]bool{}
	for _, i := range rng.Perm(n)[:n/2] {
		revoked[i] = true
	}
	t.Logf("signed %d tokens in %v; %d will be revoked", n, time.Since(start).Round(time.Millisecond), len(revoked))
	return tokens, jtis, revoked
}

// chaosSettle waits for every gateway to be ready, then checks every token on every gateway;
// while the check is not clean it checks again every 5 s, for at most settle. It returns the
// last verdict and how long after the first check it was taken.
func chaosSettle(t *testing.T, gws []*chaosGateway, tokens []string, revoked map[int]bool, settle time.Duration) chaosVerdict {
	t.Helper()
	for _, g := range gws {
		if err := g.WaitReady(3 * time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// Give the real-time notifiers a moment to reconnect after the last fault (readiness stays
	// true while a source is away: docs/runtime.md).
	time.Sleep(2 * time.Second)
	for _, g := range gws {
		t.Logf("%s at the first check: %s", g.Name, strings.Join(g.Gauges(), ", "))
	}
	start := time.Now()
	for round := 1; ; round++ {
		cs := time.Now()
		v := chaosCheck(gws, tokens, revoked, 16)
		t.Logf("check %d (started %v after the first, took %v): lost: %d of %d revoked, wrongly refused: %d of %d, no answer/other: %d %v",
			round, cs.Sub(start).Round(time.Second), time.Since(cs).Round(time.Millisecond),
			v.Lost, v.Revoked, v.WronglyRefused, v.N-v.Revoked, v.Errors, v.Other)
		if (v.Lost == 0 && v.WronglyRefused == 0 && v.Errors == 0) || time.Since(start) > settle {
			return v
		}
		time.Sleep(5 * time.Second)
	}
}

// chaosStartGateways starts the gateways and waits until every one is ready.
func chaosStartGateways(t *testing.T, gws []*chaosGateway) {
	t.Helper()
	for _, g := range gws {
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range gws {
		if err := g.WaitReady(2 * time.Minute); err != nil {
			t.Fatal(err)
		}
	}
}

// chaosGuardRevoked waits until every gateway refuses each of the tokens, revoked before the
// faults, then starts a guard on them: from then on none may ever be served again.
func chaosGuardRevoked(t *testing.T, gws []*chaosGateway, tokens []string) *chaosGuard {
	t.Helper()
	for _, g := range gws {
		for _, tok := range tokens {
			end := time.Now().Add(30 * time.Second)
			for a := g.Call(tok); !a.revoked(); a = g.Call(tok) {
				if time.Now().After(end) {
					t.Fatalf("%s: a guarded revoked token is not refused after 30 s: %s", g.Name, a)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	return chaosStartGuard(gws, tokens)
}

// chaosReport prints the verdict's lines and fails the test unless nothing was lost or wrongly
// refused.
func chaosReport(t *testing.T, v chaosVerdict) {
	t.Helper()
	fmt.Printf("lost: %d of %d\n", v.Lost, v.N)
	fmt.Printf("wrongly refused: %d of %d\n", v.WronglyRefused, v.N)
	t.Logf("lost: %d of %d (revoked tokens accepted by some gateway; %d revoked)", v.Lost, v.N, v.Revoked)
	t.Logf("wrongly refused: %d of %d (tokens never revoked refused by some gateway)", v.WronglyRefused, v.N)
	if v.Lost != 0 {
		t.Errorf("lost: %d of %d revoked tokens accepted; e.g. %v", v.Lost, v.N, v.LostExamples)
	}
	if v.WronglyRefused != 0 {
		t.Errorf("wrongly refused: %d; e.g. %v", v.WronglyRefused, v.RefusedExamples)
	}
	if v.Errors != 0 {
		t.Errorf("%d checks got neither 200 nor 401: %v", v.Errors, v.Other)
	}
}

// chaosScanGatewayLogs fails the test if any gateway log holds a token or a fragment of one.
func chaosScanGatewayLogs(t *testing.T, gws []*chaosGateway, tokens []string) {
	t.Helper()
	var paths []string
	for _, g := range gws {
		paths = append(paths, g.LogPath)
	}
	start := time.Now()
	hits, err := chaosScanLogs(paths, tokens)
	if err != nil {
		t.Errorf("log scan: %v", err)
	}
	var size int64
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			size += st.Size()
		}
	}
	t.Logf("log scan: %d gateway logs (%d KB) for %d tokens in %v: %d hits", len(paths), size>>10, len(tokens), time.Since(start).Round(time.Millisecond), len(hits))
	for _, h := range hits {
		t.Errorf("token in a gateway log: %s", h)
	}
}

// chaosFault is one kind of fault.
type chaosFault string

const (
	faultRabbitRestart chaosFault = "restart RabbitMQ"
	faultEtcdRestart   chaosFault = "restart etcd"
	faultGatewayKill   chaosFault = "SIGKILL and restart a gateway"
	faultEtcdCompact   chaosFault = "compact etcd"
	faultPartition     chaosFault = "cut the gateways off etcd and the broker, compact etcd, heal"
	faultKillEtcdDown  chaosFault = "stop etcd, SIGKILL and restart a gateway, start etcd"
	// The revocation snapshot (docs/revocation.md, "Snapshots"): restarts from it while
	// revocations go on, with etcd's history compacted past it, and with one from another cluster.
	faultGatewaysDown        chaosFault = "SIGKILL both gateways, revoke while they are down, restart them"
	faultGatewaysDownCompact chaosFault = "SIGKILL both gateways, revoke while they are down, compact etcd, restart them"
	faultForeignSnapshot     chaosFault = "SIGKILL a gateway, give it a snapshot of another etcd cluster, restart it"
)

// chaosSnapshotFaults is what the snapshot faults need.
type chaosSnapshotFaults struct {
	path        string   // the project's snapshot of the jti prefix, which both gateways share
	foreign     []byte   // a snapshot taken from another etcd cluster
	foreignJTIs []string // revoked in that cluster, never in this one
	// publish revokes a batch of the reserved share now and returns the jtis etcd took.
	publish func() []string
	// served returns the jtis whose token g serves now; refused those it refuses as revoked.
	served, refused func(g *chaosGateway, jtis []string) []string
}

// chaosForeignSnapshot makes a snapshot of another etcd cluster: a second etcd (ports
// MICROGW_CHAOS_ETCD2_PORT, default 23795, and 23805) in which the jtis are revoked, read by a
// gateway of the project with a snapshot folder of its own.
func chaosForeignSnapshot(t *testing.T, p *chaosProject, dir, logs string, jtis []string) []byte {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "foreign"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := chaosStartEtcdCluster(t, filepath.Join(dir, "foreign"), chaosOrderedEtcd(t), 1,
		chaosEnvInt("MICROGW_CHAOS_ETCD2_PORT", 23795), chaosEnvInt("MICROGW_CHAOS_ETCD2_PEER_PORT", 23805))[0]
	defer m.proc.stop(syscall.SIGTERM, 10*time.Second)
	for _, j := range jtis {
		if out, err := m.etcdctl("put", "jti/"+j, "10800"); err != nil {
			t.Fatalf("etcdctl put: %v: %s", err, out)
		}
	}
	snapDir := filepath.Join(dir, "foreign-snapshot")
	conf := p.WriteConf(t, "chaos-foreign", chaosConf{EtcdHostname: m.Endpoint() + "/v3/keys/jti/", SnapshotDir: snapDir})
	g := p.NewGateway(t, "gw-foreign", conf, logs)
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitReady(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	g.Stop()
	data, err := os.ReadFile(filepath.Join(snapDir, "etcd-jti%2F.snap"))
	if err != nil {
		t.Fatalf("the foreign gateway wrote no snapshot: %v", err)
	}
	return data
}

// TestChaos: two gateways (realtime over STOMP and over AMQP, persistent etcd), a token service
// revoking half of N tokens over broker and etcd, and meanwhile RabbitMQ restarted, etcd
// restarted (SIGTERM or SIGKILL), a gateway SIGKILLed and restarted, etcd compacted, and the
// gateways cut off from both services while revocations go on and etcd is compacted (so their
// watch must fall back to a full reload); and, with their revocation snapshots on (the default),
// both gateways SIGKILLed while revocations go on and restarted from their snapshot, the same with
// etcd compacted past the snapshot meanwhile, and a gateway given a snapshot of another etcd
// cluster: right at ready, a restarted gateway must refuse what was revoked while it was down.
// etcd here is chaosOrderedEtcd's, against which a gateway does start from its snapshot. Then every
// gateway must refuse every revoked token and accept every other: `lost: 0 of N`.
func TestChaos(t *testing.T) {
	n := chaosEnvInt("MICROGW_CHAOS_N", 300)
	spanDef := 40 * time.Second
	if n > 1000 {
		spanDef = 180 * time.Second
	}
	span := chaosEnvDuration("MICROGW_CHAOS_SPAN", spanDef)
	seed := chaosSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	began := time.Now()

	dir := t.TempDir()
	logs := chaosLogDir(t)
	etcd := chaosStartEtcdCluster(t, dir, chaosOrderedEtcd(t), 1, chaosEnvInt("MICROGW_CHAOS_ETCD_PORT", 23791), chaosEnvInt("MICROGW_CHAOS_ETCD_PEER_PORT", 23801))[0]
	rabbit := chaosNewRabbit(t, dir)
	rs := time.Now()
	if err := rabbit.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("etcd and RabbitMQ %s up (RabbitMQ took %v)", rabbit.Node, time.Since(rs).Round(time.Millisecond))

	// The gateways reach the services through cuttable proxies; the token service directly.
	etcdProxy := cutproxy.Start(t, fmt.Sprintf("127.0.0.1:%d", etcd.Client))
	stompProxy := cutproxy.Start(t, fmt.Sprintf("127.0.0.1:%d", rabbit.STOMP))
	amqpProxy := cutproxy.Start(t, fmt.Sprintf("127.0.0.1:%d", rabbit.AMQP))
	proxies := []*cutproxy.Proxy{etcdProxy, stompProxy, amqpProxy}

	work := filepath.Join(dir, "work")
	os.MkdirAll(work, 0o755)
	p := chaosNewProject(t, work)
	hostname := "http://" + etcdProxy.Addr() + "/v3/keys/jti/"
	confSTOMP := p.WriteConf(t, "chaos-stomp", chaosConf{
		BrokerURL: "stomp://" + stompProxy.Addr(), BrokerUser: "guest", BrokerPass: "guest", EtcdHostname: hostname})
	confAMQP := p.WriteConf(t, "chaos-amqp", chaosConf{
		BrokerURL:    "amqp://guest:guest@chaos/?brokerlist='tcp://" + amqpProxy.Addr() + "'",
		EtcdHostname: hostname})
	gws := []*chaosGateway{
		p.NewGateway(t, "gw-stomp", confSTOMP, logs),
		p.NewGateway(t, "gw-amqp", confAMQP, logs),
	}
	chaosStartGateways(t, gws)
	tokens, jtis, revoked := chaosTokens(t, p, rng, fmt.Sprintf("%x", seed%0xffffff), n)
	var toRevoke []string
	var toRevokeIdx []int
	for _, i := range rng.Perm(n) {
		if revoked[i] {
			toRevoke = append(toRevoke, jtis[i])
			toRevokeIdx = append(toRevokeIdx, i)
		}
	}
	// The first few are revoked before any fault, and a guard asks for them on every gateway all
	// through the faults: once refused everywhere they must never be served again, whatever
	// restarts, reloads or compacts (a restarted gateway must not serve before its load).
	guardN := min(20, max(len(toRevoke)/50, 5))
	guarded := toRevoke[:guardN]
	var guardedTokens []string
	for _, i := range toRevokeIdx[:guardN] {
		guardedTokens = append(guardedTokens, tokens[i])
	}
	toRevoke = toRevoke[guardN:]

	// A share of the revocations is kept for the partition faults, which publish them while the
	// gateways are cut off (so their etcd watch has to catch up past a compaction).
	reserved := toRevoke[len(toRevoke)-max(len(toRevoke)/5, 20):]
	toRevoke = toRevoke[:len(toRevoke)-len(reserved)]
	pub := &chaosPublisher{
		Rev: config.Revocation{
			Realtime: config.Realtime{Enabled: true, Topic: "tokenRevocation",
				ProviderURL: fmt.Sprintf("stomp://127.0.0.1:%d", rabbit.STOMP), Username: "guest", Password: "guest"},
			Persistent: config.Persistent{Enabled: true, UseDefault: true,
				Hostname: fmt.Sprintf("http://127.0.0.1:%d/v3/keys/jti/", etcd.Client)},
		},
		Workers: 4, TTL: 3 * time.Hour, BrokerGiveUp: 90 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), span+10*time.Minute)
	defer cancel()
	partPub := &chaosPublisher{Rev: pub.Rev, Workers: 2, TTL: pub.TTL, BrokerGiveUp: pub.BrokerGiveUp}
	var partMissed []string
	publishReservedJTIs := func(k int) []string {
		batch := reserved[:min(k, len(reserved))]
		reserved = reserved[len(batch):]
		missed := partPub.Run(ctx, batch, 0)
		partMissed = append(partMissed, missed...)
		return slices.DeleteFunc(slices.Clone(batch), func(j string) bool { return slices.Contains(missed, j) })
	}
	publishReserved := func(k int) int { return len(publishReservedJTIs(k)) }

	// The snapshot faults: the project's snapshot, and one of another cluster that revokes a few
	// tokens this cluster never revokes.
	tokenOf := map[string]string{}
	var notRevoked []string
	for i, j := range jtis {
		tokenOf[j] = tokens[i]
		if !revoked[i] && len(notRevoked) < 10 {
			notRevoked = append(notRevoked, j)
		}
	}
	answering := func(ok func(gatewayAnswer) bool) func(g *chaosGateway, jtis []string) []string {
		return func(g *chaosGateway, jtis []string) []string {
			var out []string
			for _, j := range jtis {
				if ok(g.Call(tokenOf[j])) {
					out = append(out, j)
				}
			}
			return out
		}
	}
	sf := &chaosSnapshotFaults{
		path:        filepath.Join(p.Root, "var", "revocation", "etcd-jti%2F.snap"),
		foreign:     chaosForeignSnapshot(t, p, dir, logs, notRevoked),
		foreignJTIs: notRevoked,
		publish:     func() []string { return publishReservedJTIs(max(len(reserved)/4, 3)) },
		served:      answering(gatewayAnswer.accepted),
		refused:     answering(gatewayAnswer.revoked),
	}

	// The faults: every kind once in a random order, then (while revocations go on) more at
	// random, a random pause of 1-4 s (smoke) or 3-12 s (full) between two.
	kinds := []chaosFault{faultRabbitRestart, faultEtcdRestart, faultGatewayKill, faultEtcdCompact, faultPartition, faultKillEtcdDown,
		faultGatewaysDown, faultGatewaysDownCompact, faultForeignSnapshot}
	if missed := pub.Run(ctx, guarded, 0); len(missed) > 0 {
		t.Fatalf("guarded revocations not accepted: %v", missed)
	}
	guard := chaosGuardRevoked(t, gws, guardedTokens)
	// Blocking conditions travel as revocations do: users blocked through the same sides, paced
	// over the same span, through the same faults; none may be lost.
	users, blockedUsers := chaosBlockUsers(t, p, fmt.Sprintf("%x", seed%0xffffff), max(n/20, 10))
	blockPub := &chaosPublisher{Rev: pub.Rev, Workers: 1, BrokerGiveUp: pub.BrokerGiveUp, Block: true}
	blockRun := blockPub.Start(ctx, blockedUsers, span)
	run := pub.Start(ctx, toRevoke, span)
	counts := map[chaosFault]int{}
	pause := func() time.Duration {
		if n <= 1000 {
			return time.Second + time.Duration(rng.Int64N(int64(3*time.Second)))
		}
		return 3*time.Second + time.Duration(rng.Int64N(int64(9*time.Second)))
	}
	order := slices.Clone(kinds)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for i := 0; ; i++ {
		var k chaosFault
		if i < len(order) {
			k = order[i]
		} else {
			select {
			case <-run.Done:
			default:
				k = kinds[rng.IntN(len(kinds))]
			}
			if k == "" {
				break
			}
		}
		time.Sleep(pause())
		fs := time.Now()
		detail := chaosInject(t, k, rng, etcd, rabbit, gws, proxies, func() int { return publishReserved(max(len(reserved)/2, 5)) }, sf)
		counts[k]++
		line := fmt.Sprintf("%s +%v %s: %s (%v)", fs.UTC().Format("15:04:05"), fs.Sub(run.Began).Round(time.Second), k, detail, time.Since(fs).Round(time.Millisecond))
		t.Log("fault: " + line)
	}
	<-run.Done
	<-blockRun.Done
	if len(blockRun.NotAccepted) > 0 {
		t.Fatalf("%d blocking conditions were never accepted by etcd: %v", len(blockRun.NotAccepted), blockRun.NotAccepted)
	}
	if len(reserved) > 0 {
		t.Logf("publishing the %d reserved revocations that no partition took", publishReserved(len(reserved)))
	}
	notAccepted := append(run.NotAccepted, partMissed...)
	pubTook := time.Since(run.Began)
	t.Logf("publisher: %d revocations accepted (etcd took them; %d of them from the share kept for the partitions, published while cut off or after the last fault) in %v; %d not accepted; failed attempts: etcd %d, broker %d; broker side given up: %d",
		pub.accepted.Load()+partPub.accepted.Load(), partPub.accepted.Load(), pubTook.Round(time.Millisecond), len(notAccepted),
		pub.etcdFailures.Load()+partPub.etcdFailures.Load(), pub.brokerFailures.Load()+partPub.brokerFailures.Load(),
		pub.brokerGivenUp.Load()+partPub.brokerGivenUp.Load())
	if len(notAccepted) > 0 {
		t.Fatalf("%d revocations were never accepted by etcd (e.g. %v): nothing to check against", len(notAccepted), notAccepted[:min(5, len(notAccepted))])
	}
	var faults []string
	for _, k := range kinds {
		faults = append(faults, fmt.Sprintf("%s ×%d", k, counts[k]))
	}
	t.Logf("faults injected: %s", strings.Join(faults, ", "))

	guard.Check(t, len(guardedTokens))
	v := chaosSettle(t, gws, tokens, revoked, 60*time.Second)
	chaosReport(t, v)
	chaosCheckBlocked(t, gws, users, 60*time.Second)
	for _, g := range gws {
		t.Logf("%s: %d starts (%d from the snapshot, %d snapshots refused), %d broker reconnects logged, %d etcd reloads logged (watch could not resume), %d resyncs",
			g.Name, g.starts, chaosCountInFile(g.LogPath, "revoked tokens restored from the snapshot"), chaosCountInFile(g.LogPath, "revocation snapshot not used"),
			chaosCountInFile(g.LogPath, "reconnected to broker"), chaosCountInFile(g.LogPath, "etcd watch cannot resume"),
			chaosCountInFile(g.LogPath, "resync requested"))
	}
	chaosScanGatewayLogs(t, gws, tokens)
	t.Logf("summary: N=%d, revoked %d, faults: %s; took %v (publishing %v); lost: %d of %d, wrongly refused %d",
		n, len(revoked), strings.Join(faults, ", "), time.Since(began).Round(time.Second), pubTook.Round(time.Second), v.Lost, n, v.WronglyRefused)
}

// chaosBlockUsers signs a token for each of n users chaos-user-<tag>-<i> and picks half of them
// to block: it returns the users' tokens (blocked or not) and the users to block.
func chaosBlockUsers(t *testing.T, p *chaosProject, tag string, n int) (users map[string]string, blocked []string) {
	t.Helper()
	users = map[string]string{}
	for i := range n {
		sub := fmt.Sprintf("chaos-user-%s-%03d", tag, i)
		tok, err := issuer.Sign(p.key, issuer.DefaultKeyID, issuer.Claims{JTI: sub + "-token", Subject: sub, TTL: 3 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		users[sub] = tok
		if i%2 == 0 {
			blocked = append(blocked, sub)
		}
	}
	return users, blocked
}

// chaosCheckBlocked checks every user's token on every gateway: a blocked user's must get
// exactly 403 900805, another's 200; it checks again every 5 s while not clean, for at most
// settle, then reports "blocking conditions lost: N of M".
func chaosCheckBlocked(t *testing.T, gws []*chaosGateway, users map[string]string, settle time.Duration) {
	t.Helper()
	blocked := map[string]bool{}
	nBlocked := 0
	for sub := range users {
		var i int
		fmt.Sscanf(sub[strings.LastIndexByte(sub, '-')+1:], "%d", &i)
		if blocked[sub] = i%2 == 0; blocked[sub] {
			nBlocked++
		}
	}
	start := time.Now()
	for {
		lost, wrong := 0, 0
		var examples []string
		for _, g := range gws {
			for sub, tok := range users {
				a := g.Call(tok)
				switch isBlocked := a.Status == http.StatusForbidden && a.Code == 900805; {
				case blocked[sub] && !isBlocked:
					lost++
					examples = append(examples, fmt.Sprintf("%s: %s got %s", g.Name, sub, a))
				case !blocked[sub] && !a.accepted():
					wrong++
					examples = append(examples, fmt.Sprintf("%s: %s (not blocked) got %s", g.Name, sub, a))
				}
			}
		}
		if (lost == 0 && wrong == 0) || time.Since(start) > settle {
			fmt.Printf("blocking conditions lost: %d of %d\n", lost, len(gws)*nBlocked)
			t.Logf("blocking conditions: lost %d, wrongly blocked %d (of %d users, %d blocked, on %d gateways)", lost, wrong, len(users), nBlocked, len(gws))
			if lost+wrong > 0 {
				t.Errorf("blocking conditions lost %d, wrongly blocked %d; e.g. %v", lost, wrong, examples[:min(5, len(examples))])
			}
			return
		}
		time.Sleep(5 * time.Second)
	}
}

// chaosInject injects one fault and returns what it did.
func chaosInject(t *testing.T, k chaosFault, rng *rand.Rand, etcd *chaosEtcd, rabbit *chaosRabbit, gws []*chaosGateway, proxies []*cutproxy.Proxy, duringCut func() int, sf *chaosSnapshotFaults) string {
	t.Helper()
	switch k {
	case faultGatewaysDown, faultGatewaysDownCompact:
		for _, g := range gws {
			g.Kill()
		}
		jtis := sf.publish()
		detail := fmt.Sprintf("%d revoked while both were down", len(jtis))
		if k == faultGatewaysDownCompact {
			rev, err := etcd.Compact()
			if err != nil {
				t.Fatal(err)
			}
			detail += fmt.Sprintf(", compacted at %d", rev)
		}
		restored := make([]int, len(gws))
		reloads := make([]int, len(gws))
		for i, g := range gws {
			restored[i] = chaosCountInFile(g.LogPath, "revoked tokens restored from the snapshot")
			reloads[i] = chaosCountInFile(g.LogPath, "etcd watch cannot resume")
			if err := g.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, g := range gws {
			if err := g.WaitReady(2 * time.Minute); err != nil {
				t.Fatal(err)
			}
			// Right at ready, what was revoked while the gateway was down is refused.
			if served := sf.served(g, jtis); len(served) > 0 {
				t.Errorf("%s, ready after %s, served %d of the %d tokens revoked while it was down: %v", g.Name, k, len(served), len(jtis), served)
			}
			restored[i] = chaosCountInFile(g.LogPath, "revoked tokens restored from the snapshot") - restored[i]
			reloads[i] = chaosCountInFile(g.LogPath, "etcd watch cannot resume") - reloads[i]
			detail += fmt.Sprintf("; %s: restored from the snapshot %d, reloaded %d", g.Name, restored[i], reloads[i])
			if restored[i] != 1 {
				t.Errorf("%s did not start from its snapshot after %s (see %s)", g.Name, k, g.LogPath)
			}
			if k == faultGatewaysDownCompact && len(jtis) > 0 && reloads[i] == 0 {
				t.Errorf("%s: its snapshot is older than the compaction, yet it did not list etcd in full", g.Name)
			}
		}
		return detail
	case faultForeignSnapshot:
		g := gws[rng.IntN(len(gws))]
		g.Kill()
		saved, _ := os.ReadFile(sf.path)
		chaosReplaceFile(t, sf.path, sf.foreign)
		refusedBefore := chaosCountInFile(g.LogPath, "another etcd cluster")
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		if err := g.WaitReady(2 * time.Minute); err != nil {
			t.Fatal(err)
		}
		if chaosCountInFile(g.LogPath, "another etcd cluster") == refusedBefore {
			t.Errorf("%s did not refuse a snapshot of another etcd cluster (see %s)", g.Name, g.LogPath)
		}
		if applied := sf.refused(g, sf.foreignJTIs); len(applied) > 0 {
			t.Errorf("%s applied a snapshot of another etcd cluster: it refuses %v", g.Name, applied)
		}
		// The project's own snapshot back, unless a gateway wrote a new one meanwhile.
		if cur, _ := os.ReadFile(sf.path); bytes.Equal(cur, sf.foreign) && saved != nil {
			chaosReplaceFile(t, sf.path, saved)
		}
		return fmt.Sprintf("%s refused it and listed etcd", g.Name)
	case faultRabbitRestart:
		down := time.Duration(rng.Int64N(int64(3 * time.Second)))
		if err := rabbit.Restart(down); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("down %v", down.Round(time.Millisecond))
	case faultEtcdRestart:
		kill := rng.IntN(2) == 0
		down := time.Duration(rng.Int64N(int64(4 * time.Second)))
		if err := etcd.Restart(kill, down); err != nil {
			t.Fatal(err)
		}
		how := "SIGTERM"
		if kill {
			how = "SIGKILL"
		}
		return fmt.Sprintf("%s, down %v", how, down.Round(time.Millisecond))
	case faultGatewayKill:
		g := gws[rng.IntN(len(gws))]
		g.Kill()
		down := time.Duration(rng.Int64N(int64(2 * time.Second)))
		time.Sleep(down)
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		// Not waiting for it to be ready: the next fault may hit it while it loads.
		return fmt.Sprintf("%s, down %v", g.Name, down.Round(time.Millisecond))
	case faultKillEtcdDown:
		// The restarted gateway cannot load: it must answer secured requests with 503 (the
		// guard sees any 200 of a revoked token) until etcd is back.
		etcd.proc.stop(syscall.SIGTERM, 15*time.Second)
		g := gws[rng.IntN(len(gws))]
		g.Kill()
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		down := 2*time.Second + time.Duration(rng.Int64N(int64(3*time.Second)))
		time.Sleep(down)
		if err := etcd.start(); err != nil {
			t.Fatal(err)
		}
		if err := etcd.waitHealthy(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s restarted while etcd was down for %v", g.Name, down.Round(time.Millisecond))
	case faultEtcdCompact:
		rev, err := etcd.Compact()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("at revision %d", rev)
	case faultPartition:
		for _, p := range proxies {
			p.Cut()
		}
		r0, _ := etcd.Revision()
		cutAt := time.Now()
		published := duringCut()
		time.Sleep(2*time.Second + time.Duration(rng.Int64N(int64(4*time.Second))) - time.Since(cutAt))
		rev, err := etcd.Compact()
		if err != nil {
			for _, p := range proxies {
				p.Restore()
			}
			t.Fatal(err)
		}
		for _, p := range proxies {
			p.Restore()
		}
		return fmt.Sprintf("%d revocations published while cut (revisions %d..%d), compacted at %d", published, r0, rev, rev)
	}
	t.Fatalf("unknown fault %q", k)
	return ""
}

// chaosReplaceFile puts data at path as a process would: a new file renamed over the old.
func chaosReplaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".chaos", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".chaos", path); err != nil {
		t.Fatal(err)
	}
}

// TestChaosEtcdCluster: a 3-member etcd cluster on loopback, two gateways with the persistent
// notifier only (so every revocation reaches them through etcd) and `endpoints` listing the three
// members; while the token service revokes, the leader is SIGKILLed (then restarted), twice,
// and the cluster compacted. Then `lost: 0 of N`.
func TestChaosEtcdCluster(t *testing.T) {
	n := chaosEnvInt("MICROGW_CHAOS_CLUSTER_N", 1000)
	span := chaosEnvDuration("MICROGW_CHAOS_CLUSTER_SPAN", 30*time.Second)
	seed := chaosSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x51ed2701))
	began := time.Now()
	dir := t.TempDir()
	logs := chaosLogDir(t)
	base := chaosEnvInt("MICROGW_CHAOS_ETCD_PORT", 23791) + 1
	peerBase := chaosEnvInt("MICROGW_CHAOS_ETCD_PEER_PORT", 23801) + 1
	ms := chaosStartEtcdCluster(t, dir, "etcd", 3, base, peerBase)
	var eps []string
	for _, m := range ms {
		eps = append(eps, m.Endpoint())
	}
	work := filepath.Join(dir, "work")
	os.MkdirAll(work, 0o755)
	p := chaosNewProject(t, work)
	conf := p.WriteConf(t, "chaos-cluster", chaosConf{EtcdHostname: "/v3/keys/jti/", EtcdEndpoints: eps})
	gws := []*chaosGateway{p.NewGateway(t, "gw-c1", conf, logs), p.NewGateway(t, "gw-c2", conf, logs)}
	chaosStartGateways(t, gws)
	tokens, jtis, revoked := chaosTokens(t, p, rng, fmt.Sprintf("c%x", seed%0xffffff), n)
	var toRevoke []string
	var guardedTokens []string
	for i := range n {
		if revoked[i] {
			toRevoke = append(toRevoke, jtis[i])
			if len(guardedTokens) < 10 {
				guardedTokens = append(guardedTokens, tokens[i])
			}
		}
	}
	pub := &chaosPublisher{
		Rev: config.Revocation{Persistent: config.Persistent{Enabled: true, UseDefault: true,
			Hostname: "/v3/keys/jti/", Endpoints: eps}},
		Workers: 4, TTL: 3 * time.Hour,
	}
	ctx, cancel := context.WithTimeout(context.Background(), span+5*time.Minute)
	defer cancel()
	// The first ten are revoked before the leader is killed, and guarded all through.
	if missed := pub.Run(ctx, toRevoke[:len(guardedTokens)], 0); len(missed) > 0 {
		t.Fatalf("guarded revocations not accepted: %v", missed)
	}
	toRevoke = toRevoke[len(guardedTokens):]
	guard := chaosGuardRevoked(t, gws, guardedTokens)
	run := pub.Start(ctx, toRevoke, span)
	var faults []string
	for round := range 2 {
		time.Sleep(span/4 + time.Duration(rng.Int64N(int64(span/8))))
		leader, err := chaosEtcdLeader(ms)
		if err != nil {
			t.Fatal(err)
		}
		fs := time.Now()
		leader.proc.stop(syscall.SIGKILL, 5*time.Second)
		// The others elect a new leader while the old one is down.
		time.Sleep(3 * time.Second)
		var others []*chaosEtcd
		for _, m := range ms {
			if m != leader {
				others = append(others, m)
			}
		}
		newLeader, lerr := chaosEtcdLeader(others)
		if err := leader.start(); err != nil {
			t.Fatal(err)
		}
		if err := leader.waitHealthy(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		nl := "none yet"
		if lerr == nil {
			nl = newLeader.Name
		}
		line := fmt.Sprintf("round %d +%v: SIGKILLed leader %s, new leader %s, restarted after %v", round+1,
			fs.Sub(run.Began).Round(time.Second), leader.Name, nl, time.Since(fs).Round(time.Millisecond))
		faults = append(faults, line)
		t.Log("fault: " + line)
	}
	if rev, err := ms[rng.IntN(3)].Compact(); err == nil {
		faults = append(faults, fmt.Sprintf("compacted at %d", rev))
	} else {
		t.Errorf("compact: %v", err)
	}
	<-run.Done
	guard.Check(t, len(guardedTokens))
	t.Logf("publisher: %d accepted in %v, %d not accepted, %d failed attempts on etcd",
		pub.accepted.Load(), time.Since(run.Began).Round(time.Millisecond), len(run.NotAccepted), pub.etcdFailures.Load())
	if len(run.NotAccepted) > 0 {
		t.Fatalf("%d revocations never accepted by etcd", len(run.NotAccepted))
	}
	v := chaosSettle(t, gws, tokens, revoked, 60*time.Second)
	chaosReport(t, v)
	chaosScanGatewayLogs(t, gws, tokens)
	t.Logf("summary: N=%d, revoked %d, faults: %s; took %v; lost: %d of %d, wrongly refused %d",
		n, len(revoked), strings.Join(faults, "; "), time.Since(began).Round(time.Second), v.Lost, n, v.WronglyRefused)
}

// TestChaosStartup: the start-up faults end to end with the real services.
//   - broker down at start: the gateway starts, says it retries, serves from etcd (not ready:
//     the broker has not subscribed), and catches up when RabbitMQ comes: ready, and a
//     revocation sent over the broker only is applied;
//   - etcd down at start: not ready, secured requests 503 900950 (serveBeforeLoaded = false),
//     unsecured ones served, a broker revocation received meanwhile kept; once etcd is up:
//     ready, the etcd revocation refused, the rest served;
//   - wrong broker credentials (STOMP and AMQP): one clear ERROR line naming the user, the
//     process keeps running and retrying, without a log line per retry.
func TestChaosStartup(t *testing.T) {
	dir := t.TempDir()
	logs := chaosLogDir(t)
	etcd := chaosStartEtcdCluster(t, dir, "etcd", 1, chaosEnvInt("MICROGW_CHAOS_ETCD_PORT", 23791), chaosEnvInt("MICROGW_CHAOS_ETCD_PEER_PORT", 23801))[0]
	rabbit := chaosNewRabbit(t, dir)
	work := filepath.Join(dir, "work")
	os.MkdirAll(work, 0o755)
	p := chaosNewProject(t, work)
	hostname := fmt.Sprintf("http://127.0.0.1:%d/v3/keys/jti/", etcd.Client)
	stompURL := fmt.Sprintf("stomp://127.0.0.1:%d", rabbit.STOMP)
	amqpURL := fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", rabbit.AMQP)
	var allGws []*chaosGateway
	var allTokens []string
	tok := func(jti string) string {
		s, err := p.Token(jti, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		allTokens = append(allTokens, s)
		return s
	}
	etcdRevoke := func(jti string) {
		t.Helper()
		if out, err := etcd.etcdctl("put", "jti/"+jti, "3600"); err != nil {
			t.Fatalf("etcdctl put: %v %s", err, out)
		}
	}
	brokerRevoke := func(jti string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		pub, err := revocation.DialBrokerPublisher(ctx, revocation.BrokerConfig{URL: stompURL, Username: "guest", Password: "guest"})
		if err != nil {
			t.Fatal(err)
		}
		defer pub.Close()
		if err := pub.Publish(ctx, revocation.Notice{JTI: jti, TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	// expect polls until the gateway answers want for token.
	expect := func(g *chaosGateway, what, token string, want func(gatewayAnswer) bool, d time.Duration) {
		t.Helper()
		end := time.Now().Add(d)
		var a gatewayAnswer
		for time.Now().Before(end) {
			if a = g.Call(token); want(a) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: %s: last answer %s after %v", g.Name, what, a, d)
	}
	notReadyFor := func(g *chaosGateway, d time.Duration) {
		t.Helper()
		end := time.Now().Add(d)
		for time.Now().Before(end) {
			if ex, err := g.Exited(); ex {
				t.Fatalf("%s exited (%v): no crash loop allowed:\n%s", g.Name, err, chaosTailFile(g.LogPath, 30))
			}
			if code, body, err := g.Ready(); err == nil && code == http.StatusOK {
				t.Fatalf("%s ready while a source is down: %s", g.Name, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	defer func() {
		hits, err := chaosScanLogs(func() (ps []string) {
			for _, g := range allGws {
				ps = append(ps, g.LogPath)
			}
			return
		}(), allTokens)
		if err != nil {
			t.Error(err)
		}
		for _, h := range hits {
			t.Errorf("token in a gateway log: %s", h)
		}
		t.Logf("log scan of %d gateway logs for %d tokens: %d hits", len(allGws), len(allTokens), len(hits))
	}()

	t.Run("BrokerDownAtStart", func(t *testing.T) {
		inEtcd := "chaos-bd-etcd-" + fmt.Sprint(time.Now().UnixNano())
		etcdRevoke(inEtcd)
		revokedTok, okTok := tok(inEtcd), tok("chaos-bd-ok")
		var gws []*chaosGateway
		for _, c := range []struct{ name, url string }{{"bd-stomp", stompURL}, {"bd-amqp", amqpURL}} {
			conf := p.WriteConf(t, c.name, chaosConf{BrokerURL: c.url, BrokerUser: "guest", BrokerPass: "guest", EtcdHostname: hostname})
			g := p.NewGateway(t, c.name, conf, logs)
			if err := g.Start(); err != nil {
				t.Fatal(err)
			}
			gws = append(gws, g)
			allGws = append(allGws, g)
		}
		for _, g := range gws {
			// etcd is up: revocations it holds are enforced even before the broker comes.
			expect(g, "etcd revocation refused while the broker is down", revokedTok, gatewayAnswer.revoked, 30*time.Second)
			expect(g, "other token served while the broker is down", okTok, gatewayAnswer.accepted, 10*time.Second)
		}
		notReadyFor(gws[0], 4*time.Second)
		for _, g := range gws {
			if c := chaosCountInFile(g.LogPath, "cannot connect to broker, retrying"); c < 1 {
				t.Errorf("%s: no `cannot connect to broker, retrying` line:\n%s", g.Name, chaosTailFile(g.LogPath, 20))
			}
		}
		cs := time.Now()
		if err := rabbit.Start(); err != nil {
			t.Fatal(err)
		}
		t.Logf("RabbitMQ started in %v", time.Since(cs).Round(time.Millisecond))
		for _, g := range gws {
			if err := g.WaitReady(90 * time.Second); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s ready %v after RabbitMQ started", g.Name, time.Since(cs).Round(time.Millisecond))
		}
		late := "chaos-bd-late-" + fmt.Sprint(time.Now().UnixNano())
		lateTok := tok(late)
		for _, g := range gws {
			expect(g, "token served before its revocation", lateTok, gatewayAnswer.accepted, 10*time.Second)
		}
		brokerRevoke(late) // over the broker only: the subscription must be in place
		for _, g := range gws {
			expect(g, "broker-only revocation refused", lateTok, gatewayAnswer.revoked, 10*time.Second)
		}
		for _, g := range gws {
			g.Stop()
		}
	})

	t.Run("EtcdDownAtStart", func(t *testing.T) {
		if rabbit.proc == nil || rabbit.proc.exited() {
			if err := rabbit.Start(); err != nil {
				t.Fatal(err)
			}
		}
		inEtcd := "chaos-ed-etcd-" + fmt.Sprint(time.Now().UnixNano())
		etcdRevoke(inEtcd)
		revokedTok, okTok := tok(inEtcd), tok("chaos-ed-ok")
		etcd.proc.stop(syscall.SIGTERM, 15*time.Second)
		conf := p.WriteConf(t, "ed", chaosConf{BrokerURL: stompURL, BrokerUser: "guest", BrokerPass: "guest", EtcdHostname: hostname})
		g := p.NewGateway(t, "ed", conf, logs)
		allGws = append(allGws, g)
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		// Secured: 503 900950 until etcd has been loaded, whatever the token; unsecured: served.
		expect(g, "secured request while etcd is down", okTok, func(a gatewayAnswer) bool {
			return a.Err == nil && a.Status == http.StatusServiceUnavailable && a.Code == 900950
		}, 30*time.Second)
		if a := g.Call(revokedTok); a.Status != http.StatusServiceUnavailable || a.Code != 900950 {
			t.Errorf("revoked token while etcd is down: %s, want 503 900950", a)
		}
		if a := g.call("/chaos/v1/open", ""); !a.accepted() {
			t.Errorf("unsecured resource while etcd is down: %s, want 200", a)
		}
		// The broker is up: a revocation it delivers now must still hold once etcd is loaded.
		viaBroker := "chaos-ed-broker-" + fmt.Sprint(time.Now().UnixNano())
		viaBrokerTok := tok(viaBroker)
		// wait for the subscription (the log line) before publishing: a topic keeps nothing.
		end := time.Now().Add(60 * time.Second)
		for chaosCountInFile(g.LogPath, "subscriber service for token revocation is started") == 0 {
			if time.Now().After(end) {
				t.Fatalf("no subscription within 60 s:\n%s", chaosTailFile(g.LogPath, 30))
			}
			time.Sleep(100 * time.Millisecond)
		}
		brokerRevoke(viaBroker)
		notReadyFor(g, 5*time.Second)
		// /health/ready names what it waits for.
		if code, body, err := g.Ready(); err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "etcd") {
			t.Errorf("/health/ready while etcd is down: %d %q %v, want 503 naming the etcd source", code, body, err)
		}
		// The first list of the etcd source waits for etcd up to its request timeout (30 s)
		// before it logs a retry line: noted in docs/reliability.md, not asserted.
		t.Logf("etcd retry lines logged after %v of outage: %d", time.Since(g.startedAt()).Round(time.Second),
			chaosCountInFile(g.LogPath, "connect to etcd failed; retrying")+chaosCountInFile(g.LogPath, "load revoked tokens from etcd failed; retrying"))
		es := time.Now()
		if err := etcd.start(); err != nil {
			t.Fatal(err)
		}
		if err := etcd.waitHealthy(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		if err := g.WaitReady(90 * time.Second); err != nil {
			t.Fatal(err)
		}
		t.Logf("ready %v after etcd started", time.Since(es).Round(time.Millisecond))
		expect(g, "etcd revocation refused", revokedTok, gatewayAnswer.revoked, 5*time.Second)
		expect(g, "broker revocation received before the load refused", viaBrokerTok, gatewayAnswer.revoked, 5*time.Second)
		expect(g, "other token served", okTok, gatewayAnswer.accepted, 5*time.Second)
		g.Stop()
	})

	t.Run("WrongBrokerCredentials", func(t *testing.T) {
		if rabbit.proc == nil || rabbit.proc.exited() {
			if err := rabbit.Start(); err != nil {
				t.Fatal(err)
			}
		}
		if etcd.proc.exited() {
			if err := etcd.start(); err != nil {
				t.Fatal(err)
			}
			if err := etcd.waitHealthy(60 * time.Second); err != nil {
				t.Fatal(err)
			}
		}
		var gws []*chaosGateway
		for _, c := range []struct{ name, url string }{
			{"cred-stomp", stompURL},
			{"cred-amqp", fmt.Sprintf("amqp://127.0.0.1:%d/", rabbit.AMQP)},
		} {
			conf := p.WriteConf(t, c.name, chaosConf{BrokerURL: c.url, BrokerUser: "guest", BrokerPass: "not-the-password", EtcdHostname: hostname})
			g := p.NewGateway(t, c.name, conf, logs)
			allGws = append(allGws, g)
			if err := g.Start(); err != nil {
				t.Fatal(err)
			}
			gws = append(gws, g)
		}
		okTok := tok("chaos-cred-ok")
		for _, g := range gws {
			expect(g, "served from etcd while the broker refuses the login", okTok, gatewayAnswer.accepted, 30*time.Second)
		}
		notReadyFor(gws[0], 8*time.Second)
		loginLine := regexp.MustCompile(`level=ERROR .*broker refused the login for user \\?"guest\\?"`)
		for _, g := range gws {
			if ex, err := g.Exited(); ex {
				t.Fatalf("%s exited (%v)", g.Name, err)
			}
			b, _ := os.ReadFile(g.LogPath)
			lines := strings.Split(string(b), "\n")
			errLines, warnLines := 0, 0
			for _, l := range lines {
				if strings.Contains(l, "level=ERROR") {
					errLines++
				}
				if strings.Contains(l, "level=WARN") {
					warnLines++
				}
			}
			found := loginLine.Match(b)
			t.Logf("%s: %d log lines, %d ERROR, %d WARN, login line found: %v, retries at DEBUG: %d", g.Name,
				len(lines), errLines, warnLines, found,
				chaosCountInFile(g.LogPath, "broker still unavailable"))
			if !found {
				t.Errorf("%s: no ERROR line `broker refused the login for user \"guest\"`:\n%s", g.Name, chaosTailFile(g.LogPath, 30))
			}
			if errLines > 3 {
				t.Errorf("%s: %d ERROR lines in about 10 s: each change of state is to be logged once (docs/revocation.md):\n%s", g.Name, errLines, chaosTailFile(g.LogPath, 30))
			}
			if strings.Contains(string(b), "not-the-password") {
				t.Errorf("%s: the broker password is in the log", g.Name)
			}
		}
	})
}

// TestChaosScanLogs scans the logs named by MICROGW_CHAOS_SCAN (a folder, scanned recursively
// for *.log and *.out, or a glob) for anything shaped like a JWT, and fails on a hit. .ci/run can
// point it at its log folder after the other stages. Without the variable it checks the scanner
// itself on a made-up log.
func TestChaosScanLogs(t *testing.T) {
	spec := os.Getenv("MICROGW_CHAOS_SCAN")
	if spec == "" {
		dir := t.TempDir()
		tok := "eyJhbGciOiJSUzI1NiIsImtpZCI6IndzbzJhcGltIn0.eyJqdGkiOiJ4LXh4eHgteHh4eCIsInN1YiI6ImFkbWluIiwic2NvcGUiOiIifQ.c2lnbmF0dXJlLW9mLWEtdG9rZW4tdGhhdC1pcy1sb25nLWVub3VnaC10by1iZS1zZWVuLWJ5LXRoZS1zY2FubmVy"
		sig := tok[strings.LastIndex(tok, ".")+1:]
		clean := filepath.Join(dir, "clean.log")
		os.WriteFile(clean, []byte("time=x level=DEBUG msg=request jti=x-xxxx-xxxx status=401\n"), 0o644)
		leak := filepath.Join(dir, "leak.log")
		os.WriteFile(leak, []byte("ok line\nlevel=WARN msg=bad sig="+sig[5:60]+"\nlevel=INFO token=Bearer "+tok+"\n"), 0o644)
		hits, err := chaosScanLogs([]string{clean, leak}, []string{tok})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 2 || hits[0].Line != 2 || hits[1].Line != 3 || hits[1].Token != -1 || hits[0].Token != 0 {
			t.Fatalf("hits = %v, want the signature fragment on line 2 and the JWT on line 3 of leak.log", hits)
		}
		return
	}
	var paths []string
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		filepath.WalkDir(spec, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".log") || strings.HasSuffix(path, ".out")) {
				paths = append(paths, path)
			}
			return nil
		})
	} else {
		paths, _ = filepath.Glob(spec)
	}
	if len(paths) == 0 {
		t.Fatalf("MICROGW_CHAOS_SCAN=%s names no log file", spec)
	}
	hits, err := chaosScanLogs(paths, nil)
	if err != nil {
		t.Error(err)
	}
	t.Logf("scanned %d files: %d hits", len(paths), len(hits))
	for _, h := range hits {
		t.Errorf("JWT in a log: %s", h)
	}
}

// TestChaosLimits: a real gateway (no revocation sources) against hostile clients: a header
// block over the 64 KB limit gets 431, slow clients that trickle their headers are cut off by the
// 10 s ReadHeaderTimeout, and meanwhile other clients are served (docs/runtime.md, "Server
// limits").
func TestChaosLimits(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	os.MkdirAll(work, 0o755)
	p := chaosNewProject(t, work)
	conf := p.WriteConf(t, "limits", chaosConf{LogLevel: "INFO"})
	g := p.NewGateway(t, "limits", conf, chaosLogDir(t))
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	if err := g.WaitReady(time.Minute); err != nil {
		t.Fatal(err)
	}
	okTok, err := p.Token("chaos-limits-ok", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", g.HTTP)

	// Over the limit: 80 KB of headers.
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/chaos/v1/pets", nil)
	req.Header.Set("Authorization", "Bearer "+okTok)
	req.Header.Set("X-Big", strings.Repeat("a", 80<<10))
	if resp, err := g.client.Do(req); err != nil {
		t.Errorf("80 KB of headers: %v, want a 431", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("80 KB of headers: %d, want 431", resp.StatusCode)
		}
	}
	// Just under it (a 60 KB token in the header): refused as a bad token, not a crash.
	if a := g.Call(strings.Repeat("A", 60<<10)); a.Status != http.StatusUnauthorized || a.Code != 900901 {
		t.Errorf("a 60 KB bearer token: %s, want 401 900901", a)
	}

	// 40 slow clients: each sends a request line and then one header byte a second.
	const slow = 40
	start := time.Now()
	closedAfter := make(chan time.Duration, slow)
	for range slow {
		go func() {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				closedAfter <- -1
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "GET /chaos/v1/pets HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr)
			for i := 0; i < 40; i++ {
				c.SetWriteDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Write([]byte("a")); err != nil {
					break
				}
				c.SetReadDeadline(time.Now().Add(time.Second))
				buf := make([]byte, 1024)
				if _, err := c.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					break // closed by the server (or a 408 written then closed)
				}
			}
			closedAfter <- time.Since(start)
		}()
	}
	// Meanwhile a normal client is served.
	for i := 0; i < 10; i++ {
		if a := g.Call(okTok); !a.accepted() {
			t.Errorf("normal request during the slow clients: %s", a)
		}
		time.Sleep(500 * time.Millisecond)
	}
	var worst time.Duration
	for range slow {
		d := <-closedAfter
		if d < 0 {
			t.Error("a slow client could not connect")
			continue
		}
		worst = max(worst, d)
	}
	t.Logf("%d slow clients cut off, the last after %v (ReadHeaderTimeout 10 s)", slow, worst.Round(time.Millisecond))
	if worst > 20*time.Second {
		t.Errorf("slow clients held their connections for %v: ReadHeaderTimeout (10 s) not applied", worst)
	}
	if a := g.Call(okTok); !a.accepted() {
		t.Errorf("after the slow clients: %s", a)
	}
	if ex, err := g.Exited(); ex {
		t.Fatalf("gateway exited: %v", err)
	}
}
