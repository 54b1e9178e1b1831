package revocation

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

// snapRun runs a source with its snapshot in dir until stop, and checks,
// at the moment the source calls ready, that the sink holds exactly want
// (the keys under jti/ revoked in etcd then): a start from the snapshot must
// not be ready before it has caught up.
type snapRun struct {
	src    *EtcdSource
	logs   *storeLogs
	sink   setProbeSink
	cancel context.CancelFunc
	done   chan error
	ready  chan []string // what was wrong at ready: missing and extra jtis
}

func startSnapRun(t *testing.T, endpoint, dir string, want func() []string, all []string) *snapRun {
	t.Helper()
	src, logs := newTestEtcdSource(t, endpoint, func(c *EtcdConfig) { c.SnapshotDir = dir })
	r := &snapRun{src: src, logs: logs, sink: setProbeSink{Revocations{Tokens: NewSet(), Rules: NewRuleSet()}},
		done: make(chan error, 1), ready: make(chan []string, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		r.done <- src.Run(ctx, r.sink, func() {
			revoked := map[string]bool{}
			for _, j := range want() {
				revoked[j] = true
			}
			var wrong []string
			for _, j := range all {
				if r.sink.has(j) != revoked[j] {
					wrong = append(wrong, fmt.Sprintf("%s revoked=%v", j, r.sink.has(j)))
				}
			}
			r.ready <- wrong
		})
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *snapRun) waitReady(t *testing.T) {
	t.Helper()
	select {
	case wrong := <-r.ready:
		if len(wrong) > 0 {
			t.Fatalf("at ready, %d jtis wrong: %v", len(wrong), wrong[:min(len(wrong), 10)])
		}
	case err := <-r.done:
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("not ready after 60 s")
	}
}

func (r *snapRun) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("Run did not return after cancel")
	}
}

func (r *snapRun) restores(result string) float64 {
	return storeMetricValue(r.src.snap.restores.WithLabelValues(result))
}

// snapKeys is what a test has written under jti/: the jtis revoked now, and
// every jti it ever wrote.
type snapKeys struct {
	cli     *clientv3.Client
	revoked map[string]bool
	all     []string
}

func (k *snapKeys) put(t *testing.T, jtis ...string) {
	t.Helper()
	ops := make([]clientv3.Op, 0, len(jtis))
	for _, j := range jtis {
		ops = append(ops, clientv3.OpPut("jti/"+j, "3600"))
		if _, ok := k.revoked[j]; !ok {
			k.all = append(k.all, j)
		}
		k.revoked[j] = true
	}
	if _, err := k.cli.Txn(storeTestCtx(t)).Then(ops...).Commit(); err != nil {
		t.Fatal(err)
	}
}

func (k *snapKeys) del(t *testing.T, jti string) {
	t.Helper()
	etcdDelete(t, k.cli, "jti/"+jti)
	k.revoked[jti] = false
}

func (k *snapKeys) now() []string {
	var out []string
	for j, r := range k.revoked {
		if r {
			out = append(out, j)
		}
	}
	return out
}

// whileAway changes etcd as a token service would while the gateway is
// down: thousands of revisions (more than etcd sends a catching-up watch at
// once), revocations, deletions, and a key revoked and deleted again.
func (k *snapKeys) whileAway(t *testing.T) {
	t.Helper()
	for i := range 1500 {
		k.put(t, fmt.Sprintf("away-%04d", i))
	}
	for i := range 50 {
		k.del(t, fmt.Sprintf("first-%03d", i))
	}
	k.put(t, "come-and-go")
	k.del(t, "come-and-go")
}

func newSnapKeys(t *testing.T, cli *clientv3.Client) *snapKeys {
	k := &snapKeys{cli: cli, revoked: map[string]bool{}}
	var first []string
	for i := range 300 {
		first = append(first, fmt.Sprintf("first-%03d", i))
	}
	k.put(t, first[:100]...)
	k.put(t, first[100:200]...)
	k.put(t, first[200:]...)
	return k
}

