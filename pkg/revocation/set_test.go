package revocation

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestSetRevokeAndLookup(t *testing.T) {
	s := NewSet()
	if s.Revoked("a") {
		t.Fatal("empty set says a is revoked")
	}
	s.Revoke("a", time.Time{})
	s.Revoke("b", time.Now().Add(time.Hour))
	if !s.Revoked("a") || !s.Revoked("b") {
		t.Fatal("revoked jtis are not reported as revoked")
	}
	if s.Revoked("c") || s.Revoked("") || s.Revoked("A") {
		t.Fatal("a jti that was never revoked is reported as revoked")
	}
	if got := s.Len(); got != 2 {
		t.Fatalf("Len = %d, want 2", got)
	}
	s.Unrevoke("a")
	if s.Revoked("a") {
		t.Fatal("a is still revoked after Unrevoke")
	}
	s.Unrevoke("never-there")
	if got := s.Len(); got != 1 {
		t.Fatalf("Len = %d, want 1", got)
	}
}

func TestSetExpiry(t *testing.T) {
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewSet()
	s.Revoke("j", base.Add(10*time.Second))
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{9*time.Second + 999*time.Millisecond, true},
		{10 * time.Second, false},
		{time.Hour, false},
	} {
		if got := s.RevokedAt("j", base.Add(tc.at)); got != tc.want {
			t.Errorf("RevokedAt(base+%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
	// A fractional expiry is rounded up: the revocation holds at least
	// until the time asked for.
	s.Revoke("f", base.Add(1500*time.Millisecond))
	if !s.RevokedAt("f", base.Add(1999*time.Millisecond)) {
		t.Error("revocation with a fractional expiry ended early")
	}
	// An expiry already past is not revoked (and waits for the sweep).
	s.Revoke("old", time.Now().Add(-time.Minute))
	if s.Revoked("old") {
		t.Error("entry past its expiry is reported as revoked")
	}
	// Times out of the 32-bit range.
	s.Revoke("far", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
	if !s.RevokedAt("far", time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("expiry past 2106 must be kept as never")
	}
	s.Revoke("past", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC))
	if s.Revoked("past") {
		t.Error("expiry before 1970 must be kept as expired")
	}
}

func TestSetRevokeAgainKeepsLaterExpiry(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSet()
	s.Revoke("j", base.Add(time.Hour))
	s.Revoke("j", base.Add(time.Minute)) // earlier: ignored
	if !s.RevokedAt("j", base.Add(30*time.Minute)) {
		t.Fatal("an earlier expiry replaced a later one")
	}
	s.Revoke("j", base.Add(2*time.Hour)) // later: taken
	if !s.RevokedAt("j", base.Add(90*time.Minute)) {
		t.Fatal("a later expiry was not taken")
	}
	s.Revoke("j", time.Time{}) // never: wins
	s.Revoke("j", base.Add(time.Second))
	if !s.RevokedAt("j", base.Add(1000*time.Hour)) {
		t.Fatal("no expiry must win over any time")
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
}

func TestSetSweep(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSet()
	for i := range 1000 {
		s.Revoke("short-"+strconv.Itoa(i), base.Add(time.Minute))
		s.Revoke("long-"+strconv.Itoa(i), base.Add(time.Hour))
		s.Revoke("never-"+strconv.Itoa(i), time.Time{})
	}
	if got := s.Sweep(base); got != 0 {
		t.Fatalf("Sweep before any expiry removed %d", got)
	}
	if got := s.Sweep(base.Add(time.Minute)); got != 1000 {
		t.Fatalf("Sweep at the first expiry removed %d, want 1000", got)
	}
	if got := s.Len(); got != 2000 {
		t.Fatalf("Len = %d, want 2000", got)
	}
	if !s.RevokedAt("long-5", base.Add(time.Minute)) || !s.RevokedAt("never-5", base.Add(time.Minute)) {
		t.Fatal("Sweep removed an entry that had not expired")
	}
	if got := s.Sweep(base.Add(1000 * time.Hour)); got != 1000 {
		t.Fatalf("second Sweep removed %d, want 1000", got)
	}
	if !s.Revoked("never-999") {
		t.Fatal("Sweep removed an entry without expiry")
	}
}

func TestSetRunSweeper(t *testing.T) {
	s := NewSet()
	s.Revoke("gone", time.Now().Add(-time.Second))
	s.Revoke("kept", time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.RunSweeper(ctx, time.Millisecond); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for s.Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper never removed the expired entry")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if !s.Revoked("kept") {
		t.Fatal("the sweeper removed an entry without expiry")
	}
}

// TestSetConcurrent is meant for -race: readers, writers and a sweeper at once.
func TestSetConcurrent(t *testing.T) {
	s := NewSet()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				jti := fmt.Sprintf("w%d-%d", w, i)
				s.Revoke(jti, time.Now().Add(time.Duration(i%3)*time.Hour))
				if i%2 == 0 {
					s.Unrevoke(jti)
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for i := range 2000 {
				s.Revoked(fmt.Sprintf("w1-%d", i))
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			s.Sweep(time.Now())
		}
	})
	wg.Wait()
	for w := range 4 {
		// i = 1999 is odd (kept) with a 1h expiry (1999%3 = 1).
		if !s.Revoked(fmt.Sprintf("w%d-1999", w)) {
			t.Fatalf("w%d-1999 lost under concurrency", w)
		}
		if s.Revoked(fmt.Sprintf("w%d-1998", w)) {
			t.Fatalf("w%d-1998 still revoked after Unrevoke", w)
		}
	}
}

// TestSetSweeperClock: while RunSweeper runs, Revoked reads its clock, which
// must honour expiries (never end a revocation early, and end it within a
// couple of seconds); once it stops, the real clock is read again.
func TestSetSweeperClock(t *testing.T) {
	s := NewSet()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.RunSweeper(ctx, time.Hour); close(done) }()
	for s.clock.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if c := s.clock.Load(); c > time.Now().Unix() {
		t.Fatalf("sweeper clock %d is ahead of the real clock", c)
	}
	s.Revoke("past", time.Now().Add(-10*time.Second))
	s.Revoke("future", time.Now().Add(time.Hour))
	s.Revoke("soon", time.Now().Add(time.Second))
	if s.Revoked("past") || !s.Revoked("future") {
		t.Fatal("expiries wrong with the sweeper clock")
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.Revoked("soon") {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper clock never moved past a 1 s expiry")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if s.clock.Load() != 0 {
		t.Fatal("the clock is still set after the sweeper stopped")
	}
	s.Revoke("soon-2", time.Now().Add(-time.Second))
	if s.Revoked("soon-2") || !s.Revoked("future") {
		t.Fatal("expiries wrong after the sweeper stopped")
	}
}

func TestSetLookupDoesNotAllocate(t *testing.T) {
	s := NewSet()
	s.Revoke("present", time.Now().Add(time.Hour))
	if n := testing.AllocsPerRun(100, func() {
		s.Revoked("present")
		s.Revoked("absent")
	}); n != 0 {
		t.Fatalf("lookup allocates %v times", n)
	}
}

func setBenchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		// The shape of a UUID jti, 36 bytes.
		keys[i] = fmt.Sprintf("%08x-4a1b-4c2d-8e3f-%012x", i, i*7919)
	}
	return keys
}

