package revocation

import (
	"context"
	"errors"
	"fmt"
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
	// stream to take a progress request while it reconnects, and for an
	// endpoint's status.
	etcdProgressRequestTimeout = time.Second
	// etcdCatchUpProgressInterval is how often a watch that must catch up
	// with etcd after a start from the snapshot asks for its progress.
	etcdCatchUpProgressInterval = 50 * time.Millisecond
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
// The source keeps track of what it put into the sink, so that a full reload
// (after the watch fell behind a compaction, or on Resync) can un-revoke the
// keys that were deleted meanwhile (see held).
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

	// held is what this source has applied to its sink, so that a full
	// reload can un-revoke what it no longer lists: the sink's own Holding
	// when the keys end up in a Holder (jtis in the runtime's revoked Set,
	// which marks each entry with its holder: nothing is kept here per key),
	// else the keys by name (rules, which are few, or a Sink from
	// elsewhere). Only Run's goroutine touches it.
	held etcdHeld
	// snap is the local snapshot of the prefix (nil: off), which a start
	// restores from instead of listing the prefix when it can.
	snap *etcdSnapshots
	// ordered caches, for the client it was asked of, whether etcd sends
	// progress notifications after the events they cover (progressOrdered).
	ordered struct {
		cli *clientv3.Client
		ok  bool
	}
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
	log = log.With("source", name, "prefix", target.prefix)
	return &EtcdSource{
		target:         target,
		keys:           keys,
		log:            log,
		metrics:        newStoreMetrics(cfg.Registerer, name),
		pageSize:       defaultEtcdPageSize,
		requestTimeout: etcdRequestTimeout,
		progressEvery:  etcdProgressInterval,
		storeControl:   newStoreControl(),
		snap:           newEtcdSnapshots(cfg.SnapshotDir, target.prefix, !keys.keysOnly(), log, cfg.Registerer, name),
	}
}

// Run implements Source. It returns nil when ctx is done; connection and
// authentication failures are logged and retried with backoff.
func (s *EtcdSource) Run(ctx context.Context, sink Sink, ready func()) error {
	release, err := s.claim("etcd", s.metrics)
	if err != nil {
		return err
	}
	defer release()
	defer s.metrics.connected.Set(0)
	if err := s.keys.check(sink); err != nil {
		return err
	}
	s.holding(sink)

	var (
		cli       *clientv3.Client
		stopWatch func()
		retries   = s.newRetry(s.log)
		isReady   bool
		// warnedWaiting is set, from a timer's goroutine, once a slow first
		// list has been reported.
		warnedWaiting atomic.Bool
		rev           int64 // events up to rev are applied; 0: a full load is needed
		// catchUp is the revision the watch must have applied before the
		// source is ready, after a start from the snapshot; 0: none.
		catchUp int64
	)
	retries.hint = devHint(DevEtcdAddr, s.target.endpoints...)
	s.snap.open()
	snap := s.snap.read() // nil once used or refused
	defer func() {
		s.snap.close(rev)
		if cli != nil {
			stopWatch()
			cli.Close()
		}
	}()
	becomeReady := func() {
		s.metrics.loaded.Set(1)
		if !isReady {
			isReady = true
			ready()
		}
	}

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
			var err error
			if snap != nil {
				rev, catchUp, err = s.restore(ctx, cli, sink, snap)
				if err == nil {
					snap = nil // used, or refused: not again
				}
			}
			if err == nil && rev == 0 {
				rev, err = s.load(ctx, cli, sink)
				catchUp = 0
			}
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
			retries.recovered()
			if catchUp == 0 {
				becomeReady()
			}
		}

		next, err := s.watch(ctx, cli, rev, func() {
			retries.recovered()
		}, catchUp, func() {
			catchUp = 0
			becomeReady()
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
			if catchUp != 0 {
				s.snap.count("compacted")
			}
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
		s.held.begin()
		rev, err = s.list(ctx, cli)
		if errors.Is(err, rpctypes.ErrCompacted) {
			s.snap.abort()
			continue
		}
		if err != nil {
			s.snap.abort()
			return 0, err
		}
		s.snap.commit(rev)
		removed := s.held.end(func(rel string) { s.keys.del(sink, rel) })
		count := s.held.len()
		s.metrics.keys.Set(float64(count))
		s.metrics.reloads.Inc()
		s.log.Info(s.keys.log().loaded,
			"count", count, "removed", removed, "revision", rev, "duration", time.Since(start).Round(time.Millisecond))
		return rev, nil
	}
	return 0, err
}

