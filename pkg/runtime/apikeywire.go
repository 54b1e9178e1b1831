package runtime

import (
	"context"
	"net/http"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
)

// apiKeyChecker validates an API key (docs/authentication.md, "API keys"):
// WSO2 3.1's form, a JWT signed by a trusted [[apiKeyConfig]] issuer, from
// the header, query parameter or cookie the scheme names.
type apiKeyChecker struct {
	v *auth.Validator // nil: no issuer is trusted, every key is refused
}

var errNoAPIKeyIssuer = &auth.Error{Code: auth.CodeInvalidCredentials, Reason: auth.ReasonUnconfigured,
	Detail: "The gateway trusts no API key issuer"}

func (a *apiKeyChecker) check(ctx context.Context, r *http.Request, p *place) (credential, *Fault, string) {
	key, aerr := auth.APIKeyFromRequest(r, p.in, p.name)
	if aerr == nil && a.v == nil {
		aerr = errNoAPIKeyIssuer
	}
	if aerr != nil {
		return nil, authFault(aerr), aerr.Reason
	}
	claims, f, reason := validated(ctx, a.v, key)
	if f != nil {
		return nil, f, reason
	}
	return (*apiKeyCredential)(claims), nil, ""
}

// apiKeyCredential is a validated API key, revoked like a token: by its
// jti and by the rules on its claims.
type apiKeyCredential auth.Claims

func (c *apiKeyCredential) what() string { return "API key" }

func (c *apiKeyCredential) jti() string { return c.JTI }

func (c *apiKeyCredential) revokedBy(rv *revocationRuntime) string {
	t := ruleTokenOf((*auth.Claims)(c))
	return revokedByRules(rv, c.JTI, &t)
}

func (c *apiKeyCredential) sandbox() bool { return sandboxKeyType(c.KeyType) }

func (c *apiKeyCredential) ruleToken() revocation.RuleToken { return ruleTokenOf((*auth.Claims)(c)) }

func (c *apiKeyCredential) application() string { return c.Application }

func (c *apiKeyCredential) applicationTier() string { return c.ApplicationTier }

func (c *apiKeyCredential) subscriptionTier(apiName, apiVersion string) string {
	return subscriptionTierOf((*auth.Claims)(c), apiName, apiVersion)
}

func (c *apiKeyCredential) hasScopes(scopes []string) bool {
	return (*auth.Claims)(c).HasScopes(scopes)
}

func (c *apiKeyCredential) subscribed(s *Server, apiName, apiVersion string) *Fault {
	return subscribedFault(s.apiKeys.ValidateSubscription((*auth.Claims)(c), apiName, apiVersion))
}

var (
	_ credential          = (*apiKeyCredential)(nil)
	_ subscriptionChecker = (*apiKeyCredential)(nil)
)
