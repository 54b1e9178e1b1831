package revocation

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxRuleKeyLength is the longest subject, client id or issuer a rule takes,
// in bytes.
const MaxRuleKeyLength = 1024

// RuleNotice is one revocation rule as it travels over a broker or sits in
// etcd: refuse the tokens whose claim of Kind is Key and that were issued
// before IssuedBefore, for TTL (zero: no expiry) counted as RuleExpiry says.
type RuleNotice struct {
	Kind         RuleKind
	Key          string
	IssuedBefore time.Time
	TTL          time.Duration
}

// Rule is the rule n stands for, received at receivedAt.
func (n RuleNotice) Rule(receivedAt time.Time) Rule {
	return Rule{Kind: n.Kind, Key: n.Key, IssuedBefore: n.IssuedBefore,
		ExpiresAt: RuleExpiry(receivedAt, n.IssuedBefore, n.TTL)}
}

// decodeRuleFields reads the rule of a message: exactly one of the kinds'
// fields, revokedSubject, revokedClient, revokedIssuer, revokedEmail,
// revokedCertificate (a string), issuedBefore (required, but refused for a
// kind without a cut: epoch seconds, a JSON number or a string of digits)
// and ttl (as for a token; absent means no expiry).
func decodeRuleFields(f *noticeFields) (RuleNotice, error) {
	var n RuleNotice
	var raw json.RawMessage
	for _, k := range RuleKinds() {
		v := *k.spec().fieldOf(f)
		if v == nil {
			continue
		}
		if n.Kind != RuleNone {
			return RuleNotice{}, fmt.Errorf("%w: more than one of %s", ErrInvalidNotice, ruleFieldNames())
		}
		n.Kind, raw = k, v
	}
	if n.Kind == RuleNone {
		return RuleNotice{}, fmt.Errorf("%w: none of %s", ErrInvalidNotice, ruleFieldNames())
	}
	if err := json.Unmarshal(raw, &n.Key); err != nil {
		return RuleNotice{}, fmt.Errorf("%w: %s is not a JSON string", ErrInvalidNotice, n.Kind.spec().field)
	}
	if err := validateRuleKey(n.Kind, n.Key); err != nil {
		return RuleNotice{}, err
	}
	var err error
	if n.IssuedBefore, err = ruleCutField(n.Kind, f.IssuedBefore); err != nil {
		return RuleNotice{}, err
	}
	ttl, err := parseRuleNumber("ttl", f.TTL)
	if err != nil {
		return RuleNotice{}, err
	}
	if strings.TrimSpace(ttl) != "" {
		if n.TTL, err = parseNoticeTTL(ttl); err != nil {
			return RuleNotice{}, err
		}
	}
	return n, nil
}

// ruleCutField reads the issuedBefore of a rule of kind: required, but
// refused for a kind without a cut (a certificate), which is zero.
func ruleCutField(kind RuleKind, v json.RawMessage) (time.Time, error) {
	before, err := parseRuleNumber("issuedBefore", v)
	if err != nil {
		return time.Time{}, err
	}
	switch noCut := kind.noCut(); {
	case noCut && before != "":
		return time.Time{}, fmt.Errorf("%w: a %s rule has no issuedBefore: it refuses whatever the issue time", ErrInvalidNotice, kind)
	case noCut:
		return time.Time{}, nil
	case before == "":
		return time.Time{}, fmt.Errorf("%w: a rule needs issuedBefore (epoch seconds)", ErrInvalidNotice)
	}
	return parseIssuedBefore(before)
}

// ruleHeaders reads a rule sent as headers with an empty body (the form of a
// JMS MapMessage bridge, as for a token) into the fields of the JSON forms,
// each header value taken as a JSON string, so that one decoder checks both.
// ok is false when no rule header is present. A value that is not UTF-8 is
// an error: JSON would turn it into another string.
func ruleHeaders(header func(string) (string, bool)) (f noticeFields, ok bool, err error) {
	type headerField struct {
		name string
		dst  *json.RawMessage
	}
	fields := []headerField{{"issuedBefore", &f.IssuedBefore}, {"ttl", &f.TTL}}
	for _, k := range RuleKinds() {
		fields = append(fields, headerField{k.spec().field, k.spec().fieldOf(&f)})
	}
	for _, h := range fields {
		v, set := header(h.name)
		if !set {
			continue
		}
		if len(v) > MaxNoticeSize {
			return f, true, fmt.Errorf("%w: %s header of %d bytes is larger than %d", ErrInvalidNotice, h.name, len(v), MaxNoticeSize)
		}
		if !utf8.ValidString(v) {
			return f, true, fmt.Errorf("%w: %s header is not valid UTF-8", ErrInvalidNotice, h.name)
		}
		*h.dst, _ = json.Marshal(v) // a valid string always marshals
	}
	return f, f.isRule(), nil
}

// parseRuleNumber returns the text of a JSON number or string field, "" when
// it is absent or null.
func parseRuleNumber(name string, v json.RawMessage) (string, error) {
	if v == nil || string(v) == "null" {
		return "", nil
	}
	if v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("%w: %s is not a valid JSON string", ErrInvalidNotice, name)
		}
		return s, nil
	}
	return string(v), nil
}

