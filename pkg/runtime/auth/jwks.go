package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/micro-gw/micro-gw/pkg/internal/httpbody"
)

const (
	// jwksRefetchInterval bounds the fetches that no token asks for: the
	// background refresh of a set older than jwksMaxAge, and Prefetch, skip
	// a fetch when the last one started less than this ago.
	jwksRefetchInterval = 30 * time.Second
	// jwksMaxAge bounds how long a key the provider has withdrawn (rotated
	// out, or compromised) still verifies tokens: a set older than this is
	// fetched again on its next use, even when every kid is known.
	jwksMaxAge       = 10 * time.Minute
	jwksFetchTimeout = 10 * time.Second
	maxJWKSSize      = 1 << 20

	// An unknown kid refetches the set at once (a provider that rotated
	// its key signs with the new one from then on), within two bounds so
	// that tokens with made-up kids cannot turn the gateway into a load
	// generator against the identity provider:
	//   - jwksMissTTL: a kid that a fetch begun after the token arrived did
	//     not find is refused without a fetch for this long;
	//   - a token bucket: at most jwksKidFetchBurst such fetches at once,
	//     then one per jwksKidFetchEvery.
	// So random kids cost the provider at most 3 fetches and then 6 a
	// minute; a real rotation is seen by the first request that carries the
	// new kid, or within jwksKidFetchEvery while such an attack goes on.
	jwksMissTTL       = 5 * time.Second
	jwksKidFetchBurst = 3
	jwksKidFetchEvery = 10 * time.Second
	// jwksMaxMisses bounds the negative cache; when full it starts over
	// (the bucket still bounds the fetches).
	jwksMaxMisses = 1024
	// maxLoggedKID is how much of a kid a log line quotes: the kid comes
	// from an unauthenticated client.
	maxLoggedKID = 64
)

// Reasons for a fetch, in its log line.
const (
	fetchStart     = "start"       // Prefetch, ahead of the first request
	fetchUnknownID = "unknown_kid" // a token named a kid the set does not have
	fetchMaxAge    = "max_age"     // the set is older than jwksMaxAge
)

// keySet is an immutable set of JWKS keys, swapped whole on refetch so that
// lookups need no lock.
type keySet struct {
	byKID   map[string]*verifier
	all     []*verifier
	fetched time.Time
}

// jwks fetches and caches the keys of one issuer's jwksUrl. Concurrent
// callers share one fetch: there is never more than one in flight. An
// unknown kid fetches at once, within the bounds of jwksMissTTL and the
// token bucket; a set older than jwksMaxAge is refreshed in the background.
// Every fetch is logged with its reason and outcome, and so is a refetch
// held back by the bucket.
type jwks struct {
	url     string
	logURL  string // url without its password, for logs
	client  *http.Client
	now     func() time.Time
	log     *slog.Logger
	makeVer func(pub crypto.PublicKey, algs []string) *verifier
	fetches func(result string)

	set atomic.Pointer[keySet]

	mu        sync.Mutex
	lastFetch time.Time // start of the last attempt, successful or not
	inflight  *fetchCall
	// tokens and tokensAt are the bucket of unknown-kid fetches.
	tokens   float64
	tokensAt time.Time
	// misses are the kids a recent fetch did not find, until when.
	misses map[string]time.Time
	// heldBack counts refetches the bucket refused since heldLogged, when
	// that was last logged (once per jwksKidFetchEvery at most).
	heldBack   int
	heldLogged time.Time
}

type fetchCall struct {
	done    chan struct{}
	err     error
	started time.Time
}

