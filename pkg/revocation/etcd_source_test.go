package revocation

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

func storeTestCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func etcdPut(t testing.TB, cli *clientv3.Client, key, val string, opts ...clientv3.OpOption) {
	t.Helper()
	if _, err := cli.Put(storeTestCtx(t), key, val, opts...); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func etcdDelete(t testing.TB, cli *clientv3.Client, key string) {
	t.Helper()
	if _, err := cli.Delete(storeTestCtx(t), key); err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
}

// newTestEtcdSource makes a source of endpoint/v2/keys/jti/ logging into a
// recorder and counting into its own registry.
func newTestEtcdSource(t testing.TB, endpoint string, mod func(*EtcdConfig)) (*EtcdSource, *storeLogs) {
	t.Helper()
	logs := newStoreLogs()
	cfg := EtcdConfig{
		Hostname:   endpoint + "/v2/keys/jti/",
		Logger:     logs.logger(),
		Registerer: prometheus.NewRegistry(),
	}
	if mod != nil {
		mod(&cfg)
	}
	src, err := NewEtcdSource(cfg)
	if err != nil {
		t.Fatalf("NewEtcdSource: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs.dump(t)
		}
	})
	return src, logs
}

func TestEtcdSourceLoadsThenWatches(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	etcdPut(t, cli, "jti/before-1", "3600")
	etcdPut(t, cli, "jti/before-2", "0")
	lease, err := cli.Grant(storeTestCtx(t), 3600)
	if err != nil {
		t.Fatal(err)
	}
	etcdPut(t, cli, "jti/with-lease", "3600", clientv3.WithLease(lease.ID))
	etcdPut(t, cli, "jti/", "the prefix itself is no jti")
	etcdPut(t, cli, "jtx/outside", "not under the prefix")
	etcdPut(t, cli, "other/before-1", "not under the prefix")

	src, _ := newTestEtcdSource(t, endpoint, nil)
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)

	// ready means the whole list is in: no waiting here.
	if got, want := strings.Join(sink.jtis(), ","), "before-1,before-2,with-lease"; got != want {
		t.Fatalf("after ready, revoked = %s, want %s", got, want)
	}
	if exp, _ := sink.expiry("with-lease"); !exp.IsZero() {
		t.Errorf("expiry of a leased key = %v, want none (its DELETE un-revokes it)", exp)
	}
	if got := storeMetricValue(src.metrics.loaded); got != 1 {
		t.Errorf("loaded gauge = %v, want 1", got)
	}

	etcdPut(t, cli, "jti/after", "60")
	storeEventually(t, "a key written after start is revoked", func() bool { return sink.has("after") })

	etcdDelete(t, cli, "jti/before-1")
	storeEventually(t, "a deleted key is un-revoked", func() bool { return !sink.has("before-1") })

	etcdPut(t, cli, "other/after", "x")
	etcdPut(t, cli, "jti/last", "x")
	storeEventually(t, "jti/last is revoked", func() bool { return sink.has("last") })
	if sink.has("other/after") || sink.has("after/") {
		t.Errorf("a key outside the prefix was revoked: %v", sink.jtis())
	}
	// The gauge is set after a watch response's events are applied, so it
	// may trail the sink by a moment.
	storeEventually(t, "keys gauge = 4 (before-2, with-lease, after, last)", func() bool {
		return storeMetricValue(src.metrics.keys) == 4
	})
	if got := storeMetricValue(src.metrics.reloads); got != 1 {
		t.Errorf("reloads = %v, want 1", got)
	}
}

func TestEtcdSourceLeaseExpiryUnrevokes(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	src, _ := newTestEtcdSource(t, endpoint, nil)
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)

	pub, err := DialEtcdPublisher(storeTestCtx(t), EtcdConfig{Hostname: endpoint + "/v2/keys/jti/"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if err := pub.Revoke(storeTestCtx(t), "short-lived", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := pub.Revoke(storeTestCtx(t), "long-lived", time.Hour); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "the leased keys are revoked", func() bool { return sink.has("short-lived") && sink.has("long-lived") })
	storeEventually(t, "the expired lease un-revokes its key", func() bool { return !sink.has("short-lived") })
	if !sink.has("long-lived") {
		t.Error("a key whose lease has not expired was un-revoked")
	}
	_ = cli
}

func TestEtcdSourcePagedLoad(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	const n = 25000
	etcdPutKeys(t, cli, "jti/", n)

	src, _ := newTestEtcdSource(t, endpoint, nil)
	src.pageSize = 997 // not a divisor of n: the last page is a short one
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)
	if got := sink.len(); got != n {
		t.Fatalf("after ready, %d revoked, want %d", got, n)
	}
	for _, i := range []int{0, 1, 996, 997, 998, n / 2, n - 1} {
		if jti := fmt.Sprintf("tok-%06d", i); !sink.has(jti) {
			t.Errorf("%s missing", jti)
		}
	}
	if got := storeMetricValue(src.metrics.keys); got != n {
		t.Errorf("keys gauge = %v, want %d", got, n)
	}
}

