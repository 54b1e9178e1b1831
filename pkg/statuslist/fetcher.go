package statuslist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/micro-gw/micro-gw/pkg/internal/httpbody"
	"github.com/micro-gw/micro-gw/pkg/internal/loopback"
	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// Times and bounds of the Fetcher (docs/revocation.md, "Token Status List").
const (
	// DefaultFresh is how long a list with neither ttl nor exp is used
	// before it is fetched again.
	DefaultFresh = 5 * time.Minute
	// MaxStale is how long past its ttl a list without exp is still used
	// while every refetch fails. A list with exp is used until exp.
	MaxStale = time.Hour
	// FailureHold is how long a failed fetch of a list the gateway holds no
	// copy of answers the requests that need it, before one of them tries
	// again: a list that is down is not asked once per request.
	FailureHold = time.Second
	// MaxLists bounds the lists held at once.
	MaxLists = 1000
	// MaxTokenBytes bounds a Status List Token as fetched.
	MaxTokenBytes = 16 << 20
	// UnusedFor: a list no token has asked about for this long is dropped
	// instead of refreshed.
	UnusedFor = time.Hour

	fetchTimeout = 10 * time.Second
	tick         = 250 * time.Millisecond
	minRefresh   = 500 * time.Millisecond
	maxBackoff   = 30 * time.Second
	maxRedirects = 3
)

// ErrNotAllowed is returned for a list whose URL the gateway must not
// fetch: a host outside allowedHosts, or plain http to a host that is not a
// loopback address. A token that names such a list can never be checked.
var ErrNotAllowed = errors.New("status list URL not allowed")

// Verifier checks the signature of a JWT of type typ against the trusted
// issuers and returns its payload (numbers as json.Number):
// auth.Validator.VerifyIssued.
type Verifier interface {
	VerifyIssued(ctx context.Context, token, typ string) (map[string]any, error)
}

// Config is what a Fetcher needs.
type Config struct {
	// AllowedHosts are the hosts ("idp.example.com", or "host:port" for
	// one port only) that lists may be fetched from.
	AllowedHosts []string
	// Client fetches; it should trust the gateway's roots. Its redirects
	// are checked against AllowedHosts too.
	Client   *http.Client
	Verifier Verifier
	Logger   *slog.Logger
	// Registerer receives the metrics; nil: not registered.
	Registerer prometheus.Registerer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Fetcher is the source of the status lists: it fetches a list the first
// time a token names it (Load), verifies it, puts it into its Lists, and
// refreshes it in the background before its ttl runs out (Run). It is a
// revocation.Source so that the gateway starts, stops and reports it with
// the other sources; lists are keyed by URI, not by jti, so it feeds its
// own Lists rather than the Sink it is handed.
type Fetcher struct {
	cfg     Config
	lists   *Lists
	allowed map[string]bool
	client  *http.Client
	log     *slog.Logger
	now     func() time.Time

	fetches *prometheus.CounterVec

	mu      sync.Mutex
	state   map[string]*uriState
	runCtx  context.Context
	sweptAt time.Time
}

// uriState is the Fetcher's memory of one URI.
type uriState struct {
	inflight *call
	// failedAt and failErr: the last fetch failed (held for FailureHold
	// when there is no usable copy).
	failedAt time.Time
	failErr  error
	failing  bool // a failure was logged; the next success says so
	// retryAt is when the background loop fetches again after a failure.
	retryAt time.Time
	backoff time.Duration
}

type call struct {
	done chan struct{}
	err  error
}

// NewFetcher returns a Fetcher feeding lists.
func NewFetcher(cfg Config, lists *Lists) (*Fetcher, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("statuslist: no verifier")
	}
	if len(cfg.AllowedHosts) == 0 {
		return nil, errors.New("statuslist: no allowed host: a token could make the gateway fetch from anywhere")
	}
	f := &Fetcher{cfg: cfg, lists: lists, allowed: map[string]bool{}, log: cfg.Logger, now: cfg.Now, state: map[string]*uriState{}}
	for _, h := range cfg.AllowedHosts {
		f.allowed[strings.ToLower(strings.TrimSpace(h))] = true
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	base := cfg.Client
	if base == nil {
		base = &http.Client{}
	}
	c := *base
	if c.Timeout == 0 {
		c.Timeout = fetchTimeout
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		return f.check(req.URL)
	}
	f.client = &c
	f.fetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "microgw_statuslist_fetches_total",
		Help: "Fetches of Status List Tokens by result (ok, error).",
	}, []string{"result"})
	f.fetches.WithLabelValues("ok")
	f.fetches.WithLabelValues("error")
	if r := cfg.Registerer; r != nil {
		for _, col := range []prometheus.Collector{
			f.fetches,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "microgw_statuslist_lists",
				Help: "Status lists held with a usable copy.",
			}, func() float64 { return float64(f.usable()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "microgw_statuslist_oldest_age_seconds",
				Help: "Age of the oldest status list copy in use (seconds since it was fetched).",
			}, func() float64 { return f.oldestAge().Seconds() }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "microgw_statuslist_bytes",
				Help: "Memory of the status lists held, decompressed.",
			}, func() float64 { return float64(f.bytes()) }),
		} {
			if err := r.Register(col); err != nil {
				return nil, fmt.Errorf("statuslist: register metrics: %w", err)
			}
		}
	}
	return f, nil
}