// list is one attempt of load: every key under the prefix at one revision,
// applied to the sink through s.held, which notes each at once, so that a
// list that fails half way leaves nothing unaccounted for, and written to a
// new base of the snapshot.
func (s *EtcdSource) list(ctx context.Context, cli *clientv3.Client) (int64, error) {
	prefix := s.target.prefix
	end := clientv3.GetPrefixRangeEnd(prefix)
	key := prefix
	var rev int64
	bulk, flush := s.held.bulk()
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
			return 0, fmt.Errorf("list %q: %w", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
			s.snap.begin(resp.Header.ClusterId, rev)
			s.reserve(int(resp.Count)) // every key under the prefix, not only this page's
		}
		for _, kv := range resp.Kvs {
			rel, ok := etcdKeyJTI(prefix, kv.Key)
			if !ok {
				continue
			}
			s.snap.put(kv.Key[len(prefix):], kv.Value)
			if s.keys.put(bulk, s.log, rel, kv.Value) {
				s.held.applied(rel)
			}
		}
		flush()
		if !resp.More || len(resp.Kvs) == 0 {
			return rev, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// watch applies the changes under the prefix after rev until ctx is done, a
// resync is requested or the watch fails. It calls healthy once the watch is
// established, and caughtUp once it has applied every change up to catchUp
// (not 0: a start from the snapshot, which is not ready before that). It
// returns the revision up to which changes have been applied, and why it
// stopped.
func (s *EtcdSource) watch(ctx context.Context, cli *clientv3.Client, rev int64, healthy func(), catchUp int64, caughtUp func()) (int64, error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := cli.Watch(wctx, s.target.prefix,
		clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithProgressNotify(), clientv3.WithCreatedNotify())
	// A progress notification says how far the watch is only when etcd
	// sends it after the events it covers (progressOrdered); otherwise it
	// moves nothing.
	trustProgress := s.progressOrdered(ctx, cli)
	every := s.progressEvery
	if catchUp != 0 {
		// Until caught up, ask often: etcd answers once the watch has sent
		// everything up to its current revision.
		every = etcdCatchUpProgressInterval
	}
	progress := time.NewTicker(every)
	defer progress.Stop()
	reached := func() {
		if catchUp != 0 && rev >= catchUp {
			catchUp = 0
			caughtUp()
			progress.Reset(s.progressEvery)
		}
	}
	reached()
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
				if !trustProgress {
					continue
				}
				// Every change up to the header's revision has been sent:
				// on a quiet prefix this is what keeps rev (and the
				// client's resume point) ahead of compactions, so that a
				// reconnection resumes the watch instead of listing again.
				rev = max(rev, wr.Header.Revision)
				s.log.Debug("etcd watch progress", "revision", rev)
				s.snap.journal(rev, nil)
				reached()
				continue
			}
			if len(wr.Events) == 0 {
				continue
			}
			evs := make([]etcdSnapEvent, 0, len(wr.Events))
			for _, ev := range wr.Events {
				if e, ok := s.apply(ev); ok {
					evs = append(evs, e)
				}
				rev = max(rev, ev.Kv.ModRevision)
			}
			s.snap.journal(rev, evs)
			s.metrics.keys.Set(float64(s.held.len()))
			reached()
		}
	}
}

