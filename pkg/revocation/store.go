package revocation

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Entry is one revoked token as a custom store reports it.
type Entry struct {
	JTI string
	// ExpiresAt is when the revocation may be forgotten; zero means never.
	ExpiresAt time.Time
}

// Store is the extension point for a custom persistent store
// ([tokenRevocationConfig.persistent] useDefault = false). A project's
// extensions/*.go registers one with RegisterStore in an init function.
type Store interface {
	// Load returns everything currently revoked.
	Load(ctx context.Context) ([]Entry, error)
}

// Watcher is optionally implemented by a Store that can report changes after
// the first Load. Watch blocks until ctx is done, delivering changes to sink;
// when it returns an error the runtime reloads and watches again after a backoff.
type Watcher interface {
	Watch(ctx context.Context, sink Sink) error
}

// StoreConfig is what a custom store is given when it is created.
type StoreConfig struct {
	// ProjectRoot is the folder that holds conf/, against which relative
	// paths in Settings are resolved.
	ProjectRoot string
	// Settings are the keys of [tokenRevocationConfig.persistent] other than
	// the ones the runtime itself reads.
	Settings map[string]any
	Logger   *slog.Logger
}

// StoreInfo registers a custom store under a name.
type StoreInfo struct {
	Name string
	New  func(StoreConfig) (Store, error)
}

// Registry holds the custom stores compiled into a gateway. It is an explicit
// value so that tests can build their own; DefaultRegistry is the one that
// extensions register into from init functions, like Caddy's module map.
type Registry struct {
	mu     sync.RWMutex
	stores map[string]StoreInfo
}

// DefaultRegistry is where RegisterStore puts stores.
var DefaultRegistry = &Registry{}

// RegisterStore registers a custom store in DefaultRegistry. It panics on an
// empty or duplicate name: both are programming errors in an extension and
// must fail the first run, not a later request.
func RegisterStore(info StoreInfo) { DefaultRegistry.Register(info) }

// Register adds info to r; see RegisterStore.
func (r *Registry) Register(info StoreInfo) {
	if info.Name == "" || info.New == nil {
		panic("revocation: RegisterStore needs a Name and a New function")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stores == nil {
		r.stores = map[string]StoreInfo{}
	}
	if _, dup := r.stores[info.Name]; dup {
		panic(fmt.Sprintf("revocation: store %q registered twice", info.Name))
	}
	r.stores[info.Name] = info
}

// Lookup returns the store registered as name. With name empty it returns the
// only registered store, and an error when there is none or more than one.
func (r *Registry) Lookup(name string) (StoreInfo, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if name != "" {
		info, ok := r.stores[name]
		if !ok {
			return StoreInfo{}, fmt.Errorf("no custom revocation store named %q is compiled in (have: %v)", name, r.namesLocked())
		}
		return info, nil
	}
	switch len(r.stores) {
	case 0:
		return StoreInfo{}, fmt.Errorf("useDefault = false but no custom revocation store is compiled in: add one to the project's extensions/ and rebuild")
	case 1:
		for _, info := range r.stores {
			return info, nil
		}
	}
	return StoreInfo{}, fmt.Errorf("several custom revocation stores are compiled in (%v): choose one with the key store = \"NAME\"", r.namesLocked())
}

func (r *Registry) namesLocked() []string {
	names := make([]string, 0, len(r.stores))
	for n := range r.stores {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
