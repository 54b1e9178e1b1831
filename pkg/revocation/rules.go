package revocation

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/micro-gw/micro-gw/pkg/internal/sweep"
)

// RuleKind says which claim of a token a revocation rule matches.
type RuleKind uint8

// The kinds of rule, in the order the request path checks them. RuleNone is
// the zero value, matched by nothing. What each kind is (its name, message
// field, etcd key) is its ruleKindSpec (rules_kinds.go); a new kind is a
// line here, its claim in RuleToken.claim, and a spec in a file of its own.
const (
	RuleNone    RuleKind = iota
	RuleSubject          // sub
	RuleClient           // azp, else client_id, else consumerKey, else application.id
	RuleIssuer           // iss
	RuleEmail            // email (rules_email.go)
	// RuleCertificate is a client certificate by its fingerprint
	// (rules_certificate.go): no claim of a token, no cut; asked by
	// MatchCertificate, never by Match.
	RuleCertificate

	// ruleKinds is the number of kinds, RuleNone included (the index of a map).
	ruleKinds = iota
)

// String is the kind's name as logs and the revoke command write it.
func (k RuleKind) String() string {
	if s := k.spec(); s != nil {
		return s.name
	}
	return "none"
}

// Rule refuses every token whose claim of Kind equals Key and that was
// issued before IssuedBefore (a token without iat counts as issued before
// any time).
type Rule struct {
	Kind RuleKind
	Key  string
	// IssuedBefore is the cut: tokens with iat < IssuedBefore match.
	IssuedBefore time.Time
	// ExpiresAt is when the rule stops mattering; zero means no expiry (a
	// persistent store's key, removed by UnrevokeRule).
	ExpiresAt time.Time
}

// RuleExpiry is the expiry of a rule received at receivedAt with ttl: the
// later of receivedAt and issuedBefore, plus ttl and ExpiryLeeway (no expiry
// for ttl <= 0). With ttl at least the longest lifetime of the tokens the
// rule is meant for, every token the rule matched is refused as expired by
// then: such a token has iat < issuedBefore, so exp <= iat + lifetime <
// issuedBefore + ttl, and gateways accept it until exp + ExpiryLeeway.
func RuleExpiry(receivedAt, issuedBefore time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	from := receivedAt
	if issuedBefore.After(from) {
		from = issuedBefore
	}
	return from.Add(ttl + ExpiryLeeway)
}

// RuleSink receives revocation rules from a source. The RuleSet implements
// it; a source handed a Sink that is also a RuleSink feeds it rules.
type RuleSink interface {
	RevokeRule(r Rule)
	UnrevokeRule(kind RuleKind, key string)
}

// ruleShardCount is the number of locked parts of one kind's rules: rules are
// far fewer than revoked jtis, but every secured request reads them.
const ruleShardCount = 16

// RuleSet holds the revocation rules the request path checks after the jti:
// for each kind, a map from a seeded 64-bit hash of the key (the subject, the
// client id, the issuer) to the rule's cut and expiry, in unix seconds. A
// lookup is one hash and one map read per kind that has rules; a kind without
// rules, and a set without any, costs one atomic load. Lookups do not
// allocate and read the clock only on a match with an expiry.
//
// A rule for a key that already has one keeps the later cut and the later
// expiry (no expiry winning): two rules together never refuse less than
// either alone. As in Set, two keys can share a hash; that can only refuse a
// token that no rule names, never accept one that a rule refuses, and
// UnrevokeRule of a key also removes a rule that collides with it.
type RuleSet struct {
	seed  maphash.Seed
	count atomic.Int64
	kinds [ruleKinds]ruleKindSet
}

type ruleKindSet struct {
	count  atomic.Int64
	shards [ruleShardCount]ruleShard
}

type ruleShard struct {
	mu sync.RWMutex
	m  map[uint64]ruleEntry
}

// ruleEntry is a stored rule: cut and expiry in unix seconds (expiry 0: none).
type ruleEntry struct {
	before uint32
	exp    uint32
}

// NewRuleSet returns an empty RuleSet.
func NewRuleSet() *RuleSet {
	r := &RuleSet{seed: maphash.MakeSeed()}
	for k := range r.kinds {
		for i := range r.kinds[k].shards {
			r.kinds[k].shards[i].m = make(map[uint64]ruleEntry)
		}
	}
	return r
}

func (r *RuleSet) shard(kind RuleKind, key string) (*ruleKindSet, *ruleShard, uint64) {
	if norm := ruleSpecs[kind].normalize; norm != nil {
		key = norm(key)
	}
	h := maphash.String(r.seed, key)
	ks := &r.kinds[kind]
	return ks, &ks.shards[h>>60], h
}

// ruleCut converts a cut to whole unix seconds, rounded up: iat < cut is
// then the same question in seconds as in time (iat is read in whole
// seconds, rounded down). A cut past 2106 is kept as the largest one.
func ruleCut(t time.Time) uint32 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	switch {
	case sec >= math.MaxUint32:
		return math.MaxUint32
	case sec < 0:
		return 0
	}
	return uint32(sec)
}

