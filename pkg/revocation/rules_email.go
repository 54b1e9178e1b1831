package revocation

import (
	"encoding/json"
	"strings"
)

// The email kind of rule (docs/revocation.md, "Rules"): it refuses the
// tokens whose email claim is the address, issued before the cut. It is
// what a Shared Signals event about a subject in the email format becomes.
// Message field revokedEmail, etcd key email/<address> under the rules
// prefix.
//
// Addresses are compared in lower case: identity providers treat them so,
// and a rule that matched only one spelling of an address would let the
// others through. Lower-casing both sides can only make a rule refuse more.
func init() {
	registerRuleKind(RuleEmail, ruleKindSpec{
		name: "email", field: "revokedEmail", etcd: "email/",
		fieldOf:   func(f *noticeFields) *json.RawMessage { return &f.RevokedEmail },
		normalize: NormalizeEmail,
	})
}

// NormalizeEmail is the form in which an email rule and a token's email
// claim are compared: lower case. strings.ToLower returns an address that
// is lower case already without copying it, so a lookup of a normalized
// claim allocates nothing.
func NormalizeEmail(addr string) string { return strings.ToLower(addr) }
