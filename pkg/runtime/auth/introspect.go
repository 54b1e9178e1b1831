package auth

import (
	"bytes"
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
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

const (
	// introspectTimeout bounds one introspection: a key manager that does
	// not answer in time fails the request closed (503).
	introspectTimeout = 5 * time.Second
	// maxIntrospectAnswer bounds what is read of an answer.
	maxIntrospectAnswer = 64 << 10
	// maxIntrospections bounds the introspections in flight: made-up
	// tokens cannot open more connections than this to the key manager;
	// a request that finds no room within introspectTimeout is refused
	// as if the key manager had not answered.
	maxIntrospections = 32
	// maxInactive bounds the cache of tokens the key manager said are not
	// active (it is the one made-up tokens fill).
	maxInactive = 4096
)

var (
	errInactive      = invalid(ReasonInactive, "The access token is not active")
	errRefreshToken  = invalid(ReasonInactive, "A refresh token is not an access token")
	errKeyManager    = &Error{Code: CodeKeyManagerUnavailable, Reason: ReasonKeyManager, Detail: "The token could not be validated: the key manager did not answer; retry shortly"}
	errOpaqueTooLong = invalid(ReasonTooLarge, "The access token is too large")
	errOpaqueChars   = invalid(ReasonMalformed, "The access token is not a bearer token")
)

// Introspected is an opaque token the key manager said is active: the
// claims its answer gave (Subject, Issuer, Client, JTI, Scopes,
// ExpiresAt, IssuedAt) and the key under which it is revoked without a
// jti (revocation.OpaqueTokenKey).
type Introspected struct {
	Claims
	TokenKey string
}

// Introspector validates opaque access tokens by RFC 7662 introspection at
// [keyManager] introspectionUrl (docs/authentication.md, "Opaque tokens"):
// POST token=...&token_type_hint=access_token with the gateway's client
// credentials in HTTP Basic. Active answers are cached until the token's
// exp or tokenCacheExpiryTime, whichever comes first; inactive ones for
// tokenCacheExpiryTime (a token never becomes active again). Concurrent
// requests with one token share one introspection. A key manager that
// cannot be reached, answers anything but 200 with a JSON object, or takes
// longer than 5 s fails the request closed: 503 (900951), never cached.
type Introspector struct {
	url, logURL string
	user, pass  string
	client      *http.Client
	now         func() time.Time
	log         *slog.Logger
	active      *boundedCache[*Introspected]
	inactive    *boundedCache[*Error]
	slots       chan struct{}

	mu       sync.Mutex
	inflight map[string]*introspectCall

	results *prometheus.CounterVec
}

type introspectCall struct {
	done chan struct{}
	in   *Introspected
	err  *Error
}

// NewIntrospector is the introspector of [keyManager], nil when it has no
// introspectionUrl.
func NewIntrospector(cfg *config.Config, opts Options) (*Introspector, error) {
	km := cfg.KeyManager
	if km.IntrospectionURL == "" {
		return nil, nil
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	client := &http.Client{Timeout: introspectTimeout}
	if opts.HTTPClient != nil {
		cc := *opts.HTTPClient
		client = &cc
	}
	// The client's credentials go with every request: never to a
	// redirect's target.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	in := &Introspector{
		url: km.IntrospectionURL, logURL: redacted(km.IntrospectionURL), user: km.Username, pass: km.Password,
		client: client, now: opts.Now, log: opts.Logger,
		slots:    make(chan struct{}, maxIntrospections),
		inflight: map[string]*introspectCall{},
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "microgw_auth_introspections_total",
			Help: "Validations of opaque tokens by result: active, inactive, error (the key manager did not answer: 503), cached (answered from the cache).",
		}, []string{"result"}),
	}
	if c := cfg.Caching; c.Enabled && c.TokenCacheCapacity > 0 && c.TokenCacheExpiryTime > 0 {
		in.active = newBoundedCache[*Introspected](c.TokenCacheCapacity, c.TokenCacheExpiryTime)
		in.inactive = newBoundedCache[*Error](min(c.TokenCacheCapacity, maxInactive), c.TokenCacheExpiryTime)
	}
	if err := registerResults(opts.Registerer, in.results, "active", "inactive", "error", "cached"); err != nil {
		return nil, err
	}
	return in, nil
}

