package revocation

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// etcdSnapshots keeps the local snapshot of one EtcdSource
// (docs/revocation.md, "Snapshots"): the keys under its prefix at a revision,
// with the cluster they came from, so that a restart can apply them at once
// and catch up with a watch from that revision instead of listing the
// prefix again. It writes the snapshot as the source lists (a new base) and
// watches (the journal), and gives up writing, with one WARN, at the first
// failure: the snapshot only ever saves time.
//
// Only one process writes a snapshot file: the one holding its lock file.
// Another gateway of the same project on the same host reads it at start and
// writes nothing.
type etcdSnapshots struct {
	path     string
	prefix   string
	values   bool
	log      *slog.Logger
	restores *prometheus.CounterVec

	lock *os.File        // held while this process writes; nil: it does not
	w    *etcdSnapWriter // the base being written, or the file whose journal is appended to
	// journalAt is the revision the journal has reached; lastRecord when it
	// was last written.
	journalAt  int64
	lastRecord time.Time
	// compactAt is etcdSnapCompactAt (tests make it small).
	compactAt int64
}

const (
	// etcdSnapProgressEvery bounds how often a progress notification alone
	// (no changes) is written to the journal.
	etcdSnapProgressEvery = 10 * time.Second
	// etcdSnapCompactAt: the journal is folded into a new base once it is
	// larger than the base and than this.
	etcdSnapCompactAt = 4 << 20
)

// etcdSnapshotFile is the file name of the snapshot of prefix: the prefix
// escaped as a path segment, so that each prefix has a file of its own.
func etcdSnapshotFile(prefix string) string {
	return "etcd-" + url.PathEscape(prefix) + ".snap"
}

func newEtcdSnapshots(dir, prefix string, values bool, log *slog.Logger, reg prometheus.Registerer, store string) *etcdSnapshots {
	if dir == "" {
		return nil
	}
	restores := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "microgw_revocation_store_snapshot_restores_total",
		Help:        "Starts of the etcd source from its local snapshot, by result: restored, refused (corrupt, another cluster or prefix, ahead of etcd), unordered (an etcd whose watch progress cannot be trusted), compacted (etcd no longer has the changes since it).",
		ConstLabels: prometheus.Labels{"store": store},
	}, []string{"result"})
	for _, r := range []string{"restored", "refused", "unordered", "compacted"} {
		restores.WithLabelValues(r)
	}
	if reg != nil {
		restores = registerOrExisting(reg, restores)
	}
	return &etcdSnapshots{
		path:      filepath.Join(dir, etcdSnapshotFile(prefix)),
		prefix:    prefix,
		values:    values,
		log:       log,
		restores:  restores,
		compactAt: etcdSnapCompactAt,
	}
}

// open prepares a run: the folder, and the lock that lets this process
// write. A snapshot that cannot be written is still read.
func (e *etcdSnapshots) open() {
	if e == nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(e.path), 0o700); err != nil {
		e.log.Warn("revocation snapshot: cannot make its folder; the gateway goes on without writing it", "path", e.path, "error", err)
		return
	}
	f, err := os.OpenFile(e.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = lockFile(f)
		if err != nil {
			f.Close()
		}
	}
	switch {
	case errors.Is(err, errSnapshotLocked):
		e.log.Info("revocation snapshot: another process writes it; this one only reads it", "path", e.path)
	case err != nil:
		e.log.Warn("revocation snapshot: cannot take its lock; the gateway goes on without writing it", "path", e.path, "error", err)
	default:
		e.lock = f
	}
}

// close ends a run: the journal records the revision reached, and the lock
// is let go.
func (e *etcdSnapshots) close(rev int64) {
	if e == nil {
		return
	}
	if e.w != nil && e.w.tmp == "" && rev > e.journalAt {
		e.fail(e.w.journal(rev, nil))
	}
	e.drop()
	if e.lock != nil {
		e.lock.Close()
		e.lock = nil
	}
}

// drop closes the file being written, removing a base not committed.
func (e *etcdSnapshots) drop() {
	if e.w != nil {
		e.w.abort()
		e.w = nil
	}
}

// fail gives up writing after err (nil: nothing to do), with one WARN.
func (e *etcdSnapshots) fail(err error) {
	if err == nil || e.lock == nil {
		return
	}
	e.log.Warn("revocation snapshot: writing it failed; the gateway goes on without it", "path", e.path, "error", err)
	e.drop()
	e.lock.Close()
	e.lock = nil
}

