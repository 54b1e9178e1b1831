package auth

import (
	"hash/maphash"
	"sync"
	"time"
)

// tokenCache holds validated claims by the exact token string. It is
// bounded: each shard evicts its oldest entry (FIFO, O(1)) when full.
// Entries expire at min(token exp, insertion + ttl); an expired entry is
// never served and is overwritten in turn.
type tokenCache struct {
	seed   maphash.Seed
	shards []cacheShard
	per    int
	ttl    time.Duration
}

type cacheShard struct {
	mu   sync.RWMutex
	m    map[string]cacheEntry
	ring []string // keys in insertion order, for eviction
	next int      // the ring slot to reuse when full
}

type cacheEntry struct {
	claims  *Claims
	expires time.Time
}

// newTokenCache splits a large cache into shards so that concurrent
// requests do not all meet on one lock; a small one stays one shard so that
// the bound is exact.
func newTokenCache(capacity int, ttl time.Duration) *tokenCache {
	n := 1
	if capacity >= 16*64 {
		n = 16
	}
	c := &tokenCache{seed: maphash.MakeSeed(), shards: make([]cacheShard, n), per: capacity / n, ttl: ttl}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry, c.per)
	}
	return c
}

func (c *tokenCache) shard(token string) *cacheShard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, token)%uint64(len(c.shards))]
}

func (c *tokenCache) get(token string, now time.Time) (*Claims, bool) {
	s := c.shard(token)
	s.mu.RLock()
	e, ok := s.m[token]
	s.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.claims, true
}

func (c *tokenCache) put(token string, claims *Claims, now time.Time) {
	expires := now.Add(c.ttl)
	if claims.ExpiresAt.Before(expires) {
		expires = claims.ExpiresAt
	}
	if !now.Before(expires) {
		return
	}
	s := c.shard(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[token]; ok {
		s.m[token] = cacheEntry{claims, expires}
		return
	}
	if len(s.ring) < c.per {
		s.ring = append(s.ring, token)
	} else {
		delete(s.m, s.ring[s.next])
		s.ring[s.next] = token
		s.next = (s.next + 1) % c.per
	}
	s.m[token] = cacheEntry{claims, expires}
}

// len is the number of entries, expired ones included.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