func BenchmarkSetLookup(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1k", 1_000}, {"1M", 1_000_000}} {
		keys := setBenchKeys(size.n)
		s := NewSet()
		// As in the gateway: the sweeper runs, and keeps the clock that a
		// hit with an expiry reads.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go s.RunSweeper(ctx, time.Hour)
		for s.clock.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		exp := time.Now().Add(time.Hour)
		for _, k := range keys {
			s.Revoke(k, exp)
		}
		// Hits: the worse case, as a hit with an expiry also reads the clock.
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if !s.Revoked(keys[i]) {
					b.Fatal("miss")
				}
				i++
				if i == len(keys) {
					i = 0
				}
			}
		})
		// Misses: the common case on the request path.
		misses := setBenchKeys(size.n)
		for i := range misses {
			misses[i] = "x" + misses[i][1:]
		}
		b.Run(size.name+"-miss", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if s.Revoked(misses[i]) {
					b.Fatal("hit")
				}
				i++
				if i == len(misses) {
					i = 0
				}
			}
		})
		b.Run(size.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					s.Revoked(keys[i])
					i++
					if i == len(keys) {
						i = 0
					}
				}
			})
		})
		b.Run(size.name+"-nosweeper", func(b *testing.B) {
			cancel()
			for s.clock.Load() != 0 {
				time.Sleep(time.Millisecond)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if !s.Revoked(keys[i]) {
					b.Fatal("miss")
				}
				i++
				if i == len(keys) {
					i = 0
				}
			}
		})
	}
}

