package revocation

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
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

func BenchmarkSetInsert(b *testing.B) { benchSetInsert(b, false, false) }

// BenchmarkSetInsertReserved is BenchmarkSetInsert into a set told the
// count first (Reserve), as a full list of etcd or a snapshot does: no
// rebuilds on the way.
func BenchmarkSetInsertReserved(b *testing.B) { benchSetInsert(b, true, false) }

// BenchmarkSetInsertBatch is the inserts of the two above gathered by a
// Holding's batch, as the etcd source's full list and snapshot restore
// revoke: a group's reads of memory overlap.
func BenchmarkSetInsertBatch(b *testing.B) {
	b.Run("growing", func(b *testing.B) { benchSetInsert(b, false, true) })
	b.Run("reserved", func(b *testing.B) { benchSetInsert(b, true, true) })
}

// benchSetInsert fills sets of 2^20 entries, one after the other, from empty.
func benchSetInsert(b *testing.B, reserve, batch bool) {
	keys := setBenchKeys(1 << 20)
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	var (
		s    *Set
		sink interface{ Revoke(string, time.Time) }
		hb   *holdingBatch
	)
	i := 0
	for b.Loop() {
		if i == 0 {
			if hb != nil {
				hb.flush()
			}
			s = NewSet()
			if reserve {
				s.Reserve(len(keys))
			}
			sink = s
			if batch {
				hb = s.Hold().batch()
				sink = hb
			}
		}
		sink.Revoke(keys[i], exp)
		if i++; i == len(keys) {
			i = 0
		}
	}
}

// BenchmarkSetMemory reports what a set of ten million entries costs the
// process, per entry (B/entry): the growth of its resident memory (VmRSS)
// from before the set was made to after it was filled, both taken after a
// collection that returns free memory to the system. Everything the set
// keeps counts, whatever it is; the jtis are made in one reused buffer, so
// that only the set grows. Linux only (it reads /proc/self/statm).
func BenchmarkSetMemory(b *testing.B) {
	const n = 10_000_000
	if _, err := residentBytes(); err != nil {
		b.Skip("no resident memory figure here:", err)
	}
	exp := time.Now().Add(time.Hour)
	var perEntry float64
	for b.Loop() {
		before := settledRSS(b)
		s := NewSet()
		buf := []byte("00000000-4a1b-4c2d-8e3f-000000000000")
		for i := range n {
			setBenchKey(buf, i)
			s.Revoke(unsafe.String(&buf[0], len(buf)), exp)
		}
		after := settledRSS(b)
		if s.Len() != n {
			b.Fatalf("Len = %d, want %d", s.Len(), n)
		}
		perEntry = float64(after-before) / n
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perEntry, "B/entry")
}

// setBenchKey writes the UUID-shaped jti number i into buf (36 bytes), the
// same as setBenchKeys(i+1)[i].
func setBenchKey(buf []byte, i int) {
	const hex = "0123456789abcdef"
	for k, v := 7, i; k >= 0; k, v = k-1, v>>4 {
		buf[k] = hex[v&15]
	}
	for k, v := 35, i*7919; k >= 24; k, v = k-1, v>>4 {
		buf[k] = hex[v&15]
	}
}

// settledRSS is the resident memory after a collection that hands free
// memory back to the system.
func settledRSS(b *testing.B) int64 {
	debug.FreeOSMemory()
	rss, err := residentBytes()
	if err != nil {
		b.Fatal(err)
	}
	return rss
}

// residentBytes is the process's resident memory, from /proc/self/statm.
func residentBytes() (int64, error) {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/self/statm: %q", raw)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()), err
}

func TestSetBenchKey(t *testing.T) {
	buf := []byte("00000000-4a1b-4c2d-8e3f-000000000000")
	keys := setBenchKeys(70_000)
	for _, i := range []int{0, 1, 15, 16, 4095, 69_999} {
		setBenchKey(buf, i)
		if string(buf) != keys[i] {
			t.Fatalf("setBenchKey(%d) = %s, want %s", i, buf, keys[i])
		}
	}
}

// TestSetGrowsWithoutLosingEntries crosses many rebuilds of the table and
// checks that no revoked jti is ever reported absent, and that absent ones
// stay absent.
func TestSetGrowsWithoutLosingEntries(t *testing.T) {
	s := NewSet()
	first := s.table.Load()
	const n = 200_000
	keys := setBenchKeys(n)
	for i, k := range keys {
		s.Revoke(k, time.Time{})
		if i%997 == 0 && !s.Revoked(k) {
			t.Fatalf("entry %d lost right after Revoke", i)
		}
	}
	if s.table.Load() == first {
		t.Fatal("the table never grew")
	}
	if s.Len() != n {
		t.Fatalf("Len = %d, want %d", s.Len(), n)
	}
	for i, k := range keys {
		if !s.Revoked(k) {
			t.Fatalf("entry %d lost after the table grew", i)
		}
		if s.Revoked("absent-" + k) {
			t.Fatalf("absent-%s reported revoked", k)
		}
	}
}

// TestSetConcurrentGrowth has writers cross rebuilds while each checks that
// what it just revoked is seen, and readers check meanwhile that entries
// revoked before they started are never missed: a rebuild or an overflow
// racing a lookup must not hide an entry.
//
// It runs with the tables rebuilt under the lock (small ones) and all rebuilt
// beside the writers (set_rebuild.go).
func TestSetConcurrentGrowth(t *testing.T) {
	for _, tc := range []struct {
		name      string
		asyncFrom uint64
	}{{"under the lock", 1 << 62}, {"beside the writers", 0}} {
		t.Run(tc.name, func(t *testing.T) { setConcurrentGrowth(t, tc.asyncFrom) })
	}
}

