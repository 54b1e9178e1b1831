package revocation

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// ruleKindSpec is what one kind of rule is wherever it appears: its name
// (logs, the token service's form field), its message field, its etcd key
// under the rules prefix (the claim it matches is RuleToken.claim's). Every place
// that handles rules reads this table, so a new kind is a constant in
// rules.go and a spec registered from a file of its own.
type ruleKindSpec struct {
	// name is the kind's name: "subject".
	name string
	// field is the message field that names a rule of this kind:
	// "revokedSubject".
	field string
	// fieldOf is where decoding puts that field.
	fieldOf func(*noticeFields) *json.RawMessage
	// etcd is the key's start under the rules prefix: "sub/".
	etcd string
	// escape: the key is url.PathEscape'd in etcd (an issuer holds slashes).
	escape bool
	// normalize, when set, maps a key to the form rules are matched in
	// (an email address in lower case), on both sides of the match.
	normalize func(string) string
	// noCut: the rule has no issuedBefore and refuses whatever the issue
	// time (a certificate); its message and etcd value must not carry one.
	noCut bool
	// check, when set, replaces the general check of a key
	// (validateRuleKey): a certificate's fingerprint.
	check func(string) error
}

// ruleSpecs is indexed by kind; RuleNone's entry is empty.
var ruleSpecs [ruleKinds]ruleKindSpec

// registerRuleKind fills the spec of kind, once.
func registerRuleKind(kind RuleKind, s ruleKindSpec) {
	if kind == RuleNone || kind >= ruleKinds || ruleSpecs[kind].name != "" {
		panic(fmt.Sprintf("revocation: rule kind %d registered twice or out of range", kind))
	}
	ruleSpecs[kind] = s
}

// spec is the kind's spec, nil for RuleNone and unknown kinds.
func (k RuleKind) spec() *ruleKindSpec {
	if k == RuleNone || k >= ruleKinds || ruleSpecs[k].name == "" {
		return nil
	}
	return &ruleSpecs[k]
}

// noCut reports whether rules of the kind have no issuedBefore (a
// certificate); false for RuleNone and unknown kinds.
func (k RuleKind) noCut() bool {
	s := k.spec()
	return s != nil && s.noCut
}

// RuleKinds lists the kinds of rule, in the order the request path checks
// them.
func RuleKinds() []RuleKind {
	var out []RuleKind
	for k := RuleNone + 1; k < ruleKinds; k++ {
		if k.spec() != nil {
			out = append(out, k)
		}
	}
	return out
}

// etcdKey is the rule's key under the rules prefix.
func (s *ruleKindSpec) etcdKey(key string) string {
	if s.escape {
		key = url.PathEscape(key)
	}
	return s.etcd + key
}

func init() {
	registerRuleKind(RuleSubject, ruleKindSpec{
		name: "subject", field: "revokedSubject", etcd: "sub/",
		fieldOf: func(f *noticeFields) *json.RawMessage { return &f.RevokedSubject },
	})
	registerRuleKind(RuleClient, ruleKindSpec{
		name: "client", field: "revokedClient", etcd: "client/",
		fieldOf: func(f *noticeFields) *json.RawMessage { return &f.RevokedClient },
	})
	registerRuleKind(RuleIssuer, ruleKindSpec{
		name: "issuer", field: "revokedIssuer", etcd: "iss/", escape: true,
		fieldOf: func(f *noticeFields) *json.RawMessage { return &f.RevokedIssuer },
	})
}
