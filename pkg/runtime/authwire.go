package runtime

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
)

// jwtValidator adapts *auth.Validator to the request path's tokenValidator.
type jwtValidator struct {
	v            *auth.Validator
	subscription bool
}

// claimsCredential is a validated token; a pointer conversion of the
// validator's claims, so adapting allocates nothing.
type claimsCredential auth.Claims

func (c *claimsCredential) jti() string { return c.JTI }

func (c *claimsCredential) ruleToken() revocation.RuleToken {
	t := revocation.RuleToken{Subject: c.Subject, Client: c.Client, Issuer: c.Issuer, Email: c.Email}
	if !c.IssuedAt.IsZero() {
		t.IssuedAt, t.HasIssuedAt = c.IssuedAt.Unix(), true
	}
	return t
}

func (c *claimsCredential) sandbox() bool { return strings.EqualFold(c.KeyType, "SANDBOX") }

func (c *claimsCredential) application() string { return c.Application }

func (c *claimsCredential) applicationTier() string { return c.ApplicationTier }

func (c *claimsCredential) subscriptionTier(apiName, apiVersion string) string {
	if s := (*auth.Claims)(c).Subscription(apiName, apiVersion); s != nil {
		return s.SubscriptionTier
	}
	return ""
}

func (c *claimsCredential) hasScopes(scopes []string) bool {
	return (*auth.Claims)(c).HasScopes(scopes)
}

// newValidator provisions the JWT validator of the configured issuers.
func (s *Server) newValidator() (tokenValidator, error) {
	client := s.opts.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout:   10 * time.Second,
			Transport: newTransport(s.roots),
		}
	}
	v, err := auth.New(s.cfg, auth.Options{
		Logger:     s.logger,
		HTTPClient: client,
		Now:        s.opts.Now,
		Registerer: s.metrics.registry,
	})
	if err != nil {
		return nil, err
	}
	jv := &jwtValidator{v: v}
	for _, iss := range s.cfg.JWT {
		jv.subscription = jv.subscription || iss.ValidateSubscription
	}
	return jv, nil
}

func (j *jwtValidator) authenticate(ctx context.Context, h http.Header, header string) (credential, *Fault, string) {
	tok, aerr := auth.TokenFromRequest(h, header)
	if aerr != nil {
		return nil, authFault(aerr), aerr.Reason
	}
	claims, err := j.v.Validate(ctx, tok)
	if err != nil {
		if errors.As(err, &aerr) {
			return nil, authFault(aerr), aerr.Reason
		}
		return nil, newFault(CodeUnclassified, ""), "error"
	}
	return (*claimsCredential)(claims), nil, ""
}

func (j *jwtValidator) subscribed(c credential, apiName, apiVersion string) *Fault {
	cc, ok := c.(*claimsCredential)
	if !ok {
		return newFault(CodeResourceForbidden, "")
	}
	if aerr := j.v.ValidateSubscription((*auth.Claims)(cc), apiName, apiVersion); aerr != nil {
		return authFault(aerr)
	}
	return nil
}

func (j *jwtValidator) checksSubscriptions() bool { return j.subscription }

func (j *jwtValidator) prefetch(ctx context.Context) error { return j.v.Prefetch(ctx) }

// authFault is the fault of a refused token: the validator's code with its
// detail, which never contains the token.
func authFault(e *auth.Error) *Fault {
	if _, known := faults[e.Code]; !known {
		return newFault(CodeInvalidCredentials, e.Detail)
	}
	return newFault(e.Code, e.Detail)
}
