package auth

import (
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/micro-gw/micro-gw/pkg/internal/ascii"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

const (
	// MaxTokenSize bounds the work an unauthenticated client can cause: a
	// larger token is refused before any decoding.
	MaxTokenSize = 16 << 10
	// ClockSkew is the leeway on exp and nbf (the WSO2 gateway's 60 s),
	// the one revocations that run to a token's exp add to it.
	ClockSkew = revocation.ExpiryLeeway
)

// Options are the Validator's dependencies; zero values get defaults.
type Options struct {
	Logger     *slog.Logger          // default slog.Default()
	HTTPClient *http.Client          // for jwksUrl; default a client with a 10 s timeout
	Now        func() time.Time      // default time.Now
	Registerer prometheus.Registerer // where the cache and JWKS metrics go; nil: not registered
}

// Validator validates tokens against the trusted issuers of a Config. It is
// safe for concurrent use.
type Validator struct {
	issuers map[string]*issuer
	cache   *tokenCache
	now     func() time.Time
	log     *slog.Logger

	hits, misses prometheus.Counter
	jwksFetches  *prometheus.CounterVec
}

// verifier is one trusted key with the parser that checks tokens of one
// issuer against it: the algorithms the key fits, iss, aud, exp and nbf.
type verifier struct {
	pub    crypto.PublicKey
	algs   []string
	parser *jwt.Parser
}

// issuer is one [[jwtTokenConfig]]: its key is a trust store entry
// (static) or comes from its JWKS.
type issuer struct {
	cfg    config.JWTIssuer
	static *verifier
	jwks   *jwks
	// types are the accepted typ header values as mediaType gives them;
	// nil accepts any.
	types []string
}

// mediaType is a typ header value in the form it is compared in: RFC 7515
// 4.1.9 has a recipient read a value without "/" as "application/" plus the
// value, and media types are case-insensitive (RFC 6838).
func mediaType(typ string) string {
	if !strings.Contains(typ, "/") {
		typ = "application/" + typ
	}
	return strings.ToLower(typ)
}

// New loads the trust store and the token issuers of cfg
// ([[jwtTokenConfig]]). JWKS are fetched on first use (or by Prefetch), so
// that an identity provider that is down does not stop the gateway from
// starting. A fault of the trust store or of an issuer's certificate is a
// *config.Error naming the conf file and key.
func New(cfg *config.Config, opts Options) (*Validator, error) {
	if len(cfg.JWT) == 0 {
		return nil, errors.New("auth: no trusted issuer ([[jwtTokenConfig]]) configured")
	}
	return newIssuerValidator(cfg, issuerSection{name: "jwtTokenConfig", list: cfg.JWT, metrics: "microgw_auth_", what: "token"}, opts)
}

// NewAPIKeys is New for the issuers of API keys ([[apiKeyConfig]]): the same
// checks, but an issuer without an audience does not check aud (a WSO2 API
// key has none), and its metrics are named microgw_auth_apikey_...
func NewAPIKeys(cfg *config.Config, opts Options) (*Validator, error) {
	if len(cfg.APIKeys) == 0 {
		return nil, errors.New("auth: no trusted API key issuer ([[apiKeyConfig]]) configured")
	}
	return newIssuerValidator(cfg, issuerSection{name: "apiKeyConfig", list: cfg.APIKeys, metrics: "microgw_auth_apikey_", what: "API key"}, opts)
}

// issuerSection is the trusted issuers of one kind of credential.
type issuerSection struct {
	name    string // the conf's array of tables: jwtTokenConfig, apiKeyConfig
	list    []config.JWTIssuer
	metrics string // the start of the metrics' names
	what    string // "token", "API key": for metric help texts
}

func newIssuerValidator(cfg *config.Config, sec issuerSection, opts Options) (*Validator, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: jwksFetchTimeout}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &Validator{
		issuers: map[string]*issuer{},
		now:     opts.Now,
		log:     opts.Logger,
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: sec.metrics + "token_cache_hits_total",
			Help: "Validations of a " + sec.what + " answered from the validated-token cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: sec.metrics + "token_cache_misses_total",
			Help: "Validations of a " + sec.what + " that had to verify the signature.",
		}),
		jwksFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: sec.metrics + "jwks_fetches_total",
			Help: "JWKS fetches of the " + sec.what + " issuers by result (ok, error), and refetches for an unknown kid held back by the rate limit (held_back).",
		}, []string{"result"}),
	}
	if cfg.Caching.Enabled && cfg.Caching.TokenCacheCapacity > 0 && cfg.Caching.TokenCacheExpiryTime > 0 {
		v.cache = newTokenCache(cfg.Caching.TokenCacheCapacity, cfg.Caching.TokenCacheExpiryTime)
	}
	if r := opts.Registerer; r != nil {
		collectors := []prometheus.Collector{v.hits, v.misses, v.jwksFetches}
		if c := v.cache; c != nil {
			collectors = append(collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: sec.metrics + "token_cache_entries",
				Help: "Entries in the validated-token cache, expired ones not yet evicted included.",
			}, func() float64 { return float64(c.len()) }))
		}
		for _, c := range collectors {
			if err := r.Register(c); err != nil {
				return nil, fmt.Errorf("auth: register metrics: %w", err)
			}
		}
	}

	var aliases []string
	for _, j := range sec.list {
		if j.CertificateAlias != "" {
			aliases = append(aliases, j.CertificateAlias)
		}
	}
	var keys map[string]crypto.PublicKey
	if len(aliases) > 0 {
		var err error
		keys, err = loadTrustStore(cfg.Listener.TrustStorePath, cfg.Listener.TrustStorePassword, aliases, opts.Logger)
		if err != nil {
			return nil, cfg.Fault("listenerConfig.trustStorePath", err)
		}
		opts.Logger.Debug("trust store loaded", "path", cfg.Listener.TrustStorePath, "entries", len(keys))
	}
	for i, j := range sec.list {
		if _, dup := v.issuers[j.Issuer]; dup {
			return nil, fmt.Errorf("auth: issuer %q configured twice", j.Issuer)
		}
		is := &issuer{cfg: j}
		for _, t := range j.TokenTypes {
			is.types = append(is.types, mediaType(t))
		}
		parserOpts := []jwt.ParserOption{
			jwt.WithIssuer(j.Issuer),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(ClockSkew),
			jwt.WithTimeFunc(opts.Now),
			jwt.WithJSONNumber(),
			jwt.WithStrictDecoding(),
		}
		if j.Audience != "" {
			parserOpts = append(parserOpts, jwt.WithAudience(j.Audience))
		}
		makeVer := func(pub crypto.PublicKey, algs []string) *verifier {
			return &verifier{pub: pub, algs: algs, parser: jwt.NewParser(append([]jwt.ParserOption{jwt.WithValidMethods(algs)}, parserOpts...)...)}
		}
		switch {
		case j.CertificateAlias != "":
			key := fmt.Sprintf("%s[%d].certificateAlias", sec.name, i)
			pub, ok := keys[j.CertificateAlias]
			if !ok {
				return nil, cfg.Fault(key, fmt.Errorf("no certificate or public key %q in the trust store %s", j.CertificateAlias, cfg.Listener.TrustStorePath))
			}
			algs, err := algsFor(pub)
			if err != nil {
				return nil, cfg.Fault(key, fmt.Errorf("certificate %q: %w", j.CertificateAlias, err))
			}
			is.static = makeVer(pub, algs)
		case j.JWKSURL != "":
			is.jwks = &jwks{
				url: j.JWKSURL, logURL: redacted(j.JWKSURL), client: noDowngrade(opts.HTTPClient), now: opts.Now, log: opts.Logger, makeVer: makeVer,
				fetches: func(result string) { v.jwksFetches.WithLabelValues(result).Inc() },
			}
		default:
			return nil, fmt.Errorf("auth: issuer %q has neither certificateAlias nor jwksUrl", j.Issuer)
		}
		v.issuers[j.Issuer] = is
	}
	return v, nil
}