// etcdPutKeys writes n keys prefix+tok-NNNNNN in transactions of 128 puts.
func etcdPutKeys(t testing.TB, cli *clientv3.Client, prefix string, n int) {
	t.Helper()
	ctx := storeTestCtx(t)
	const batch = 128 // etcd's default limit of operations in a transaction
	for i := 0; i < n; i += batch {
		ops := make([]clientv3.Op, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("%stok-%06d", prefix, j), "3600"))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatalf("txn: %v", err)
		}
	}
}

// TestEtcdSourceReloadsAfterCompaction cuts the source off etcd, changes the
// keys and compacts the history behind its back, so that the watch cannot
// resume from where it was (ErrCompacted): the source must list again and
// un-revoke what was deleted meanwhile. It does so with the runtime's sink,
// whose Set marks what the source's Holding holds, and with a sink that has
// no Set, for which the source keeps the names.
func TestEtcdSourceReloadsAfterCompaction(t *testing.T) {
	t.Run("set", func(t *testing.T) {
		testEtcdSourceReloadsAfterCompaction(t, setProbeSink{Revocations{Tokens: NewSet(), Rules: NewRuleSet()}})
	})
	t.Run("names", func(t *testing.T) {
		testEtcdSourceReloadsAfterCompaction(t, newStoreRecSink())
	})
}

// probeSink is a Sink a test can ask what it holds.
type probeSink interface {
	Sink
	has(jti string) bool
}

// setProbeSink is the runtime's sink, asked through its Set.
type setProbeSink struct{ Revocations }

func (s setProbeSink) has(jti string) bool { return s.Tokens.Revoked(jti) }

