package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/micro-gw/micro-gw/pkg/passwordhash"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// BasicSlotWait is how long a password check waits for one of the slots
// (Users.slots) before the request is refused as busy (503 900952).
const BasicSlotWait = 2 * time.Second

// Users checks the passwords of the basic-auth users of [b7a.users].
//
// A check that an unauthenticated client can cause must cost the gateway a
// bounded amount of CPU, or a password guesser could burn it
// (docs/authentication.md, "What a wrong password costs"):
//   - every hash's cost is bounded when the conf is read (pkg/passwordhash);
//   - credentials are bounded before any hashing (BasicFromRequest);
//   - at most slots password hashes run at once (half the cores, at least
//     one): the others wait up to BasicSlotWait for a slot, then get 503;
//     a guesser can keep that share of the CPU busy and no more;
//   - a password that matched is remembered (an HMAC of user and password
//     with a key of this process, never the password) until
//     tokenCacheExpiryTime, so a user's later requests cost no hashing and
//     need no slot: a flood of guesses does not slow down the users
//     already signed in;
//   - an unknown user is checked against a decoy hash as costly as the
//     costliest user's, and the derived keys are compared in constant time,
//     so that neither the time nor the answer says whether a user exists.
type Users struct {
	byName map[string]*User
	decoy  *passwordhash.Hash
	slots  chan struct{}
	wait   time.Duration
	cache  *boundedCache[*User] // nil when [caching] is off
	key    []byte               // the HMAC key of cache keys
	now    func() time.Time
	log    *slog.Logger

	checks *prometheus.CounterVec
}

// User is one [b7a.users.NAME]: its name, scopes and password hash.
type User struct {
	Name   string
	Scopes []string
	hash   *passwordhash.Hash
}

// HasScopes reports whether the user holds every scope in required.
func (u *User) HasScopes(required []string) bool { return holdsAll(u.Scopes, required) }

// UsersOptions are the dependencies of Users; zero values get defaults.
type UsersOptions struct {
	Logger     *slog.Logger
	Now        func() time.Time
	Registerer prometheus.Registerer
	// Slots is how many password hashes may run at once; 0 is half of
	// GOMAXPROCS, at least one.
	Slots int
	// Wait is how long a check waits for a slot; 0 is BasicSlotWait.
	Wait time.Duration
}

// NewUsers reads the users of cfg ([b7a.users], checked by config.Load).
func NewUsers(cfg *config.Config, opts UsersOptions) (*Users, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Slots <= 0 {
		opts.Slots = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if opts.Wait <= 0 {
		opts.Wait = BasicSlotWait
	}
	u := &Users{
		byName: map[string]*User{},
		slots:  make(chan struct{}, opts.Slots),
		wait:   opts.Wait,
		key:    make([]byte, 32),
		now:    opts.Now,
		log:    opts.Logger,
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microgw_auth_basic_checks_total",
			Help: "Basic-auth password checks by result: ok (hashed), cached (a password that matched before), bad (wrong user or password), busy (no slot free in time).",
		}, []string{"result"}),
	}
	if _, err := rand.Read(u.key); err != nil {
		return nil, fmt.Errorf("auth: basic users: %w", err)
	}
	if c := cfg.Caching; c.Enabled && c.TokenCacheCapacity > 0 && c.TokenCacheExpiryTime > 0 {
		u.cache = newBoundedCache[*User](c.TokenCacheCapacity, c.TokenCacheExpiryTime)
	}
	names := make([]string, 0, len(cfg.B7A.Users))
	for name := range cfg.B7A.Users {
		names = append(names, name)
	}
	sort.Strings(names)
	var costliest time.Duration
	costs := map[string]time.Duration{} // by kind and parameters
	for _, name := range names {
		bu := cfg.B7A.Users[name]
		h, err := passwordhash.Parse(bu.Password)
		if err != nil {
			return nil, cfg.Fault("b7a.users."+name+".password", err)
		}
		u.byName[name] = &User{Name: name, Scopes: bu.Scopes, hash: h}
		// The decoy copies the costliest hash, measured once per kind of
		// parameters: a bcrypt cost and an argon2id memory do not compare.
		id := string(h.Kind()) + h.Params()
		cost, seen := costs[id]
		if !seen {
			start := time.Now()
			h.Verify([]byte("measuring the cost of this hash"))
			cost = time.Since(start)
			costs[id] = cost
		}
		if u.decoy == nil || cost > costliest {
			if u.decoy, err = h.Decoy(); err != nil {
				return nil, fmt.Errorf("auth: basic users: decoy hash: %w", err)
			}
			costliest = cost
		}
	}
	if err := registerResults(opts.Registerer, u.checks, "ok", "cached", "bad", "busy"); err != nil {
		return nil, err
	}
	return u, nil
}

// Len is the number of users.
func (u *Users) Len() int { return len(u.byName) }

// Authenticate checks a user's password: the user, or a refusal that says
// the same for an unknown user as for a wrong password (900901), or 503
// 900952 when no slot was free in time.
func (u *Users) Authenticate(ctx context.Context, name, password string) (*User, *Error) {
	if len(u.byName) == 0 {
		return nil, errBadUser
	}
	mac := hmac.New(sha256.New, u.key)
	mac.Write([]byte(name))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	key := string(mac.Sum(nil))
	now := u.now()
	if u.cache != nil {
		if usr, ok := u.cache.get(key, now); ok {
			u.checks.WithLabelValues("cached").Inc()
			return usr, nil
		}
	}
	usr := u.byName[name]
	h := u.decoy
	if usr != nil {
		h = usr.hash
	}
	timer := time.NewTimer(u.wait)
	select {
	case u.slots <- struct{}{}:
		timer.Stop()
	case <-timer.C:
		u.checks.WithLabelValues("busy").Inc()
		return nil, errBusy
	case <-ctx.Done():
		timer.Stop()
		return nil, errBusy
	}
	ok := h.Verify([]byte(password))
	<-u.slots
	if !ok || usr == nil {
		u.checks.WithLabelValues("bad").Inc()
		return nil, errBadUser
	}
	u.checks.WithLabelValues("ok").Inc()
	if u.cache != nil {
		u.cache.putUntil(key, usr, now.Add(u.cache.ttl), now)
	}
	return usr, nil
}