// check says whether u may be fetched.
func (f *Fetcher) check(u *url.URL) error {
	host := strings.ToLower(u.Hostname())
	switch {
	case u.User != nil:
		return fmt.Errorf("%w: user info in the URL", ErrNotAllowed)
	case u.Scheme == "http" && !loopback.Host(host):
		return fmt.Errorf("%w: plain http is accepted for loopback addresses only", ErrNotAllowed)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%w: scheme %q", ErrNotAllowed, u.Scheme)
	case !f.allowed[host] && !f.allowed[strings.ToLower(u.Host)]:
		return fmt.Errorf("%w: host %s is not in [statusList] allowedHosts", ErrNotAllowed, host)
	}
	return nil
}

// Load fetches the list at uri now, unless a fetch of it is under way
// (then it waits for that one) or failed less than FailureHold ago (then it
// returns that failure). It returns when the list is in Lists or the fetch
// failed, or ctx is done.
func (f *Fetcher) Load(ctx context.Context, uri string) error {
	u, err := url.Parse(uri)
	if err != nil || checkURI(uri) != nil {
		return fmt.Errorf("%w: not an http(s) URL with a host", ErrNotAllowed)
	}
	if err := f.check(u); err != nil {
		return err
	}
	f.mu.Lock()
	st := f.state[uri]
	if st != nil && st.failErr != nil && f.now().Sub(st.failedAt) < FailureHold {
		err := st.failErr
		f.mu.Unlock()
		return err
	}
	if st == nil && len(f.state) >= MaxLists {
		f.mu.Unlock()
		return fmt.Errorf("statuslist: already holding %d lists", MaxLists)
	}
	c := f.startLocked(uri)
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startLocked starts a fetch of uri unless one is under way; f.mu is held.
func (f *Fetcher) startLocked(uri string) *call {
	st := f.state[uri]
	if st == nil {
		st = &uriState{}
		f.state[uri] = st
	}
	if st.inflight != nil {
		return st.inflight
	}
	c := &call{done: make(chan struct{})}
	st.inflight = c
	ctx := f.runCtx
	if ctx == nil {
		ctx = context.Background()
	}
	go func() {
		h, err := f.fetch(ctx, uri)
		f.finish(uri, h, err)
		c.err = err
		close(c.done)
	}()
	return c
}

// finish records the outcome of a fetch.
func (f *Fetcher) finish(uri string, h *held, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.state[uri]
	st.inflight = nil
	if err == nil {
		f.fetches.WithLabelValues("ok").Inc()
		f.lists.put(uri, h)
		if st.failing {
			f.log.Info("status list fetched again", "uri", uri)
		}
		f.log.Debug("status list fetched", "uri", uri, "entries", h.list.Len(), "bits", h.list.Bits(),
			"fresh_until", h.freshUntil.UTC().Format(time.RFC3339), "usable_until", h.usableUntil.UTC().Format(time.RFC3339))
		*st = uriState{}
		return
	}
	f.fetches.WithLabelValues("error").Inc()
	now := f.now()
	st.failedAt, st.failErr = now, err
	st.backoff = min(max(2*st.backoff, time.Second), maxBackoff)
	st.retryAt = now.Add(st.backoff)
	if !st.failing {
		st.failing = true
		f.log.Warn("status list fetch failed; retrying", "uri", uri, "error", err, "retry_in", st.backoff)
	} else {
		f.log.Debug("status list fetch failed again", "uri", uri, "error", err, "retry_in", st.backoff)
	}
}

// fetch gets, verifies and reads the list at uri.
func (f *Fetcher) fetch(ctx context.Context, uri string) (*held, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotAllowed, err)
	}
	req.Header.Set("Accept", MediaType)
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrNotAllowed) {
			return nil, err
		}
		return nil, fmt.Errorf("fetch: %w", err)
	}
	defer resp.Body.Close()
	body, err := httpbody.ReadOK(resp, MaxTokenBytes)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	claims, err := f.cfg.Verifier.VerifyIssued(ctx, strings.TrimSpace(string(body)), TokenType)
	if err != nil {
		return nil, err
	}
	t, err := ReadToken(claims)
	if err != nil {
		return nil, err
	}
	if t.Subject != uri {
		return nil, fmt.Errorf("%w: the Status List Token's sub is not the URI it was fetched from", ErrInvalid)
	}
	return f.times(t, f.now())
}

