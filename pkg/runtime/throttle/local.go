package throttle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash/maphash"
	"sync"
	"time"

	"github.com/micro-gw/micro-gw/pkg/internal/sweep"
)

// localShards is the number of locked parts of a Local store.
const localShards = 64

// Local counts in the gateway's memory: a map from a seeded 64-bit hash of
// each key to its window (end and count, 16 bytes), in 64 shards each behind
// its own lock. A window that has ended holds nothing a request needs (the
// next one opens a new window), so Sweep drops it: the store holds only the
// counters that counted a request within their window, and an idle client
// costs nothing. Two keys sharing a hash share a counter, which can only
// refuse sooner, never admit more; the seed is new in every process.
type Local struct {
	seed   maphash.Seed
	base   time.Time
	now    func() time.Duration // since base, monotonic
	shards [localShards]localShard
}

type localShard struct {
	mu sync.Mutex
	m  map[uint64]window
}

// window is a counter: its window ends at end (Local's clock), count
// requests counted so far.
type window struct {
	end   time.Duration
	count int64
}

// NewLocal returns an empty Local store.
func NewLocal() *Local {
	l := &Local{seed: maphash.MakeSeed(), base: time.Now()}
	l.now = func() time.Duration { return time.Since(l.base) }
	for i := range l.shards {
		l.shards[i].m = map[uint64]window{}
	}
	return l
}

func (l *Local) shard(key string) (*localShard, uint64) {
	h := maphash.String(l.seed, key)
	return &l.shards[h%localShards], h
}

// Take implements Store. Each counter is taken under its shard's lock; when
// one refuses, the ones taken before it are given back (when their window
// is still the one they were counted in), so a refused request counts
// against nothing.
func (l *Local) Take(_ context.Context, cs []Counter) (int, time.Duration) {
	now := l.now()
	var buf [4]time.Duration
	ends := buf[:0]
	for i, c := range cs {
		end, retry, ok := l.take(c, now)
		if !ok {
			for j := i - 1; j >= 0; j-- {
				l.giveBack(cs[j], ends[j])
			}
			return i, retry
		}
		ends = append(ends, end)
	}
	return -1, 0
}

// take counts one request against c at now: it opens a new window when
// there is none or the last one has ended (now at or past its end: exact at
// the edge), and refuses when the window's count has reached the limit.
func (l *Local) take(c Counter, now time.Duration) (end, retry time.Duration, ok bool) {
	sh, h := l.shard(c.Key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	w, found := sh.m[h]
	if !found || now >= w.end {
		w = window{end: now + c.Window}
	}
	if w.count >= c.Limit {
		return w.end, retryAfter(w.end - now), false
	}
	w.count++
	sh.m[h] = w
	return w.end, 0, true
}

// giveBack uncounts a request counted against c in the window that ends at
// end; nothing when that window has been replaced since.
func (l *Local) giveBack(c Counter, end time.Duration) {
	sh, h := l.shard(c.Key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if w, ok := sh.m[h]; ok && w.end == end && w.count > 0 {
		w.count--
		sh.m[h] = w
	}
}

// Len is the number of counters held, ended windows not swept yet included.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// Sweep drops the counters whose window has ended and returns how many.
func (l *Local) Sweep() int {
	now := l.now()
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for h, w := range sh.m {
			if now >= w.end {
				delete(sh.m, h)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// RunSweeper calls Sweep every interval (a minute when not positive) until
// ctx is done.
func (l *Local) RunSweeper(ctx context.Context, interval time.Duration) {
	sweep.Every(ctx, interval, func(time.Time) { l.Sweep() })
}

// hashHex is a short, stable digest of s for keys (the same on every
// gateway, unlike the Local store's seeded hash).
func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

var _ Store = (*Local)(nil)