// read returns the snapshot on disk, or nil when there is none or it cannot
// be trusted (logged, counted).
func (e *etcdSnapshots) read() *etcdSnapshot {
	if e == nil {
		return nil
	}
	data, err := os.ReadFile(e.path)
	if errors.Is(err, fs.ErrNotExist) {
		e.log.Debug("revocation snapshot: none yet", "path", e.path)
		return nil
	}
	var s *etcdSnapshot
	if err == nil {
		s, err = readEtcdSnapshot(data)
	}
	if err == nil && s.prefix != e.prefix {
		err = fmt.Errorf("it is of the prefix %q", s.prefix)
	}
	if err == nil && s.values != e.values {
		err = errors.New("it was written for other keys (values kept or not)")
	}
	if err != nil {
		e.refuse(err)
		return nil
	}
	if s.torn {
		e.log.Info("revocation snapshot: its last journal record is cut short (the gateway stopped while writing it); read up to it", "path", e.path, "revision", s.revision)
	}
	return s
}

// refuse logs and counts a snapshot that is not used.
func (e *etcdSnapshots) refuse(err error) {
	e.log.Warn("revocation snapshot not used; listing etcd in full", "path", e.path, "reason", err)
	e.restores.WithLabelValues("refused").Inc()
}

// count counts a start by its result.
func (e *etcdSnapshots) count(result string) {
	if e != nil {
		e.restores.WithLabelValues(result).Inc()
	}
}

// resume appends the journal to s, restored and current: the journal goes
// on from its revision. A long journal is folded into a new base first.
func (e *etcdSnapshots) resume(s *etcdSnapshot) {
	if e == nil || e.lock == nil {
		return
	}
	if int64(len(s.data)-s.journal[0]) > max(int64(s.journal[0]), e.compactAt) {
		e.fail(e.compact(s))
		return
	}
	w, err := appendEtcdSnapshot(e.path, s)
	if err != nil {
		e.fail(err)
		return
	}
	e.w, e.journalAt, e.lastRecord = w, s.revision, time.Now()
}

// begin starts a new base: the keys of a list at revision rev of cluster.
func (e *etcdSnapshots) begin(cluster uint64, rev int64) {
	if e == nil || e.lock == nil {
		return
	}
	e.drop()
	w, err := createEtcdSnapshot(e.path, cluster, rev, e.prefix, e.values)
	if err != nil {
		e.fail(err)
		return
	}
	e.w = w
}

// put adds a listed key to the base.
func (e *etcdSnapshots) put(key, value []byte) {
	if e != nil && e.w != nil {
		e.fail(e.w.put(key, value))
	}
}

// commit puts the base in place once the list is whole, at revision rev.
func (e *etcdSnapshots) commit(rev int64) {
	if e == nil || e.w == nil {
		return
	}
	if err := e.w.commit(); err != nil {
		e.fail(err)
		return
	}
	e.journalAt, e.lastRecord = rev, time.Now()
}

// abort drops the base of a list that did not finish.
func (e *etcdSnapshots) abort() {
	if e != nil {
		e.drop()
	}
}

// journal records the changes a watch response applied, up to rev; events
// nil is a progress notification, written at most every
// etcdSnapProgressEvery.
func (e *etcdSnapshots) journal(rev int64, events []etcdSnapEvent) {
	if e == nil || e.w == nil || e.w.tmp != "" || rev <= e.journalAt && len(events) == 0 {
		return
	}
	if len(events) == 0 && time.Since(e.lastRecord) < etcdSnapProgressEvery {
		return
	}
	if err := e.w.journal(rev, events); err != nil {
		e.fail(err)
		return
	}
	e.journalAt, e.lastRecord = rev, time.Now()
	if j := e.w.journalBytes(); j > e.compactAt && j > e.w.base {
		e.fail(e.refold())
	}
}

// refold folds the journal of the file on disk into a new base.
func (e *etcdSnapshots) refold() error {
	data, err := os.ReadFile(e.path)
	if err != nil {
		return err
	}
	s, err := readEtcdSnapshot(data)
	if err != nil {
		return err
	}
	return e.compact(s)
}

// compact writes s as a new base at its revision (the base's keys with the
// journal's changes applied) and appends to it from then on.
func (e *etcdSnapshots) compact(s *etcdSnapshot) error {
	e.drop()
	// The journal's last word on each key it names; the base is read once
	// more, skipping those keys.
	last := map[string]etcdSnapEvent{}
	s.eachJournal(func(ev etcdSnapEvent) { last[string(ev.key)] = ev })
	w, err := createEtcdSnapshot(e.path, s.cluster, s.revision, s.prefix, s.values)
	if err != nil {
		return err
	}
	s.eachBase(func(ev etcdSnapEvent) {
		if _, ok := last[string(ev.key)]; !ok && err == nil {
			err = w.put(ev.key, ev.value)
		}
	})
	for k, ev := range last {
		if ev.op == etcdSnapPut && err == nil {
			err = w.put([]byte(k), ev.value)
		}
	}
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		w.abort()
		return err
	}
	e.w, e.journalAt, e.lastRecord = w, s.revision, time.Now()
	return nil
}
