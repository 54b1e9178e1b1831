package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// authentication is what the authenticate stage asks: one checker per kind
// of scheme, provisioned from the configuration.
type authentication struct {
	checkers map[string]credentialChecker
	// jwt and apiKeys are the JWT validators of [[jwtTokenConfig]] and
	// [[apiKeyConfig]] (nil when there is no API key issuer).
	jwt, apiKeys *auth.Validator
	// checksSubscriptions is true when an issuer has validateSubscription.
	checksSubscriptions bool
}

// newAuthentication provisions the checkers of every kind of scheme, and
// says at start which kinds the spec uses that the configuration gives
// nothing to check against: their requests are refused.
func (s *Server) newAuthentication() error {
	client := s.opts.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout:   10 * time.Second,
			Transport: newTransport(s.roots),
		}
	}
	vopts := auth.Options{Logger: s.logger, HTTPClient: client, Now: s.opts.Now, Registerer: s.metrics.registry}
	jv, err := auth.New(s.cfg, vopts)
	if err != nil {
		return err
	}
	s.jwt = jv
	for _, iss := range append(append([]config.JWTIssuer(nil), s.cfg.JWT...), s.cfg.APIKeys...) {
		s.checksSubscriptions = s.checksSubscriptions || iss.ValidateSubscription
	}
	ak := &apiKeyChecker{}
	if len(s.cfg.APIKeys) > 0 {
		if ak.v, err = auth.NewAPIKeys(s.cfg, vopts); err != nil {
			return err
		}
		s.apiKeys = ak.v
	}
	bc := &basicChecker{}
	if len(s.cfg.B7A.Users) > 0 {
		if bc.users, err = auth.NewUsers(s.cfg, auth.UsersOptions{Logger: s.logger, Now: s.opts.Now, Registerer: s.metrics.registry}); err != nil {
			return err
		}
	}
	cc := &certChecker{}
	if err := s.provisionClientCerts(cc); err != nil {
		return err
	}
	in, err := auth.NewIntrospector(s.cfg, vopts)
	if err != nil {
		return err
	}
	s.checkers = map[string]credentialChecker{
		SchemeOAuth2:    &bearerChecker{v: jv, in: in},
		SchemeAPIKey:    ak,
		SchemeBasic:     bc,
		SchemeMutualTLS: cc,
	}
	s.warnUncheckable()
	return nil
}

// warnUncheckable logs, for each kind of scheme the spec uses and the
// configuration cannot check, the APIs whose requests it will refuse.
func (s *Server) warnUncheckable() {
	missing := map[string]string{}
	if len(s.cfg.APIKeys) == 0 {
		missing[SchemeAPIKey] = "no [[apiKeyConfig]] issuer is trusted: every API key is refused"
	}
	if len(s.cfg.B7A.Users) == 0 {
		missing[SchemeBasic] = "no [b7a.users] user is configured: every basic-auth request is refused"
	}
	if s.cfg.MutualSSL.SSLVerifyClient == "" {
		missing[SchemeMutualTLS] = "[mutualSSLConfig] sslVerifyClient is off: no client certificate is asked for, and every request that needs one is refused"
	}
	for kind, why := range missing {
		var apis []string
		for i := range s.spec.APIs {
			api := &s.spec.APIs[i]
			if apiUses(api, kind) {
				apis = append(apis, api.name())
			}
		}
		if len(apis) > 0 {
			s.logger.Warn(fmt.Sprintf("APIs require %s credentials, but %s", kind, why), "apis", apis)
		}
	}
}

// apiUses reports whether a secured resource of api accepts a scheme of kind.
func apiUses(api *API, kind string) bool {
	for j := range api.Resources {
		res := &api.Resources[j]
		if !res.Secured {
			continue
		}
		for _, req := range res.requirements() {
			for _, sc := range req.Schemes {
				if sc.Kind == kind {
					return true
				}
			}
		}
	}
	return false
}

// prefetch fetches the JWKS of the token and API key issuers.
func (s *Server) prefetchKeys(ctx context.Context) error {
	err := s.jwt.Prefetch(ctx)
	if s.apiKeys != nil {
		err = errors.Join(err, s.apiKeys.Prefetch(ctx))
	}
	return err
}

// bearerChecker validates the bearer token of the API's header: a JWT of a
// trusted [[jwtTokenConfig]] issuer, or, with [keyManager], a token that is
// no JWT by introspection (docs/authentication.md, "Opaque tokens").
type bearerChecker struct {
	v  *auth.Validator
	in *auth.Introspector // nil: every token must be a JWT
}

func (b *bearerChecker) check(ctx context.Context, r *http.Request, p *place) (credential, *Fault, string) {
	tok, aerr := auth.TokenFromRequest(r.Header, p.name)
	if aerr != nil {
		return nil, authFault(aerr), aerr.Reason
	}
	if b.in != nil && !revocation.LooksLikeJWT(tok) {
		got, aerr := b.in.Validate(ctx, tok)
		if aerr != nil {
			return nil, authFault(aerr), aerr.Reason
		}
		return (*opaqueCredential)(got), nil, ""
	}
	claims, f, reason := validated(ctx, b.v, tok)
	if f != nil {
		return nil, f, reason
	}
	return (*claimsCredential)(claims), nil, ""
}

