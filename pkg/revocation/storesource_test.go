package revocation

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// listStore is a Store for tests: Load returns its list, or fails while
// failLoads is positive, or panics while panicLoads is.
type listStore struct {
	mu         sync.Mutex
	entries    []Entry
	loads      int
	failLoads  int
	panicLoads int
}

func (s *listStore) set(entries ...Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = entries
}

func (s *listStore) Load(context.Context) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if s.panicLoads > 0 {
		s.panicLoads--
		panic("store bug")
	}
	if s.failLoads > 0 {
		s.failLoads--
		return nil, errors.New("store unavailable")
	}
	return append([]Entry(nil), s.entries...), nil
}

func (s *listStore) loadCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads
}

// watchStore is a listStore that is also a Watcher: Watch applies the
// changes sent on its channel, and returns the errors sent on fail.
type watchStore struct {
	listStore
	changes chan func(Sink)
	fail    chan error
	mu2     sync.Mutex
	watches int
}

func newWatchStore() *watchStore {
	return &watchStore{changes: make(chan func(Sink)), fail: make(chan error)}
}

func (s *watchStore) Watch(ctx context.Context, sink Sink) error {
	s.mu2.Lock()
	s.watches++
	s.mu2.Unlock()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-s.changes:
			f(sink)
		case err := <-s.fail:
			return err
		}
	}
}

func (s *watchStore) watchCount() int {
	s.mu2.Lock()
	defer s.mu2.Unlock()
	return s.watches
}

func newTestStoreSource(t testing.TB, store Store) (*StoreSource, *storeLogs) {
	logs := newStoreLogs()
	src := NewStoreSource(store, logs.logger()).WithRegisterer(prometheus.NewRegistry())
	t.Cleanup(func() {
		if t.Failed() {
			logs.dump(t)
		}
	})
	return src, logs
}

func TestStoreSourceLoadsAndResyncs(t *testing.T) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	store := &listStore{}
	store.set(Entry{JTI: "a"}, Entry{JTI: "b", ExpiresAt: exp}, Entry{JTI: ""})
	src, logs := newTestStoreSource(t, store)
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)

	if got := strings.Join(sink.jtis(), ","); got != "a,b" {
		t.Fatalf("after ready, revoked = %s, want a,b", got)
	}
	if got, _ := sink.expiry("b"); !got.Equal(exp) {
		t.Errorf("expiry of b = %v, want %v", got, exp)
	}
	if got := storeMetricValue(src.metrics.loaded); got != 1 {
		t.Errorf("loaded = %v, want 1", got)
	}

	store.set(Entry{JTI: "b", ExpiresAt: exp}, Entry{JTI: "c"})
	src.Resync()
	storeEventually(t, "the resync applies the new list", func() bool {
		return sink.has("c") && !sink.has("a") && sink.has("b")
	})
	if n := logs.count(slog.LevelInfo, "resync requested"); n != 1 {
		t.Errorf("resync logged %d times, want 1", n)
	}
	// The gauge is set once the whole list is applied, just after the sink.
	storeEventually(t, "keys gauge = 2", func() bool { return storeMetricValue(src.metrics.keys) == 2 })
}

func TestStoreSourceRetriesUntilLoaded(t *testing.T) {
	store := &listStore{failLoads: 3, panicLoads: 1}
	store.set(Entry{JTI: "a"})
	src, logs := newTestStoreSource(t, store)
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)
	if !sink.has("a") {
		t.Fatal("ready before the list was loaded")
	}
	if got := store.loadCount(); got != 5 {
		t.Errorf("Load called %d times, want 5 (one panic, three failures, one success)", got)
	}
	if n := logs.count(slog.LevelWarn, "failed; retrying"); n != 2 {
		t.Errorf("%d failures logged at WARN, want 2: the panic and the first failure (repeats go to DEBUG)", n)
	}
	if _, ok := logs.find("failed; retrying"); !ok {
		t.Fatal("no failure logged")
	}
	rec, _ := logs.find("failed; retrying")
	if !strings.Contains(rec.attrs, "custom store panicked: store bug") {
		t.Errorf("first failure = %q, want the panic", rec.attrs)
	}
	if logs.count(slog.LevelInfo, "reachable again") != 1 {
		t.Error("the recovery is not logged")
	}
}

