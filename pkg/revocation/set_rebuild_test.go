package revocation

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// settleSet finishes the rebuild going on beside the writers, if one is.
func settleSet(s *Set) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rebuilding; r != nil {
		for !s.rebuildStep(r, s.stepBuckets) {
		}
	}
}

// TestSetRebuildBesideWriters: with every rebuild going on beside the
// writers and stepped by hand at random points between them, the set
// answers as a plain map of the same changes would at every point: what is
// revoked, until when, how many, and what a holding holds, through growth,
// Unrevoke, Sweep, reloads, Reserve and batches. A change a rebuild missed
// (an entry copied before it was changed, or not copied after it was put)
// would show once the new table is published.
func TestSetRebuildBesideWriters(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { setRebuildBesideWriters(t, seed) })
	}
}

func setRebuildBesideWriters(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := NewSet()
	// Every rebuild beside the writers, a few buckets a step, so that many
	// changes come between the first step of a rebuild and its last.
	s.asyncFrom, s.stepBuckets = 0, 1+seed%4*3
	var started int
	s.startRebuilding = func(*setRebuild) { started++ } // stepped below, by hand
	h := s.Hold()

	// The model: expiry (0 never) and whether h holds the entry, and in
	// which round.
	type entry struct {
		exp   uint32
		held  bool
		round uint16
	}
	model := map[string]entry{}
	var round uint16
	reloading := false
	const base = 1_900_000_000
	now := uint32(base)
	jtis := make([]string, 4000)
	for i := range jtis {
		jtis[i] = fmt.Sprintf("jti-%d", i)
	}
	expiry := func() (uint32, time.Time) {
		if rng.IntN(4) == 0 {
			return 0, time.Time{}
		}
		e := now + uint32(rng.IntN(600))
		return e, time.Unix(int64(e), 0)
	}
	check := func(op int, what string) {
		t.Helper()
		at := time.Unix(int64(now), 0)
		for range 50 {
			j := jtis[rng.IntN(len(jtis))]
			e, ok := model[j]
			want := ok && (e.exp == 0 || now < e.exp)
			if got := s.RevokedAt(j, at); got != want {
				t.Fatalf("op %d (%s): RevokedAt(%s) = %v, want %v (model %+v %v)", op, what, j, got, want, e, ok)
			}
		}
		held := 0
		for _, e := range model {
			if e.held {
				held++
			}
		}
		if s.Len() != len(model) || h.Len() != held {
			t.Fatalf("op %d (%s): Len %d, holding %d; want %d, %d", op, what, s.Len(), h.Len(), len(model), held)
		}
	}

	holdingRevoked := func(j string, e uint32) {
		m, ok := model[j]
		if ok {
			m.exp = setLaterExpiry(m.exp, e)
		} else {
			m.exp = e
		}
		m.held, m.round = true, round
		model[j] = m
	}

	for op := range 60_000 {
		j := jtis[rng.IntN(len(jtis))]
		var what string
		switch p := rng.IntN(100); {
		case p < 45:
			what = "Revoke"
			e, at := expiry()
			s.Revoke(j, at)
			m := model[j]
			if _, ok := model[j]; ok {
				m.exp = setLaterExpiry(m.exp, e)
			} else {
				m.exp = e
			}
			model[j] = m
		case p < 65:
			what = "Holding.Revoke"
			e, at := expiry()
			h.Revoke(j, at)
			holdingRevoked(j, e)
		case p < 75:
			// A batch as a full list or a snapshot uses it: revocations
			// gathered into groups (revokeBatch), an Unrevoke among them
			// now and then, which must come after what was gathered.
			what = "batch"
			b := h.batch()
			for range rng.IntN(3 * setPrefetchAhead) {
				j := jtis[rng.IntN(len(jtis))]
				if rng.IntN(10) == 0 {
					b.Unrevoke(j)
					delete(model, j)
					continue
				}
				e, at := expiry()
				b.Revoke(j, at)
				holdingRevoked(j, e)
			}
			b.flush()
		case p < 92:
			what = "Unrevoke"
			s.Unrevoke(j)
			delete(model, j)
		case p < 94:
			what = "Sweep"
			now += uint32(rng.IntN(120))
			s.Sweep(time.Unix(int64(now), 0))
			for k, e := range model {
				if e.exp != 0 && e.exp <= now {
					delete(model, k)
				}
			}
		case p < 96:
			what = "BeginReload"
			h.BeginReload()
			if reloading {
				for k, e := range model {
					if e.held && e.round == round {
						e.round = round ^ 1
						model[k] = e
					}
				}
			} else {
				reloading, round = true, round^1
			}
		case p < 98:
			what = "EndReload"
			h.EndReload()
			if reloading {
				reloading = false
				for k, e := range model {
					if e.held && e.round != round {
						delete(model, k)
					}
				}
			}
		case p < 99 && rng.IntN(20) == 0:
			what = "Reserve"
			s.Reserve(len(model) + rng.IntN(5000))
		default:
			what = "steps"
		}
		for range rng.IntN(3) {
			s.mu.Lock()
			if r := s.rebuilding; r != nil {
				s.rebuildStep(r, s.stepBuckets)
			}
			s.mu.Unlock()
		}
		if op%97 == 0 {
			if msg := s.consistency(); msg != "" {
				t.Fatalf("op %d (%s): %s", op, what, msg)
			}
			check(op, what)
		}
	}
	settleSet(s)
	if msg := s.consistency(); msg != "" {
		t.Fatalf("settled: %s", msg)
	}
	check(-1, "settled")
	checkSetFilter(t, s, "settled")
	if started == 0 {
		t.Fatal("no rebuild went on beside the writers")
	}
}

