package revocation

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/micro-gw/micro-gw/pkg/internal/sweep"
)

// BlockKind is what a blocking condition matches (docs/traffic.md,
// "Blocking conditions"): the client's address or address range, the token's
// application or user, or the API.
type BlockKind uint8

// The kinds of blocking condition. BlockNone is the zero value.
const (
	BlockNone        BlockKind = iota
	BlockIP                    // the client address
	BlockIPRange               // a CIDR range holding the client address
	BlockApplication           // application.id, else azp, else client_id
	BlockUser                  // sub
	BlockAPI                   // the API's base path
	blockKinds
)

// BlockKinds are the kinds, in the order the request path asks them.
var BlockKinds = []BlockKind{BlockIP, BlockIPRange, BlockAPI, BlockApplication, BlockUser}

// String is the kind's name, as messages, etcd keys and `micro-gw block`
// write it.
func (k BlockKind) String() string {
	switch k {
	case BlockIP:
		return "ip"
	case BlockIPRange:
		return "iprange"
	case BlockApplication:
		return "application"
	case BlockUser:
		return "user"
	case BlockAPI:
		return "api"
	}
	return "none"
}

// ParseBlockKind is the kind named s, BlockNone for none.
func ParseBlockKind(s string) BlockKind {
	for _, k := range BlockKinds {
		if k.String() == s {
			return k
		}
	}
	return BlockNone
}

// Block is one blocking condition: requests matching Value (canonical, see
// ParseBlockValue) of Kind are refused until ExpiresAt (zero: until it is
// lifted).
type Block struct {
	Kind      BlockKind
	Value     string
	ExpiresAt time.Time
}

// BlockSink receives blocking conditions from a source. The BlockSet
// implements it; a source handed a Sink that is also a BlockSink feeds it
// the conditions it reads.
type BlockSink interface {
	Block(b Block)
	Unblock(kind BlockKind, value string)
}

// BlockSet holds the blocking conditions the request path checks: a map per
// kind from the value to the condition's expiry (unix seconds, 0 for none),
// behind one lock (conditions are few, and changed rarely). A set without
// conditions costs one atomic load; a kind without conditions costs one
// more. An address is checked against its own entry and, for ranges,
// against one entry per prefix length that some range has (at most 33 for
// IPv4, 129 for IPv6): O(1) in the number of conditions.
type BlockSet struct {
	count atomic.Int64
	kinds [blockKinds]atomic.Int64

	mu     sync.RWMutex
	ips    map[netip.Addr]uint32
	ranges map[netip.Prefix]uint32
	// lengths counts the ranges of each prefix length, per family (0:
	// IPv4, 1: IPv6), so that a lookup tries only the lengths in use.
	lengths [2][129]int
	strs    [blockKinds]map[string]uint32 // application, user, api
}