func testEtcdSourceReloadsAfterCompaction(t *testing.T, sink probeSink) {
	srv := etcdtest.StartServer(t)
	cli := srv.Client
	proxy := etcdtest.NewProxy(t, srv.Endpoint)
	etcdPut(t, cli, "jti/kept", "x")
	etcdPut(t, cli, "jti/deleted-while-away", "x")

	src, logs := newTestEtcdSource(t, proxy.Endpoint, nil)
	run := startStoreSource(t, src, sink)
	run.waitReady(t)
	etcdPut(t, cli, "jti/seen-by-watch", "x")
	storeEventually(t, "the watch is live", func() bool { return sink.has("seen-by-watch") })

	proxy.Cut()
	storeEventually(t, "the source notices the connection is lost", func() bool {
		return logs.count(slog.LevelWarn, "connection to etcd lost") > 0
	})
	etcdDelete(t, cli, "jti/deleted-while-away")
	etcdPut(t, cli, "jti/added-while-away", "x")
	resp, err := cli.Put(storeTestCtx(t), "unrelated", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(storeTestCtx(t), resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	proxy.Restore()

	storeEventually(t, "the source reloads after the compaction", func() bool {
		return logs.count(slog.LevelInfo, "etcd watch cannot resume") > 0 &&
			storeMetricValue(src.metrics.reloads) == 2
	})
	storeEventually(t, "the reload applied the changes made while away", func() bool {
		return sink.has("added-while-away") && !sink.has("deleted-while-away")
	})
	if !sink.has("kept") || !sink.has("seen-by-watch") {
		t.Errorf("after reload kept revoked = %v, seen-by-watch revoked = %v, want both", sink.has("kept"), sink.has("seen-by-watch"))
	}
	if rec, ok := logs.find("etcd watch cannot resume"); !ok || !strings.Contains(rec.attrs, "compacted") {
		t.Errorf("reload log = %+v, want the compaction named", rec)
	}

	// And it watches again afterwards.
	etcdPut(t, cli, "jti/after-reload", "x")
	storeEventually(t, "the watch is live again", func() bool { return sink.has("after-reload") })
	storeEventually(t, "the connection is reported back", func() bool {
		return logs.count(slog.LevelInfo, "connection to etcd restored") > 0
	})
}

// TestEtcdSourceQuietPrefixResumesAfterCompaction: nothing is written under
// the prefix while other keys change, and the history is compacted past the
// source's last event while it is cut off. The progress notifications of
// the watch have kept its revision current, so it resumes where it was:
// no full list again. The progress comes from the server's own interval,
// or from the source's requests when that interval is the default 10
// minutes.
func TestEtcdSourceQuietPrefixResumesAfterCompaction(t *testing.T) {
	t.Run("server interval", func(t *testing.T) {
		srv := etcdtest.StartServer(t, etcdtest.WithProgressNotifyInterval(100*time.Millisecond))
		testEtcdSourceQuietPrefixResumes(t, srv, etcdProgressInterval)
	})
	t.Run("progress requests", func(t *testing.T) {
		testEtcdSourceQuietPrefixResumes(t, etcdtest.StartServer(t), 100*time.Millisecond)
	})
}

func testEtcdSourceQuietPrefixResumes(t *testing.T, srv *etcdtest.Server, progressEvery time.Duration) {
	cli := srv.Client
	proxy := etcdtest.NewProxy(t, srv.Endpoint)
	etcdPut(t, cli, "jti/a", "x")

	src, logs := newTestEtcdSource(t, proxy.Endpoint, nil)
	src.progressEvery = progressEvery
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)
	var last int64
	for i := range 5 {
		resp, err := cli.Put(storeTestCtx(t), fmt.Sprintf("unrelated/%d", i), "x")
		if err != nil {
			t.Fatal(err)
		}
		last = resp.Header.Revision
	}
	storeEventually(t, "a progress notification passes the unrelated writes", func() bool {
		rev, err := strconv.ParseInt(logs.lastAttr("etcd watch progress", "revision"), 10, 64)
		return err == nil && rev >= last
	})

	proxy.Cut()
	storeEventually(t, "the source notices the connection is lost", func() bool {
		return logs.count(slog.LevelWarn, "connection to etcd lost") > 0
	})
	if _, err := cli.Compact(storeTestCtx(t), last, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	proxy.Restore()

	etcdPut(t, cli, "jti/after", "x")
	storeEventually(t, "the watch resumes", func() bool { return sink.has("after") })
	if n := logs.count(slog.LevelInfo, "etcd watch cannot resume"); n != 0 || storeMetricValue(src.metrics.reloads) != 1 {
		t.Errorf("%d reloads, %d logged as a watch that cannot resume; want the watch resumed with no reload", int(storeMetricValue(src.metrics.reloads)), n)
	}
	if !sink.has("a") {
		t.Error("the key loaded at start is no longer revoked")
	}
}

func TestEtcdSourceResync(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	etcdPut(t, cli, "jti/a", "x")
	src, logs := newTestEtcdSource(t, endpoint, nil)
	sink := newStoreRecSink()

	// A Resync before Run must not block, and several coalesce.
	src.Resync()
	src.Resync()

	run := startStoreSource(t, src, sink)
	run.waitReady(t)
	storeEventually(t, "the pending resync is served", func() bool {
		return storeMetricValue(src.metrics.reloads) == 2
	})
	src.Resync()
	storeEventually(t, "a second resync reloads", func() bool {
		return storeMetricValue(src.metrics.reloads) == 3 && logs.count(slog.LevelInfo, "resync requested") == 2
	})
	etcdPut(t, cli, "jti/b", "x")
	storeEventually(t, "the watch is live after resync", func() bool { return sink.has("b") })
	if !sink.has("a") {
		t.Error("a resync lost a revocation")
	}
}

func TestEtcdSourceSurvivesEtcdRestart(t *testing.T) {
	srv := etcdtest.StartServer(t)
	etcdPut(t, srv.Client, "jti/before", "x")
	src, logs := newTestEtcdSource(t, srv.Endpoint, nil)
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)
	storeEventually(t, "connected", func() bool { return storeMetricValue(src.metrics.connected) == 1 })

	srv.Stop()
	storeEventually(t, "the loss is logged", func() bool {
		return logs.count(slog.LevelWarn, "connection to etcd lost") == 1
	})
	if !sink.has("before") {
		t.Fatal("a revocation was dropped while etcd is down")
	}
	srv.Restart()

	etcdPut(t, srv.Client, "jti/after-restart", "x")
	etcdDelete(t, srv.Client, "jti/before")
	storeEventually(t, "changes after the restart arrive", func() bool {
		return sink.has("after-restart") && !sink.has("before")
	})
	storeEventually(t, "the return is logged", func() bool {
		return logs.count(slog.LevelInfo, "connection to etcd restored") == 1
	})
	if n := logs.count(slog.LevelWarn, "connection to etcd lost"); n != 1 {
		t.Errorf("connection lost logged %d times, want once", n)
	}
}

func TestEtcdSourceNotReadyUntilLoaded(t *testing.T) {
	srv := etcdtest.StartServer(t)
	etcdPut(t, srv.Client, "jti/old", "x")
	srv.Stop()

	src, logs := newTestEtcdSource(t, srv.Endpoint, func(c *EtcdConfig) {
		// With credentials the client logs in when it connects, so an
		// unreachable etcd fails fast and the retry loop is exercised.
		c.Username, c.Password = "root", "root"
		c.DialTimeout = time.Second
	})
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	storeEventually(t, "a failed attempt is logged", func() bool {
		return logs.count(slog.LevelWarn, "connect to etcd failed") > 0
	})
	if run.isReady() {
		t.Fatal("ready before the first load")
	}
	if got := storeMetricValue(src.metrics.loaded); got != 0 {
		t.Errorf("loaded gauge = %v before the first load, want 0", got)
	}

	srv.Restart()
	run.waitReady(t)
	if !sink.has("old") {
		t.Error("ready without the stored revocations")
	}
	storeEventually(t, "the recovery is logged", func() bool {
		return logs.count(slog.LevelInfo, "reachable again") > 0
	})
}

// TestEtcdSourceSaysWhatItWaitsFor: without credentials the client does not
// fail while etcd is down, it waits for a connection until the request times
// out; the source must say early that the first list is still pending.
func TestEtcdSourceSaysWhatItWaitsFor(t *testing.T) {
	srv := etcdtest.StartServer(t)
	srv.Stop()
	src, logs := newTestEtcdSource(t, srv.Endpoint, nil)
	run := startStoreSource(t, src, newStoreRecSink())
	storeEventually(t, "the pending first list is reported", func() bool {
		return logs.count(slog.LevelWarn, "has not answered the first list yet") > 0
	})
	if run.isReady() {
		t.Fatal("ready without a first list")
	}
	srv.Restart()
	run.waitReady(t)
	if n := logs.count(slog.LevelWarn, "has not answered the first list yet"); n != 1 {
		t.Errorf("the pending first list was reported %d times, want once", n)
	}
}

func TestEtcdSourceAuth(t *testing.T) {
	endpoint, root := etcdtest.Start(t, etcdtest.WithAuth("s3cret"))
	etcdPut(t, root, "jti/a", "x")

	t.Run("right password", func(t *testing.T) {
		src, _ := newTestEtcdSource(t, endpoint, func(c *EtcdConfig) {
			c.Username, c.Password = etcdtest.RootUser, "s3cret"
		})
		sink := newStoreRecSink()
		run := startStoreSource(t, src, sink)
		run.waitReady(t)
		if !sink.has("a") {
			t.Fatal("jti a not loaded with auth on")
		}
		etcdPut(t, root, "jti/b", "x")
		storeEventually(t, "watch works with auth on", func() bool { return sink.has("b") })
	})

	t.Run("no credentials", func(t *testing.T) {
		src, logs := newTestEtcdSource(t, endpoint, nil)
		run := startStoreSource(t, src, newStoreRecSink())
		storeEventually(t, "a clear error", func() bool {
			return logs.count(slog.LevelError, "failed; retrying") > 0
		})
		rec, _ := logs.find("failed; retrying")
		if !strings.Contains(rec.attrs, "no username is configured") {
			t.Errorf("error = %q, want it to say no username is configured", rec.attrs)
		}
		if run.isReady() {
			t.Error("ready without having read the store")
		}
	})

	t.Run("wrong password then fixed", func(t *testing.T) {
		const user, pass = "gateway", "right"
		ctx := storeTestCtx(t)
		if _, err := root.UserAdd(ctx, user, "old"); err != nil {
			t.Fatal(err)
		}
		if _, err := root.RoleAdd(ctx, "jti-reader"); err != nil {
			t.Fatal(err)
		}
		if _, err := root.RoleGrantPermission(ctx, "jti-reader", "jti/", clientv3.GetPrefixRangeEnd("jti/"), clientv3.PermissionType(clientv3.PermRead)); err != nil {
			t.Fatal(err)
		}
		if _, err := root.UserGrantRole(ctx, user, "jti-reader"); err != nil {
			t.Fatal(err)
		}

		src, logs := newTestEtcdSource(t, endpoint, func(c *EtcdConfig) { c.Username, c.Password = user, pass })
		sink := newStoreRecSink()
		run := startStoreSource(t, src, sink)
		storeEventually(t, "the auth failure is reported and retried", func() bool {
			return logs.count(slog.LevelError, "failed; retrying") == 1 &&
				logs.count(slog.LevelDebug, "connect to etcd failed") >= 2
		})
		rec, _ := logs.find("failed; retrying")
		if !strings.Contains(rec.attrs, `authentication failed for user "gateway"`) {
			t.Errorf("error = %q, want it to name the auth failure and user", rec.attrs)
		}
		if strings.Contains(rec.attrs, pass) {
			t.Errorf("the password appears in the log: %q", rec.attrs)
		}
		if run.isReady() {
			t.Fatal("ready with a wrong password")
		}

		// The password is put right on the server: the retries succeed.
		if _, err := root.UserChangePassword(ctx, user, pass); err != nil {
			t.Fatal(err)
		}
		run.waitReady(t)
		if !sink.has("a") {
			t.Error("not loaded after the password was fixed")
		}
	})
}

func TestEtcdSourceCredentialsWithoutAuth(t *testing.T) {
	// The shipped conf has username = password = "root": it must work
	// against an etcd with auth off too.
	endpoint, cli := etcdtest.Start(t)
	etcdPut(t, cli, "jti/a", "x")
	src, _ := newTestEtcdSource(t, endpoint, func(c *EtcdConfig) { c.Username, c.Password = "root", "root" })
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)
	if !sink.has("a") {
		t.Fatal("not loaded")
	}
}