// validated validates a JWT with v: its claims, or the fault and reason.
func validated(ctx context.Context, v *auth.Validator, tok string) (*auth.Claims, *Fault, string) {
	claims, err := v.Validate(ctx, tok)
	if err != nil {
		var aerr *auth.Error
		if errors.As(err, &aerr) {
			return nil, authFault(aerr), aerr.Reason
		}
		return nil, newFault(CodeUnclassified, ""), "error"
	}
	return claims, nil, ""
}

// jwtCredential is a validated JWT: an access token or an API key, as K
// says; a pointer conversion of the validator's claims, so adapting
// allocates nothing. Both are revoked alike: by their jti and by the rules
// on their claims.
type jwtCredential[K jwtKind] auth.Claims

// jwtKind is what differs between the kinds of JWT credential.
type jwtKind interface {
	// name names the kind in logs.
	name() string
	// validator is the one of s that checks the kind's subscriptions.
	validator(s *Server) *auth.Validator
	// statusListed is true when the kind's status claim is checked
	// (docs/revocation.md, "Token Status List").
	statusListed() bool
}

// accessTokenKind is the kind of a bearer JWT.
type accessTokenKind struct{}

func (accessTokenKind) name() string                        { return "JWT Token" }
func (accessTokenKind) validator(s *Server) *auth.Validator { return s.jwt }
func (accessTokenKind) statusListed() bool                  { return true }

// claimsCredential is a validated access token.
type claimsCredential = jwtCredential[accessTokenKind]

func (c *jwtCredential[K]) what() string {
	var k K
	return k.name()
}

func (c *jwtCredential[K]) jti() string { return c.JTI }

func (c *jwtCredential[K]) ruleToken() revocation.RuleToken { return ruleTokenOf((*auth.Claims)(c)) }

func (c *jwtCredential[K]) revokedBy(rv *revocationRuntime) string {
	t := c.ruleToken()
	return revokedByRules(rv, c.JTI, &t)
}

func (c *jwtCredential[K]) sandbox() bool { return sandboxKeyType(c.KeyType) }

func (c *jwtCredential[K]) application() string { return c.Application }

func (c *jwtCredential[K]) applicationTier() string { return c.ApplicationTier }

func (c *jwtCredential[K]) subscriptionTier(apiName, apiVersion string) string {
	return subscriptionTierOf((*auth.Claims)(c), apiName, apiVersion)
}

func (c *jwtCredential[K]) hasScopes(scopes []string) bool {
	return (*auth.Claims)(c).HasScopes(scopes)
}

func (c *jwtCredential[K]) subscribed(s *Server, apiName, apiVersion string) *Fault {
	var k K
	return subscribedFault(k.validator(s).ValidateSubscription((*auth.Claims)(c), apiName, apiVersion))
}

// subscriptionTierOf names the subscription policy of the claims'
// subscription to the API, "" when they have none.
func subscriptionTierOf(c *auth.Claims, apiName, apiVersion string) string {
	if s := c.Subscription(apiName, apiVersion); s != nil {
		return s.SubscriptionTier
	}
	return ""
}

// ruleTokenOf is what the revocation rules match of validated claims.
func ruleTokenOf(c *auth.Claims) revocation.RuleToken {
	t := revocation.RuleToken{Subject: c.Subject, Client: c.Client, Issuer: c.Issuer, Email: c.Email}
	if !c.IssuedAt.IsZero() {
		t.IssuedAt, t.HasIssuedAt = c.IssuedAt.Unix(), true
	}
	return t
}

// subscribedFault is the fault of a failed subscription check, nil for none.
func subscribedFault(aerr *auth.Error) *Fault {
	if aerr == nil {
		return nil
	}
	return authFault(aerr)
}

// authFault is the fault of a refused credential: the validator's code with
// its detail, which never contains the credential.
func authFault(e *auth.Error) *Fault {
	if _, known := faults[e.Code]; !known {
		return newFault(CodeInvalidCredentials, e.Detail)
	}
	return newFault(e.Code, e.Detail)
}

// opaqueCredential is an introspected opaque token. It is revoked by the
// jti the introspection gave, by its own key (the SHA-256 that micro-gw
// revoke --token revokes it by), and by the rules on its sub, client and
// iss.
type opaqueCredential auth.Introspected

func (c *opaqueCredential) what() string { return "opaque token" }

func (c *opaqueCredential) jti() string {
	if c.JTI != "" {
		return c.JTI
	}
	return c.TokenKey
}

func (c *opaqueCredential) revokedBy(rv *revocationRuntime) string {
	if rv.set.Revoked(c.TokenKey) {
		return "jti"
	}
	t := ruleTokenOf(&c.Claims)
	return revokedByRules(rv, c.JTI, &t)
}

func (c *opaqueCredential) sandbox() bool { return sandboxKeyType(c.KeyType) }

func (c *opaqueCredential) ruleToken() revocation.RuleToken { return ruleTokenOf(&c.Claims) }

func (c *opaqueCredential) application() string { return c.Application }

func (c *opaqueCredential) applicationTier() string { return c.ApplicationTier }

func (c *opaqueCredential) subscriptionTier(apiName, apiVersion string) string {
	return subscriptionTierOf(&c.Claims, apiName, apiVersion)
}

func (c *opaqueCredential) hasScopes(scopes []string) bool { return c.Claims.HasScopes(scopes) }

var (
	_ credential          = (*claimsCredential)(nil)
	_ subscriptionChecker = (*claimsCredential)(nil)
	_ credential          = (*opaqueCredential)(nil)
)