// apply applies one change the watch saw, and returns it as the snapshot's
// journal records it (false: not a key of the prefix).
func (s *EtcdSource) apply(ev *clientv3.Event) (etcdSnapEvent, bool) {
	rel, ok := etcdKeyJTI(s.target.prefix, ev.Kv.Key)
	if !ok {
		return etcdSnapEvent{}, false
	}
	se := etcdSnapEvent{key: ev.Kv.Key[len(s.target.prefix):]}
	switch ev.Type {
	case clientv3.EventTypePut:
		se.op, se.value = etcdSnapPut, ev.Kv.Value
		if s.keys.put(s.held.sink(), s.log, rel, ev.Kv.Value) {
			s.held.applied(rel)
			s.logChange(rel, true, ev.Kv.Lease)
		}
	case clientv3.EventTypeDelete:
		se.op = etcdSnapDelete
		s.keys.del(s.held.sink(), rel)
		s.held.deleted(rel)
		s.logChange(rel, false, 0)
	}
	return se, true
}

// reserve tells a sink that can make room for a count known in advance (a
// Holding of the revoked set: Set.Reserve) that n keys are coming.
func (s *EtcdSource) reserve(n int) {
	if r, ok := s.held.sink().(interface{ Reserve(n int) }); ok {
		r.Reserve(n)
	}
}

// restore starts the source from its snapshot when it can be trusted: taken
// from this etcd cluster (its cluster id) and not ahead of it, and etcd's
// progress notifications can tell when the watch from the snapshot's
// revision has caught up. It applies the snapshot and returns its revision
// and etcd's current one, which the watch must reach before the source is
// ready. rev 0 with no error: the snapshot is not used (logged); the source
// lists the prefix. An error: etcd could not be asked (retried).
func (s *EtcdSource) restore(ctx context.Context, cli *clientv3.Client, sink Sink, snap *etcdSnapshot) (rev, upTo int64, err error) {
	start := time.Now()
	rctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), s.requestTimeout)
	defer cancel()
	// One key, for the header: the cluster and its current revision.
	resp, err := cli.Get(rctx, s.target.prefix, clientv3.WithKeysOnly())
	if err != nil {
		return 0, 0, fmt.Errorf("read etcd's revision: %w", err)
	}
	h := resp.Header
	switch {
	case h.ClusterId != snap.cluster:
		s.snap.refuse(fmt.Errorf("it was taken from another etcd cluster (id %x; this one is %x)", snap.cluster, h.ClusterId))
		return 0, 0, nil
	case snap.revision > h.Revision:
		s.snap.refuse(fmt.Errorf("it is ahead of etcd (revision %d, etcd at %d): etcd was restored from a backup or replaced", snap.revision, h.Revision))
		return 0, 0, nil
	case !s.progressOrdered(rctx, cli):
		s.snap.count("unordered")
		s.log.Info("revocation snapshot not used: this etcd cannot tell when a watch has caught up (its progress notifications may come before the events they cover; fixed in etcd 3.4.24 and 3.5.8); listing etcd in full")
		return 0, 0, nil
	}
	s.held.begin()
	s.reserve(snap.keys)
	bulk, flush := s.held.bulk()
	snap.each(func(ev etcdSnapEvent) {
		rel := string(ev.key)
		switch ev.op {
		case etcdSnapPut:
			if s.keys.put(bulk, s.log, rel, ev.value) {
				s.held.applied(rel)
			}
		case etcdSnapDelete:
			s.keys.del(bulk, rel)
			s.held.deleted(rel)
		}
	})
	flush()
	removed := s.held.end(func(rel string) { s.keys.del(sink, rel) })
	count := s.held.len()
	s.metrics.keys.Set(float64(count))
	s.snap.count("restored")
	s.log.Info(s.keys.log().restored, "count", count, "removed", removed, "revision", snap.revision,
		"etcd_revision", h.Revision, "duration", time.Since(start).Round(time.Millisecond))
	s.snap.resume(snap)
	return snap.revision, h.Revision, nil
}

