package revocation

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// setShardCount is the number of independently locked parts of a Set. A
// power of two, so that the shard is a mask of the hash; 64 keeps writers
// (a burst of revocations, a sweep) from stalling the many readers of the
// request path on one lock.
const setShardCount = 64

// Set is the in-memory set of revoked token IDs (jti) that the request path
// asks on every secured request. It implements Sink.
//
// Each jti is kept as a seeded 64-bit hash (hash/maphash, seed chosen at
// random per process) mapped to its expiry in unix seconds (0 = never), in
// one of 64 maps each behind its own RWMutex. In front of the maps sits a
// small filter (about 2–4 bytes per entry, two bits of one 64-bit word per
// hash) that is read without locks: a jti that is not revoked, the common
// case, is almost always answered by one read of the filter, which stays in
// the CPU cache where the maps of a large set cannot. The filter can say
// "maybe" for a jti that is absent (then the map decides), never "no" for one
// that is present. A lookup neither allocates nor reads the clock unless the
// jti is found with an expiry.
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
	seed   maphash.Seed
	filter atomic.Pointer[setFilter]
	count  atomic.Int64 // entries in the maps
	resize sync.Mutex   // one filter rebuild at a time
	// clock is the unix time in seconds kept by RunSweeper, 0 when no
	// sweeper runs. It is never ahead of the real clock, so reading it can
	// only make a revocation hold a little longer, never end early.
	clock  atomic.Int64
	shards [setShardCount]setShard
}

// setShard is one locked part of a Set, padded to its own cache lines so
// that readers of neighbouring shards do not contend on the lock word.
type setShard struct {
	mu sync.RWMutex
	m  map[uint64]uint32
	_  [64 - (unsafe.Sizeof(sync.RWMutex{})+unsafe.Sizeof(map[uint64]uint32(nil)))%64]byte
}

// NewSet returns an empty Set.
func NewSet() *Set {
	s := &Set{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]uint32)
	}
	s.filter.Store(newSetFilter(0))
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

func (s *Set) shard(h uint64) *setShard {
	return &s.shards[h>>58] // the top 6 bits; the map uses the low ones
}

// Revoke marks jti as revoked until expiresAt (the zero time: no expiry).
// Revoking a jti again keeps the later of the two expiries, and no expiry
// wins over any time.
func (s *Set) Revoke(jti string, expiresAt time.Time) {
	h := s.JTIKey(jti)
	exp := setExpiry(expiresAt)
	sh := s.shard(h)
	sh.mu.Lock()
	old, found := sh.m[h]
	if found {
		exp = setLaterExpiry(old, exp)
	}
	sh.m[h] = exp
	// Under the shard's lock: a rebuild, which holds every shard's lock,
	// either sees this entry in the map or publishes its filter before we
	// load it here. Either way the filter that readers load has the bit.
	s.filter.Load().add(h)
	sh.mu.Unlock()
	if !found && s.count.Add(1) > s.filter.Load().limit {
		s.rebuildFilter()
	}
}

// Unrevoke removes jti from the set (a persistent store deleted it).
func (s *Set) Unrevoke(jti string) {
	s.UnrevokeKey(s.JTIKey(jti))
}

// JTIKey implements KeyedSink: the set keeps jti under this seeded 64-bit
// hash, not the jti itself. A source that feeds the set may remember jtis
// by it and un-revoke through UnrevokeKey (EtcdSource).
func (s *Set) JTIKey(jti string) uint64 {
	return maphash.String(s.seed, jti)
}

// UnrevokeKey implements KeyedSink: it removes the entry of key h, which
// un-revokes every jti whose JTIKey is h.
func (s *Set) UnrevokeKey(h uint64) {
	sh := s.shard(h)
	sh.mu.Lock()
	if _, ok := sh.m[h]; ok {
		delete(sh.m, h)
		s.count.Add(-1)
		s.filter.Load().stale.Add(1)
	}
	sh.mu.Unlock()
}

// Revoked reports whether jti is revoked now. This is the request path's
// question: it does not allocate, and it needs the time only when jti is in
// the set with an expiry. While RunSweeper runs, the time is its clock of
// whole seconds (up to a second behind, so an expiry may be honoured up to
// a second late); otherwise time.Now, which costs more than the rest of the
// lookup on some virtual machines.
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
	h := s.JTIKey(jti)
	if !s.filter.Load().mayHave(h) {
		return 0, false
	}
	sh := s.shard(h)
	sh.mu.RLock()
	exp, ok := sh.m[h]
	sh.mu.RUnlock()
	return exp, ok
}