// key returns the verifier for kid. With no kid, a set of exactly one key
// is used: some issuers omit the kid when they have one key.
func (j *jwks) key(ctx context.Context, kid string) (*verifier, *Error) {
	set := j.set.Load()
	if set != nil && j.now().Sub(set.fetched) >= jwksMaxAge {
		// In the background: the stale set serves until the new one is in,
		// and stays in use if the provider cannot be reached.
		j.start(ctx, fetchMaxAge)
	}
	if v := set.lookup(kid); v != nil {
		return v, nil
	}
	asked := j.now()
	// Twice at most: a fetch that was already under way when the token
	// came may have been answered before the provider published the key.
	for range 2 {
		call := j.fetchForKID(ctx, kid)
		if call == nil {
			break
		}
		select {
		case <-call.done:
		case <-ctx.Done():
			return nil, errUnknownKey
		}
		if v := j.set.Load().lookup(kid); v != nil {
			return v, nil
		}
		if call.err != nil {
			break // logged by run; the bucket spaces the next attempts
		}
		if !call.started.Before(asked) {
			// The provider did not have the kid after the token came.
			j.remember(kid)
			break
		}
	}
	return nil, errUnknownKey
}

func (s *keySet) lookup(kid string) *verifier {
	if s == nil {
		return nil
	}
	if kid == "" {
		if len(s.all) == 1 {
			return s.all[0]
		}
		return nil
	}
	return s.byKID[kid]
}

// fetchForKID returns the fetch under way, or starts one for an unknown
// kid: nil when a recent fetch did not find kid, or when the bucket is
// empty (then the refetch is held back, and logged).
func (j *jwks) fetchForKID(ctx context.Context, kid string) *fetchCall {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.inflight != nil {
		return j.inflight
	}
	now := j.now()
	if until, ok := j.misses[kid]; ok {
		if now.Before(until) {
			return nil
		}
		delete(j.misses, kid)
	}
	if !j.take(now) {
		j.heldBack++
		j.fetches("held_back")
		if j.heldLogged.IsZero() || now.Sub(j.heldLogged) >= jwksKidFetchEvery {
			j.log.Warn("jwks: refetch for an unknown kid held back: too many recently; tokens with new kids are refused until the next one",
				"url", j.logURL, "kid", clip(kid, maxLoggedKID), "held_back", j.heldBack, "next_within", jwksKidFetchEvery)
			j.heldBack, j.heldLogged = 0, now
		}
		return nil
	}
	return j.startLocked(ctx, fetchUnknownID, kid)
}

// take takes a token from the bucket of unknown-kid fetches, refilled at
// one per jwksKidFetchEvery up to jwksKidFetchBurst.
func (j *jwks) take(now time.Time) bool {
	if j.tokensAt.IsZero() {
		j.tokens, j.tokensAt = jwksKidFetchBurst, now
	} else if d := now.Sub(j.tokensAt); d > 0 {
		j.tokens = min(jwksKidFetchBurst, j.tokens+float64(d)/float64(jwksKidFetchEvery))
		j.tokensAt = now
	}
	if j.tokens < 1 {
		return false
	}
	j.tokens--
	return true
}

// remember puts kid in the negative cache for jwksMissTTL.
func (j *jwks) remember(kid string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.misses == nil || len(j.misses) >= jwksMaxMisses {
		j.misses = map[string]time.Time{}
	}
	j.misses[kid] = j.now().Add(jwksMissTTL)
}

