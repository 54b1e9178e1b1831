package revocation

import (
	"math/bits"
	"sync/atomic"
)

// The filter in front of the table: a blocked Bloom filter of one 64-bit
// word per key. A lookup of an absent jti (every valid token) reads one word
// of it, which at a million entries is in a filter of ~1.5–2.5 MB that stays
// in the processor's cache where the ~25 MB table cannot, and goes on to the
// table only when the word has all the key's bits (a false positive, ≤ 1 %).
//
// Sizing: setFilterBits bits for each key the table may take before it is
// rebuilt (its limit), setFilterK bits a key, all in the word the key's hash
// picks. A word-blocked filter is worse than a classic one at the same size,
// so it is given more bits: at 12 bits a key and k = 5, about 1 % of absent
// keys pass when the table is full, 0.2 % right after a rebuild (the table
// at 50 %, ~20 bits a key). That is 1.5–2.6 bytes an entry beside the
// table's 19–32.
//
// Bits are never cleared: a removed entry (Unrevoke, Sweep, EndReload) leaves
// its bits set until the table is rebuilt. So that stale bits never make the
// filter fuller than it was sized for, the table counts every key put into
// its filter (keys), and is rebuilt when that reaches its limit, as it is
// when entries and tombstones do (a key put into a tombstone's slot counts
// too). Under steady churn (revoke, un-revoke) this rebuilds a table once per
// ~0.4 × limit inserts, a copy of its live entries: still a constant per
// insert.
const (
	setFilterBits = 12
	setFilterK    = 5
)

// newSetFilter is a filter for limit keys.
func newSetFilter(limit int) []uint64 {
	return make([]uint64, max(1, (limit*setFilterBits+63)/64))
}

// setFilterMask is the key's bits in its word: five 6-bit fields of the low
// 30 bits of h. The word is chosen by the high bits (filterWord), so the two
// are independent for a good hash: no second hash of the jti is needed.
func setFilterMask(h uint64) uint64 {
	return 1<<(h&63) | 1<<(h>>6&63) | 1<<(h>>12&63) | 1<<(h>>18&63) | 1<<(h>>24&63)
}

// filterWord is the index of h's word in t.filter.
func (t *setTable) filterWord(h uint64) uint64 {
	w, _ := bits.Mul64(h, uint64(len(t.filter)))
	return w
}

// mayHold reports whether t may hold h: false means it does not. Readers
// call it without the lock.
func (t *setTable) mayHold(h uint64) bool {
	m := setFilterMask(h)
	return atomic.LoadUint64(&t.filter[t.filterWord(h)])&m == m
}

// addKey sets h's bits in the filter. A writer calls it before it publishes
// the entry in the table (the atomic store of its hash), so a reader that
// sees the entry, or comes after it was published, sees its bits too.
func (t *setTable) addKey(h uint64) {
	atomic.OrUint64(&t.filter[t.filterWord(h)], setFilterMask(h))
	t.keys++
}
