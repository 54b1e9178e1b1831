package revocation

import "runtime"

// Rebuilding a large table beside the writers.
//
// A rebuild copies every entry into a new table. At a million entries that
// is 100–200 ms of random writes on the machines of docs/benchmarks.md, and
// a rebuild that held the writers' lock for all of it held up every
// revocation that came meanwhile by as much: not lost, but not in force
// either. So a table of asyncFrom buckets or more is rebuilt in steps: a
// copier (a goroutine of its own) copies Set.stepBuckets buckets a time
// under the lock, and lets the writers in between steps. Each writer
// applies its change to the published table, which readers go on using,
// and to the new one (dual writes): an entry already copied gets the
// change, one not yet copied is copied with it. When the last step is done, the new table is
// published; readers never see it before it holds every entry.
//
// While a rebuild goes on, the published table may take keys past its limit,
// up to hardLimit: room for the writes of the copy. Writers past the limit
// copy a share each (grow), so that the copy is done before hardLimit. A
// rebuild that comes while another goes on (Reserve) replaces it.
const (
	// setAsyncFrom: 256 KiB of table, ~10,000 entries, a copy of 1–2 ms.
	setAsyncFrom = 1 << 12
	// setRebuildStep is the buckets copied per hold of the lock: 64 KiB of
	// the old table, about 2,500 entries, well under a millisecond.
	setRebuildStep = 1 << 10
)

// setRebuild is one rebuild going on beside the writers.
type setRebuild struct {
	next   *setTable // the new table, published once it is full
	cursor uint64    // the next bucket of the published table to copy
}

// hardLimit is the keys at which t takes no more while a rebuild goes on:
// 10 % past its limit, where its filter lets ~1.4 % of absent keys through
// instead of 1 %, and its buckets are 94 % full.
func (t *setTable) hardLimit() int { return t.limit + t.limit/10 }

// grow returns the published table with room for one more key, t being the
// published table at its limit. Under the lock.
//
// Past its limit, while a rebuild goes on, each writer copies a share of
// what is left to copy, such that the copy is done before the table reaches
// hardLimit: a few buckets a write, at any rate of writes. The copier alone
// would fall behind writers that outrun it, and the last of them would then
// wait for the rest of the copy.
func (s *Set) grow(t *setTable) *setTable {
	for t.keys >= t.limit {
		r := s.rebuilding
		if r == nil {
			if s.rebuildSoon(t); s.rebuilding == nil {
				return s.table.Load() // rebuilt now: small
			}
			r = s.rebuilding
		}
		share := t.n // all that is left, at hardLimit
		if left := t.hardLimit() - t.keys; left > 0 {
			share = (t.n-r.cursor)/uint64(left) + 1
		}
		if !s.rebuildStep(r, share) {
			return t // still copying; t has room up to hardLimit
		}
		t = s.table.Load()
	}
	return t
}

// rebuildSoon rebuilds t (the published table, with no rebuild going on)
// into a table sized for its live entries: now when it is small, beside the
// writers when it is not. Under the lock.
func (s *Set) rebuildSoon(t *setTable) {
	if t.n < s.asyncFrom {
		s.rebuild()
		return
	}
	s.startRebuild(s.tableForLive())
}

// startRebuild starts copying the published table into next. Under the lock.
func (s *Set) startRebuild(next *setTable) {
	r := &setRebuild{next: next}
	s.rebuilding = r
	s.startRebuilding(r)
}

// copyInBackground takes r's steps until it is done, or replaced.
func (s *Set) copyInBackground(r *setRebuild) {
	for {
		s.mu.Lock()
		done := s.rebuildStep(r, s.stepBuckets)
		s.mu.Unlock()
		if done {
			return
		}
		// Let a writer that waits for the lock have it before the next step.
		runtime.Gosched()
	}
}

// rebuildStep copies the next buckets (so many) of the published table into
// r's table, and publishes that once all are copied. It reports whether r
// is over: published, or replaced by another rebuild. Under the lock.
func (s *Set) rebuildStep(r *setRebuild, buckets uint64) bool {
	if s.rebuilding != r {
		return true
	}
	old := s.table.Load()
	end := min(r.cursor+buckets, old.n)
	// put, not place: a dual write may have put an entry in already. The
	// published table has every change the new one has, so its expiry and
	// holder are the ones to keep.
	r.next.copyFrom(old, r.cursor, end)
	r.cursor = end
	if end < old.n {
		return false
	}
	s.table.Store(r.next)
	s.rebuilding = nil
	return true
}

// copyFrom puts the entries of old's buckets from up to end into t,
// prefetching the lines in t of the entries of the bucket setPrefetchAhead/4
// further on before each bucket's, so that the copy's reads of memory overlap
// (revokeBatch). Writers only.
func (t *setTable) copyFrom(old *setTable, from, end uint64) {
	const ahead = setPrefetchAhead / setSlots
	for i := from; i < min(from+ahead, end); i++ {
		t.prefetchBucket(&old.buckets[i])
	}
	for i := from; i < end; i++ {
		if j := i + ahead; j < end {
			t.prefetchBucket(&old.buckets[j])
		}
		b := &old.buckets[i]
		for k := range setSlots {
			if b.hash[k] > setRemoved {
				t.put(b.hash[k], b.exp[k], b.held[k])
			}
		}
	}
}

// prefetchBucket prefetches the lines in t of the entries of b.
func (t *setTable) prefetchBucket(b *setBucket) {
	for k := range setSlots {
		if b.hash[k] > setRemoved {
			t.prefetch(b.hash[k])
		}
	}
}
