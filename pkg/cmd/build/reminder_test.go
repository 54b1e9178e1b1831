package build

import (
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

func TestReminderSpeaksUntilStopped(t *testing.T) {
	out := &syncbuf.Buffer{}
	r := &reminder{out: out, first: time.Nanosecond, every: time.Millisecond}
	r.start("Compiling source")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "still running") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no second reminder: %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	r.Stop()
	said := out.String()
	if !strings.HasPrefix(said, "\tCompiling source: still running after ") || strings.Count(said, "first build on a machine") != 1 {
		t.Errorf("reminders = %q", said)
	}
	time.Sleep(5 * time.Millisecond)
	if out.String() != said {
		t.Errorf("a reminder after Stop: %q", strings.TrimPrefix(out.String(), said))
	}
	r.Stop() // a second Stop is harmless
}