// TestEtcdSnapshotRestart: a first start lists etcd and writes the snapshot,
// its watch appends to it; a restart after etcd changed restores from it,
// catches up with a watch from its revision and is ready only then, with
// exactly what etcd revokes, without listing the prefix.
func TestEtcdSnapshotRestart(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	dir := t.TempDir()
	keys := newSnapKeys(t, cli)

	first := startSnapRun(t, endpoint, dir, keys.now, keys.all)
	first.waitReady(t)
	keys.put(t, "seen-by-watch")
	storeEventually(t, "the watch is live", func() bool { return first.sink.has("seen-by-watch") })
	keys.del(t, "first-299")
	storeEventually(t, "the delete is seen", func() bool { return !first.sink.has("first-299") })
	first.stop(t)
	if first.restores("restored") != 0 || storeMetricValue(first.src.metrics.reloads) != 1 {
		t.Fatalf("first start: restored %v, reloads %v", first.restores("restored"), storeMetricValue(first.src.metrics.reloads))
	}

	keys.whileAway(t)
	second := startSnapRun(t, endpoint, dir, keys.now, keys.all)
	second.waitReady(t)
	if got := second.restores("restored"); got != 1 {
		t.Fatalf("restored = %v, want 1", got)
	}
	if got := storeMetricValue(second.src.metrics.reloads); got != 0 {
		t.Fatalf("the restart listed etcd %v times", got)
	}
	if rec, ok := second.logs.find("revoked tokens restored from the snapshot"); !ok || !strings.Contains(rec.attrs, "count=300 ") {
		t.Fatalf("restore log %+v (want the 300 keys of the snapshot: 300 listed, 1 put and 1 deleted by the watch)", rec)
	}
	// It goes on: the watch applies, and appends to the snapshot, so a
	// third start restores this too.
	keys.put(t, "after-restart")
	storeEventually(t, "the watch is live", func() bool { return second.sink.has("after-restart") })
	second.stop(t)
	third := startSnapRun(t, endpoint, dir, keys.now, keys.all)
	third.waitReady(t)
	if third.restores("restored") != 1 || storeMetricValue(third.src.metrics.reloads) != 0 {
		t.Fatal("the third start did not restore")
	}
}

