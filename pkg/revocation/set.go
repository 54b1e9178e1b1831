package revocation

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
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
// one of 64 maps each behind its own RWMutex. An entry costs about 20–40
// bytes whatever the length of the jti, and a lookup neither allocates nor
// reads the clock unless the jti is found.
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
	h := maphash.String(s.seed, jti)
	exp := setExpiry(expiresAt)
	sh := s.shard(h)
	sh.mu.Lock()
	if old, ok := sh.m[h]; ok {
		exp = setLaterExpiry(old, exp)
	}
	sh.m[h] = exp
	sh.mu.Unlock()
}

// Unrevoke removes jti from the set (a persistent store deleted it).
func (s *Set) Unrevoke(jti string) {
	h := maphash.String(s.seed, jti)
	sh := s.shard(h)
	sh.mu.Lock()
	delete(sh.m, h)
	sh.mu.Unlock()
}

// Revoked reports whether jti is revoked now. This is the request path's
// question: it does not allocate, and it reads the clock only when jti is
// in the set with an expiry.
func (s *Set) Revoked(jti string) bool {
	exp, ok := s.lookup(jti)
	if !ok {
		return false
	}
	return exp == 0 || time.Now().Unix() < int64(exp)
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
	h := maphash.String(s.seed, jti)
	sh := s.shard(h)
	sh.mu.RLock()
	exp, ok := sh.m[h]
	sh.mu.RUnlock()
	return exp, ok
}

// Len returns the number of entries, counting expired ones that no sweep
// has removed yet.
func (s *Set) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// Sweep removes the entries that have expired at now and returns how many
// it removed. It locks one shard at a time, so readers of the other shards
// are never held up.
func (s *Set) Sweep(now time.Time) int {
	t := now.Unix()
	removed := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for h, exp := range sh.m {
			if exp != 0 && int64(exp) <= t {
				delete(sh.m, h)
				removed++
			}
		}
		sh.mu.Unlock()
	}
	return removed
}

// RunSweeper calls Sweep every interval until ctx is done. The runtime starts
// it beside the sources; a minute is a sensible interval, as an expired entry
// already stopped counting and only holds memory until then.
func (s *Set) RunSweeper(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.Sweep(now)
		}
	}
}

var _ Sink = (*Set)(nil)