// NewBlockSet returns an empty BlockSet.
func NewBlockSet() *BlockSet {
	b := &BlockSet{ips: map[netip.Addr]uint32{}, ranges: map[netip.Prefix]uint32{}}
	for _, k := range []BlockKind{BlockApplication, BlockUser, BlockAPI} {
		b.strs[k] = map[string]uint32{}
	}
	return b
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// Block implements BlockSink: it adds c, or merges it into the condition of
// the same value, keeping the later expiry (no expiry winning). A value that
// is not canonical for its kind is ignored (sources check it first).
func (b *BlockSet) Block(c Block) {
	exp := setExpiry(c.ExpiresAt)
	b.mu.Lock()
	defer b.mu.Unlock()
	added := false
	switch c.Kind {
	case BlockIP:
		a, err := netip.ParseAddr(c.Value)
		if err != nil {
			return
		}
		old, found := b.ips[a]
		if found {
			exp = setLaterExpiry(exp, old)
		}
		b.ips[a], added = exp, !found
	case BlockIPRange:
		p, err := netip.ParsePrefix(c.Value)
		if err != nil || p != p.Masked() {
			return
		}
		old, found := b.ranges[p]
		if found {
			exp = setLaterExpiry(exp, old)
		} else {
			b.lengths[family(p.Addr())][p.Bits()]++
		}
		b.ranges[p], added = exp, !found
	case BlockApplication, BlockUser, BlockAPI:
		m := b.strs[c.Kind]
		old, found := m[c.Value]
		if found {
			exp = setLaterExpiry(exp, old)
		}
		m[c.Value], added = exp, !found
	default:
		return
	}
	if added {
		b.kinds[c.Kind].Add(1)
		b.count.Add(1)
	}
}

// Unblock implements BlockSink: it lifts the condition of kind for value.
func (b *BlockSet) Unblock(kind BlockKind, value string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.remove(kind, value) {
		b.kinds[kind].Add(-1)
		b.count.Add(-1)
	}
}

// remove deletes a condition; b.mu is held.
func (b *BlockSet) remove(kind BlockKind, value string) bool {
	switch kind {
	case BlockIP:
		a, err := netip.ParseAddr(value)
		if _, found := b.ips[a]; err == nil && found {
			delete(b.ips, a)
			return true
		}
	case BlockIPRange:
		p, err := netip.ParsePrefix(value)
		if _, found := b.ranges[p]; err == nil && found {
			delete(b.ranges, p)
			b.lengths[family(p.Addr())][p.Bits()]--
			return true
		}
	case BlockApplication, BlockUser, BlockAPI:
		if _, found := b.strs[kind][value]; found {
			delete(b.strs[kind], value)
			return true
		}
	}
	return false
}

// BlockRequest is what blocking conditions are matched against.
type BlockRequest struct {
	// Addr is the client address (the zero Addr matches no ip or iprange).
	Addr netip.Addr
	// API is the base path of the request's API.
	API string
	// Application and User are the token's; "" for an unsecured request.
	Application, User string
}

// Match reports the first kind (ip, iprange, api, application, user) whose
// condition blocks r now, or BlockNone. It does not allocate.
func (b *BlockSet) Match(r *BlockRequest) BlockKind {
	if b.count.Load() == 0 {
		return BlockNone
	}
	return b.match(r, 0)
}

// MatchAt is Match at the time at.
func (b *BlockSet) MatchAt(r *BlockRequest, at time.Time) BlockKind {
	return b.match(r, at.Unix())
}

func (b *BlockSet) match(r *BlockRequest, now int64) BlockKind {
	live := func(exp uint32) bool {
		if exp == 0 {
			return true
		}
		if now == 0 {
			now = time.Now().Unix()
		}
		return now < int64(exp)
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if r.Addr.IsValid() {
		if b.kinds[BlockIP].Load() > 0 {
			if exp, ok := b.ips[r.Addr]; ok && live(exp) {
				return BlockIP
			}
		}
		if b.kinds[BlockIPRange].Load() > 0 {
			lengths := &b.lengths[family(r.Addr)]
			for bits := 0; bits <= r.Addr.BitLen(); bits++ {
				if lengths[bits] == 0 {
					continue
				}
				p, _ := r.Addr.Prefix(bits)
				if exp, ok := b.ranges[p]; ok && live(exp) {
					return BlockIPRange
				}
			}
		}
	}
	for _, c := range [...]struct {
		kind  BlockKind
		value string
	}{{BlockAPI, r.API}, {BlockApplication, r.Application}, {BlockUser, r.User}} {
		if c.value == "" || b.kinds[c.kind].Load() == 0 {
			continue
		}
		if exp, ok := b.strs[c.kind][c.value]; ok && live(exp) {
			return c.kind
		}
	}
	return BlockNone
}

// Len returns the number of conditions, expired ones not swept yet included.
func (b *BlockSet) Len() int { return int(b.count.Load()) }

// LenKind returns the number of conditions of kind.
func (b *BlockSet) LenKind(kind BlockKind) int {
	if kind >= blockKinds {
		return 0
	}
	return int(b.kinds[kind].Load())
}

// Sweep removes the conditions that have expired at now and returns how many.
func (b *BlockSet) Sweep(now time.Time) int {
	t := now.Unix()
	expired := func(exp uint32) bool { return exp != 0 && int64(exp) <= t }
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	drop := func(kind BlockKind) {
		b.kinds[kind].Add(-1)
		b.count.Add(-1)
		n++
	}
	for a, exp := range b.ips {
		if expired(exp) {
			delete(b.ips, a)
			drop(BlockIP)
		}
	}
	for p, exp := range b.ranges {
		if expired(exp) {
			delete(b.ranges, p)
			b.lengths[family(p.Addr())][p.Bits()]--
			drop(BlockIPRange)
		}
	}
	for k, m := range b.strs {
		for v, exp := range m {
			if expired(exp) {
				delete(m, v)
				drop(BlockKind(k))
			}
		}
	}
	return n
}

// RunSweeper calls Sweep every interval (a minute when not positive) until
// ctx is done.
func (b *BlockSet) RunSweeper(ctx context.Context, interval time.Duration) {
	sweep.Every(ctx, interval, func(now time.Time) { b.Sweep(now) })
}

// Block implements BlockSink when the runtime's sink has a BlockSet.
func (v Revocations) Block(c Block) {
	if v.Blocks != nil {
		v.Blocks.Block(c)
	}
}

// Unblock implements BlockSink.
func (v Revocations) Unblock(kind BlockKind, value string) {
	if v.Blocks != nil {
		v.Blocks.Unblock(kind, value)
	}
}

var (
	_ BlockSink = (*BlockSet)(nil)
	_ BlockSink = Revocations{}
)
