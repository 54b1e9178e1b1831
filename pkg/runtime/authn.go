package runtime

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// levelAccess is the level of the one-line-per-request access log.
const levelAccess = slog.LevelDebug

// credential is a validated credential of one scheme: a JWT, an API key, an
// introspected opaque token, a basic-auth user, a client certificate.
type credential interface {
	// what names the kind of credential in logs: "JWT Token", "API key".
	what() string
	// jti is the key of the revoked set, for logs too; "" when none.
	jti() string
	// ruleToken is what the token revocation rules match: sub, client,
	// iss, email and iat (empty for a certificate).
	ruleToken() revocation.RuleToken
	// revokedBy asks the revoked set and the rules about the credential:
	// "" when nothing refuses it, "jti" for the revoked set, else the kind
	// of the rule that does. One O(1) lookup per question.
	revokedBy(rv *revocationRuntime) string
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

// credentialChecker reads the credential of one kind of scheme from a
// request and validates it: the credential, or the fault to answer
// (900902 when there is none at all) and a short fixed reason for the log
// and the metrics. It never puts the credential in the fault.
type credentialChecker interface {
	check(ctx context.Context, r *http.Request, p *place) (credential, *Fault, string)
}

// place is where one scheme's credential is: its kind and, for an API key
// and for a bearer token, the header (or query parameter, cookie) name.
type place struct {
	kind     string
	in, name string
}

// routeAuth is a route's security, compiled once: the places to look at
// and the alternatives that use them.
type routeAuth struct {
	places []place
	alts   []compiledAlt
	// kinds are the distinct kinds of scheme, in the order they first
	// appear, for the challenges of a 401.
	kinds []string
	// challenges: the 401s of this route need other challenges than the
	// Bearer one alone (any scheme but a bearer token).
	challenges bool
}

type compiledAlt struct {
	uses []schemeUse
}

// schemeUse is one scheme of an alternative: its place and scopes.
type schemeUse struct {
	place  int
	scopes []string
}

// compileAuth compiles a secured resource's alternatives for its API's
// bearer header.
func compileAuth(res *Resource, bearerHeader string) *routeAuth {
	ra := &routeAuth{}
	placeOf := func(p place) int {
		for i, q := range ra.places {
			if q == p {
				return i
			}
		}
		ra.places = append(ra.places, p)
		if !slices.Contains(ra.kinds, p.kind) {
			ra.kinds = append(ra.kinds, p.kind)
		}
		return len(ra.places) - 1
	}
	for _, req := range res.requirements() {
		var alt compiledAlt
		for _, s := range req.Schemes {
			p := place{kind: s.Kind}
			switch s.Kind {
			case SchemeAPIKey:
				p.in, p.name = s.In, s.Name
				if s.In == InHeader {
					p.name = http.CanonicalHeaderKey(s.Name)
				}
			case SchemeOAuth2:
				p.in, p.name = InHeader, bearerHeader
			}
			alt.uses = append(alt.uses, schemeUse{place: placeOf(p), scopes: s.Scopes})
		}
		ra.alts = append(ra.alts, alt)
	}
	ra.challenges = len(ra.kinds) != 1 || ra.kinds[0] != SchemeOAuth2
	return ra
}

// placeResult is what one place gave for one request.
type placeResult struct {
	done   bool
	cred   credential
	fault  *Fault
	reason string
}

// authenticate checks the credentials of secured resources against their
// alternatives, in order: the first whose every scheme passes, with the
// scopes it requires, is the one taken; each place is read at most once.
// When the credentials of an alternative pass but lack its scopes, and no
// other alternative passes whole, that one is taken and the scopes stage
// answers 403. When none passes, the refusal is the most telling failure:
// a credential that was there and was refused, rather than another
// scheme's "Bearer" found where Basic was expected, or one that is
// missing; 900902 only when nothing was there at all. Unsecured resources
// pass without looking at any credential.
func (s *Server) authenticate(next stage) stage {
	return func(x *exchange, r *http.Request) {
		if !x.route.resource.Secured {
			next(x, r)
			return
		}
		ra := x.route.auth
		var buf [4]placeResult
		res := buf[:]
		if len(ra.places) > len(buf) {
			res = make([]placeResult, len(ra.places))
		}
		chosen, denied := -1, -1
		for ai := range ra.alts {
			uses := ra.alts[ai].uses
			passed, scoped := true, true
			for _, u := range uses {
				pr := &res[u.place]
				if !pr.done {
					pr.cred, pr.fault, pr.reason = s.checkers[ra.places[u.place].kind].check(r.Context(), r, &ra.places[u.place])
					pr.done = true
				}
				if pr.fault != nil {
					passed = false
					break
				}
				if len(u.scopes) > 0 && !pr.cred.hasScopes(u.scopes) {
					scoped = false
				}
			}
			if !passed {
				continue
			}
			if scoped {
				chosen = ai
				break
			}
			if denied < 0 {
				denied = ai
			}
		}
		if chosen < 0 && denied < 0 {
			f, reason, kind := refusal(ra, res)
			s.metrics.authFailures.WithLabelValues(boundedReason(reason)).Inc()
			x.authReason, x.authKind = reason, kind
			if s.logger.Enabled(r.Context(), slog.LevelDebug) {
				s.logger.Debug("credentials refused", "scheme", kind, "reason", reason, "resource", x.route.template)
			}
			x.fail(f)
			return
		}
		if chosen < 0 {
			chosen, x.scopeDenied = denied, true
		}
		x.creds = x.credBuf[:0]
		for _, u := range ra.alts[chosen].uses {
			c := res[u.place].cred
			x.creds = append(x.creds, c)
			if x.cred == nil || x.cred.application() == "" && c.application() != "" {
				x.cred = c // the first with an application, else the first
			}
			if x.jti == "" {
				x.jti = c.jti()
			}
			x.sandbox = x.sandbox || c.sandbox()
		}
		if s.logger.Enabled(r.Context(), config.LevelTrace) {
			s.logger.Log(r.Context(), config.LevelTrace, "credentials accepted", "jti", x.jti, "sandbox", x.sandbox, "resource", x.route.template)
		}
		next(x, r)
	}
}

// refusal picks the fault of a request no alternative accepted, with its
// reason and the kind of scheme that gave it.
func refusal(ra *routeAuth, res []placeResult) (*Fault, string, string) {
	var scheme, missing *placeResult
	kind := ""
	for i := range ra.places {
		pr := &res[i]
		switch {
		case !pr.done || pr.fault == nil:
		case pr.fault.Code == CodeMissingCredentials:
			if missing == nil {
				missing, kind = pr, ra.places[i].kind
			}
		case pr.reason == auth.ReasonBadScheme:
			if scheme == nil {
				scheme = pr
			}
		default:
			return pr.fault, pr.reason, ra.places[i].kind
		}
	}
	if scheme != nil {
		// Another scheme's credential in the shared Authorization header
		// tells nothing when this scheme found none of its own.
		for i := range ra.places {
			if &res[i] == scheme {
				return scheme.fault, scheme.reason, ra.places[i].kind
			}
		}
	}
	if missing != nil {
		return missing.fault, missing.reason, kind
	}
	return newFault(CodeMissingCredentials, ""), auth.ReasonMissing, ""
}

// challenges are the WWW-Authenticate values of a 401 of this route: one
// per kind of scheme it accepts. The Bearer one carries RFC 6750's
// error="invalid_token" when a credential was refused and it was not
// another scheme's (failedKind); TLS client certificates have no HTTP
// challenge of their own, so micro-gw names them MutualTLS.
func (ra *routeAuth) challengesFor(f *Fault, failedKind string) []string {
	out := make([]string, 0, len(ra.kinds))
	for _, k := range ra.kinds {
		switch k {
		case SchemeOAuth2:
			if f.Code != CodeMissingCredentials && (failedKind == "" || failedKind == SchemeOAuth2) {
				out = append(out, bearerInvalid(f.Detail))
			} else {
				out = append(out, bearerRealm)
			}
		case SchemeBasic:
			out = append(out, `Basic realm="micro-gw", charset="UTF-8"`)
		case SchemeAPIKey:
			for _, p := range ra.places {
				if p.kind == SchemeAPIKey {
					out = append(out, `APIKey realm="micro-gw", in="`+p.in+`", name="`+quoteParam(p.name)+`"`)
				}
			}
		case SchemeMutualTLS:
			out = append(out, `MutualTLS realm="micro-gw"`)
		}
	}
	return out
}

// revokedByRules asks the revoked set about jti (when not empty) and the
// rules about t: the answer of credential.revokedBy for a token.
func revokedByRules(rv *revocationRuntime, jti string, t *revocation.RuleToken) string {
	if jti != "" && rv.set.Revoked(jti) {
		return "jti"
	}
	if rv.rules.Len() > 0 {
		if kind := rv.rules.Match(t); kind != revocation.RuleNone {
			return kind.String()
		}
	}
	return ""
}

// subscriptionChecker is a credential that carries WSO2's subscribedAPIs:
// its validator checks them when an issuer has validateSubscription.
type subscriptionChecker interface {
	subscribed(s *Server, apiName, apiVersion string) *Fault
}

// checkSubscription answers the validator's fault (403 900908) when the
// token's or API key's application is not subscribed to the API.
func (s *Server) checkSubscription(next stage) stage {
	if !s.checksSubscriptions {
		return next
	}
	return func(x *exchange, r *http.Request) {
		if x.route.resource.Secured {
			for _, c := range x.creds {
				sc, ok := c.(subscriptionChecker)
				if !ok {
					continue
				}
				if f := sc.subscribed(s, x.route.api.Title, x.route.api.Version); f != nil {
					s.metrics.authFailures.WithLabelValues("subscription").Inc()
					x.fail(f)
					return
				}
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

// bearerRealm is the challenge of a bearer token that was not there.
const bearerRealm = `Bearer realm="micro-gw"`

// bearerInvalid is RFC 6750's challenge for a refused token.
func bearerInvalid(detail string) string {
	return `Bearer realm="micro-gw", error="invalid_token", error_description="` + quoteParam(detail) + `"`
}

// sandboxKeyType reports whether a keytype claim says SANDBOX.
func sandboxKeyType(keyType string) bool { return strings.EqualFold(keyType, "SANDBOX") }
