package revocation

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/connectivity"
)

const (
	// defaultEtcdPageSize is how many keys the first Get of a list returns;
	// each further page doubles, up to maxEtcdPageSize. etcd 3.4 walks the
	// whole rest of the range for every limited page, so fixed small pages
	// make a list of a million keys quadratic (10k pages: 35 s against 4 s
	// for one Get, measured with bench/etcdload -list); growing pages keep a
	// small list cheap and a large one to a handful of round trips.
	defaultEtcdPageSize = 10000
	// maxEtcdPageSize bounds one page to a few tens of megabytes.
	maxEtcdPageSize = 256 << 10
	// etcdRequestTimeout bounds one Get of the list, so that a member that
	// went away fails the load (and the load is retried) instead of hanging.
	etcdRequestTimeout = 30 * time.Second
	// etcdFirstLoadPatience is how long the first list may take before the
	// source says it is still waiting for etcd.
	etcdFirstLoadPatience = 5 * time.Second
	// etcdProgressInterval is how often the watch asks etcd how far it is.
	// On a prefix where nothing is written, the answer is what moves the
	// point the watch resumes from after a reconnection; once a compaction
	// has passed that point, only a full list can resume. etcd sends such
	// progress by itself every 10 minutes, which a busy store's compactions
	// (other prefixes written) can outrun.
	etcdProgressInterval = time.Minute
	// etcdProgressRequestTimeout bounds the wait for the client's watch
	// stream to take a progress request while it reconnects.
	etcdProgressRequestTimeout = time.Second
)

var (
	errEtcdWatchClosed = errors.New("etcd watch channel closed")
)

// EtcdSource is the default persistent store: every key under a prefix in
// etcd is a revoked jti. Run lists the prefix (paged, at one revision), calls
// ready, then watches the prefix from the next revision: a PUT revokes, a
// DELETE (by hand, or etcd expiring the key's lease) un-revokes.
//
// A key that exists is revoked with no expiry in the sink: its existence is
// what revokes, and etcd deletes it when its lease runs out, which arrives
// here as a DELETE. (Reading each key's lease to compute an expiry would cost
// a round trip per lease, and the value's ttl is relative to a write time
// that etcd does not keep.) While etcd cannot be reached the source keeps
// what it has: a revocation is never dropped because the store is away.
//
// The source remembers which jtis it put into the sink, so that a full
// reload (after the watch fell behind a compaction, or on Resync) can
// un-revoke the ones that were deleted meanwhile. It remembers a 64-bit hash
// of each, not the jti (see known).
type EtcdSource struct {
	target   etcdTarget
	log      *slog.Logger
	metrics  *storeMetrics
	pageSize int64
	// requestTimeout bounds one Get of the list (etcdRequestTimeout).
	requestTimeout time.Duration
	// progressEvery is how often the watch asks for its progress
	// (etcdProgressInterval).
	progressEvery time.Duration
	storeControl

	// keys says what a key under the prefix means: a revoked jti, or a
	// revocation rule.
	keys etcdKeyspace

	// known holds a hash of each key (without the prefix: a jti, or a rule
	// key) this source has applied to the sink. Only Run's goroutine
	// touches it, names and set.
	//
	// Hashes, not the keys: a 36-byte jti in a map[string]struct{} costs
	// ~83 bytes, held for the life of the gateway and scanned by every GC;
	// its hash ~24 (BenchmarkEtcdSourceLoad). When the sink's jtis end up
	// in a KeyedSink (keyed is not nil: the runtime's sink), the hash is the
	// sink's own key, so a jti deleted while the source was away is
	// un-revoked by its key, without its name. Otherwise (rule keys, which are few, or a
	// Sink from elsewhere) the hash has the source's seed, and names keeps
	// the key of each hash for the sink's Unrevoke.
	//
	// Two keys with one hash are one entry here, which can only keep a
	// revocation, never drop one or end one early: a reload un-revokes a
	// hash only when no key it listed has that hash, so a key still in etcd
	// (listed) is never un-revoked by it, and a deleted key that shares its
	// hash with a listed one stays revoked. Every key applied is remembered
	// in the same step, so nothing to un-revoke is missed. (With the Set's
	// hash the Set cannot tell such two jtis apart anyway: a DELETE of one,
	// from the watch, removes both from the Set, as it did when known held
	// strings.) The seeds are random per process, so collisions (about
	// n²/2⁶⁵ for n keys: 3e-8 for a million) cannot be aimed at.
	known map[uint64]struct{}
	names map[uint64]string
	keyed KeyedSink
	seed  maphash.Seed
}

