package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// errResyncRequested ends a source's watch when Resync was called.
var errResyncRequested = errors.New("resync requested")

// storeControl is what the persistent sources share around Run: one Run at
// a time, and Resync requests, of which one at most is pending.
type storeControl struct {
	resync  chan struct{}
	running atomic.Bool
}

func newStoreControl() storeControl { return storeControl{resync: make(chan struct{}, 1)} }

// Resync asks the running source to load its store again, then follow it
// again. It does not block; requests made while one is pending are
// coalesced.
func (c *storeControl) Resync() {
	select {
	case c.resync <- struct{}{}:
	default:
	}
}

// claim reserves the source for one Run (of the named source); release
// frees it again, and sets m's loaded gauge to 0: a source that does not run
// follows nothing.
func (c *storeControl) claim(name string, m *storeMetrics) (release func(), err error) {
	if !c.running.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("%s source is already running", name)
	}
	return func() {
		m.loaded.Set(0)
		c.running.Store(false)
	}, nil
}

// storeRetry is one Run's way of retrying: the backoff and the log of the
// failures, and the Resync requests that cut a wait short.
type storeRetry struct {
	bo      *backoff
	failing failureLog
	log     *slog.Logger
	resync  <-chan struct{}
	// hint, when set, goes with every failure logged (devHint).
	hint string
}

func (c *storeControl) newRetry(log *slog.Logger) *storeRetry {
	return &storeRetry{bo: newBackoff(storeBackoffMin, storeBackoffMax), log: log, resync: c.resync}
}

// wait logs err from what (once per kind of failure) and sleeps a backoff.
// It reports false when ctx is done, and resynced when a Resync cut the
// wait short (the caller owes a full load).
func (r *storeRetry) wait(ctx context.Context, what string, err error) (resynced, ok bool) {
	d := r.bo.next()
	r.failing.log(r.log, what, err, d, r.hint)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-r.resync:
		return true, true
	case <-t.C:
		return false, true
	}
}

// recovered ends a streak of failures: logged if there was one, and the
// backoff starts again from its shortest step.
func (r *storeRetry) recovered() {
	r.failing.recovered(r.log)
	r.bo.reset()
}

// A persistent source retries from storeBackoffMin doubling to
// storeBackoffMax.
const (
	storeBackoffMin = 250 * time.Millisecond
	storeBackoffMax = 30 * time.Second
)

// failureLog keeps a failing source from repeating itself: the first failure
// of a streak (and any failure that differs from the one before) is logged
// at WARN, or ERROR when only the configuration can mend it; repeats are
// logged at DEBUG, and the end of a streak at INFO.
type failureLog struct {
	failing bool
	last    string
}

func (f *failureLog) log(l *slog.Logger, what string, err error, retryIn time.Duration, hint string) {
	level := slog.LevelWarn
	if isConfigFault(err) {
		level = slog.LevelError
	}
	msg := err.Error()
	if f.failing && msg == f.last {
		level = slog.LevelDebug
	}
	f.failing, f.last = true, msg
	args := []any{"err", err, "retry_in", retryIn.Round(time.Millisecond)}
	if hint != "" {
		args = append(args, "hint", hint)
	}
	l.Log(context.Background(), level, what+" failed; retrying", args...)
}

func (f *failureLog) recovered(l *slog.Logger) {
	if f.failing {
		l.Info("revocation store reachable again")
	}
	f.failing, f.last = false, ""
}

// isConfigFault reports whether err is one that retrying will not mend
// unless someone changes a password or a permission.
func isConfigFault(err error) bool {
	return errors.Is(err, rpctypes.ErrAuthFailed) || errors.Is(err, rpctypes.ErrUserEmpty) ||
		errors.Is(err, rpctypes.ErrPermissionDenied)
}

// storeMetrics are the gauges and counter of one persistent source, labelled
// with the kind of store ("etcd", "custom").
type storeMetrics struct {
	// loaded is 1 while the source holds a complete list: after a full load,
	// and until a reload is needed.
	loaded prometheus.Gauge
	// connected is 1 while the source's connection to its store is up.
	connected prometheus.Gauge
	// keys is how many revoked jtis the source holds.
	keys prometheus.Gauge
	// reloads counts completed full loads (the first one included).
	reloads prometheus.Counter
}

func newStoreMetrics(reg prometheus.Registerer, store string) *storeMetrics {
	labels := prometheus.Labels{"store": store}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
	}
	m := &storeMetrics{
		loaded: gauge("microgw_revocation_store_loaded",
			"1 while the persistent revocation store's list is loaded and being followed, 0 before the first load and while a reload is due."),
		connected: gauge("microgw_revocation_store_connected", "1 while the connection to the persistent revocation store is up."),
		keys:      gauge("microgw_revocation_store_keys", "Revoked token IDs held from the persistent revocation store."),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "microgw_revocation_store_reloads_total",
			Help:        "Completed full loads of the persistent revocation store, the first one included.",
			ConstLabels: labels,
		}),
	}
	if reg == nil {
		return m
	}
	m.loaded = registerOrExisting(reg, m.loaded)
	m.connected = registerOrExisting(reg, m.connected)
	m.keys = registerOrExisting(reg, m.keys)
	m.reloads = registerOrExisting(reg, m.reloads)
	return m
}

// registerOrExisting registers c, or returns the collector already
// registered under the same name and labels (a source made again by a
// reload of the configuration).
func registerOrExisting[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// Another collector owns the name with other labels or help: keep
		// ours unexported rather than fail the source over metrics.
	}
	return c
}