func TestEtcdSourceRunTwice(t *testing.T) {
	endpoint, _ := etcdtest.Start(t)
	src, _ := newTestEtcdSource(t, endpoint, nil)
	run := startStoreSource(t, src, newStoreRecSink())
	run.waitReady(t)
	if err := src.Run(context.Background(), newStoreRecSink(), func() {}); err == nil {
		t.Fatal("a second concurrent Run did not fail")
	}
}

func TestEtcdSourceMetricsRegistered(t *testing.T) {
	endpoint, _ := etcdtest.Start(t)
	reg := prometheus.NewRegistry()
	src, _ := newTestEtcdSource(t, endpoint, func(c *EtcdConfig) { c.Registerer = reg })
	// A second source on the same registry (a configuration reload) shares
	// the collectors instead of failing.
	if _, err := NewEtcdSource(EtcdConfig{Hostname: endpoint + "/v2/keys/jti/", Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	run := startStoreSource(t, src, newStoreRecSink())
	run.waitReady(t)
	storeEventually(t, "the gauges are exported", func() bool {
		got := storeGathered(t, reg)
		return got[`microgw_revocation_store_loaded{store="etcd"}`] == 1 &&
			got[`microgw_revocation_store_reloads_total{store="etcd"}`] == 1 &&
			got[`microgw_revocation_store_keys{store="etcd"}`] == 0
	})
	// A source that has stopped follows nothing.
	run.stop(t)
	if got := storeGathered(t, reg)[`microgw_revocation_store_loaded{store="etcd"}`]; got != 0 {
		t.Errorf("loaded gauge = %v after Run returned, want 0", got)
	}
}

// storeMetricValue reads a gauge or counter.
func storeMetricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}

// storeGathered returns every gauge and counter of reg as name{labels} -> value.
func storeGathered(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var labels []string
			for _, l := range m.Label {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			}
		}
	}
	return out
}

func TestNewEtcdSourceRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  EtcdConfig
		want string
	}{
		{"empty hostname", EtcdConfig{}, "hostname is empty"},
		{"no prefix", EtcdConfig{Hostname: "http://127.0.0.1:2379/v2/keys/"}, "names no key prefix"},
		{"prefix only without endpoints", EtcdConfig{Hostname: "jti/"}, "no endpoints are set"},
		{"mixed schemes", EtcdConfig{Hostname: "jti/", Endpoints: []string{"http://a:2379", "https://b:2379"}}, "mix http and https"},
		{"user without password", EtcdConfig{Hostname: "http://h:2379/v2/keys/jti/", Username: "u"}, "set together"},
		{"bad scheme", EtcdConfig{Hostname: "ftp://h:2379/v2/keys/jti/"}, "scheme must be http or https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEtcdSource(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseEtcdHostname(t *testing.T) {
	for _, tc := range []struct {
		in, endpoint, prefix string
	}{
		{"https://127.0.0.1:2379/v2/keys/jti/", "https://127.0.0.1:2379", "jti/"},
		{"https://127.0.0.1:2379/v3/keys/jti/", "https://127.0.0.1:2379", "jti/"},
		{"http://10.0.0.1:2379/v2/keys/jti", "http://10.0.0.1:2379", "jti/"},
		{"http://10.0.0.1:2379/v2/keys/a/b/", "http://10.0.0.1:2379", "a/b/"},
		{"http://[::1]:2379/v2/keys/jti/", "http://[::1]:2379", "jti/"},
		{"http://etcd:2379/revoked/", "http://etcd:2379", "/revoked/"},
		{"http://etcd:2379/v2/keysx/", "http://etcd:2379", "/v2/keysx/"},
		{"  https://h:2379/v2/keys/jti/  ", "https://h:2379", "jti/"},
		{"jti/", "", "jti/"},
		{"/v2/keys/jti/", "", "jti/"},
		{"/registry/revoked/", "", "/registry/revoked/"},
	} {
		ep, prefix, err := ParseEtcdHostname(tc.in)
		if err != nil || ep != tc.endpoint || prefix != tc.prefix {
			t.Errorf("ParseEtcdHostname(%q) = %q, %q, %v; want %q, %q", tc.in, ep, prefix, err, tc.endpoint, tc.prefix)
		}
	}
	for _, bad := range []string{"", "   ", "https://h:2379", "https://h:2379/", "https://h:2379/v2/keys/", "/v3/keys", "https:///v2/keys/jti/", "unix://sock/v2/keys/jti/"} {
		if ep, prefix, err := ParseEtcdHostname(bad); err == nil {
			t.Errorf("ParseEtcdHostname(%q) = %q, %q; want an error", bad, ep, prefix)
		}
	}
}

func TestEtcdKeyJTI(t *testing.T) {
	for _, tc := range []struct {
		key    string
		jti    string
		wantOK bool
	}{
		{"jti/abc", "abc", true},
		{"jti/a/b", "a/b", true},
		{"jti/", "", false},
		{"jti", "", false},
		{"jtx/abc", "", false},
		{"", "", false},
	} {
		jti, ok := etcdKeyJTI("jti/", []byte(tc.key))
		if jti != tc.jti || ok != tc.wantOK {
			t.Errorf("etcdKeyJTI(%q) = %q, %v; want %q, %v", tc.key, jti, ok, tc.jti, tc.wantOK)
		}
	}
}

func FuzzParseEtcdHostname(f *testing.F) {
	for _, s := range []string{"https://127.0.0.1:2379/v2/keys/jti/", "jti/", "http://h/v3/keys", "/v2/keys/x", "http://%zz", "https://h:1/v2/keysjti"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, hostname string) {
		ep, prefix, err := ParseEtcdHostname(hostname)
		if err != nil {
			return
		}
		if prefix == "" || prefix == "/" {
			t.Fatalf("ParseEtcdHostname(%q) accepted an empty prefix", hostname)
		}
		if ep != "" && !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
			t.Fatalf("ParseEtcdHostname(%q) endpoint %q is not http(s)", hostname, ep)
		}
		// Every key made from the prefix decodes back to its jti.
		jti := "some-jti"
		if got, ok := etcdKeyJTI(prefix, []byte(prefix+jti)); !ok || got != jti {
			t.Fatalf("key %q decodes to %q, %v", prefix+jti, got, ok)
		}
	})
}