// parseIssuedBefore reads epoch seconds: a positive integer before 2^32 (the
// year 2106, as far as the set stores times).
func parseIssuedBefore(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 11 {
		return time.Time{}, fmt.Errorf("%w: issuedBefore is not epoch seconds", ErrInvalidNotice)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("%w: issuedBefore %q is not epoch seconds", ErrInvalidNotice, s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= math.MaxUint32 {
		return time.Time{}, fmt.Errorf("%w: issuedBefore must be positive epoch seconds before 2106", ErrInvalidNotice)
	}
	return time.Unix(n, 0), nil
}

// ruleFieldNames lists the message fields of the kinds, for errors.
func ruleFieldNames() string {
	var names []string
	for _, k := range RuleKinds() {
		names = append(names, k.spec().field)
	}
	return strings.Join(names, ", ")
}

// validateRuleKey checks that key can be the subject, client id, issuer or
// email of a rule: not empty, at most MaxRuleKeyLength bytes, valid UTF-8 without
// control characters; or what the kind's own check says (a certificate's
// fingerprint). Errors do not quote the key.
func validateRuleKey(kind RuleKind, key string) error {
	if s := kind.spec(); s != nil && s.check != nil {
		return s.check(key)
	}
	what := kind.String()
	switch {
	case key == "":
		return fmt.Errorf("%w: empty %s", ErrInvalidNotice, what)
	case len(key) > MaxRuleKeyLength:
		return fmt.Errorf("%w: %s of %d bytes is longer than %d", ErrInvalidNotice, what, len(key), MaxRuleKeyLength)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidNotice, what)
	}
	for _, r := range key {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalidNotice, what)
		}
	}
	return nil
}

// ValidateRuleNotice checks a rule before it is published.
func ValidateRuleNotice(n RuleNotice) error {
	if n.Kind.spec() == nil {
		return fmt.Errorf("%w: no rule kind", ErrInvalidNotice)
	}
	if err := validateRuleKey(n.Kind, n.Key); err != nil {
		return err
	}
	switch noCut := n.Kind.noCut(); {
	case noCut && !n.IssuedBefore.IsZero():
		return fmt.Errorf("%w: a %s rule has no issuedBefore", ErrInvalidNotice, n.Kind)
	case !noCut && (n.IssuedBefore.Unix() <= 0 || n.IssuedBefore.Unix() >= math.MaxUint32-1):
		return fmt.Errorf("%w: issuedBefore must be between 1970 and 2106", ErrInvalidNotice)
	}
	if n.TTL < 0 {
		return fmt.Errorf("%w: negative ttl", ErrInvalidNotice)
	}
	return nil
}

// EncodeRuleNotice writes n in the flat form, issuedBefore and ttl as JSON
// numbers of whole seconds (issuedBefore rounded up, ttl rounded up); a zero
// TTL is left out, which DecodeMessage reads as no expiry, and so is the
// issuedBefore of a kind without a cut.
func EncodeRuleNotice(n RuleNotice) []byte {
	m := map[string]any{n.Kind.spec().field: n.Key}
	if !n.Kind.noCut() {
		m["issuedBefore"] = int64(ruleCut(n.IssuedBefore))
	}
	if n.TTL > 0 {
		m["ttl"] = int64((n.TTL + time.Second - 1) / time.Second)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic("revocation: cannot encode a rule: " + err.Error())
	}
	return b
}

// RuleEtcdKey is the key of a rule under the rules prefix (without it):
// sub/<subject>, client/<id>, iss/<issuer, url.PathEscape'd>,
// email/<address>, cert/<fingerprint>; "" for no kind.
func RuleEtcdKey(kind RuleKind, key string) string {
	s := kind.spec()
	if s == nil {
		return ""
	}
	return s.etcdKey(key)
}

// parseRuleEtcdKey reads a key under the rules prefix (without it).
func parseRuleEtcdKey(rel string) (RuleKind, string, error) {
	for _, k := range RuleKinds() {
		s := k.spec()
		key, ok := strings.CutPrefix(rel, s.etcd)
		if !ok {
			continue
		}
		if s.escape {
			var err error
			if key, err = url.PathUnescape(key); err != nil {
				return RuleNone, "", fmt.Errorf("%w: the %s is not URL-escaped", ErrInvalidNotice, s.name)
			}
		}
		return k, key, validateRuleKey(k, key)
	}
	var starts []string
	for _, k := range RuleKinds() {
		starts = append(starts, k.spec().etcd)
	}
	return RuleNone, "", fmt.Errorf("%w: a rule key starts with one of %s", ErrInvalidNotice, strings.Join(starts, ", "))
}

// ruleEtcdValue is the value of a rule key.
type ruleEtcdValue struct {
	IssuedBefore json.RawMessage `json:"issuedBefore"`
	TTL          json.RawMessage `json:"ttl"`
}

// EncodeRuleEtcdValue is the value of n's etcd key:
// {"issuedBefore": SECONDS, "ttl": SECONDS} (ttl 0 when n has none), or
// {"ttl": SECONDS} for a kind without a cut.
func EncodeRuleEtcdValue(n RuleNotice) []byte {
	secs := max(int64((n.TTL+time.Second-1)/time.Second), 0)
	if n.Kind.noCut() {
		return fmt.Appendf(nil, `{"ttl":%d}`, secs)
	}
	return fmt.Appendf(nil, `{"issuedBefore":%d,"ttl":%d}`, ruleCut(n.IssuedBefore), secs)
}

// parseRuleEtcdValue reads the value of a rule key of kind and returns its
// cut (zero for a kind without one). The ttl is informational (the key's
// lease is what ends the rule).
func parseRuleEtcdValue(kind RuleKind, v []byte) (time.Time, error) {
	var f ruleEtcdValue
	if err := json.Unmarshal(v, &f); err != nil {
		return time.Time{}, fmt.Errorf("%w: the value is not a JSON object (%s)", ErrInvalidNotice, noticeJSONErrorKind(err))
	}
	return ruleCutField(kind, f.IssuedBefore)
}
