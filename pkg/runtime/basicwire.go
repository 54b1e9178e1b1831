package runtime

import (
	"context"
	"net/http"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
)

// basicChecker checks a user of [b7a.users] in Authorization: Basic
// (docs/authentication.md, "Basic auth").
type basicChecker struct {
	users *auth.Users // nil: no user is configured, every request is refused
}

var errNoUsers = &auth.Error{Code: auth.CodeInvalidCredentials, Reason: auth.ReasonUnconfigured,
	Detail: "The user name or password is not correct"}

func (b *basicChecker) check(ctx context.Context, r *http.Request, _ *place) (credential, *Fault, string) {
	name, password, aerr := auth.BasicFromRequest(r.Header)
	if aerr == nil {
		if b.users == nil {
			aerr = errNoUsers
		} else {
			var u *auth.User
			if u, aerr = b.users.Authenticate(ctx, name, password); aerr == nil {
				return (*userCredential)(u), nil, ""
			}
		}
	}
	return nil, authFault(aerr), aerr.Reason
}

// userCredential is a basic-auth user. It has no jti; a subject rule for
// the user's name refuses it (micro-gw revoke --sub NAME), whatever the
// rule's cut, as it does a token without iat.
type userCredential auth.User

func (u *userCredential) what() string { return "basic-auth user" }

func (u *userCredential) jti() string { return "" }

func (u *userCredential) ruleToken() revocation.RuleToken {
	return revocation.RuleToken{Subject: u.Name}
}

func (u *userCredential) revokedBy(rv *revocationRuntime) string {
	t := u.ruleToken()
	return revokedByRules(rv, "", &t)
}

// A user is no application: application throttling policies do not apply.
func (u *userCredential) application() string { return "" }

func (u *userCredential) applicationTier() string { return "" }

func (u *userCredential) subscriptionTier(string, string) string { return "" }

func (u *userCredential) sandbox() bool { return false }

func (u *userCredential) hasScopes(scopes []string) bool { return (*auth.User)(u).HasScopes(scopes) }

var _ credential = (*userCredential)(nil)
