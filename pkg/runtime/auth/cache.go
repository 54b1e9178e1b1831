package auth

import (
	"hash/maphash"
	"sync"
	"time"
)

// boundedCache holds values by an exact string key (a token, or a hash of
// one): the validated claims of JWTs, the answers of introspection, the
// basic-auth passwords that matched. It is bounded: each shard evicts its
// oldest entry (FIFO, O(1)) when full. Entries expire at min(the expiry
// given with the value, insertion + ttl); an expired entry is never served
// and is overwritten in turn.
type boundedCache[V any] struct {
	seed   maphash.Seed
	shards []cacheShard[V]
	per    int
	ttl    time.Duration
}

type cacheShard[V any] struct {
	mu   sync.RWMutex
	m    map[string]cacheEntry[V]
	ring []string // keys in insertion order, for eviction
	next int      // the ring slot to reuse when full
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
}

// tokenCache holds validated claims by the exact token string.
type tokenCache = boundedCache[*Claims]

// newTokenCache is the validated-token cache of a Validator.
func newTokenCache(capacity int, ttl time.Duration) *tokenCache {
	return newBoundedCache[*Claims](capacity, ttl)
}

// newBoundedCache splits a large cache into shards so that concurrent
// requests do not all meet on one lock; a small one stays one shard so that
// the bound is exact.
func newBoundedCache[V any](capacity int, ttl time.Duration) *boundedCache[V] {
	n := 1
	if capacity >= 16*64 {
		n = 16
	}
	c := &boundedCache[V]{seed: maphash.MakeSeed(), shards: make([]cacheShard[V], n), per: capacity / n, ttl: ttl}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry[V], c.per)
	}
	return c
}

func (c *boundedCache[V]) shard(key string) *cacheShard[V] {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

func (c *boundedCache[V]) get(key string, now time.Time) (V, bool) {
	s := c.shard(key)
	s.mu.RLock()
	e, ok := s.m[key]
	s.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// putUntil caches v until the earlier of until and now + ttl; nothing when
// that is not after now.
func (c *boundedCache[V]) putUntil(key string, v V, until, now time.Time) {
	expires := now.Add(c.ttl)
	if until.Before(expires) {
		expires = until
	}
	if !now.Before(expires) {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; ok {
		s.m[key] = cacheEntry[V]{v, expires}
		return
	}
	if len(s.ring) < c.per {
		s.ring = append(s.ring, key)
	} else {
		delete(s.m, s.ring[s.next])
		s.ring[s.next] = key
		s.next = (s.next + 1) % c.per
	}
	s.m[key] = cacheEntry[V]{v, expires}
}

// len is the number of entries, expired ones included.
func (c *boundedCache[V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