// NewEtcdSource validates cfg and returns a source that connects when Run
// starts. It fails only on a configuration that can never work.
func NewEtcdSource(cfg EtcdConfig) (*EtcdSource, error) {
	target, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	return newEtcdSource(cfg, target, "etcd", etcdJTIKeys{}), nil
}

// NewEtcdRuleSource validates cfg and returns a source of the revocation
// rules under cfg.RulesPrefix (rules_etcd.go): the same list, watch and
// recovery as NewEtcdSource's, on the rules prefix, feeding a sink that is
// also a RuleSink. Its metrics are labelled store="etcd-rules".
func NewEtcdRuleSource(cfg EtcdConfig) (*EtcdSource, error) {
	target, err := cfg.resolveRules()
	if err != nil {
		return nil, err
	}
	return newEtcdSource(cfg, target, "etcd-rules", etcdRuleKeys{}), nil
}

func newEtcdSource(cfg EtcdConfig, target etcdTarget, name string, keys etcdKeyspace) *EtcdSource {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &EtcdSource{
		target:         target,
		keys:           keys,
		log:            log.With("source", name, "prefix", target.prefix),
		metrics:        newStoreMetrics(cfg.Registerer, name),
		pageSize:       defaultEtcdPageSize,
		requestTimeout: etcdRequestTimeout,
		progressEvery:  etcdProgressInterval,
		storeControl:   newStoreControl(),
		known:          map[uint64]struct{}{},
		names:          map[uint64]string{},
		seed:           maphash.MakeSeed(),
	}
}

// Run implements Source. It returns nil when ctx is done; connection and
// authentication failures are logged and retried with backoff.
func (s *EtcdSource) Run(ctx context.Context, sink Sink, ready func()) error {
	release, err := s.claim("etcd")
	if err != nil {
		return err
	}
	defer release()
	defer s.metrics.loaded.Set(0)
	defer s.metrics.connected.Set(0)
	if err := s.keys.check(sink); err != nil {
		return err
	}
	s.remembering(sink)

	var (
		cli       *clientv3.Client
		stopWatch func()
		retries   = s.newRetry(s.log)
		isReady   bool
		// warnedWaiting is set, from a timer's goroutine, once a slow first
		// list has been reported.
		warnedWaiting atomic.Bool
		rev           int64 // events up to rev are applied; 0: a full load is needed
	)
	retries.hint = devHint(DevEtcdAddr, s.target.endpoints...)
	defer func() {
		if cli != nil {
			stopWatch()
			cli.Close()
		}
	}()

	// retry waits a backoff after a failure; false means ctx is done. A
	// Resync during the wait forces a full load.
	retry := func(what string, err error) bool {
		resynced, ok := retries.wait(ctx, what, err)
		if resynced {
			rev = 0
		}
		return ok
	}

	for ctx.Err() == nil {
		if cli == nil {
			c, err := clientv3.New(s.clientConfig(ctx))
			if err != nil {
				if !retry("connect to etcd", describeEtcdError(err, s.target)) {
					return nil
				}
				continue
			}
			cli = c
			stopWatch = s.watchConnection(ctx, cli)
		}
		if rev == 0 {
			// The client waits for a connection until the request times
			// out (30 s), so a gateway started while etcd is down would say
			// nothing for that long: say once, early, what it waits for.
			var waiting *time.Timer
			if !isReady && !warnedWaiting.Load() {
				waiting = time.AfterFunc(etcdFirstLoadPatience, func() {
					warnedWaiting.Store(true)
					s.log.Warn("etcd has not answered the first list yet; still trying (not ready until it does)",
						"endpoints", s.target.endpoints, "prefix", s.target.prefix)
				})
			}
			r, err := s.load(ctx, cli, sink)
			if waiting != nil {
				waiting.Stop()
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if !retry("load revoked tokens from etcd", describeEtcdError(err, s.target)) {
					return nil
				}
				continue
			}
			rev = r
			retries.recovered()
			s.metrics.loaded.Set(1)
			if !isReady {
				isReady = true
				ready()
			}
		}

		next, err := s.watch(ctx, cli, sink, rev, func() {
			retries.recovered()
		})
		rev = next
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errResyncRequested):
			s.log.Info("resync requested: reloading revoked tokens from etcd")
			rev = 0
		case errors.Is(err, rpctypes.ErrCompacted), errors.Is(err, rpctypes.ErrFutureRev):
			// The revisions after rev are gone (compaction) or the member
			// does not have them (a restored cluster): only a full list is
			// safe now.
			s.log.Info("etcd watch cannot resume, reloading revoked tokens", "revision", rev, "reason", err)
			s.metrics.loaded.Set(0)
			rev = 0
		default:
			if !retry("watch etcd", describeEtcdError(err, s.target)) {
				return nil
			}
		}
	}
	return nil
}

