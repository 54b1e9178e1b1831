package revocation

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMemoryLatency is not the set's: it is the floor under a lookup
// that must read the table at a million entries, a random 64-byte line of
// ~25 MB. It follows a chain through a 32 MiB array in 4 KiB pages (as the
// table's are), one link per 64-byte line in a random cycle, so each read
// waits for the one before: the latency of one access to memory on this
// machine, TLB miss included (ns/op is one read). A hit at 1M reads its
// homes (two lines, at once) and waits for them: about one such read.
func BenchmarkMemoryLatency(b *testing.B) {
	type line struct {
		next uint32
		_    [60]byte
	}
	lines := make([]line, 32<<20/64)
	order := make([]uint32, len(lines))
	for i := range order {
		order[i] = uint32(i)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for i := range order {
		lines[order[i]].next = order[(i+1)%len(order)]
	}
	var at uint32
	for b.Loop() {
		at = lines[at].next
	}
	sinkLatency = at
}

var sinkLatency uint32