// Prefetch fetches the JWKS of every issuer that has one, so that the first
// requests do not wait for it. It returns the first failure; the validator
// works regardless and fetches again on demand.
func (v *Validator) Prefetch(ctx context.Context) error {
	var first error
	for _, is := range v.issuers {
		if is.jwks == nil {
			continue
		}
		if err := is.jwks.refresh(ctx); err != nil && first == nil {
			first = fmt.Errorf("auth: jwks of %s: %w", is.cfg.Issuer, err)
		}
	}
	return first
}

// Validate validates token and returns its claims, from the cache when the
// same token was validated before and has not expired there. The error is
// always an *Error. Revocation is the caller's check, on every request.
func (v *Validator) Validate(ctx context.Context, token string) (*Claims, error) {
	if len(token) > MaxTokenSize {
		return nil, errTooLarge
	}
	now := v.now()
	if v.cache != nil {
		if c, ok := v.cache.get(token, now); ok {
			v.hits.Inc()
			return c, nil
		}
		v.misses.Inc()
	}
	c, e := v.verify(ctx, token)
	if e != nil {
		return nil, e
	}
	if v.cache != nil {
		v.cache.putUntil(token, c, c.ExpiresAt, now)
	}
	return c, nil
}

var b64 = base64.RawURLEncoding.Strict()

// verify checks a token fully. The payload is read unverified to pick the
// issuer by iss, and faults of form (bad JSON, duplicate members, claims of
// the wrong type) are refused there; everything that depends on the values
// (missing claims, exp, nbf, aud) is only judged after the signature has
// been checked with that issuer's key alone, whatever the header says: jku,
// x5u, jwk and x5c are never used, and kid only selects among the keys of
// the issuer's own JWKS.
// jwsBytes are those of a compact JWS: base64url segments and the dots
// between them.
var jwsBytes = ascii.AlnumAnd("-_.")