// refresh fetches the set unless a fetch started less than
// jwksRefetchInterval ago; a fetch under way is joined, not repeated.
func (j *jwks) refresh(ctx context.Context) error {
	call := j.start(ctx, fetchStart)
	if call == nil {
		return nil
	}
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start returns the fetch under way, or starts one unless the last started
// less than jwksRefetchInterval ago (then nil).
func (j *jwks) start(ctx context.Context, reason string) *fetchCall {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.inflight != nil {
		return j.inflight
	}
	if !j.lastFetch.IsZero() && j.now().Sub(j.lastFetch) < jwksRefetchInterval {
		return nil
	}
	return j.startLocked(ctx, reason, "")
}

// startLocked starts a fetch; j.mu is held and none is in flight.
func (j *jwks) startLocked(ctx context.Context, reason, kid string) *fetchCall {
	call := &fetchCall{done: make(chan struct{}), started: j.now()}
	j.inflight = call
	j.lastFetch = call.started
	// The fetch outlives a caller that gives up: the others wait for it.
	go j.run(context.WithoutCancel(ctx), call, reason, kid)
	return call
}

func (j *jwks) run(ctx context.Context, call *fetchCall, reason, kid string) {
	began := time.Now()
	set, err := j.fetch(ctx)
	args := []any{"url", j.logURL, "reason", reason}
	if reason == fetchUnknownID {
		args = append(args, "kid", clip(kid, maxLoggedKID))
	}
	args = append(args, "took", time.Since(began).Round(time.Millisecond))
	if err == nil {
		set.fetched = call.started
		j.set.Store(set)
		j.fetches("ok")
		j.log.Info("jwks: fetched", append(args, "keys", len(set.all), "kids", set.kids())...)
	} else {
		j.fetches("error")
		j.log.Warn("jwks: fetch failed; the keys fetched before stay in use", append(args, "error", err)...)
	}
	j.mu.Lock()
	call.err = err
	j.inflight = nil
	j.mu.Unlock()
	close(call.done)
}

// kids lists the set's key ids, for the log of a fetch.
func (s *keySet) kids() []string {
	out := make([]string, 0, len(s.byKID))
	for kid := range s.byKID {
		out = append(out, clip(kid, maxLoggedKID))
	}
	slices.Sort(out)
	return out
}

// clip cuts s to at most n bytes, for a log line.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (j *jwks) fetch(ctx context.Context) (*keySet, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks fetch: %w", err)
	}
	defer resp.Body.Close()
	body, err := httpbody.ReadOK(resp, maxJWKSSize)
	if err != nil {
		return nil, fmt.Errorf("jwks fetch: %w", err)
	}
	return j.parse(body)
}

type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parse reads a JWK Set (RFC 7517). Keys that are not for signatures or of
// an unsupported type are skipped with a log line; a set with no usable key
// is an error, so that the previous set stays in use.
func (j *jwks) parse(body []byte) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("jwks parse: %w", err)
	}
	set := &keySet{byKID: map[string]*verifier{}}
	for _, raw := range doc.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			j.log.Warn("jwks: skipping a key", "url", j.logURL, "error", err)
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub, err := k.publicKey()
		if err == nil {
			var algs []string
			if algs, err = algsFor(pub); err == nil {
				if algs, err = narrowAlgs(algs, k.Alg); err == nil {
					v := j.makeVer(pub, algs)
					set.all = append(set.all, v)
					if k.Kid != "" {
						set.byKID[k.Kid] = v
					}
					continue
				}
			}
		}
		j.log.Warn("jwks: skipping a key", "url", j.logURL, "kid", k.Kid, "error", err)
	}
	if len(set.all) == 0 {
		return nil, errors.New("jwks has no usable signing key")
	}
	return set, nil
}

// noDowngrade returns a copy of c that refuses a redirect from https to
// plain http: the keys fetched decide which tokens are genuine, and one
// plain hop would let anyone on the path publish their own.
func noDowngrade(c *http.Client) *http.Client {
	cc := *c
	next := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirect from https to %s refused", req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cc
}

// redacted is u for logs: a jwksUrl may carry basic-auth credentials.
func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(an unparsable URL)"
	}
	return p.Redacted()
}

func (k *jwk) publicKey() (crypto.PublicKey, error) {
	b64 := base64.RawURLEncoding
	switch k.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad rsa key")
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 || exp%2 == 0 {
			return nil, errors.New("bad rsa exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported curve %q", k.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, errors.New("bad ec key")
		}
		point := append(append([]byte{4}, x...), y...)
		// Checks that the point is on the curve (invalid-curve attacks).
		return ecdsa.ParseUncompressedPublicKey(curve, point)
	case "OKP":
		x, err := b64.DecodeString(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad or unsupported okp key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unsupported key type %q", k.Kty)
}
