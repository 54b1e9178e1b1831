package statuslist

import (
	"testing"
	"time"
)

func heldLists(b testing.TB, n int) (*Lists, Reference) {
	l, err := NewList(1, n)
	if err != nil {
		b.Fatal(err)
	}
	lists := NewLists()
	uri := "https://idp.example.com/statuslists/1"
	lists.put(uri, &held{list: l, fetchedAt: time.Now(), usableUntil: time.Now().Add(time.Hour)})
	lists.put("https://idp.example.com/statuslists/2", &held{list: l})
	return lists, Reference{Index: uint64(n / 2), URI: uri}
}

// BenchmarkListsStatus is the request path's question: the entry of a
// token in a list of a million entries held.
func BenchmarkListsStatus(b *testing.B) {
	lists, ref := heldLists(b, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		if _, res := lists.Status(ref); res != Found {
			b.Fatal(res)
		}
	}
}

// TestListsStatusDoesNotAllocate: the lookup of a held list allocates nothing.
func TestListsStatusDoesNotAllocate(t *testing.T) {
	lists, ref := heldLists(t, 1<<10)
	if n := testing.AllocsPerRun(100, func() { lists.Status(ref) }); n != 0 {
		t.Errorf("Lists.Status allocates %v times", n)
	}
}