func TestStoreSourceWatcher(t *testing.T) {
	store := newWatchStore()
	store.set(Entry{JTI: "listed"})
	src, _ := newTestStoreSource(t, store)
	sink := newStoreRecSink()
	run := startStoreSource(t, src, sink)
	run.waitReady(t)

	store.changes <- func(s Sink) { s.Revoke("watched", time.Time{}) }
	store.changes <- func(s Sink) { s.Revoke("watched-then-removed", time.Time{}) }
	store.changes <- func(s Sink) { s.Unrevoke("watched-then-removed") }
	storeEventually(t, "the watch's changes arrive", func() bool {
		return sink.has("watched") && !sink.has("watched-then-removed")
	})

	// The watch fails: the source loads again, which drops "watched" (the
	// store no longer lists it), and watches again.
	store.set(Entry{JTI: "listed"}, Entry{JTI: "new"})
	store.fail <- errors.New("connection reset")
	storeEventually(t, "the source reloads and watches again", func() bool {
		return store.watchCount() == 2 && sink.has("new") && !sink.has("watched") && sink.has("listed")
	})
	store.changes <- func(s Sink) { s.Revoke("second-watch", time.Time{}) }
	storeEventually(t, "the second watch delivers", func() bool { return sink.has("second-watch") })

	// A resync stops the watch, reloads, and watches again.
	loads := store.loadCount()
	src.Resync()
	storeEventually(t, "the resync reloads and watches again", func() bool {
		return store.loadCount() == loads+1 && store.watchCount() == 3
	})
	if sink.has("second-watch") {
		t.Error("a jti revoked by the watch but no longer listed survived a reload")
	}
}

func TestStoreSourceWatchReturningNilIsRetried(t *testing.T) {
	store := newWatchStore()
	src, logs := newTestStoreSource(t, store)
	run := startStoreSource(t, src, newStoreRecSink())
	run.waitReady(t)
	store.fail <- nil
	storeEventually(t, "a Watch that returns early is reported and run again", func() bool {
		return store.watchCount() == 2 && logs.count(slog.LevelWarn, "watch the custom store failed") == 1
	})
}

func TestStoreSourceRunTwice(t *testing.T) {
	src, _ := newTestStoreSource(t, &listStore{})
	run := startStoreSource(t, src, newStoreRecSink())
	run.waitReady(t)
	if err := src.Run(context.Background(), newStoreRecSink(), func() {}); err == nil {
		t.Fatal("a second concurrent Run did not fail")
	}
}

func TestNewCustomStore(t *testing.T) {
	reg := &Registry{}
	var got StoreConfig
	reg.Register(StoreInfo{Name: "list", New: func(cfg StoreConfig) (Store, error) {
		got = cfg
		return &listStore{}, nil
	}})
	reg.Register(StoreInfo{Name: "broken", New: func(StoreConfig) (Store, error) {
		return nil, errors.New("missing setting x")
	}})
	reg.Register(StoreInfo{Name: "nil", New: func(StoreConfig) (Store, error) { return nil, nil }})

	store, err := NewCustomStore(reg, "list", StoreConfig{ProjectRoot: "/p", Settings: map[string]any{"k": "v"}})
	if err != nil || store == nil {
		t.Fatalf("NewCustomStore(list) = %v, %v", store, err)
	}
	if got.ProjectRoot != "/p" || got.Settings["k"] != "v" || got.Logger == nil {
		t.Errorf("store got %+v", got)
	}
	if _, err := NewCustomStore(reg, "broken", StoreConfig{}); err == nil || !strings.Contains(err.Error(), `custom revocation store "broken": missing setting x`) {
		t.Errorf("broken: err = %v", err)
	}
	if _, err := NewCustomStore(reg, "nil", StoreConfig{}); err == nil {
		t.Error("a nil store was accepted")
	}
	if _, err := NewCustomStore(reg, "absent", StoreConfig{}); err == nil {
		t.Error("an unknown name was accepted")
	}
	if _, err := NewCustomStore(reg, "", StoreConfig{}); err == nil {
		t.Error("an empty name with three stores was accepted")
	}
}
