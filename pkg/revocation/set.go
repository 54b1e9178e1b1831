package revocation

import (
	"context"
	"hash/maphash"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Set is the in-memory set of revoked token IDs (jti) that the request path
// asks on every secured request. It implements Sink.
//
// Each jti is kept as a seeded 64-bit hash (hash/maphash, seed chosen at
// random per process) with its expiry in unix seconds (0 = never), in one
// open-addressed table of 64-byte buckets, four entries to a bucket (see
// setBucket). An entry lives in one of two buckets its hash points at
// (homes); a lookup hashes the jti, reads those two cache lines and compares
// eight hashes; only when both were full for some entry does it read on.
// In front of the table a small filter (set_filter.go) answers most lookups
// of absent jtis, the common case, from one word that stays in the cache.
// Lookups take no lock and never allocate; writers (the sources, the
// sweeper) take one mutex among themselves and publish each entry with an
// atomic store, so a reader sees an entry either whole or not at all.
//
// Keying by a hash means that two different jtis can collide. A collision can
// only make a token that is not revoked look revoked (a refusal, never an
// admission of a revoked token). With n entries the chance that a given
// unrevoked jti collides is about n/2^64: 5.4e-14 for a million entries. The
// seed is secret and fresh in every process, so collisions cannot be
// precomputed. For the same reason Unrevoke of a jti removes any entry that
// collides with it.
//
// An entry whose expiry has passed no longer counts as revoked; Sweep (or
// RunSweeper) removes such entries so that the set does not grow forever.
type Set struct {
	seed  maphash.Seed
	table atomic.Pointer[setTable]
	// clock is the unix time in seconds kept by RunSweeper, 0 when no
	// sweeper runs. It is never ahead of the real clock, so reading it can
	// only make a revocation hold a little longer, never end early.
	clock atomic.Int64

	mu sync.Mutex // writers: every change of the table, and holdings
	// live is the entries in the table; it is written under mu and read
	// without it (Len).
	live atomic.Int64
	// holdings counts, by holder id, the entries held (holders[0] is unused).
	holders []int
	// rebuilding is the rebuild of a large table that goes on beside the
	// writers (set_rebuild.go), nil when none does. Under mu.
	rebuilding *setRebuild
	// asyncFrom is the table size, in buckets, from which a rebuild goes on
	// beside the writers instead of holding them up for the whole copy.
	asyncFrom uint64
	// stepBuckets is the buckets a rebuild beside the writers copies a step.
	stepBuckets uint64
	// startRebuilding starts the copier of a rebuild in the background;
	// tests replace it to step a rebuild by hand.
	startRebuilding func(*setRebuild)
}

// Table layout. A bucket is one cache line: four hashes, their expiries,
// their holders (Holding) and an overflow flag. A hash of 0 marks an empty
// slot, 1 a removed one (a tombstone: lookups go on past it, inserts reuse
// it); real hashes are moved off those two values.
const (
	setSlots       = 4
	setEmpty       = 0
	setRemoved     = 1
	setMinBuckets  = 256 // 16 KiB, 1024 entries
	setMaxLoad     = 0.85
	setRebuildLoad = 0.50 // the load a rebuilt table starts at
	setReserveLoad = 0.75 // the load a table reserved for a known count ends at
)

// setBucket is one cache line of the table. overflow is set once an entry
// whose two homes were full went on from the first, through this bucket, to
// a later one: a lookup reads on past its homes only while it meets buckets
// with overflow. It is cleared only by a rebuild.
type setBucket struct {
	hash     [setSlots]uint64
	exp      [setSlots]uint32
	held     [setSlots]uint16 // holder<<1 | round, 0: no holder (writers only)
	overflow uint32
	live     uint32 // entries (writers only)
}

// setTable is one generation of the table and of its filter, published
// together by one pointer, so that a reader never pairs a table with a
// filter that lacks its entries. Only writers (under Set.mu) change it; a
// rebuild makes a new one and publishes it.
type setTable struct {
	buckets []setBucket
	filter  []uint64 // set_filter.go
	n       uint64   // len(buckets)
	used    int      // slots that are not empty: entries and tombstones
	keys    int      // keys put into the filter, removed ones included (keys >= used)
	limit   int      // keys (so used) at which the table is rebuilt
}

func newSetTable(entries int) *setTable {
	return newSetTableAt(entries, setRebuildLoad)
}

// newSetTableAt is a table that entries fill to load.
func newSetTableAt(entries int, load float64) *setTable {
	n := max(setMinBuckets, int(math.Ceil(float64(entries)/(setSlots*load))))
	limit := int(float64(n*setSlots) * setMaxLoad)
	return &setTable{
		buckets: make([]setBucket, n),
		filter:  newSetFilter(limit),
		n:       uint64(n),
		limit:   limit,
	}
}

// homes are the two buckets an entry of hash h may live in: h scaled to the
// table (its high bits decide; any table size works), and the same of h
// rotated by half. An entry goes into the one with more room, so that a
// table filled to setMaxLoad rarely has both full; a lookup reads both,
// which a processor does at once (two independent loads): about the time
// of one.
func (t *setTable) homes(h uint64) (uint64, uint64) {
	a, _ := bits.Mul64(h, t.n)
	b, _ := bits.Mul64(bits.RotateLeft64(h, 32), t.n)
	return a, b
}

// find returns the bucket and slot holding h, or nil. Readers call it
// without the lock: every field it reads is read atomically.
func (t *setTable) find(h uint64) (*setBucket, int) {
	a, b := t.homes(h)
	if k := t.buckets[a].slot(h); k >= 0 {
		return &t.buckets[a], k
	}
	if k := t.buckets[b].slot(h); k >= 0 {
		return &t.buckets[b], k
	}
	// Both homes were full when some entry came: it went on from a.
	for i := a; atomic.LoadUint32(&t.buckets[i].overflow) != 0; {
		if i++; i == t.n {
			i = 0
		}
		if i == a {
			break
		}
		if k := t.buckets[i].slot(h); k >= 0 {
			return &t.buckets[i], k
		}
	}
	return nil, 0
}

// slot is the slot of b that holds h, or -1.
func (b *setBucket) slot(h uint64) int {
	switch h {
	case atomic.LoadUint64(&b.hash[0]):
		return 0
	case atomic.LoadUint64(&b.hash[1]):
		return 1
	case atomic.LoadUint64(&b.hash[2]):
		return 2
	case atomic.LoadUint64(&b.hash[3]):
		return 3
	}
	return -1
}

// free is the first slot of b without an entry, or -1 when b is full.
// Writers only.
func (b *setBucket) free() int {
	if b.live == setSlots {
		return -1
	}
	for k := range setSlots {
		if b.hash[k] <= setRemoved {
			return k
		}
	}
	return -1
}

// put stores h with expiry exp and holder held (0: keep the present
// holder) into t, which has room (keys < limit). A hash already present keeps
// the later expiry. It returns the holder the entry had before (0 for a new
// entry, or none) and whether the entry is new. Writers only.
func (t *setTable) put(h uint64, exp uint32, held uint16) (prev uint16, added bool) {
	// Not t.mayHold first: find reads the lines that place reads next, so
	// an absent key costs those two reads either way, and the filter's word
	// would be one more.
	if b, k := t.find(h); b != nil {
		prev = b.held[k]
		if held != 0 {
			b.held[k] = held
		}
		atomic.StoreUint32(&b.exp[k], setLaterExpiry(b.exp[k], exp))
		return prev, false
	}
	t.place(h, exp, held)
	return 0, true
}

// place stores h, which t does not hold, in the home with more room, or when
// both are full in the first bucket with room after the first home, marking
// each bucket passed before the entry is published, so that no reader stops
// short of it. Writers only.
func (t *setTable) place(h uint64, exp uint32, held uint16) {
	a, c := t.homes(h)
	to := &t.buckets[a]
	if t.buckets[c].live < to.live {
		to = &t.buckets[c]
	}
	k := to.free()
	for i := a; k < 0; {
		atomic.StoreUint32(&t.buckets[i].overflow, 1)
		if i++; i == t.n {
			i = 0
		}
		to = &t.buckets[i]
		k = to.free()
	}
	if to.hash[k] == setEmpty {
		t.used++
	}
	t.addKey(h)
	to.live++
	to.held[k] = held
	atomic.StoreUint32(&to.exp[k], exp)
	atomic.StoreUint64(&to.hash[k], h) // published: readers see it from here on
}

// remove turns the slot k of b into a tombstone and returns its holder.
// Writers only.
func (t *setTable) remove(b *setBucket, k int) uint16 {
	held := b.held[k]
	b.held[k] = 0
	b.live--
	atomic.StoreUint64(&b.hash[k], setRemoved)
	return held
}

// NewSet returns an empty Set.
func NewSet() *Set {
	s := &Set{seed: maphash.MakeSeed(), holders: []int{0}, asyncFrom: setAsyncFrom, stepBuckets: setRebuildStep}
	s.startRebuilding = func(r *setRebuild) { go s.copyInBackground(r) }
	s.table.Store(newSetTable(0))
	return s
}

// setExpiry converts expiresAt to the stored form: unix seconds rounded up,
// so that a revocation holds at least until expiresAt; 0 means never. A time
// beyond what fits in 32 bits (the year 2106) is kept as never; a time at or
// before 1970 is kept as already expired.
func setExpiry(expiresAt time.Time) uint32 {
	if expiresAt.IsZero() {
		return 0
	}
	sec := expiresAt.Unix()
	if expiresAt.Nanosecond() > 0 {
		sec++
	}
	switch {
	case sec >= math.MaxUint32:
		return 0
	case sec < 1:
		return 1
	}
	return uint32(sec)
}

// setLaterExpiry returns the later of two stored expiries, 0 (never) winning.
func setLaterExpiry(a, b uint32) uint32 {
	if a == 0 || b == 0 {
		return 0
	}
	return max(a, b)
}

// key is the table's hash of jti, moved off the two values that mark empty
// and removed slots.
func (s *Set) key(jti string) uint64 {
	h := maphash.String(s.seed, jti)
	if h <= setRemoved {
		h += 2
	}
	return h
}

// Revoke marks jti as revoked until expiresAt (the zero time: no expiry).
// Revoking a jti again keeps the later of the two expiries, and no expiry
// wins over any time.
func (s *Set) Revoke(jti string, expiresAt time.Time) {
	s.revoke(s.key(jti), setExpiry(expiresAt), 0)
}

// revoke puts h into the table under the lock, growing the table first when
// it is full, and keeps the holders' counts.
func (s *Set) revoke(h uint64, exp uint32, held uint16) {
	s.mu.Lock()
	s.revokeLocked(h, exp, held)
	s.mu.Unlock()
}

// setEntry is one revocation of a batch (revokeBatch).
type setEntry struct {
	h   uint64
	exp uint32
}

// setPrefetchAhead is how many entries of a batch revokeBatch asks the
// processor to fetch the lines of ahead of the one it inserts.
const setPrefetchAhead = 16

// revokeBatch is revoke of each entry of es, in order, under one hold of
// the lock. A lone insert into a large table waits for one read of memory
// (its homes), and the lock between two inserts is a full fence, so that
// inserts one by one cannot overlap those waits. Here the lines that the
// insert of an entry setPrefetchAhead further on reads (its homes and its
// filter word) are prefetched before each insert: the reads of memory
// overlap each other and the inserts.
func (s *Set) revokeBatch(es []setEntry, held uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range min(setPrefetchAhead, len(es)) {
		s.prefetch(es[i].h)
	}
	for i, e := range es {
		if j := i + setPrefetchAhead; j < len(es) {
			s.prefetch(es[j].h)
		}
		s.revokeLocked(e.h, e.exp, held)
	}
}

// prefetch prefetches the lines an insert of h reads: in the published
// table, and in the one a rebuild fills. Under the lock.
func (s *Set) prefetch(h uint64) {
	s.table.Load().prefetch(h)
	if r := s.rebuilding; r != nil {
		r.next.prefetch(h)
	}
}

// prefetch prefetches h's homes and filter word in t.
func (t *setTable) prefetch(h uint64) {
	a, b := t.homes(h)
	prefetch(unsafe.Pointer(&t.buckets[a]))
	prefetch(unsafe.Pointer(&t.buckets[b]))
	prefetch(unsafe.Pointer(&t.filter[t.filterWord(h)]))
}

// revokeLocked is revoke under the lock.
func (s *Set) revokeLocked(h uint64, exp uint32, held uint16) {
	t := s.table.Load()
	if t.keys >= t.limit {
		t = s.grow(t)
	}
	prev, added := t.put(h, exp, held)
	if r := s.rebuilding; r != nil {
		if r.next.keys >= r.next.limit {
			// More came during the copy than the new table was sized
			// for (a shrink, then a burst): start over, sized for them.
			s.startRebuild(s.tableForLive())
			r = s.rebuilding
		}
		r.next.put(h, exp, held)
	}
	if added {
		s.live.Add(1)
	}
	if held != 0 && prev>>1 != held>>1 {
		s.holders[held>>1]++
		if prev != 0 {
			s.holders[prev>>1]--
		}
	}
}

// Unrevoke removes jti from the set (a persistent store deleted it).
func (s *Set) Unrevoke(jti string) {
	h := s.key(jti)
	s.mu.Lock()
	t := s.table.Load()
	if b, k := t.find(h); b != nil {
		s.drop(t, b, k)
	}
	s.mu.Unlock()
}

// drop removes the entry in slot k of b, under the lock.
func (s *Set) drop(t *setTable, b *setBucket, k int) {
	if r := s.rebuilding; r != nil {
		if nb, nk := r.next.find(b.hash[k]); nb != nil {
			r.next.remove(nb, nk)
		}
	}
	if held := t.remove(b, k); held != 0 {
		s.holders[held>>1]--
	}
	s.live.Add(-1)
}

// Revoked reports whether jti is revoked now. This is the request path's
// question: it does not allocate, takes no lock, and needs the time only
// when jti is in the set with an expiry. While RunSweeper runs, the time is
// its clock of whole seconds (up to a second behind, so an expiry may be
// honoured up to a second late); otherwise time.Now, which costs more than
// the rest of the lookup on some virtual machines.
func (s *Set) Revoked(jti string) bool {
	exp, ok := s.lookup(jti)
	if !ok {
		return false
	}
	if exp == 0 {
		return true
	}
	now := s.clock.Load()
	if now == 0 {
		now = time.Now().Unix()
	}
	return now < int64(exp)
}

// RevokedAt reports whether jti is revoked at the time at.
func (s *Set) RevokedAt(jti string, at time.Time) bool {
	exp, ok := s.lookup(jti)
	if !ok {
		return false
	}
	return exp == 0 || at.Unix() < int64(exp)
}

func (s *Set) lookup(jti string) (uint32, bool) {
	h := s.key(jti)
	t := s.table.Load()
	if !t.mayHold(h) {
		return 0, false
	}
	b, k := t.find(h)
	if b == nil {
		return 0, false
	}
	return atomic.LoadUint32(&b.exp[k]), true
}

// Len returns the number of entries, counting expired ones that no sweep
// has removed yet.
func (s *Set) Len() int { return int(s.live.Load()) }

// Sweep removes the entries that have expired at now and returns how many
// it removed. Lookups go on meanwhile; writers wait (about a millisecond for
// a hundred thousand entries).
func (s *Set) Sweep(now time.Time) int {
	t := now.Unix()
	return s.removeWhere(func(b *setBucket, k int) bool {
		exp := b.exp[k]
		return exp != 0 && int64(exp) <= t
	})
}

// removeWhere removes, under the lock, every entry for which drop says so,
// and rebuilds the table when tombstones fill it or it has become far larger
// than its entries. It returns how many it removed.
func (s *Set) removeWhere(drop func(b *setBucket, k int) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	removed := 0
	for i := range t.buckets {
		b := &t.buckets[i]
		for k := range setSlots {
			if b.hash[k] > setRemoved && drop(b, k) {
				s.drop(t, b, k)
				removed++
			}
		}
	}
	if live := int(s.live.Load()); removed > 0 && s.rebuilding == nil && (t.used > t.limit/2 && t.used > 2*live || t.n > setMinBuckets && live < t.limit/8) {
		s.rebuildSoon(t)
	}
	return removed
}

// Reserve makes room for n entries in all, so that a source that knows how
// many it is about to revoke (a full list of etcd, a snapshot) fills the set
// without the rebuilds of growing to it: each of those copies every entry
// into a new table, ~2.4 copies an entry over a growth from empty, each a
// random access to memory. The table is sized for n at 75 %, which keeps it
// within the bytes an entry of a grown one; a set that holds room for n
// already is left as it is. Entries revoked beyond n grow it as usual.
func (s *Set) Reserve(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	if live := int(s.live.Load()); n <= live || t.limit-t.keys >= n-live {
		return
	}
	s.rebuildFor(newSetTableAt(n, setReserveLoad))
}

// rebuild copies the live entries into a new table sized for them, without
// tombstones, overflow marks and the filter bits of removed entries, and
// publishes it (its filter with it); lookups read the old
// table until then. Under the lock. A table grows by 1.7 (setMaxLoad over
// setRebuildLoad), so the copies cost a constant per insert (each entry is
// copied about 2.4 times on average), and its size stays within 19 and 32
// bytes an entry (and its filter's within 1.5 and 2.6).
func (s *Set) rebuild() *setTable {
	return s.rebuildFor(s.tableForLive())
}

// tableForLive is a new table sized for the live entries and one more, at
// setRebuildLoad.
func (s *Set) tableForLive() *setTable {
	return newSetTable(int(s.live.Load()) + 1)
}

// rebuildFor is rebuild into t, which has room for the live entries. It
// replaces a rebuild going on beside the writers, if one is.
func (s *Set) rebuildFor(t *setTable) *setTable {
	s.rebuilding = nil
	old := s.table.Load()
	t.copyFrom(old, 0, old.n)
	s.table.Store(t)
	return t
}

// RunSweeper calls Sweep every interval until ctx is done, and meanwhile
// keeps the clock of whole seconds that Revoked reads. The runtime starts it
// beside the sources; a minute is a sensible interval, as an expired entry
// already stopped counting and only holds memory until then.
func (s *Set) RunSweeper(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	s.clock.Store(time.Now().Unix())
	defer s.clock.Store(0)
	sweep := time.NewTicker(interval)
	defer sweep.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.clock.Store(time.Now().Unix())
		case <-sweep.C:
			s.Sweep(time.Now())
		}
	}
}

var _ Sink = (*Set)(nil)
