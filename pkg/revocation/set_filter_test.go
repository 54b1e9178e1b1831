package revocation

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkSetFilter fails t unless every entry of s's table passes its filter,
// and the filter holds no more keys than it was sized for.
func checkSetFilter(t *testing.T, s *Set, when string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	tb := s.table.Load()
	if tb.keys > tb.limit && (s.rebuilding == nil || tb.keys > tb.hardLimit()) {
		t.Fatalf("%s: %d keys in a filter sized for %d", when, tb.keys, tb.limit)
	}
	for i := range tb.buckets {
		for k, h := range tb.buckets[i].hash {
			if h > setRemoved && !tb.mayHold(h) {
				t.Fatalf("%s: the filter says bucket %d slot %d (%x) is absent", when, i, k, h)
			}
		}
	}
}

// TestSetFilterHoldsEveryEntry: across growth, removals, sweeps, reloads
// and the rebuilds they cause, the filter never says absent for an entry in
// the table, and it lets few absent jtis through.
func TestSetFilterHoldsEveryEntry(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSet()
	keys := setBenchKeys(100_000)
	for i, k := range keys {
		exp := time.Time{}
		if i%4 == 0 {
			exp = base.Add(time.Minute)
		}
		s.Revoke(k, exp)
	}
	checkSetFilter(t, s, "after growth")
	for i := 1; i < len(keys); i += 4 {
		s.Unrevoke(keys[i])
	}
	checkSetFilter(t, s, "after Unrevoke")
	if got := s.Sweep(base.Add(time.Hour)); got != 25_000 {
		t.Fatalf("Sweep removed %d, want 25000", got)
	}
	checkSetFilter(t, s, "after Sweep")
	h := s.Hold()
	h.BeginReload()
	for i := 2; i < len(keys); i += 4 {
		h.Revoke(keys[i], time.Time{})
	}
	h.EndReload()
	checkSetFilter(t, s, "after a reload")
	for i, k := range keys {
		if want := i%4 >= 2; s.Revoked(k) != want {
			t.Fatalf("Revoked(%s) = %v, want %v", k, !want, want)
		}
	}
	// Absent jtis: at most ~1 % pass the filter of a full table (see
	// set_filter.go); 3 % leaves room for chance, and would still catch a
	// filter that had filled up.
	tb := s.table.Load()
	passed := 0
	const absent = 100_000
	for i := range absent {
		if tb.mayHold(s.key("absent-" + strconv.Itoa(i))) {
			passed++
		}
	}
	if passed > absent*3/100 {
		t.Fatalf("%d of %d absent jtis passed the filter", passed, absent)
	}
}

// TestSetFilterStaleBitsRebuild: keys that come and go leave bits that are
// never cleared; they must make the table rebuild (and its filter with it)
// before the filter holds more keys than it was sized for, while the table
// itself, reusing its tombstones, would not have needed to.
func TestSetFilterStaleBitsRebuild(t *testing.T) {
	s := NewSet()
	for i := range 500 {
		s.Revoke("kept-"+strconv.Itoa(i), time.Time{})
	}
	first := s.table.Load()
	for i := range 20_000 {
		jti := "churn-" + strconv.Itoa(i)
		s.Revoke(jti, time.Time{})
		s.Unrevoke(jti)
		if i%1000 == 0 {
			checkSetFilter(t, s, "during churn")
		}
	}
	if s.table.Load() == first {
		t.Fatal("20000 keys went through a filter sized for fewer without a rebuild")
	}
	checkSetFilter(t, s, "after churn")
	for i := range 500 {
		if !s.Revoked("kept-" + strconv.Itoa(i)) {
			t.Fatalf("kept-%d lost in the churn", i)
		}
	}
}

// TestSetFilterSetBeforePublish: a reader that sees an entry in the table
// must find its bits in the filter: the writer sets them first. Readers spin
// on the next entry a writer is about to publish and look at the filter the
// moment the entry appears (meant for -race as well). One reader: with a
// writer, that is the machine's two cores.
func TestSetFilterSetBeforePublish(t *testing.T) {
	s := NewSet()
	keys := setBenchKeys(60_000)
	hashes := make([]uint64, len(keys))
	for i, k := range keys {
		hashes[i] = s.key(k)
	}
	var next atomic.Int64 // the entry the writer revokes next
	var wg sync.WaitGroup
	errs := make(chan string, 1)
	wg.Go(func() {
		for spins := 0; ; {
			i := next.Load()
			if i >= int64(len(keys)) {
				return
			}
			for {
				tb := s.table.Load()
				if b, _ := tb.find(hashes[i]); b != nil {
					if !tb.mayHold(hashes[i]) {
						errs <- keys[i]
						return
					}
					break
				}
				if next.Load() > i+1 {
					break // published in a table this reader did not see
				}
				if spins++; spins%4096 == 0 {
					runtime.Gosched() // should the writer share this core
				}
			}
		}
	})
	for i, k := range keys {
		next.Store(int64(i))
		s.Revoke(k, time.Time{})
	}
	next.Store(int64(len(keys)))
	wg.Wait()
	close(errs)
	for k := range errs {
		t.Errorf("%s seen in the table before its bits were in the filter", k)
	}
}

// TestSetConcurrentRevokeRevoked: once Revoke returned, every lookup
// reports the jti revoked, whatever rebuilds and filters come and go
// meanwhile (meant for -race).
func TestSetConcurrentRevokeRevoked(t *testing.T) {
	s := NewSet()
	keys := setBenchKeys(30_000)
	var done atomic.Int64 // keys[:done] were revoked
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for r := range 2 {
		wg.Go(func() {
			for j := r; ; j++ {
				n := done.Load()
				if n == int64(len(keys)) {
					return
				}
				if n == 0 {
					continue
				}
				// The newest entry, and one further back.
				for _, i := range []int64{n - 1, int64(j*7919) % n} {
					if !s.Revoked(keys[i]) {
						errs <- keys[i]
						return
					}
				}
			}
		})
	}
	for i, k := range keys {
		s.Revoke(k, time.Time{})
		if i%3 == 2 {
			// Churn, so that removed entries' bits go stale as well.
			jti := "gone-" + k
			s.Revoke(jti, time.Time{})
			s.Unrevoke(jti)
		}
		done.Store(int64(i + 1))
	}
	wg.Wait()
	close(errs)
	for k := range errs {
		t.Errorf("%s not revoked after Revoke returned", k)
	}
}