// consistency says what is wrong with the tables of s, "" when nothing:
// the live count and the holders' counts are those of the published table,
// every entry is reachable by find, and while a rebuild goes on, every entry
// of the new table is in the published one, and every entry already copied
// is in the new one with the same expiry and holder.
func (s *Set) consistency() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table.Load()
	live, held := 0, map[uint16]int{}
	oldE := map[uint64][3]uint64{}
	for i := range t.buckets {
		b := &t.buckets[i]
		for k := range setSlots {
			if b.hash[k] > setRemoved {
				if _, dup := oldE[b.hash[k]]; dup {
					return fmt.Sprintf("duplicate in published %x", b.hash[k])
				}
				live++
				if b.held[k] != 0 {
					held[b.held[k]>>1]++
				}
				oldE[b.hash[k]] = [3]uint64{uint64(b.exp[k]), uint64(b.held[k]), uint64(i)}
				if fb, _ := t.find(b.hash[k]); fb == nil {
					return fmt.Sprintf("published %x at %d unreachable", b.hash[k], i)
				}
			}
		}
	}
	if int64(live) != s.live.Load() {
		return fmt.Sprintf("live %d vs %d", live, s.live.Load())
	}
	for id, c := range s.holders {
		if id > 0 && held[uint16(id)] != c {
			return fmt.Sprintf("holder %d: %d vs %d", id, held[uint16(id)], c)
		}
	}
	if r := s.rebuilding; r != nil {
		for i := uint64(0); i < r.cursor; i++ {
			b := &t.buckets[i]
			for k := range setSlots {
				if h := b.hash[k]; h > setRemoved {
					if fb, _ := r.next.find(h); fb == nil {
						return fmt.Sprintf("published %x at %d (copied) missing in next", h, i)
					}
				}
			}
		}
		for i := range r.next.buckets {
			b := &r.next.buckets[i]
			for k := range setSlots {
				if h := b.hash[k]; h > setRemoved {
					o, ok := oldE[h]
					if !ok {
						return fmt.Sprintf("next has %x, published does not", h)
					}
					if o[2] < r.cursor && (o[0] != uint64(b.exp[k]) || o[1] != uint64(b.held[k])) {
						return fmt.Sprintf("next %x exp/held %d/%d, published %d/%d", h, b.exp[k], b.held[k], o[0], o[1])
					}
					if fb, _ := r.next.find(h); fb == nil {
						return fmt.Sprintf("next has %x at %d but find does not reach it", h, i)
					}
				}
			}
		}
	}
	return ""
}

// BenchmarkSetInsertPause revokes 2M jtis one after the other into a set
// that grows (no Reserve), timing each, and reports the longest wait of one
// Revoke (max-ns) and the 99.9th percentile (p999-ns): the time a
// revocation that comes during a rebuild is held up. "under-lock" rebuilds
// every table under the writers' lock, as all were before set_rebuild.go;
// "beside" is the set as it is.
func BenchmarkSetInsertPause(b *testing.B) {
	const n = 2_000_000
	keys := setBenchKeys(n)
	exp := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		name      string
		asyncFrom uint64
	}{{"under-lock", 1 << 62}, {"beside", setAsyncFrom}} {
		b.Run(tc.name, func(b *testing.B) {
			waits := make([]time.Duration, n)
			var worst, p999 time.Duration
			for b.Loop() {
				s := NewSet()
				s.asyncFrom = tc.asyncFrom
				for i, k := range keys {
					t0 := time.Now()
					s.Revoke(k, exp)
					waits[i] = time.Since(t0)
				}
				slices.Sort(waits)
				worst, p999 = max(worst, waits[n-1]), max(p999, waits[n-n/1000])
			}
			b.ReportMetric(float64(worst.Nanoseconds()), "max-ns")
			b.ReportMetric(float64(p999.Nanoseconds()), "p999-ns")
		})
	}
}