func setConcurrentGrowth(t *testing.T, asyncFrom uint64) {
	s := NewSet()
	s.asyncFrom = asyncFrom
	const before = 5000
	for i := range before {
		s.Revoke("before-"+strconv.Itoa(i), time.Time{})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := range 30_000 {
				jti := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				s.Revoke(jti, time.Time{})
				if !s.Revoked(jti) {
					errs <- jti
					return
				}
				if i%3 == 0 {
					s.Unrevoke(jti)
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for i := 0; ; i = (i + 1) % before {
				select {
				case <-stop:
					return
				default:
				}
				if jti := "before-" + strconv.Itoa(i); !s.Revoked(jti) {
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
	close(stop)
	readers.Wait()
	close(errs)
	for jti := range errs {
		t.Errorf("%s not revoked when it should be", jti)
	}
	if want := before + 4*20_000; s.Len() != want {
		t.Fatalf("Len = %d, want %d", s.Len(), want)
	}
}

// TestSetShrinksAfterSweep: after most entries expire and are swept, the
// table is rebuilt small (its tombstones gone) and keeps the rest.
func TestSetShrinksAfterSweep(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSet()
	for i := range 100_000 {
		s.Revoke("short-"+strconv.Itoa(i), base.Add(time.Minute))
	}
	for i := range 100 {
		s.Revoke("long-"+strconv.Itoa(i), time.Time{})
	}
	big := len(s.table.Load().buckets)
	if got := s.Sweep(base.Add(time.Hour)); got != 100_000 {
		t.Fatalf("Sweep removed %d", got)
	}
	settleSet(s)
	if small := len(s.table.Load().buckets); small >= big {
		t.Fatalf("table still %d buckets after the sweep (was %d)", small, big)
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

// TestSetTombstonesDoNotFillTheTable: revoking and un-revoking without end
// (a busy store whose keys come and go) leaves tombstones that must be
// cleared by rebuilds, never making the table grow without bound or a
// lookup walk it all.
func TestSetTombstonesDoNotFillTheTable(t *testing.T) {
	s := NewSet()
	s.Revoke("kept", time.Time{})
	for i := range 200_000 {
		jti := "churn-" + strconv.Itoa(i)
		s.Revoke(jti, time.Time{})
		s.Unrevoke(jti)
	}
	if n := len(s.table.Load().buckets); n != setMinBuckets {
		t.Fatalf("table of %d buckets for one entry after churn", n)
	}
	if !s.Revoked("kept") || s.Revoked("churn-5") || s.Len() != 1 {
		t.Fatalf("after churn: kept=%v churn-5=%v len=%d", s.Revoked("kept"), s.Revoked("churn-5"), s.Len())
	}
}

// TestSetFullProbe fills both homes of some hashes in a small table: every
// entry that had to go on past them must still be found, also when the
// chain wraps around the end of the table, and an absent hash with the same
// homes must stop at the end of the chain.
func TestSetFullProbe(t *testing.T) {
	tb := newSetTable(0)
	last := tb.n - 1
	// Both halves of each hash are near the top: both homes are the last
	// bucket, and the chain wraps to bucket 0.
	var hs []uint64
	for i := uint64(0); len(hs) < 3*setSlots; i++ {
		h := 0xffff_ff00_ffff_ff00 | i<<32 | i
		if a, b := tb.homes(h); a != last || b != last {
			t.Fatalf("homes of %x: %d, %d", h, a, b)
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		if _, added := tb.put(h, 0, 0); !added {
			t.Fatalf("%x not added", h)
		}
	}
	for _, h := range hs {
		if b, _ := tb.find(h); b == nil {
			t.Fatalf("%x lost in the overflow chain", h)
		}
	}
	if b, _ := tb.find(0xffff_ffff_ffff_ffff); b != nil {
		t.Fatal("an absent hash was found")
	}
	if tb.buckets[last].overflow == 0 || tb.buckets[0].overflow == 0 || tb.buckets[1].overflow != 0 {
		t.Fatal("the buckets passed are not marked as overflowed, or one too many is")
	}
}

// TestSetReserve: a set told the count fills up to it without a rebuild,
// keeps what it held, stays within 32 bytes an entry, and a Reserve it has
// room for changes nothing.
func TestSetReserve(t *testing.T) {
	const n = 50_000
	keys := setBenchKeys(n)
	s := NewSet()
	for _, k := range keys[:10] {
		s.Revoke(k, time.Time{})
	}
	s.Reserve(n)
	tb := s.table.Load()
	if size := len(tb.buckets)*int(unsafe.Sizeof(setBucket{})) + len(tb.filter)*8; size > 32*n {
		t.Fatalf("a table reserved for %d entries takes %d bytes", n, size)
	}
	for _, k := range keys[10:] {
		s.Revoke(k, time.Time{})
	}
	if s.table.Load() != tb {
		t.Fatal("the table was rebuilt before it held the count it was reserved for")
	}
	s.Reserve(n - 100)
	if s.table.Load() != tb {
		t.Fatal("a Reserve the table had room for rebuilt it")
	}
	checkSetFilter(t, s, "after a reserved fill")
	for i, k := range keys {
		if !s.Revoked(k) {
			t.Fatalf("entry %d lost", i)
		}
	}
}