// Validate introspects an opaque token, from the cache when it can. The
// revocation of the token (by its jti or its key) is the caller's check,
// on every request.
func (in *Introspector) Validate(ctx context.Context, token string) (*Introspected, *Error) {
	if len(token) > MaxTokenSize {
		return nil, errOpaqueTooLong
	}
	rt, err := revocation.ReadOpaqueToken(token)
	if err != nil {
		return nil, errOpaqueChars
	}
	key, now := rt.JTI, in.now()
	if in.active != nil {
		if got, ok := in.active.get(key, now); ok {
			in.results.WithLabelValues("cached").Inc()
			return got, nil
		}
		if e, ok := in.inactive.get(key, now); ok {
			in.results.WithLabelValues("cached").Inc()
			return nil, e
		}
	}
	in.mu.Lock()
	call, shared := in.inflight[key]
	if !shared {
		call = &introspectCall{done: make(chan struct{})}
		in.inflight[key] = call
	}
	in.mu.Unlock()
	if !shared {
		// The introspection outlives a caller that gives up: the others
		// wait for it.
		go in.run(context.WithoutCancel(ctx), call, token, key)
	}
	select {
	case <-call.done:
		return call.in, call.err
	case <-ctx.Done():
		return nil, errKeyManager
	}
}

func (in *Introspector) run(ctx context.Context, call *introspectCall, token, key string) {
	defer func() {
		in.mu.Lock()
		delete(in.inflight, key)
		in.mu.Unlock()
		close(call.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, introspectTimeout)
	defer cancel()
	select {
	case in.slots <- struct{}{}:
		defer func() { <-in.slots }()
	case <-ctx.Done():
		in.results.WithLabelValues("error").Inc()
		in.log.Warn("introspection: too many in flight; refusing (503)", "url", in.logURL)
		call.err = errKeyManager
		return
	}
	began := in.now()
	answer, err := in.ask(ctx, token)
	if err != nil {
		in.results.WithLabelValues("error").Inc()
		in.log.Warn("introspection failed; refusing the token (503, fail closed)", "url", in.logURL, "error", err)
		call.err = errKeyManager
		return
	}
	got, e := read(answer, key, in.now())
	now := in.now()
	if e != nil {
		in.results.WithLabelValues("inactive").Inc()
		if in.inactive != nil {
			in.inactive.putUntil(key, e, now.Add(in.inactive.ttl), now)
		}
		call.err = e
		return
	}
	in.results.WithLabelValues("active").Inc()
	in.log.Debug("introspection: active", "jti", got.JTI, "took", now.Sub(began).Round(time.Millisecond))
	if in.active != nil {
		until := now.Add(in.active.ttl)
		if !got.ExpiresAt.IsZero() {
			until = got.ExpiresAt
		}
		in.active.putUntil(key, got, until, now)
	}
	call.in = got
}

// ask posts the introspection request and returns the decoded answer.
// Its errors never contain the token.
func (in *Introspector) ask(ctx context.Context, token string) (map[string]any, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(in.user), url.QueryEscape(in.pass)) // RFC 6749 2.3.1
	resp, err := in.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the log line already
		}
		return nil, err
	}
	defer resp.Body.Close()
	body, err := httpbody.ReadOK(resp, maxIntrospectAnswer)
	if err != nil {
		return nil, err
	}
	answer, err := decodeObject(bytes.TrimSpace(body))
	if err != nil {
		return nil, errors.New("the answer is not a JSON object")
	}
	return answer, nil
}

// read makes claims of an introspection answer (RFC 7662 2.2): active must
// be true, the token no refresh token, exp (with the clock skew) not past
// and nbf not ahead; the claims that are there must have their types, and a
// jti, sub or client_id must be one a revocation can name.
func read(answer map[string]any, key string, now time.Time) (*Introspected, *Error) {
	if active, _ := answer["active"].(bool); !active {
		return nil, errInactive
	}
	if tt, _ := answer["token_type"].(string); strings.EqualFold(tt, "refresh_token") {
		return nil, errRefreshToken
	}
	claims, e := parseClaims(answer)
	if e != nil {
		return nil, e
	}
	if !claims.ExpiresAt.IsZero() && !now.Before(claims.ExpiresAt.Add(ClockSkew)) {
		return nil, errExpired
	}
	if !claims.NotBefore.IsZero() && now.Add(ClockSkew).Before(claims.NotBefore) {
		return nil, errNotYet
	}
	if (claims.JTI != "" && revocation.CheckJTI(claims.JTI) != nil) ||
		(claims.Subject != "" && !revocable(claims.Subject, revocation.MaxRuleKeyLength)) ||
		(claims.Client != "" && !revocable(claims.Client, revocation.MaxRuleKeyLength)) {
		return nil, errUnrevocable
	}
	return &Introspected{Claims: *claims, TokenKey: key}, nil
}