// RevokeRule adds rule, or merges it into the rule of the same key.
func (r *RuleSet) RevokeRule(rule Rule) {
	if rule.Kind.spec() == nil {
		return
	}
	ks, sh, h := r.shard(rule.Kind, rule.Key)
	e := ruleEntry{before: ruleCut(rule.IssuedBefore), exp: setExpiry(rule.ExpiresAt)}
	sh.mu.Lock()
	old, found := sh.m[h]
	if found {
		e.before = max(e.before, old.before)
		e.exp = setLaterExpiry(e.exp, old.exp)
	}
	sh.m[h] = e
	sh.mu.Unlock()
	if !found {
		ks.count.Add(1)
		r.count.Add(1)
	}
}

// UnrevokeRule removes the rule of kind for key (a persistent store deleted it).
func (r *RuleSet) UnrevokeRule(kind RuleKind, key string) {
	if kind.spec() == nil {
		return
	}
	ks, sh, h := r.shard(kind, key)
	sh.mu.Lock()
	_, found := sh.m[h]
	delete(sh.m, h)
	sh.mu.Unlock()
	if found {
		ks.count.Add(-1)
		r.count.Add(-1)
	}
}

// RuleToken is what a rule is matched against: the token's claims, read
// once when the token was validated.
type RuleToken struct {
	Subject string
	Client  string
	Issuer  string
	Email   string
	// IssuedAt is iat in unix seconds, rounded down; HasIssuedAt is false
	// when the token has none (and then every rule's cut matches).
	IssuedAt    int64
	HasIssuedAt bool
}

// Match reports the first kind (subject, client, issuer, email) whose rule
// refuses t now, or RuleNone.
func (r *RuleSet) Match(t *RuleToken) RuleKind {
	if r.count.Load() == 0 {
		return RuleNone
	}
	return r.match(t, 0)
}

// MatchAt is Match at the time at.
func (r *RuleSet) MatchAt(t *RuleToken, at time.Time) RuleKind {
	return r.match(t, at.Unix())
}

func (r *RuleSet) match(t *RuleToken, now int64) RuleKind {
	for k := RuleNone + 1; k < ruleKinds; k++ {
		if r.matchKind(k, t.claim(k), t, now) {
			return k
		}
	}
	return RuleNone
}

// claim is the value of t that rules of kind match. A switch rather than a
// function of the kind's spec: a call through a function value would make t
// escape, and the request path's check allocate.
func (t *RuleToken) claim(k RuleKind) string {
	switch k {
	case RuleSubject:
		return t.Subject
	case RuleClient:
		return t.Client
	case RuleIssuer:
		return t.Issuer
	case RuleEmail:
		return t.Email
	}
	return ""
}

// matchKind looks key up among the rules of kind; now 0 means time.Now,
// read only when a rule with an expiry matches.
func (r *RuleSet) matchKind(kind RuleKind, key string, t *RuleToken, now int64) bool {
	if key == "" || r.kinds[kind].count.Load() == 0 {
		return false
	}
	_, sh, h := r.shard(kind, key)
	sh.mu.RLock()
	e, ok := sh.m[h]
	sh.mu.RUnlock()
	if !ok || (t.HasIssuedAt && t.IssuedAt >= int64(e.before)) {
		return false
	}
	if e.exp == 0 {
		return true
	}
	if now == 0 {
		now = time.Now().Unix()
	}
	return now < int64(e.exp)
}

// Len returns the number of rules, counting expired ones not swept yet.
func (r *RuleSet) Len() int { return int(r.count.Load()) }

// Sweep removes the rules that have expired at now and returns how many.
func (r *RuleSet) Sweep(now time.Time) int {
	t := now.Unix()
	removed := 0
	for k := range r.kinds {
		ks := &r.kinds[k]
		for i := range ks.shards {
			sh := &ks.shards[i]
			sh.mu.Lock()
			n := 0
			for h, e := range sh.m {
				if e.exp != 0 && int64(e.exp) <= t {
					delete(sh.m, h)
					n++
				}
			}
			sh.mu.Unlock()
			if n > 0 {
				ks.count.Add(int64(-n))
				r.count.Add(int64(-n))
				removed += n
			}
		}
	}
	return removed
}

// RunSweeper calls Sweep every interval (a minute when not positive) until
// ctx is done.
func (r *RuleSet) RunSweeper(ctx context.Context, interval time.Duration) {
	sweep.Every(ctx, interval, func(now time.Time) { r.Sweep(now) })
}

// Revocations is the revoked Set, the RuleSet and the blocking conditions
// together: the sink the runtime hands to its sources, a Sink, a RuleSink
// and a BlockSink (blocking.go).
type Revocations struct {
	Tokens *Set
	Rules  *RuleSet
	// Blocks may be nil: the blocking conditions a source reads are then
	// dropped.
	Blocks *BlockSet
}

// Revoke implements Sink.
func (v Revocations) Revoke(jti string, expiresAt time.Time) { v.Tokens.Revoke(jti, expiresAt) }

// Unrevoke implements Sink.
func (v Revocations) Unrevoke(jti string) { v.Tokens.Unrevoke(jti) }

// Hold implements Holder: a holding of Tokens.
func (v Revocations) Hold() *Holding { return v.Tokens.Hold() }

// RevokeRule implements RuleSink.
func (v Revocations) RevokeRule(r Rule) { v.Rules.RevokeRule(r) }

// UnrevokeRule implements RuleSink.
func (v Revocations) UnrevokeRule(kind RuleKind, key string) { v.Rules.UnrevokeRule(kind, key) }

var (
	_ RuleSink = (*RuleSet)(nil)
	_ Sink     = Revocations{}
	_ Holder   = Revocations{}
	_ RuleSink = Revocations{}
)