// times says how long the copy t, fetched at now, is fresh and usable.
func (f *Fetcher) times(t *Token, now time.Time) (*held, error) {
	h := &held{list: t.List, fetchedAt: now}
	switch {
	case t.TTL > 0:
		h.freshUntil = now.Add(t.TTL)
	case !t.ExpiresAt.IsZero():
		h.freshUntil = t.ExpiresAt
	default:
		h.freshUntil = now.Add(DefaultFresh)
	}
	if !t.ExpiresAt.IsZero() {
		if !t.ExpiresAt.After(now) {
			return nil, fmt.Errorf("%w: the Status List Token has expired", ErrInvalid)
		}
		h.freshUntil = minTime(h.freshUntil, t.ExpiresAt)
		h.usableUntil = t.ExpiresAt
	} else {
		h.usableUntil = h.freshUntil.Add(MaxStale)
	}
	h.refreshAt = now.Add(max(h.freshUntil.Sub(now)*3/4, minRefresh))
	return h, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// Run refreshes the lists in the background until ctx is done: a list is
// fetched again three quarters into its freshness, a failed fetch is
// retried with backoff (1 s doubling to 30 s), a copy past its usable time
// is retired (its tokens then get 503 until a fetch succeeds), and a list no
// token asked about for UnusedFor is dropped. It calls ready at once: there
// is nothing to load before the first token names a list.
func (f *Fetcher) Run(ctx context.Context, _ revocation.Sink, ready func()) error {
	f.mu.Lock()
	f.runCtx = ctx
	f.sweptAt = f.now()
	f.mu.Unlock()
	ready()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			f.round()
		}
	}
}

// round is one pass of Run over the lists.
func (f *Fetcher) round() {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	sweep := now.Sub(f.sweptAt) >= UnusedFor
	if sweep {
		f.sweptAt = now
	}
	for uri, e := range f.lists.snapshot() {
		if sweep {
			if !e.used.Load() {
				f.lists.drop(uri)
				delete(f.state, uri)
				f.log.Info("status list dropped: no token named it for an hour", "uri", uri)
				continue
			}
			e.used.Store(false)
		}
		h := e.cur.Load()
		if h != nil && !now.Before(h.usableUntil) {
			e.cur.Store(nil)
			h = nil
			f.log.Warn("status list copy can no longer be used and no fresh one could be fetched: its tokens get 503", "uri", uri)
		}
		st := f.state[uri]
		due := st == nil || (st.failErr == nil && (h == nil || !now.Before(h.refreshAt))) ||
			(st.failErr != nil && !now.Before(st.retryAt))
		if due {
			f.startLocked(uri)
		}
	}
}

// usable counts the lists with a usable copy.
func (f *Fetcher) usable() int {
	n := 0
	for _, e := range f.lists.snapshot() {
		if e.cur.Load() != nil {
			n++
		}
	}
	return n
}

// oldestAge is the age of the oldest copy in use.
func (f *Fetcher) oldestAge() time.Duration {
	var oldest time.Duration
	now := f.now()
	for _, e := range f.lists.snapshot() {
		if h := e.cur.Load(); h != nil {
			oldest = max(oldest, now.Sub(h.fetchedAt))
		}
	}
	return oldest
}

// bytes is the memory of the copies in use.
func (f *Fetcher) bytes() int {
	n := 0
	for _, e := range f.lists.snapshot() {
		if h := e.cur.Load(); h != nil {
			n += h.list.Size()
		}
	}
	return n
}

var _ revocation.Source = (*Fetcher)(nil)
