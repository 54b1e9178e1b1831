package runtime

import (
	"context"
	"net/http"

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

// apiKeyKind is the kind of an API key: revoked like a token, by its jti and
// by the rules on its claims; a status claim in it is not read.
type apiKeyKind struct{}

func (apiKeyKind) name() string                        { return "API key" }
func (apiKeyKind) validator(s *Server) *auth.Validator { return s.apiKeys }
func (apiKeyKind) statusListed() bool                  { return false }

// apiKeyCredential is a validated API key.
type apiKeyCredential = jwtCredential[apiKeyKind]

var (
	_ credential          = (*apiKeyCredential)(nil)
	_ subscriptionChecker = (*apiKeyCredential)(nil)
)
