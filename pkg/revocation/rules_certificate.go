package revocation

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// The certificate kind of rule (docs/revocation.md, "Rules"): it refuses one
// client certificate of mutual TLS, by the SHA-256 fingerprint of its DER in
// lowercase hex. Unlike the token kinds it has no cut: it refuses the
// certificate whatever its issue time. Message field revokedCertificate
// (without issuedBefore), etcd key cert/<hex> under the rules prefix with the
// value {"ttl": N}.
func init() {
	registerRuleKind(RuleCertificate, ruleKindSpec{
		name: "certificate", field: "revokedCertificate", etcd: "cert/",
		fieldOf: func(f *noticeFields) *json.RawMessage { return &f.RevokedCertificate },
		noCut:   true,
		check:   validateCertificateKey,
	})
}

// CertificateFingerprint is the key of a certificate rule for the
// certificate of DER bytes der: SHA-256, lowercase hex. The gateway and
// `micro-gw revoke --cert` both compute it here.
func CertificateFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// validateCertificateKey checks a fingerprint: 64 lowercase hex digits.
func validateCertificateKey(key string) error {
	if len(key) != 2*sha256.Size {
		return fmt.Errorf("%w: a certificate fingerprint is %d hex digits (SHA-256 of the DER), got %d characters", ErrInvalidNotice, 2*sha256.Size, len(key))
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%w: a certificate fingerprint is lowercase hex (0-9, a-f)", ErrInvalidNotice)
		}
	}
	return nil
}

// MatchCertificate reports whether a rule refuses the client certificate
// of fingerprint fp now: one O(1) lookup, one atomic load when there are no
// certificate rules. Match never asks about certificates.
func (r *RuleSet) MatchCertificate(fp string) bool {
	return r.matchKind(RuleCertificate, fp, &RuleToken{}, 0)
}