func FuzzEtcdKeyJTI(f *testing.F) {
	f.Add("jti/", []byte("jti/abc"))
	f.Add("jti/", []byte("jti/"))
	f.Add("/r/", []byte("/r/\xff\x00"))
	f.Add("", []byte(""))
	f.Fuzz(func(t *testing.T, prefix string, key []byte) {
		jti, ok := etcdKeyJTI(prefix, key)
		if !ok {
			if jti != "" {
				t.Fatalf("not ok but jti %q", jti)
			}
			return
		}
		if jti == "" {
			t.Fatal("ok with an empty jti")
		}
		if prefix+jti != string(key) {
			t.Fatalf("prefix %q + jti %q != key %q", prefix, jti, key)
		}
	})
}

// TestEtcdSourceConsistentUnderWrites starts the source while keys are being
// written and deleted, with a small page so that the list spans many
// requests: once the writes stop, the sink must hold exactly the keys etcd
// holds. This is what listing at one revision and watching from the next
// one guarantees.
func TestEtcdSourceConsistentUnderWrites(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	const n = 3000
	etcdPutKeys(t, cli, "jti/", n)

	writerDone := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		ctx := storeTestCtx(t)
		for i := range 1500 {
			if i == 50 {
				close(started)
			}
			if _, err := cli.Put(ctx, fmt.Sprintf("jti/new-%04d", i), "x"); err != nil {
				writerDone <- err
				return
			}
			if _, err := cli.Delete(ctx, fmt.Sprintf("jti/tok-%06d", i*2)); err != nil {
				writerDone <- err
				return
			}
		}
		writerDone <- nil
	}()
	<-started

	src, _ := newTestEtcdSource(t, endpoint, nil)
	src.pageSize = 50
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}

	resp, err := cli.Get(storeTestCtx(t), "jti/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		want = append(want, strings.TrimPrefix(string(kv.Key), "jti/"))
	}
	if len(want) != n { // 1500 added, 1500 deleted
		t.Fatalf("etcd holds %d keys, want %d", len(want), n)
	}
	// Both are sorted (etcd returns keys in order).
	storeEventually(t, "the sink matches etcd", func() bool { return slices.Equal(sink.jtis(), want) })
}

