package revocation

import (
	"errors"
	"testing"
)

// FuzzRuleEtcdEntry feeds rule keys and values as etcd holds them (anyone
// with write access to the prefix can write anything there) to their parsers:
// a key and a value are refused with ErrInvalidNotice or read into a rule
// that ValidateRuleNotice accepts, and RuleEtcdKey gives the key back.
func FuzzRuleEtcdEntry(f *testing.F) {
	f.Add("sub/alice", []byte(`{"issuedBefore":1764300000,"ttl":86400}`))
	f.Add("iss/https%3A%2F%2Fidp%2Ftoken", []byte(`{"issuedBefore":"1764300000"}`))
	f.Add("client/app", []byte(`{"issuedBefore":1.5}`))
	f.Add("email/Alice@Example.com", []byte(`{"issuedBefore":1764300000}`))
	f.Add("iss/%zz", []byte(`null`))
	f.Add("cert/"+CertificateFingerprint(nil), []byte(`{"ttl":3600}`))
	f.Fuzz(func(t *testing.T, rel string, value []byte) {
		kind, key, err := parseRuleEtcdKey(rel)
		keyOK := err == nil
		if err != nil {
			if !errors.Is(err, ErrInvalidNotice) {
				t.Fatalf("key error does not wrap ErrInvalidNotice: %v", err)
			}
		} else if back := RuleEtcdKey(kind, key); back != rel {
			if k2, key2, err := parseRuleEtcdKey(back); err != nil || k2 != kind || key2 != key {
				t.Fatalf("key %q read as %v %q, written back as %q, which reads as %v %q (%v)", rel, kind, key, back, k2, key2, err)
			}
		}
		before, err := parseRuleEtcdValue(kind, value)
		if err != nil {
			if !errors.Is(err, ErrInvalidNotice) {
				t.Fatalf("value error does not wrap ErrInvalidNotice: %v", err)
			}
			return
		}
		if !kind.noCut() && before.Unix() <= 0 || kind.noCut() && !before.IsZero() {
			t.Fatalf("issuedBefore %v accepted for a %v rule", before, kind)
		}
		if keyOK {
			if err := ValidateRuleNotice(RuleNotice{Kind: kind, Key: key, IssuedBefore: before}); err != nil {
				t.Fatalf("a rule read from etcd is invalid: %v", err)
			}
		}
	})
}