// progressOrdered reports whether every endpoint runs an etcd that sends a
// requested progress notification only after the events it covers. Older
// ones (before 3.4.24 and 3.5.8, etcd issue 15220) answer at once with their
// current revision, ahead of events still to come to a watch catching up,
// so that such a notification proves nothing. An endpoint that cannot be
// asked counts as older. The answer is kept for the client.
func (s *EtcdSource) progressOrdered(ctx context.Context, cli *clientv3.Client) bool {
	if s.ordered.cli == cli {
		return s.ordered.ok
	}
	ok := true
	for _, ep := range cli.Endpoints() {
		sctx, cancel := context.WithTimeout(ctx, etcdProgressRequestTimeout)
		st, err := cli.Status(sctx, ep)
		cancel()
		if err != nil {
			s.log.Debug("etcd status not read; its progress notifications are not relied on", "endpoint", ep, "error", err)
			return false // asked again next time
		}
		if !etcdOrderedProgress(st.Version) {
			s.log.Debug("etcd version sends progress notifications out of order; not relied on", "endpoint", ep, "version", st.Version)
			ok = false
		}
	}
	s.ordered.cli, s.ordered.ok = cli, ok
	return ok
}

// etcdOrderedProgress reports whether an etcd of version v sends requested
// progress notifications in order with the events (3.4.24+, 3.5.8+, 3.6+).
func etcdOrderedProgress(v string) bool {
	var major, minor, patch int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch); err != nil {
		return false
	}
	switch {
	case major != 3:
		return major > 3
	case minor == 4:
		return patch >= 24
	case minor == 5:
		return patch >= 8
	}
	return minor > 5
}

// holding sets s.held up for sink: the sink's own Holding if the keys end up
// in a Holder, else a record by name. What a previous Run held stays only
// when the sink is the same.
func (s *EtcdSource) holding(sink Sink) {
	if s.held != nil && s.held.from() == sink {
		return
	}
	if h := s.keys.holder(sink); h != nil {
		s.held = &etcdHeldBySink{to: sink, h: h.Hold()}
		return
	}
	s.held = &etcdHeldByName{to: sink, known: map[string]struct{}{}}
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
	// holder is sink when it keeps track of what put applies (a Holder),
	// nil otherwise: the source then remembers the keys by name
	// (EtcdSource.held).
	holder(sink Sink) Holder
	// log is what the source logs of the keys.
	log() etcdKeyLog
}

// etcdKeyLog is what an EtcdSource logs of the keys of an etcdKeyspace.
type etcdKeyLog struct {
	loaded   string // after a full list
	restored string // after a start from the snapshot
	added    string // a PUT seen by the watch, at DEBUG
	removed  string // a DELETE seen by the watch, at DEBUG
	attr     string // the attribute that holds the key
}

// logChange logs a PUT (put) or DELETE of the key rel seen by the watch.
func (s *EtcdSource) logChange(rel string, put bool, lease int64) {
	l := s.keys.log()
	if put {
		s.log.Debug(l.added, l.attr, rel, "lease", lease)
	} else {
		s.log.Debug(l.removed, l.attr, rel)
	}
}

// etcdJTIKeys: each key is a revoked jti; its existence revokes, with no
// expiry, and its deletion un-revokes.
type etcdJTIKeys struct{}

func (etcdJTIKeys) check(Sink) error { return nil }
func (etcdJTIKeys) keysOnly() bool   { return true }

func (etcdJTIKeys) log() etcdKeyLog {
	return etcdKeyLog{loaded: "revoked tokens loaded from etcd", restored: "revoked tokens restored from the snapshot",
		added: "token revoked (etcd)", removed: "token un-revoked (etcd key deleted)", attr: "jti"}
}

func (etcdJTIKeys) put(sink Sink, _ *slog.Logger, jti string, _ []byte) bool {
	sink.Revoke(jti, time.Time{})
	return true
}

func (etcdJTIKeys) del(sink Sink, jti string) {
	sink.Unrevoke(jti)
}

func (etcdJTIKeys) holder(sink Sink) Holder {
	h, _ := sink.(Holder)
	return h
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