func TestEtcdSourceTLS(t *testing.T) {
	srv := etcdtest.StartServer(t, etcdtest.WithTLS())
	etcdPut(t, srv.Client, "jti/a", "x")

	t.Run("trusted", func(t *testing.T) {
		// The runtime passes a TLS configuration whose RootCAs is the
		// gateway's trust store.
		src, _ := newTestEtcdSource(t, srv.Endpoint, func(c *EtcdConfig) { c.TLS = srv.TLS })
		sink := newStoreRecSink()
		run := startStoreSource(t, src, sink)
		run.waitReady(t)
		if !sink.has("a") {
			t.Fatal("not loaded over TLS")
		}
		etcdPut(t, srv.Client, "jti/b", "x")
		storeEventually(t, "watch over TLS", func() bool { return sink.has("b") })
	})

	t.Run("untrusted certificate", func(t *testing.T) {
		src, logs := newTestEtcdSource(t, srv.Endpoint, nil) // system roots only
		src.requestTimeout = 500 * time.Millisecond
		run := startStoreSource(t, src, newStoreRecSink())
		storeEventually(t, "the failure is logged", func() bool {
			return logs.count(slog.LevelWarn, "load revoked tokens from etcd failed") > 0
		})
		rec, _ := logs.find("load revoked tokens from etcd failed")
		if !strings.Contains(rec.attrs, "TLS certificate is not trusted") {
			t.Errorf("error %q does not hint at the certificate", rec.attrs)
		}
		if run.isReady() {
			t.Error("ready without a trusted connection")
		}
	})
}

// TestEtcdSourceReservesTheSet: a full list tells the revoked set how many
// keys are coming (the count of the whole prefix, from the first page), so
// that it is sized for them once instead of growing through rebuilds.
func TestEtcdSourceReservesTheSet(t *testing.T) {
	endpoint, cli := etcdtest.Start(t)
	const n = 5000
	etcdPutKeys(t, cli, "jti/", n)
	src, _ := newTestEtcdSource(t, endpoint, nil)
	src.pageSize = 997
	set := NewSet()
	run := startStoreSource(t, src, Revocations{Tokens: set, Rules: NewRuleSet()})
	run.waitReady(t)
	if got := set.Len(); got != n {
		t.Fatalf("after ready, %d revoked, want %d", got, n)
	}
	if got, want := set.table.Load().n, newSetTableAt(n, setReserveLoad).n; got != want {
		t.Fatalf("the set's table has %d buckets, want %d (reserved for %d keys)", got, want, n)
	}
}