func (s *EtcdSource) clientConfig(ctx context.Context) clientv3.Config {
	cc := s.target.client
	cc.Context = ctx
	return cc
}

// load lists every key under the prefix, a page at a time at the revision of
// the first page, revokes each in sink, and un-revokes the jtis this source
// had revoked before that are no longer listed. It returns the revision the
// list was read at.
func (s *EtcdSource) load(ctx context.Context, cli *clientv3.Client, sink Sink) (int64, error) {
	start := time.Now()
	// A compaction between two pages makes the first page's revision
	// unreadable: start over at a new revision a few times before giving up.
	var err error
	for range 3 {
		var rev int64
		var seen map[uint64]struct{}
		rev, seen, err = s.list(ctx, cli, sink)
		if errors.Is(err, rpctypes.ErrCompacted) {
			continue
		}
		if err != nil {
			return 0, err
		}
		removed := 0
		for h := range s.known {
			if _, ok := seen[h]; !ok {
				s.forget(sink, h)
				removed++
			}
		}
		s.known = seen
		s.metrics.keys.Set(float64(len(seen)))
		s.metrics.reloads.Inc()
		s.log.Info(s.keys.loaded(),
			"count", len(seen), "removed", removed, "revision", rev, "duration", time.Since(start).Round(time.Millisecond))
		return rev, nil
	}
	return 0, err
}

