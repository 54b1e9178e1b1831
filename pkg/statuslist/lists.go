package statuslist

import (
	"sync"
	"sync/atomic"
	"time"
)

// Lists holds the verified lists by URI: what the request path asks, one
// map read and one byte read, without a lock, a clock or an allocation.
// The Fetcher feeds it (Put) and retires copies that may no longer be used
// (Expire), so a lookup never reads the clock itself.
type Lists struct {
	m  atomic.Pointer[map[string]*entry] // replaced whole on every change: lists are few
	mu sync.Mutex                        // serialises changes
}

// entry is one URI's current copy.
type entry struct {
	cur  atomic.Pointer[held]
	used atomic.Bool // looked up since the Fetcher last cleared it
}

// held is one verified copy of a list and its times.
type held struct {
	list      *List
	fetchedAt time.Time
	// refreshAt is when the Fetcher fetches it again, before freshUntil.
	refreshAt time.Time
	// freshUntil is the end of its ttl (or exp, or the default freshness).
	freshUntil time.Time
	// usableUntil is when it stops being used at all: its exp, or
	// maxStale past freshUntil when it has none.
	usableUntil time.Time
}

// NewLists returns an empty Lists.
func NewLists() *Lists {
	l := &Lists{}
	l.m.Store(&map[string]*entry{})
	return l
}

// Result is the answer of a lookup.
type Result uint8

const (
	// Found: status holds the entry's status.
	Found Result = iota
	// Missing: no usable copy of the list is held.
	Missing
	// OutOfRange: the list is held and has no such entry.
	OutOfRange
)

// Status looks up ref in the list held for ref.URI.
func (l *Lists) Status(ref Reference) (status uint8, res Result) {
	e := (*l.m.Load())[ref.URI]
	if e == nil {
		return 0, Missing
	}
	h := e.cur.Load()
	if h == nil {
		return 0, Missing
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	st, ok := h.list.Status(ref.Index)
	if !ok {
		return 0, OutOfRange
	}
	return st, Found
}

// put makes h the copy of uri.
func (l *Lists) put(uri string, h *held) {
	if e := (*l.m.Load())[uri]; e != nil {
		e.cur.Store(h)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.m.Load()
	if e := old[uri]; e != nil {
		e.cur.Store(h)
		return
	}
	m := make(map[string]*entry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	e := &entry{}
	e.cur.Store(h)
	e.used.Store(true)
	m[uri] = e
	l.m.Store(&m)
}

// drop forgets uri.
func (l *Lists) drop(uri string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.m.Load()
	if _, ok := old[uri]; !ok {
		return
	}
	m := make(map[string]*entry, len(old))
	for k, v := range old {
		if k != uri {
			m[k] = v
		}
	}
	l.m.Store(&m)
}

// snapshot is the held lists, for the Fetcher's rounds and the metrics.
func (l *Lists) snapshot() map[string]*entry { return *l.m.Load() }

// Len is the number of lists held (a usable copy or not).
func (l *Lists) Len() int { return len(*l.m.Load()) }
