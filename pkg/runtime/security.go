package runtime

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/internal/ascii"
)

// Kinds of security scheme a resource may require (docs/authentication.md).
const (
	// SchemeOAuth2 is a bearer token in authConfig.authorizationHeader: a
	// JWT of a trusted [[jwtTokenConfig]] issuer, or an opaque token that
	// [keyManager] introspects. OpenAPI's oauth2, openIdConnect and
	// http bearer schemes, WSO2's oauth2.
	SchemeOAuth2 = "oauth2"
	// SchemeAPIKey is an API key (a JWT of a trusted [[apiKeyConfig]]
	// issuer) in the header, query parameter or cookie In and Name say.
	SchemeAPIKey = "apiKey"
	// SchemeBasic is a user of [b7a.users] in Authorization: Basic.
	SchemeBasic = "basic"
	// SchemeMutualTLS is a client certificate that the HTTPS listener
	// verified against the trust store ([mutualSSLConfig]).
	SchemeMutualTLS = "mutualTLS"
)

// Places of an API key (Scheme.In).
const (
	InHeader = "header"
	InQuery  = "query"
	InCookie = "cookie"
)

// DefaultAPIKeyName is where an API key is when WSO2's
// x-wso2-application-security asks for api_key and the definition declares
// no apiKey scheme: the apikey header.
const DefaultAPIKeyName = "apikey"

// Scheme is one security scheme an alternative requires.
type Scheme struct {
	// Kind is SchemeOAuth2, SchemeAPIKey, SchemeBasic or SchemeMutualTLS.
	Kind string
	// In and Name place an API key: InHeader, InQuery or InCookie, and the
	// header, parameter or cookie name.
	In, Name string
	// Scopes must all be held by the credential of this scheme: a token's
	// scope claim, a basic user's scopes. For an oauth2 scheme they are the
	// security requirement's scopes.
	Scopes []string
}

// Requirement is one alternative of a resource's security: every scheme of
// it must pass (an OpenAPI security requirement object).
type Requirement struct {
	Schemes []Scheme
}

// requirements returns the alternatives of a secured resource, any one of
// which suffices: Security, or, when it is nil (a Spec written before
// micro-gw build compiled security), one bearer token with Scopes.
func (r *Resource) requirements() []Requirement {
	if r.Security != nil {
		return r.Security
	}
	return []Requirement{{Schemes: []Scheme{{Kind: SchemeOAuth2, Scopes: r.Scopes}}}}
}

// checkSecurity refuses a resource whose security cannot be checked: an
// empty list of alternatives, an alternative without schemes, an unknown
// kind, an API key without a valid place.
func (r *Resource) checkSecurity() error {
	if !r.Secured || r.Security == nil {
		return nil
	}
	if len(r.Security) == 0 {
		return errors.New("a secured resource needs at least one security alternative")
	}
	for i, req := range r.Security {
		if len(req.Schemes) == 0 {
			return fmt.Errorf("security alternative %d has no scheme", i)
		}
		for _, s := range req.Schemes {
			switch s.Kind {
			case SchemeOAuth2, SchemeBasic, SchemeMutualTLS:
				if s.In != "" || s.Name != "" {
					return fmt.Errorf("security alternative %d: a %s scheme has no in or name", i, s.Kind)
				}
			case SchemeAPIKey:
				switch s.In {
				case InHeader:
					if !validHeaderName(s.Name) {
						return fmt.Errorf("security alternative %d: API key header %q is not a header name", i, s.Name)
					}
				case InQuery, InCookie:
					if s.Name == "" || strings.ContainsAny(s.Name, "&=;, \t\r\n") {
						return fmt.Errorf("security alternative %d: API key %s name %q is not usable", i, s.In, s.Name)
					}
				default:
					return fmt.Errorf("security alternative %d: an API key is in a header, a query parameter or a cookie, not %q", i, s.In)
				}
			default:
				return fmt.Errorf("security alternative %d: unknown scheme kind %q", i, s.Kind)
			}
		}
	}
	return nil
}

// validHeaderName reports whether s is an HTTP field name (an RFC 9110 token).
func validHeaderName(s string) bool {
	return s != "" && tchars.All(s) && http.CanonicalHeaderKey(s) != ""
}

// tchars are the bytes of an RFC 9110 token.
var tchars = ascii.AlnumAnd("!#$%&'*+-.^_`|~")
