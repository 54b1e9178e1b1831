package revocation

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkRuleSetMatch is the request path's rule check for a token that
// no rule refuses, with a subject, a client and an issuer (three lookups),
// against no rules and 100k rules (a third of each kind, one of them for the
// token's own subject with a cut before its iat).
func BenchmarkRuleSetMatch(b *testing.B) {
	tok := &RuleToken{Subject: "admin", Client: "bench-app", Issuer: "https://localhost:9443/oauth2/token",
		IssuedAt: time.Now().Unix(), HasIssuedAt: true}
	for _, n := range []int{0, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			rs := NewRuleSet()
			cut := time.Now().Add(-time.Hour)
			if n > 0 {
				rs.RevokeRule(Rule{Kind: RuleSubject, Key: "admin", IssuedBefore: cut})
			}
			for i := 1; i < n; i++ {
				kind := RuleKind(1 + i%3)
				rs.RevokeRule(Rule{Kind: kind, Key: "key-" + strconv.Itoa(i), IssuedBefore: cut, ExpiresAt: cut.Add(48 * time.Hour)})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if rs.Match(tok) != RuleNone {
					b.Fatal("matched")
				}
			}
		})
	}
}