func BenchmarkSetInsert(b *testing.B) {
	keys := setBenchKeys(1 << 20)
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	s := NewSet()
	i := 0
	for b.Loop() {
		s.Revoke(keys[i], exp)
		i++
		if i == len(keys) {
			i = 0
			s = NewSet()
		}
	}
}

// BenchmarkSetMemory reports the heap held per entry of a set of a million
// entries (B/entry), apart from the jti strings themselves, which the set does
// not keep.
func BenchmarkSetMemory(b *testing.B) {
	const n = 1_000_000
	keys := setBenchKeys(n)
	exp := time.Now().Add(time.Hour)
	var perEntry float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := NewSet()
		for _, k := range keys {
			s.Revoke(k, exp)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perEntry, "B/entry")
}

// TestSetFilterGrowsWithoutLosingEntries crosses many filter rebuilds and
// checks that no revoked jti is ever reported absent (the filter must have
// no false negatives) and that absent ones mostly stop at the filter.
func TestSetFilterGrowsWithoutLosingEntries(t *testing.T) {
	s := NewSet()
	first := s.filter.Load()
	const n = 200_000
	keys := setBenchKeys(n)
	for i, k := range keys {
		s.Revoke(k, time.Time{})
		if i%997 == 0 && !s.Revoked(k) {
			t.Fatalf("entry %d lost right after Revoke", i)
		}
	}
	if s.filter.Load() == first {
		t.Fatal("the filter never grew")
	}
	if s.Len() != n {
		t.Fatalf("Len = %d, want %d", s.Len(), n)
	}
	for i, k := range keys {
		if !s.Revoked(k) {
			t.Fatalf("entry %d lost after the filter grew", i)
		}
	}
	f := s.filter.Load()
	passed := 0
	for i := range n {
		if f.mayHave(maphash.String(s.seed, "absent-"+strconv.Itoa(i))) {
			passed++
		}
	}
	// About 1.4% at the fullest, 0.4% just after growing; 5% means broken.
	if passed > n/20 {
		t.Fatalf("%d of %d absent jtis passed the filter", passed, n)
	}
}

// TestSetFilterConcurrentGrowth has writers cross rebuilds while each checks
// that what it just revoked is seen: a rebuild racing a Revoke must not drop
// the entry's filter bits.
func TestSetFilterConcurrentGrowth(t *testing.T) {
	s := NewSet()
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := range 30_000 {
				jti := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				s.Revoke(jti, time.Time{})
				if !s.Revoked(jti) {
					errs <- jti
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			s.Sweep(time.Now())
		}
	})
	wg.Wait()
	close(errs)
	for jti := range errs {
		t.Errorf("%s not revoked right after Revoke", jti)
	}
	if s.Len() != 120_000 {
		t.Fatalf("Len = %d, want 120000", s.Len())
	}
}

// TestSetFilterShrinksAfterSweep: after most entries expire and are swept,
// the filter is rebuilt small (its stale bits cleared) and keeps the rest.
func TestSetFilterShrinksAfterSweep(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSet()
	for i := range 100_000 {
		s.Revoke("short-"+strconv.Itoa(i), base.Add(time.Minute))
	}
	for i := range 100 {
		s.Revoke("long-"+strconv.Itoa(i), time.Time{})
	}
	big := len(s.filter.Load().words)
	if got := s.Sweep(base.Add(time.Hour)); got != 100_000 {
		t.Fatalf("Sweep removed %d", got)
	}
	if small := len(s.filter.Load().words); small >= big {
		t.Fatalf("filter still %d words after the sweep (was %d)", small, big)
	}
	for i := range 100 {
		if !s.Revoked("long-" + strconv.Itoa(i)) {
			t.Fatalf("long-%d lost in the shrink", i)
		}
	}
	s.Unrevoke("long-0")
	if s.Revoked("long-0") || s.Len() != 99 {
		t.Fatalf("Unrevoke after shrink: revoked=%v len=%d", s.Revoked("long-0"), s.Len())
	}
}
