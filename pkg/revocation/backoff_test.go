package revocation

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := newBackoff(100*time.Millisecond, 30*time.Second)
	want := 100 * time.Millisecond
	for i := range 20 {
		d := b.next()
		if d < want/2 || d > want {
			t.Fatalf("delay %d = %v, want within [%v, %v]", i, d, want/2, want)
		}
		want = min(want*2, 30*time.Second)
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Fatalf("after reset: %v", d)
	}
}
