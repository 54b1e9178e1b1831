package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StoreSource runs a custom Store ([tokenRevocationConfig.persistent]
// useDefault = false) as a Source: it loads the store's list into the sink,
// calls ready, then, when the store is also a Watcher, lets it deliver
// changes; when Watch fails it loads again and watches again after a
// backoff. Resync loads again.
//
// It remembers which jtis it (or the store's Watch) revoked in the sink, so
// that a load removes the ones the store no longer lists.
type StoreSource struct {
	store   Store
	log     *slog.Logger
	metrics *storeMetrics
	storeControl

	mu    sync.Mutex
	known map[string]struct{} // jtis revoked in the sink through this source
}

// NewStoreSource returns a source that runs store. A nil logger means
// slog.Default().
func NewStoreSource(store Store, logger *slog.Logger) *StoreSource {
	if logger == nil {
		logger = slog.Default()
	}
	return &StoreSource{
		store:        store,
		log:          logger.With("source", "custom store"),
		metrics:      newStoreMetrics(nil, "custom"),
		storeControl: newStoreControl(),
		known:        map[string]struct{}{},
	}
}

// WithRegisterer exports the source's metrics (the same ones as the etcd
// source's, labelled store="custom") to reg. Call it before Run.
func (s *StoreSource) WithRegisterer(reg prometheus.Registerer) *StoreSource {
	s.metrics = newStoreMetrics(reg, "custom")
	return s
}

// NewCustomStore creates the custom store registered in reg (nil means
// DefaultRegistry) under name (empty: the only one registered).
func NewCustomStore(reg *Registry, name string, cfg StoreConfig) (Store, error) {
	if reg == nil {
		reg = DefaultRegistry
	}
	info, err := reg.Lookup(name)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = cfg.Logger.With("store", info.Name)
	store, err := info.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("custom revocation store %q: %w", info.Name, err)
	}
	if store == nil {
		return nil, fmt.Errorf("custom revocation store %q: New returned no store", info.Name)
	}
	return store, nil
}

// Run implements Source. It returns nil when ctx is done; failures of the
// store are logged and retried with backoff.
func (s *StoreSource) Run(ctx context.Context, sink Sink, ready func()) error {
	release, err := s.claim("custom store", s.metrics)
	if err != nil {
		return err
	}
	defer release()

	retries := s.newRetry(s.log)
	isReady := false
	// wait sleeps a backoff after a failure; false means ctx is done. A
	// Resync cuts it short: the loop loads again anyway.
	wait := func(what string, err error) bool {
		_, ok := retries.wait(ctx, what, err)
		return ok
	}

	for ctx.Err() == nil {
		if err := s.load(ctx, sink); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.metrics.loaded.Set(0)
			if !wait("load revoked tokens from the custom store", err) {
				return nil
			}
			continue
		}
		retries.failing.recovered(s.log)
		s.metrics.loaded.Set(1)
		if !isReady {
			isReady = true
			ready()
		}

		w, ok := s.store.(Watcher)
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-s.resync:
				s.log.Info("resync requested: reloading revoked tokens from the custom store")
				continue
			}
		}
		watchStart := time.Now()
		err := s.watch(ctx, w, sink)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errResyncRequested):
			s.log.Info("resync requested: reloading revoked tokens from the custom store")
			continue
		case err == nil:
			err = errors.New("the store's Watch returned before its context was done")
		}
		if time.Since(watchStart) > storeBackoffMax {
			// The watch had been working: this is a new failure, not the
			// next of a streak.
			retries.bo.reset()
		}
		if !wait("watch the custom store", err) {
			return nil
		}
	}
	return nil
}

// load calls the store's Load and brings the sink in line with its list.
func (s *StoreSource) load(ctx context.Context, sink Sink) error {
	start := time.Now()
	entries, err := callStore(func() ([]Entry, error) { return s.store.Load(ctx) })
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]struct{}, len(entries))
	for _, e := range entries {
		if e.JTI == "" {
			continue
		}
		sink.Revoke(e.JTI, e.ExpiresAt)
		seen[e.JTI] = struct{}{}
	}
	removed := 0
	for jti := range s.known {
		if _, ok := seen[jti]; !ok {
			sink.Unrevoke(jti)
			removed++
		}
	}
	s.known = seen
	s.metrics.keys.Set(float64(len(seen)))
	s.metrics.reloads.Inc()
	s.log.Info("revoked tokens loaded from the custom store",
		"count", len(seen), "removed", removed, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// watch runs the store's Watch until it returns, ctx is done or a resync is
// requested (errResyncRequested). The store's Watch gets a sink that records
// what it revokes, so that a later load can remove it when the store no
// longer lists it.
func (s *StoreSource) watch(ctx context.Context, w Watcher, sink Sink) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := callStore(func() ([]Entry, error) { return nil, w.Watch(wctx, trackingSink{s, sink}) })
		errc <- err
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		cancel()
		<-errc
		return ctx.Err()
	case <-s.resync:
		cancel()
		<-errc
		return errResyncRequested
	}
}

// callStore runs f, turning a panic in the store's code into an error: a
// bug in an extension must not take the gateway down.
func callStore(f func() ([]Entry, error)) (entries []Entry, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("custom store panicked: %v", p)
		}
	}()
	return f()
}

// trackingSink passes a Watcher's changes on to the sink and keeps the
// source's record of what is revoked through it.
type trackingSink struct {
	s    *StoreSource
	sink Sink
}

func (t trackingSink) Revoke(jti string, expiresAt time.Time) {
	if jti == "" {
		return
	}
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.sink.Revoke(jti, expiresAt)
	t.s.known[jti] = struct{}{}
	t.s.metrics.keys.Set(float64(len(t.s.known)))
}

func (t trackingSink) Unrevoke(jti string) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	t.sink.Unrevoke(jti)
	delete(t.s.known, jti)
	t.s.metrics.keys.Set(float64(len(t.s.known)))
}

var (
	_ Source   = (*StoreSource)(nil)
	_ Resyncer = (*StoreSource)(nil)
	_ Sink     = trackingSink{}
)
