package revocation

import (
	"strconv"
	"testing"
	"time"
)

// TestHoldingReload: a full reload through a Holding un-revokes what the
// holding held before and did not revoke again, and nothing else: not what
// the set was told directly, nor what another holding holds.
func TestHoldingReload(t *testing.T) {
	s := NewSet()
	h := s.Hold()
	other := s.Hold()
	for i := range 10 {
		h.Revoke("h-"+strconv.Itoa(i), time.Time{})
	}
	other.Revoke("other", time.Time{})
	s.Revoke("direct", time.Now().Add(time.Hour))
	if h.Len() != 10 || other.Len() != 1 || s.Len() != 12 {
		t.Fatalf("held %d, %d; set %d", h.Len(), other.Len(), s.Len())
	}

	h.BeginReload()
	for i := 5; i < 15; i++ { // 0-4 are gone from the store, 10-14 are new
		h.Revoke("h-"+strconv.Itoa(i), time.Time{})
	}
	if got := h.EndReload(); got != 5 {
		t.Fatalf("EndReload removed %d, want 5", got)
	}
	for i := range 15 {
		if want := i >= 5; s.Revoked("h-"+strconv.Itoa(i)) != want {
			t.Fatalf("h-%d revoked = %v after the reload", i, !want)
		}
	}
	if !s.Revoked("other") || !s.Revoked("direct") {
		t.Fatal("a reload of one holding removed entries it did not hold")
	}
	if h.Len() != 10 || other.Len() != 1 || s.Len() != 12 {
		t.Fatalf("after the reload: held %d, %d; set %d", h.Len(), other.Len(), s.Len())
	}
	if got := h.EndReload(); got != 0 {
		t.Fatalf("an EndReload without BeginReload removed %d", got)
	}
}

// TestHoldingFailedReloadStartsOver: a reload that breaks off half way and
// starts over stays in the same round, so that what the first attempt
// listed is not taken for what the holding held before.
func TestHoldingFailedReloadStartsOver(t *testing.T) {
	s := NewSet()
	h := s.Hold()
	for _, j := range []string{"a", "b", "c"} {
		h.Revoke(j, time.Time{})
	}
	h.BeginReload()
	h.Revoke("a", time.Time{}) // the first attempt lists a, then fails
	h.BeginReload()            // the second starts over
	h.Revoke("b", time.Time{})
	h.Revoke("d", time.Time{})
	if got := h.EndReload(); got != 2 {
		t.Fatalf("EndReload removed %d, want 2 (a and c)", got)
	}
	if s.Revoked("a") || !s.Revoked("b") || s.Revoked("c") || !s.Revoked("d") {
		t.Fatalf("a=%v b=%v c=%v d=%v", s.Revoked("a"), s.Revoked("b"), s.Revoked("c"), s.Revoked("d"))
	}
	// A later reload is a new round: b and d go unless listed again.
	h.BeginReload()
	h.Revoke("d", time.Time{})
	if got := h.EndReload(); got != 1 || s.Revoked("b") || !s.Revoked("d") {
		t.Fatalf("second reload removed %d; b=%v d=%v", got, s.Revoked("b"), s.Revoked("d"))
	}
}

// TestHoldingSharedEntry: a jti that a holding and the set's own Revoke
// both revoked is one entry with the later expiry, held by the holding; the
// holding's Unrevoke (the store deleted the key) removes it.
func TestHoldingSharedEntry(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSet()
	h := s.Hold()
	s.Revoke("j", base.Add(time.Minute))
	h.Revoke("j", time.Time{})
	s.Revoke("j", base.Add(time.Hour))
	if s.Len() != 1 || h.Len() != 1 || !s.RevokedAt("j", base.Add(1000*time.Hour)) {
		t.Fatalf("len %d held %d; revoked for ever %v", s.Len(), h.Len(), s.RevokedAt("j", base.Add(1000*time.Hour)))
	}
	h.Unrevoke("j")
	if s.Revoked("j") || s.Len() != 0 || h.Len() != 0 {
		t.Fatalf("after Unrevoke: revoked %v, len %d, held %d", s.Revoked("j"), s.Len(), h.Len())
	}
}

// TestHoldingSurvivesRebuilds: what a holding holds is carried through the
// table's growth, so a reload after it still knows what to remove.
func TestHoldingSurvivesRebuilds(t *testing.T) {
	s := NewSet()
	h := s.Hold()
	const n = 50_000
	for i := range n {
		h.Revoke("h-"+strconv.Itoa(i), time.Time{})
	}
	for i := range n {
		s.Revoke("s-"+strconv.Itoa(i), time.Time{})
	}
	h.BeginReload()
	if got := h.EndReload(); got != n {
		t.Fatalf("an empty reload removed %d, want %d", got, n)
	}
	if s.Len() != n || h.Len() != 0 || s.Revoked("h-7") || !s.Revoked("s-7") {
		t.Fatalf("len %d held %d", s.Len(), h.Len())
	}
}