func (v *Validator) verify(ctx context.Context, token string) (*Claims, *Error) {
	// Go's base64 decoders skip CR and LF even when strict, so without this
	// a token with line breaks in it (RFC 7515 allows none) would verify as
	// a second spelling of the same token.
	if !jwsBytes.All(token) {
		return nil, errMalformed
	}
	h, rest, ok1 := strings.Cut(token, ".")
	p, _, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || h == "" || p == "" || strings.Count(token, ".") != 2 {
		return nil, errMalformed
	}
	hdr, err := decodeSegment(h)
	if err != nil {
		return nil, errMalformed
	}
	alg, ok := hdr["alg"].(string)
	if !ok {
		return nil, invalid(ReasonBadAlg, "The access token has no signing algorithm")
	}
	if !allowedAlgs[alg] {
		return nil, invalid(ReasonBadAlg, "The access token signing algorithm is not accepted")
	}
	// RFC 7515 4.1.11: an extension we do not understand must be refused.
	if _, ok := hdr["crit"]; ok {
		return nil, errCrit
	}
	var kid string
	if k, present := hdr["kid"]; present {
		if kid, ok = k.(string); !ok {
			return nil, invalid(ReasonBadHeader, "The kid header must be a string")
		}
	}
	payload, err := decodeSegment(p)
	if err != nil {
		return nil, errMalformed
	}
	claims, e := parseClaims(payload)
	if e != nil {
		return nil, e
	}
	if _, ok := payload["iss"]; !ok {
		return nil, missingClaim("iss")
	}
	is := v.issuers[claims.Issuer]
	if is == nil {
		return nil, errIssuer
	}
	ver := is.static
	if ver == nil {
		if ver, e = is.jwks.key(ctx, kid); e != nil {
			return nil, e
		}
	}
	if !slices.Contains(ver.algs, alg) {
		return nil, invalid(ReasonBadAlg, "The access token signing algorithm does not fit the issuer's key")
	}
	_, err = ver.parser.ParseWithClaims(token, jwt.MapClaims{}, func(*jwt.Token) (any, error) { return ver.pub, nil })
	if err != nil {
		return nil, mapJWTError(err, payload)
	}
	if is.types != nil {
		// Explicit typing (RFC 8725 3.11): an ID token or a token meant for
		// another protocol, signed by the same key, is not an access token.
		typ, _ := hdr["typ"].(string)
		if !slices.Contains(is.types, mediaType(typ)) {
			return nil, errTokenType
		}
	}
	for _, name := range []string{"sub", "jti"} {
		if s, _ := payload[name].(string); s == "" {
			return nil, missingClaim(name)
		}
	}
	// A token whose jti no revocation can name (revocation.CheckJTI: too
	// long, any white space or control character) must not be accepted.
	if revocation.CheckJTI(claims.JTI) != nil ||
		!revocable(claims.Subject, revocation.MaxRuleKeyLength) ||
		(claims.Client != "" && !revocable(claims.Client, revocation.MaxRuleKeyLength)) {
		return nil, errUnrevocable
	}
	return claims, nil
}

var errTokenType = invalid(ReasonBadHeader, "The access token type (typ header) is not one its issuer is trusted for")

var errUnrevocable = invalid(ReasonBadClaim, "The jti, sub or client of the access token is too long or holds control characters or surrounding white space (a jti, any white space)")

// revocable reports whether key (a jti, or the subject or client of a rule)
// can be named by a revocation: the revocation sources refuse keys that are
// too long or hold control characters, and trim or split on white space.
// A token that no revocation could reach must not be accepted.
func revocable(key string, maxLen int) bool {
	if len(key) > maxLen || strings.TrimSpace(key) != key {
		return false
	}
	return !strings.ContainsFunc(key, unicode.IsControl)
}

func missingClaim(name string) *Error {
	return invalid(ReasonMissingClaim, "The access token has no "+name+" claim")
}

// mapJWTError turns an error of the JWT library into a fault. The library
// checks the signature before the claims, so a claim fault is only
// reported for a token signed by the trusted key.
func mapJWTError(err error, payload map[string]any) *Error {
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errBadSig
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		for _, name := range []string{"exp", "aud"} {
			if _, ok := payload[name]; !ok {
				return missingClaim(name)
			}
		}
		return invalid(ReasonMissingClaim, "The access token lacks a required claim")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errAudience
	case errors.Is(err, jwt.ErrTokenExpired):
		return errExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return errNotYet
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errIssuer
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return invalid(ReasonBadAlg, "The access token cannot be verified")
	}
	return errMalformed
}

// ValidateSubscription checks, for an issuer with validateSubscription on,
// that the token's subscribedAPIs claim lists the API (WSO2 behaviour); an
// empty apiVersion matches any version. It returns nil when the issuer does
// not ask for the check.
func (v *Validator) ValidateSubscription(c *Claims, apiName, apiVersion string) *Error {
	is := v.issuers[c.Issuer]
	if is == nil || !is.cfg.ValidateSubscription {
		return nil
	}
	if c.Subscription(apiName, apiVersion) != nil {
		return nil
	}
	return errForbidden
}
