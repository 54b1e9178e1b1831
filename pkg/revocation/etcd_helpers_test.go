package revocation

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// storeRecSink is a Sink that remembers what it was told, for tests of the
// sources that must not depend on the real Set.
type storeRecSink struct {
	mu        sync.Mutex
	revoked   map[string]time.Time
	revokes   int
	unrevokes int
}

func newStoreRecSink() *storeRecSink {
	return &storeRecSink{revoked: map[string]time.Time{}}
}

func (s *storeRecSink) Revoke(jti string, expiresAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[jti] = expiresAt
	s.revokes++
}

func (s *storeRecSink) Unrevoke(jti string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.revoked, jti)
	s.unrevokes++
}

func (s *storeRecSink) has(jti string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.revoked[jti]
	return ok
}

func (s *storeRecSink) expiry(jti string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.revoked[jti]
	return t, ok
}

func (s *storeRecSink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.revoked)
}

func (s *storeRecSink) jtis() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.revoked))
	for j := range s.revoked {
		out = append(out, j)
	}
	slices.Sort(out)
	return out
}

// storeLogs is a slog.Handler that keeps every record, so tests can wait
// for a log line instead of sleeping.
type storeLogs struct {
	mu      sync.Mutex
	records []storeLogRecord
	attrs   []slog.Attr
	shared  *storeLogs
}

type storeLogRecord struct {
	level slog.Level
	msg   string
	attrs string
}

func newStoreLogs() *storeLogs {
	r := &storeLogs{}
	r.shared = r
	return r
}

func (r *storeLogs) logger() *slog.Logger { return slog.New(r) }

func (r *storeLogs) Enabled(context.Context, slog.Level) bool { return true }

func (r *storeLogs) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	for _, a := range r.attrs {
		fmt.Fprintf(&b, "%s=%v ", a.Key, a.Value)
	}
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, "%s=%v ", a.Key, a.Value)
		return true
	})
	r.shared.mu.Lock()
	r.shared.records = append(r.shared.records, storeLogRecord{rec.Level, rec.Message, b.String()})
	r.shared.mu.Unlock()
	return nil
}

func (r *storeLogs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &storeLogs{attrs: append(slices.Clone(r.attrs), attrs...), shared: r.shared}
}

func (r *storeLogs) WithGroup(string) slog.Handler { return r }

// count returns how many records have a message containing msg at level or
// above.
func (r *storeLogs) count(level slog.Level, msg string) int {
	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	n := 0
	for _, rec := range r.shared.records {
		if rec.level >= level && strings.Contains(rec.msg, msg) {
			n++
		}
	}
	return n
}

// find returns the first record whose message contains msg.
func (r *storeLogs) find(msg string) (storeLogRecord, bool) {
	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	for _, rec := range r.shared.records {
		if strings.Contains(rec.msg, msg) {
			return rec, true
		}
	}
	return storeLogRecord{}, false
}

// lastAttr is the value of the attribute key in the last record whose
// message contains msg, "" if there is none.
func (r *storeLogs) lastAttr(msg, key string) string {
	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	for i := len(r.shared.records) - 1; i >= 0; i-- {
		if rec := r.shared.records[i]; strings.Contains(rec.msg, msg) {
			for _, f := range strings.Fields(rec.attrs) {
				if v, ok := strings.CutPrefix(f, key+"="); ok {
					return v
				}
			}
		}
	}
	return ""
}

func (r *storeLogs) dump(t testing.TB) {
	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	for _, rec := range r.shared.records {
		t.Logf("log %v %s %s", rec.level, rec.msg, rec.attrs)
	}
}

// eventually polls cond until it holds or a generous deadline passes. Tests
// wait for results this way and never assert on how long something took.
func storeEventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storeRun is a Source started in the background for a test.
type storeRun struct {
	ready  chan struct{}
	done   chan error
	cancel context.CancelFunc
}

// startStoreSource runs src into sink until the test ends, and checks that Run
// then returns nil and called ready at most once.
func startStoreSource(t testing.TB, src Source, sink Sink) *storeRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &storeRun{ready: make(chan struct{}), done: make(chan error, 1), cancel: cancel}
	var once sync.Once
	calls := 0
	go func() {
		r.done <- src.Run(ctx, sink, func() {
			calls++
			once.Do(func() { close(r.ready) })
		})
	}()
	t.Cleanup(func() {
		r.stop(t)
		if calls > 1 {
			t.Errorf("ready called %d times, want once", calls)
		}
	})
	return r
}

func (r *storeRun) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("Run did not return after cancel")
	}
}

func (r *storeRun) waitReady(t testing.TB) {
	t.Helper()
	select {
	case <-r.ready:
	case err := <-r.done:
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("source not ready in time")
	}
}

func (r *storeRun) isReady() bool {
	select {
	case <-r.ready:
		return true
	default:
		return false
	}
}