// list is one attempt of load: every key under the prefix at one revision.
// Each jti revoked goes into s.known at once, so that a list that fails half
// way leaves s.known a superset of what the sink holds from this source.
func (s *EtcdSource) list(ctx context.Context, cli *clientv3.Client, sink Sink) (int64, map[uint64]struct{}, error) {
	prefix := s.target.prefix
	end := clientv3.GetPrefixRangeEnd(prefix)
	seen := make(map[uint64]struct{}, len(s.known))
	key := prefix
	var rev int64
	for page := s.pageSize; ; page = min(2*page, max(s.pageSize, maxEtcdPageSize)) {
		opts := []clientv3.OpOption{
			clientv3.WithRange(end),
			clientv3.WithLimit(page),
		}
		if s.keys.keysOnly() {
			opts = append(opts, clientv3.WithKeysOnly())
		}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		rctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), s.requestTimeout)
		resp, err := cli.Get(rctx, key, opts...)
		cancel()
		if err != nil {
			return 0, nil, fmt.Errorf("list %q: %w", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			rel, ok := etcdKeyJTI(prefix, kv.Key)
			if !ok || !s.keys.put(sink, s.log, rel, kv.Value) {
				continue
			}
			seen[s.remember(rel)] = struct{}{}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, seen, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// watch applies the changes under the prefix after rev until ctx is done, a
// resync is requested or the watch fails. It calls healthy once the watch is
// established. It returns the revision up to which changes have been
// applied, and why it stopped.
func (s *EtcdSource) watch(ctx context.Context, cli *clientv3.Client, sink Sink, rev int64, healthy func()) (int64, error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := cli.Watch(wctx, s.target.prefix,
		clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithProgressNotify(), clientv3.WithCreatedNotify())
	progress := time.NewTicker(s.progressEvery)
	defer progress.Stop()
	for {
		select {
		case <-ctx.Done():
			return rev, ctx.Err()
		case <-s.resync:
			return rev, errResyncRequested
		case <-progress.C:
			// The answer arrives on wch as a progress notification. The
			// stream is found by wctx's metadata, which pctx shares.
			pctx, cancelProgress := context.WithTimeout(wctx, etcdProgressRequestTimeout)
			if err := cli.RequestProgress(pctx); err != nil && ctx.Err() == nil {
				s.log.Debug("etcd watch progress request not sent", "error", err)
			}
			cancelProgress()
		case wr, ok := <-wch:
			if !ok {
				return rev, errEtcdWatchClosed
			}
			if err := wr.Err(); err != nil {
				return rev, err
			}
			if healthy != nil {
				healthy()
				healthy = nil
			}
			if wr.IsProgressNotify() {
				// Every change up to the header's revision has been sent:
				// on a quiet prefix this is what keeps rev (and the
				// client's resume point) ahead of compactions, so that a
				// reconnection resumes the watch instead of listing again.
				rev = max(rev, wr.Header.Revision)
				s.log.Debug("etcd watch progress", "revision", rev)
				continue
			}
			for _, ev := range wr.Events {
				s.apply(sink, ev)
				rev = max(rev, ev.Kv.ModRevision)
			}
			s.metrics.keys.Set(float64(len(s.known)))
		}
	}
}

func (s *EtcdSource) apply(sink Sink, ev *clientv3.Event) {
	rel, ok := etcdKeyJTI(s.target.prefix, ev.Kv.Key)
	if !ok {
		return
	}
	switch ev.Type {
	case clientv3.EventTypePut:
		if s.keys.put(sink, s.log, rel, ev.Kv.Value) {
			s.remember(rel)
			s.keys.logChange(s.log, rel, true, ev.Kv.Lease)
		}
	case clientv3.EventTypeDelete:
		s.keys.del(sink, rel)
		h := s.hash(rel)
		delete(s.known, h)
		if s.names != nil {
			delete(s.names, h)
		}
		s.keys.logChange(s.log, rel, false, 0)
	}
}

// KeyedSink is a Sink that keeps each jti under a 64-bit key of its own
// and can un-revoke by that key. A source that must un-revoke what a full
// reload no longer lists (EtcdSource) then remembers 8 bytes a jti instead
// of the jti. *Set and Revocations are KeyedSinks.
type KeyedSink interface {
	Sink
	// JTIKey is the key under which the sink keeps jti, the same for the
	// sink's lifetime.
	JTIKey(jti string) uint64
	// UnrevokeKey un-revokes every jti whose JTIKey is key.
	UnrevokeKey(key uint64)
}

// remembering sets known up for sink: by the sink's own key if it keeps
// these keys in a KeyedSink, else by the source's hash. What a previous Run
// remembered stays only when the sink is the same.
func (s *EtcdSource) remembering(sink Sink) {
	keyed := s.keys.keyedSink(sink)
	if keyed == s.keyed {
		return
	}
	s.keyed = keyed
	s.known = map[uint64]struct{}{}
	s.names = nil
	if keyed == nil {
		s.names = map[uint64]string{}
	}
}

func (s *EtcdSource) hash(rel string) uint64 {
	if s.keyed != nil {
		return s.keyed.JTIKey(rel)
	}
	return maphash.String(s.seed, rel)
}

// remember records that the key rel has been applied to the sink, and
// returns its hash.
func (s *EtcdSource) remember(rel string) uint64 {
	h := s.hash(rel)
	s.known[h] = struct{}{}
	if s.names != nil {
		s.names[h] = rel
	}
	return h
}

// forget undoes in sink the key of hash h, which the store no longer lists.
func (s *EtcdSource) forget(sink Sink, h uint64) {
	if s.names == nil {
		s.keyed.UnrevokeKey(h)
		return
	}
	s.keys.del(sink, s.names[h])
	delete(s.names, h)
}

// etcdKeyspace is what the keys under an EtcdSource's prefix mean.
type etcdKeyspace interface {
	// check refuses a sink that cannot take what the keys hold.
	check(sink Sink) error
	// keysOnly is true when the values are not read.
	keysOnly() bool
	// put applies the key rel (without the prefix) with its value; false
	// when the key or value cannot be read (logged, skipped).
	put(sink Sink, log *slog.Logger, rel string, value []byte) bool
	// del undoes the key rel.
	del(sink Sink, rel string)
	// keyedSink is sink when it keeps what put applies under keys of its
	// own, nil otherwise: the source then remembers keys by the sink's key
	// (EtcdSource.known).
	keyedSink(sink Sink) KeyedSink
	// loaded is the message logged after a full list.
	loaded() string
	// logChange logs a PUT (put) or DELETE seen by the watch, at DEBUG.
	logChange(log *slog.Logger, rel string, put bool, lease int64)
}

// etcdJTIKeys: each key is a revoked jti; its existence revokes, with no
// expiry, and its deletion un-revokes.
type etcdJTIKeys struct{}

func (etcdJTIKeys) check(Sink) error { return nil }
func (etcdJTIKeys) keysOnly() bool   { return true }
func (etcdJTIKeys) loaded() string   { return "revoked tokens loaded from etcd" }

func (etcdJTIKeys) put(sink Sink, _ *slog.Logger, jti string, _ []byte) bool {
	sink.Revoke(jti, time.Time{})
	return true
}

func (etcdJTIKeys) logChange(log *slog.Logger, jti string, put bool, lease int64) {
	if put {
		log.Debug("token revoked (etcd)", "jti", jti, "lease", lease)
	} else {
		log.Debug("token un-revoked (etcd key deleted)", "jti", jti)
	}
}

func (etcdJTIKeys) del(sink Sink, jti string) {
	sink.Unrevoke(jti)
}

func (etcdJTIKeys) keyedSink(sink Sink) KeyedSink {
	k, _ := sink.(KeyedSink)
	return k
}

// watchConnection follows the state of the client's connection: a WARN when
// it is lost, an INFO when it is back, and the connected gauge. The client
// reconnects (and resumes its watch) by itself; this only reports. The
// returned func stops it.
func (s *EtcdSource) watchConnection(ctx context.Context, cli *clientv3.Client) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn := cli.ActiveConnection()
		up, lost := false, false
		state := conn.GetState()
		for {
			switch state {
			case connectivity.Ready:
				up = true
				s.metrics.connected.Set(1)
				if lost {
					lost = false
					s.log.Info("connection to etcd restored", "endpoints", s.target.endpoints)
				}
			case connectivity.Shutdown:
				s.metrics.connected.Set(0)
				return
			case connectivity.Idle:
				// Not a failure: nothing is using the connection.
			default:
				s.metrics.connected.Set(0)
				if up && !lost {
					lost = true
					s.log.Warn("connection to etcd lost; keeping the revoked tokens already loaded and retrying",
						"endpoints", s.target.endpoints)
				}
			}
			if !conn.WaitForStateChange(ctx, state) {
				return
			}
			state = conn.GetState()
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// describeEtcdError adds what a user needs to mend a failure to err.
func describeEtcdError(err error, t etcdTarget) error {
	switch {
	case errors.Is(err, rpctypes.ErrAuthFailed):
		return fmt.Errorf("etcd authentication failed for user %q: check username and password of [tokenRevocationConfig.persistent]: %w", t.client.Username, err)
	case errors.Is(err, rpctypes.ErrUserEmpty):
		return fmt.Errorf("etcd auth is on but no username is configured in [tokenRevocationConfig.persistent]: %w", err)
	case errors.Is(err, rpctypes.ErrPermissionDenied):
		return fmt.Errorf("etcd user %q may not read the prefix %q: %w", t.client.Username, t.prefix, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("etcd at %v did not answer in time (unreachable, or its TLS certificate is not trusted): %w", t.endpoints, err)
	}
	return fmt.Errorf("etcd at %v: %w", t.endpoints, err)
}

var (
	_ Source   = (*EtcdSource)(nil)
	_ Resyncer = (*EtcdSource)(nil)
)