// TestEtcdSnapshotCompacted: etcd's history after the snapshot's revision
// was compacted away while the gateway was down: the watch cannot catch up,
// and the source lists the prefix instead, un-revoking what the snapshot
// had and etcd no longer has.
func TestEtcdSnapshotCompacted(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	dir := t.TempDir()
	keys := newSnapKeys(t, cli)
	first := startSnapRun(t, endpoint, dir, keys.now, keys.all)
	first.waitReady(t)
	first.stop(t)

	keys.whileAway(t)
	resp, err := cli.Put(storeTestCtx(t), "unrelated", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(storeTestCtx(t), resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	second := startSnapRun(t, endpoint, dir, keys.now, keys.all)
	second.waitReady(t)
	if second.restores("compacted") != 1 || storeMetricValue(second.src.metrics.reloads) != 1 {
		t.Fatalf("compacted %v, reloads %v; want 1 and 1", second.restores("compacted"), storeMetricValue(second.src.metrics.reloads))
	}
	if rec, ok := second.logs.find("revoked tokens loaded from etcd"); !ok || !strings.Contains(rec.attrs, "removed=50 ") {
		t.Fatalf("load log %+v, want the 50 keys deleted while away removed", rec)
	}
}

// TestEtcdSnapshotRefused: a snapshot that cannot be trusted is not applied
// at all (nothing of it is revoked) and the source lists etcd: one from
// another etcd cluster, a corrupt one, one ahead of etcd, one of another
// prefix.
func TestEtcdSnapshotRefused(t *testing.T) {
	other, otherCli := etcdtest.Start(t)
	dir := t.TempDir()
	okeys := newSnapKeys(t, otherCli)
	okeys.put(t, "only-in-the-other-cluster")
	run := startSnapRun(t, other, dir, okeys.now, okeys.all)
	run.waitReady(t)
	run.stop(t)
	path := filepath.Join(dir, etcdSnapshotFile("jti/"))
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	endpoint, cli := etcdtest.Start(t)
	keys := &snapKeys{cli: cli, revoked: map[string]bool{}}
	keys.put(t, "in-this-cluster")
	all := append([]string{"in-this-cluster"}, okeys.all...)
	snap, err := readEtcdSnapshot(good)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(storeTestCtx(t), "x")
	if err != nil {
		t.Fatal(err)
	}
	// The other cluster's snapshot, made this cluster's but far ahead.
	ahead := writeTestSnapshot(t, filepath.Join(t.TempDir(), "ahead"), false, resp.Header.Revision+1000, [][2]string{{"only-in-the-other-cluster", ""}})
	binary.LittleEndian.PutUint64(ahead[len(etcdSnapMagic):], resp.Header.ClusterId)
	ahead = rechecksumTestSnapshot(t, ahead)
	corrupt := append([]byte(nil), good...)
	corrupt[snap.base[0]+3] ^= 0x20
	otherPrefix := writeTestSnapshotPrefix(t, "revoked/", resp.Header.ClusterId, resp.Header.Revision)

	for _, tc := range []struct {
		name, data, reason string
	}{
		{"another cluster", string(good), "another etcd cluster"},
		{"corrupt", string(corrupt), "corrupt"},
		{"ahead of etcd", string(ahead), "ahead of etcd"},
		{"another prefix", string(otherPrefix), `prefix "revoked/"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			run := startSnapRun(t, endpoint, dir, keys.now, all)
			run.waitReady(t)
			if run.restores("refused") != 1 || run.restores("restored") != 0 || storeMetricValue(run.src.metrics.reloads) != 1 {
				t.Fatalf("refused %v, restored %v, reloads %v", run.restores("refused"), run.restores("restored"), storeMetricValue(run.src.metrics.reloads))
			}
			if rec, ok := run.logs.find("revocation snapshot not used"); !ok || rec.level != slog.LevelWarn || !strings.Contains(rec.attrs, tc.reason) {
				t.Fatalf("log %+v, want a WARN naming %q", rec, tc.reason)
			}
			run.stop(t)
			// The full list wrote a snapshot of this cluster in its place.
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := readEtcdSnapshot(data)
			if err != nil || s.cluster != resp.Header.ClusterId || s.keys != 1 {
				t.Fatalf("snapshot after the list: %v, %+v", err, s)
			}
		})
	}
}

// writeTestSnapshotPrefix writes a snapshot of another prefix and returns
// its bytes.
func writeTestSnapshotPrefix(t *testing.T, prefix string, cluster uint64, rev int64) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p")
	w, err := createEtcdSnapshot(path, cluster, rev, prefix, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.put([]byte("only-in-the-other-cluster"), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.commit(); err != nil {
		t.Fatal(err)
	}
	w.close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// rechecksumTestSnapshot recomputes the base check sum of a snapshot whose
// header a test changed (a base without journal).
func rechecksumTestSnapshot(t *testing.T, data []byte) []byte {
	t.Helper()
	end := len(data) - 4
	sum := crc32.Checksum(data[:end], etcdSnapCRC)
	out := append(data[:end:end], byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24))
	if _, err := readEtcdSnapshot(out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEtcdSnapshotOneWriter: a second source on the same folder (another
// gateway of the project) restores from the snapshot but leaves writing it
// to the first.
func TestEtcdSnapshotOneWriter(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	dir := t.TempDir()
	keys := newSnapKeys(t, cli)
	first := startSnapRun(t, endpoint, dir, keys.now, keys.all)
	first.waitReady(t)
	second := startSnapRun(t, endpoint, dir, keys.now, keys.all)
	second.waitReady(t)
	if second.restores("restored") != 1 {
		t.Fatal("the second source did not restore")
	}
	if second.logs.count(slog.LevelInfo, "another process writes it") != 1 {
		t.Fatal("the second source did not say it leaves the snapshot to another")
	}
	keys.put(t, "later")
	storeEventually(t, "both watches see it", func() bool { return first.sink.has("later") && second.sink.has("later") })
	second.stop(t)
	first.stop(t)
	data, err := os.ReadFile(filepath.Join(dir, etcdSnapshotFile("jti/")))
	if err != nil {
		t.Fatal(err)
	}
	s, err := readEtcdSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := snapEvents(s); got[len(got)-1] != "put later=" {
		t.Fatalf("the snapshot ends with %q, want the first source's record of later", got[len(got)-5:])
	}
}

// TestEtcdSnapshotRefold: a journal grown past its bound is folded into a
// new base, which a restart restores from.
func TestEtcdSnapshotRefold(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	dir := t.TempDir()
	keys := newSnapKeys(t, cli)
	first := startSnapRun(t, endpoint, dir, keys.now, keys.all)
	first.src.snap.compactAt = 2048
	first.waitReady(t)
	for i := range 200 {
		keys.put(t, fmt.Sprintf("journal-%03d", i))
		if i%2 == 0 {
			keys.del(t, fmt.Sprintf("first-%03d", i))
		}
	}
	storeEventually(t, "the watch applied it all", func() bool {
		return first.sink.has("journal-199") && !first.sink.has("first-198")
	})
	first.stop(t)
	data, err := os.ReadFile(filepath.Join(dir, etcdSnapshotFile("jti/")))
	if err != nil {
		t.Fatal(err)
	}
	s, err := readEtcdSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	if s.keys <= 300 {
		t.Fatalf("the base has %d keys: the journal was never folded into it", s.keys)
	}
	second := startSnapRun(t, endpoint, dir, keys.now, keys.all)
	second.waitReady(t)
	if second.restores("restored") != 1 {
		t.Fatal("no restore from the folded snapshot")
	}
}

// TestEtcdSnapshotRules: the rules source has a snapshot of its own, with
// the values (the rules' cut-off times), and restores the rules from it.
func TestEtcdSnapshotRules(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	dir := t.TempDir()
	etcdPut(t, cli, "revocation-rules/sub/alice", `{"issuedBefore": 1700000000}`)
	newRules := func() (*EtcdSource, *storeLogs) {
		logs := newStoreLogs()
		src, err := NewEtcdRuleSource(EtcdConfig{Hostname: endpoint + "/v2/keys/jti/", Logger: logs.logger(), SnapshotDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return src, logs
	}
	src, _ := newRules()
	sink := Revocations{Tokens: NewSet(), Rules: NewRuleSet()}
	run := startStoreSource(t, src, sink)
	run.waitReady(t)
	run.stop(t)
	etcdPut(t, cli, "revocation-rules/client/app-1", `{"issuedBefore": 1700000001}`)

	src, logs := newRules()
	sink = Revocations{Tokens: NewSet(), Rules: NewRuleSet()}
	run = startStoreSource(t, src, sink)
	run.waitReady(t)
	if logs.count(slog.LevelInfo, "revocation rules restored from the snapshot") != 1 {
		t.Fatal("the rules were not restored from the snapshot")
	}
	if sink.Rules.Match(&RuleToken{Subject: "alice", IssuedAt: 1699999999, HasIssuedAt: true}) != RuleSubject ||
		sink.Rules.Match(&RuleToken{Client: "app-1", IssuedAt: 1699999999, HasIssuedAt: true}) != RuleClient {
		t.Fatalf("rules after the restore: %d", sink.Rules.Len())
	}
}

// TestEtcdSnapshotBlocking: the blocking conditions' source has a snapshot
// of its own and restores from it; a condition added while the gateway was
// away is in, and one deleted meanwhile is out, once it is ready.
func TestEtcdSnapshotBlocking(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	dir := t.TempDir()
	etcdPut(t, cli, "blocking/ip/203.0.113.7", "0")
	etcdPut(t, cli, "blocking/user/alice", "0")
	newBlocks := func() (*EtcdSource, *storeLogs) {
		logs := newStoreLogs()
		src, err := NewEtcdBlockSource(EtcdConfig{Hostname: endpoint + "/v2/keys/jti/", Logger: logs.logger(), SnapshotDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return src, logs
	}
	src, _ := newBlocks()
	run := startStoreSource(t, src, Revocations{Tokens: NewSet(), Rules: NewRuleSet(), Blocks: NewBlockSet()})
	run.waitReady(t)
	run.stop(t)
	etcdDelete(t, cli, "blocking/ip/203.0.113.7")
	etcdPut(t, cli, "blocking/api/%2Forders%2Fv1", "0")

	src, logs := newBlocks()
	v := Revocations{Tokens: NewSet(), Rules: NewRuleSet(), Blocks: NewBlockSet()}
	run = startStoreSource(t, src, v)
	run.waitReady(t)
	if logs.count(slog.LevelInfo, "blocking conditions restored from the snapshot") != 1 {
		t.Fatal("the blocking conditions were not restored from the snapshot")
	}
	if v.Blocks.Len() != 2 || v.Blocks.Match(blockReq("203.0.113.7", "/p", "", "")) != BlockNone ||
		v.Blocks.Match(blockReq("", "/orders/v1", "", "")) != BlockAPI || v.Blocks.Match(blockReq("", "/p", "", "alice")) != BlockUser {
		t.Fatalf("conditions after the restore: %d", v.Blocks.Len())
	}
}

func TestEtcdOrderedProgress(t *testing.T) {
	for v, want := range map[string]bool{
		"3.4.23": false, "3.4.24": true, "3.4.31": true, "3.5.7": false, "3.5.8": true, "3.6.0": true,
		"3.7.3": true, "3.3.27": false, "4.0.0": true, "2.3.8": false, "": false, "v3.6.0": false,
	} {
		if got := etcdOrderedProgress(v); got != want {
			t.Errorf("etcdOrderedProgress(%q) = %v, want %v", v, got, want)
		}
	}
}
