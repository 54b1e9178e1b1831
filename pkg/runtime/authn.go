package runtime

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// levelAccess is the level of the one-line-per-request access log.
const levelAccess = slog.LevelDebug

// tokenValidator is what the request path needs of the JWT validator
// (pkg/runtime/auth), seen from this side.
type tokenValidator interface {
	// authenticate takes the token from header (the API's) and validates
	// it. On failure it returns the fault to answer and a short fixed reason
	// for the metrics.
	authenticate(ctx context.Context, h http.Header, header string) (credential, *Fault, string)
	// subscribed checks the subscribedAPIs claim against the API when an
	// issuer has validateSubscription; nil means allowed.
	subscribed(c credential, apiName, apiVersion string) *Fault
	// checksSubscriptions is true when any issuer has validateSubscription.
	checksSubscriptions() bool
	// prefetch fetches the issuers' JWKS ahead of the first request.
	prefetch(ctx context.Context) error
}

// credential is a validated token.
type credential interface {
	jti() string
	// ruleToken is what revocation rules match: sub, client, iss, email and iat.
	ruleToken() revocation.RuleToken
	// sandbox is true for keytype SANDBOX.
	sandbox() bool
	hasScopes(scopes []string) bool
	// application is the token's application for throttling and blocking
	// (application.id, else azp, else client_id).
	application() string
	// applicationTier names the token's application policy.
	applicationTier() string
	// subscriptionTier names the subscription policy of the token's
	// subscription to the API, "" when it has none.
	subscriptionTier(apiName, apiVersion string) string
}

// authenticate validates the token of secured resources, from the API's
// header (x-wso2-auth-header, else [authConfig]); unsecured ones pass
// without looking at any header.
func (s *Server) authenticate(next stage) stage {
	return func(x *exchange, r *http.Request) {
		if !x.route.resource.Secured {
			next(x, r)
			return
		}
		c, f, reason := s.validator.authenticate(r.Context(), r.Header, x.route.settings.authHeader)
		if f != nil {
			s.metrics.authFailures.WithLabelValues(boundedReason(reason)).Inc()
			x.authReason = reason
			x.fail(f)
			return
		}
		x.cred = c
		x.jti = c.jti()
		x.sandbox = c.sandbox()
		if s.logger.Enabled(r.Context(), config.LevelTrace) {
			s.logger.Log(r.Context(), config.LevelTrace, "token accepted", "jti", x.jti, "sandbox", x.sandbox, "resource", x.route.template)
		}
		next(x, r)
	}
}

// checkSubscription answers the validator's fault (403 900908) when the
// token's application is not subscribed to the API.
func (s *Server) checkSubscription(next stage) stage {
	if !s.validator.checksSubscriptions() {
		return next
	}
	return func(x *exchange, r *http.Request) {
		if x.route.resource.Secured {
			if f := s.validator.subscribed(x.cred, x.route.api.Title, x.route.api.Version); f != nil {
				s.metrics.authFailures.WithLabelValues("subscription").Inc()
				x.fail(f)
				return
			}
		}
		next(x, r)
	}
}

// boundedReason keeps the reason label of auth failures to a small
// vocabulary: short lower-case words, anything else is "other".
func boundedReason(reason string) string {
	if reason == "" {
		return "invalid"
	}
	if len(reason) > 40 {
		return "other"
	}
	for i := 0; i < len(reason); i++ {
		c := reason[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "other"
		}
	}
	return reason
}
