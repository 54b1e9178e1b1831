package revocation

import (
	"fmt"
	"time"
)

// Holder is a Sink that can tell what each of its sources revoked, so that a
// source that reloads everything it holds (EtcdSource) can un-revoke what a
// reload no longer lists without remembering the jtis itself. *Set and
// Revocations are Holders.
type Holder interface {
	Sink
	// Hold returns a new Holding: what one source revokes through it.
	Hold() *Holding
}

// Holding is what one source revoked in a Set. Its Revoke marks the entry as
// held by this source, in the current round, in the set's own table (two
// bytes an entry that are there anyway): the source keeps nothing per entry.
// A full reload is BeginReload, a Revoke of everything listed, EndReload,
// which un-revokes what this source held before and did not revoke again.
//
// An entry held by one source and revoked through the set (or another
// holding) as well stays one entry: its expiry is the later of the two, and
// the last holding to revoke it holds it. Unrevoke removes it whoever holds
// it, as Set.Unrevoke does (a store deleted the key).
//
// A Holding is used from one goroutine at a time (its source's).
type Holding struct {
	set *Set
	id  uint16
	// round alternates between full reloads: entries revoked through h
	// carry it, and EndReload removes those of h that carry the other.
	round     uint16
	reloading bool // between BeginReload and EndReload
}

// maxHolders bounds the holdings of one Set (an id is 15 bits of an entry).
const maxHolders = 1<<15 - 1

// Hold implements Holder. It panics when the set has handed out maxHolders
// holdings, which no configuration comes near (one per persistent source
// per start).
func (s *Set) Hold() *Holding {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.holders) > maxHolders {
		panic(fmt.Sprintf("revocation: more than %d holdings of one Set", maxHolders))
	}
	s.holders = append(s.holders, 0)
	return &Holding{set: s, id: uint16(len(s.holders) - 1)}
}

// Revoke implements Sink: Set.Revoke, with the entry held by h.
func (h *Holding) Revoke(jti string, expiresAt time.Time) {
	h.set.revoke(h.set.key(jti), setExpiry(expiresAt), h.id<<1|h.round)
}

// batch returns a Sink that revokes through h holdingBatchSize at a time
// (Set.revokeBatch), for a source that revokes many at once: a full list of
// etcd, a snapshot. What it gathers is revoked when it is full, before an
// Unrevoke through it (changes keep their order), and at flush, which the
// source calls before anything else may read the set or use h. A batch is
// used from h's goroutine.
func (h *Holding) batch() *holdingBatch {
	return &holdingBatch{h: h, es: make([]setEntry, 0, holdingBatchSize)}
}

// holdingBatchSize is the revocations a holdingBatch gathers before it
// revokes them under one hold of the lock: many times revokeBatch's
// prefetch distance, few enough that the lock is held for microseconds.
const holdingBatchSize = 256

type holdingBatch struct {
	h  *Holding
	es []setEntry
}

// Revoke implements Sink: Holding.Revoke, once the batch is flushed.
func (b *holdingBatch) Revoke(jti string, expiresAt time.Time) {
	b.es = append(b.es, setEntry{b.h.set.key(jti), setExpiry(expiresAt)})
	if len(b.es) == cap(b.es) {
		b.flush()
	}
}

// Unrevoke implements Sink: Holding.Unrevoke, after what was gathered.
func (b *holdingBatch) Unrevoke(jti string) {
	b.flush()
	b.h.Unrevoke(jti)
}

// flush revokes what was gathered.
func (b *holdingBatch) flush() {
	if len(b.es) > 0 {
		b.h.set.revokeBatch(b.es, b.h.id<<1|b.h.round)
		b.es = b.es[:0]
	}
}

// Reserve is Set.Reserve.
func (h *Holding) Reserve(n int) { h.set.Reserve(n) }

// Unrevoke implements Sink: Set.Unrevoke.
func (h *Holding) Unrevoke(jti string) { h.set.Unrevoke(jti) }

// BeginReload starts a full reload: what h holds from now on is the new
// round; what it held before goes at EndReload unless revoked again. A
// reload that starts over after one that broke off first hands what that
// one revoked back to the old round: it must be listed again to stay, as a
// key deleted between the two attempts is in neither list nor in the watch
// that follows.
func (h *Holding) BeginReload() {
	if h.reloading {
		h.set.remark(h.id<<1|h.round, h.id<<1|h.round^1)
		return
	}
	h.reloading = true
	h.round ^= 1
}

// EndReload un-revokes the entries h held before BeginReload that were not
// revoked through h since, and returns how many. Without a BeginReload it
// removes nothing.
func (h *Holding) EndReload() int {
	if !h.reloading {
		return 0
	}
	h.reloading = false
	current := h.id<<1 | h.round
	return h.set.removeWhere(func(b *setBucket, k int) bool {
		held := b.held[k]
		return held>>1 == h.id && held != current
	})
}

// remark gives every entry held as from the holder value to (the same
// holder: the counts do not change).
func (s *Set) remark(from, to uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.table.Load().remark(from, to)
	if r := s.rebuilding; r != nil {
		r.next.remark(from, to)
	}
}

// remark is Set.remark in one table. Writers only.
func (t *setTable) remark(from, to uint16) {
	for i := range t.buckets {
		b := &t.buckets[i]
		for k := range setSlots {
			if b.hash[k] > setRemoved && b.held[k] == from {
				b.held[k] = to
			}
		}
	}
}

// Len returns the number of entries h holds.
func (h *Holding) Len() int {
	h.set.mu.Lock()
	defer h.set.mu.Unlock()
	return h.set.holders[h.id]
}

var _ Holder = (*Set)(nil)