// Len returns the number of entries, counting expired ones that no sweep
// has removed yet.
func (s *Set) Len() int { return int(s.count.Load()) }

// Sweep removes the entries that have expired at now and returns how many
// it removed. It locks one shard at a time, so readers of the other shards
// are never held up.
func (s *Set) Sweep(now time.Time) int {
	t := now.Unix()
	removed := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n := 0
		for h, exp := range sh.m {
			if exp != 0 && int64(exp) <= t {
				delete(sh.m, h)
				n++
			}
		}
		if n > 0 {
			s.count.Add(int64(-n))
			s.filter.Load().stale.Add(int64(n))
		}
		sh.mu.Unlock()
		removed += n
	}
	if removed > 0 && s.filter.Load().wantsRebuild(s.count.Load()) {
		s.rebuildFilter()
	}
	return removed
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

// setFilter is a blocked filter over the hashes in a Set: each hash sets two
// bits of one 64-bit word, so a query is one memory read. Bits are only ever
// set while the filter is in use; entries removed since it was built leave
// their bits behind (stale), and a rebuild clears them.
type setFilter struct {
	words []uint64
	mask  uint64       // len(words)-1, a power of two minus one
	limit int64        // entries beyond which the filter is rebuilt larger
	stale atomic.Int64 // entries removed since the filter was built
}

const (
	// setFilterBitsPerEntry is the fill at which the filter grows. At 16
	// bits (2 bytes) per entry about 1.4% of absent jtis pass it and go on
	// to the map; just after growing, 0.4%.
	setFilterBitsPerEntry = 16
	setFilterMinWords     = 1 << 10 // 8 KiB, for up to 4096 entries
)

// newSetFilter returns an empty filter for n entries with room to double.
func newSetFilter(n int64) *setFilter {
	words := setFilterMinWords
	for int64(words)*64 < 2*n*setFilterBitsPerEntry {
		words *= 2
	}
	return &setFilter{
		words: make([]uint64, words),
		mask:  uint64(words - 1),
		limit: int64(words) * 64 / setFilterBitsPerEntry,
	}
}

// pos is the word and the two bits of h. The word comes from bits 12 and up,
// the bits from bits 0–11; the shard uses the top 6 bits.
func (f *setFilter) pos(h uint64) (*uint64, uint64) {
	return &f.words[(h>>12)&f.mask], 1<<(h&63) | 1<<((h>>6)&63)
}

func (f *setFilter) add(h uint64) {
	w, bits := f.pos(h)
	atomic.OrUint64(w, bits)
}

func (f *setFilter) mayHave(h uint64) bool {
	w, bits := f.pos(h)
	return atomic.LoadUint64(w)&bits == bits
}

// wantsRebuild reports whether a filter serving n entries should be rebuilt:
// too full, too many stale bits, or far too large after many removals.
func (f *setFilter) wantsRebuild(n int64) bool {
	return n > f.limit ||
		f.stale.Load() > max(n, setFilterMinWords*4) ||
		(len(f.words) > setFilterMinWords && n < f.limit/8)
}

// rebuildFilter builds a filter sized for the current entries and publishes
// it. It holds every shard's write lock meanwhile, so that no entry is added
// between the scan and the publication: lookups answered by the filter alone
// (the absent jtis) go on; lookups that reach the maps and writers wait, for
// about 10 ms per million entries. The filter grows by doubling, so this
// happens a logarithmic number of times as the set grows.
func (s *Set) rebuildFilter() {
	s.resize.Lock()
	defer s.resize.Unlock()
	for i := range s.shards {
		s.shards[i].mu.Lock()
	}
	defer func() {
		for i := range s.shards {
			s.shards[i].mu.Unlock()
		}
	}()
	n := s.count.Load()
	if !s.filter.Load().wantsRebuild(n) {
		return // another rebuild got there first
	}
	f := newSetFilter(n)
	for i := range s.shards {
		for h := range s.shards[i].m {
			w, bits := f.pos(h)
			*w |= bits // not yet published: no other goroutine sees f
		}
	}
	s.filter.Store(f)
}

var (
	_ Sink      = (*Set)(nil)
	_ KeyedSink = (*Set)(nil)
)
