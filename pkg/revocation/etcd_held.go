package revocation

// etcdHeld is what an EtcdSource has applied to its sink, so that a full
// reload can un-revoke the keys it no longer lists. A reload is begin, an
// applied for each key listed, then end.
type etcdHeld interface {
	// from is the sink this record is for.
	from() Sink
	// sink is where the keys are put and deleted.
	sink() Sink
	// bulk is sink for many puts in a row (a list, a snapshot): it may
	// gather them, and has them all applied once flush returns.
	bulk() (sink Sink, flush func())
	begin()
	applied(rel string)
	deleted(rel string)
	// end undoes, through undo, what was held before begin and not applied
	// since, and returns how many keys that was.
	end(undo func(rel string)) int
	len() int
}

// etcdHeldBySink is the record of a Holder: the sink marks what this
// source's Holding revoked, so nothing is kept here per key.
type etcdHeldBySink struct {
	to Sink
	h  *Holding
}

func (e *etcdHeldBySink) from() Sink           { return e.to }
func (e *etcdHeldBySink) sink() Sink           { return e.h }
func (e *etcdHeldBySink) begin()               { e.h.BeginReload() }
func (e *etcdHeldBySink) applied(string)       {}
func (e *etcdHeldBySink) deleted(string)       {}
func (e *etcdHeldBySink) end(func(string)) int { return e.h.EndReload() }
func (e *etcdHeldBySink) len() int             { return e.h.Len() }

// bulk gathers the puts into groups (Holding.batch).
func (e *etcdHeldBySink) bulk() (Sink, func()) {
	b := e.h.batch()
	return b, b.flush
}

// etcdHeldByName is the record for any other sink: the keys by name. A key
// applied goes into known at once, so that a reload that fails half way
// leaves known a superset of what the sink holds from this source.
type etcdHeldByName struct {
	to    Sink
	known map[string]struct{}
	seen  map[string]struct{} // the keys of the reload under way, nil between reloads
}

func (e *etcdHeldByName) from() Sink { return e.to }
func (e *etcdHeldByName) sink() Sink { return e.to }
func (e *etcdHeldByName) begin()     { e.seen = make(map[string]struct{}, len(e.known)) }
func (e *etcdHeldByName) len() int   { return len(e.known) }

// bulk is sink: a sink that is not a Holder takes each put as it comes.
func (e *etcdHeldByName) bulk() (Sink, func()) { return e.to, func() {} }

func (e *etcdHeldByName) applied(rel string) {
	e.known[rel] = struct{}{}
	if e.seen != nil {
		e.seen[rel] = struct{}{}
	}
}

func (e *etcdHeldByName) deleted(rel string) {
	delete(e.known, rel)
	delete(e.seen, rel)
}

func (e *etcdHeldByName) end(undo func(rel string)) int {
	if e.seen == nil {
		return 0
	}
	removed := 0
	for k := range e.known {
		if _, ok := e.seen[k]; !ok {
			undo(k)
			delete(e.known, k)
			removed++
		}
	}
	e.seen = nil
	return removed
}
