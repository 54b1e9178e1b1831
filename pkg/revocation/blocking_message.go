package revocation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// BlockNotice is one blocking condition as it travels over a broker:
// Enabled blocks (for TTL from its receipt, or until lifted when TTL is
// zero), !Enabled lifts.
type BlockNotice struct {
	Kind    BlockKind
	Value   string
	Enabled bool
	TTL     time.Duration
}

// Block is the condition n stands for, received at receivedAt.
func (n BlockNotice) Block(receivedAt time.Time) Block {
	b := Block{Kind: n.Kind, Value: n.Value}
	if n.TTL > 0 {
		b.ExpiresAt = receivedAt.Add(n.TTL)
	}
	return b
}

// blockJSON is the blockingCondition object of a message:
//
//	{"blockingCondition": {"type": "ip", "value": "203.0.113.7", "enabled": true, "ttl": 3600}}
type blockJSON struct {
	Type    json.RawMessage `json:"type"`
	Value   json.RawMessage `json:"value"`
	Enabled json.RawMessage `json:"enabled"`
	TTL     json.RawMessage `json:"ttl"`
}

// decodeBlockFields reads the blocking condition of a message (the
// blockingCondition object of its flat or event form); ttl may be inside
// the object or beside it, not both. Errors never quote the value.
func decodeBlockFields(f *noticeFields) (BlockNotice, error) {
	var n BlockNotice
	var c blockJSON
	if err := json.Unmarshal(f.BlockingCondition, &c); err != nil {
		return n, fmt.Errorf("%w: blockingCondition is not a JSON object (%s)", ErrInvalidNotice, noticeJSONErrorKind(err))
	}
	var kind, value string
	if json.Unmarshal(c.Type, &kind) != nil {
		return n, fmt.Errorf("%w: blockingCondition.type is not a string (ip, iprange, application, user or api)", ErrInvalidNotice)
	}
	if n.Kind = ParseBlockKind(kind); n.Kind == BlockNone {
		return n, fmt.Errorf("%w: blockingCondition.type must be ip, iprange, application, user or api", ErrInvalidNotice)
	}
	if json.Unmarshal(c.Value, &value) != nil {
		return n, fmt.Errorf("%w: blockingCondition.value is not a string", ErrInvalidNotice)
	}
	var err error
	if n.Value, err = ParseBlockValue(n.Kind, value); err != nil {
		return n, err
	}
	switch e := string(bytes.TrimSpace(c.Enabled)); e {
	case "", "null", "true", `"true"`:
		n.Enabled = true
	case "false", `"false"`:
	default:
		return n, fmt.Errorf("%w: blockingCondition.enabled must be true or false", ErrInvalidNotice)
	}
	ttlRaw := c.TTL
	if f.TTL != nil && string(f.TTL) != "null" {
		if ttlRaw != nil && string(ttlRaw) != "null" {
			return n, fmt.Errorf("%w: ttl given both inside and beside blockingCondition", ErrInvalidNotice)
		}
		ttlRaw = f.TTL
	}
	ttl, err := parseRuleNumber("ttl", ttlRaw)
	if err != nil {
		return n, err
	}
	if strings.TrimSpace(ttl) != "" && n.Enabled {
		if n.TTL, err = parseNoticeTTL(ttl); err != nil {
			return n, err
		}
	}
	return n, nil
}

// ParseBlockValue checks value as a condition of kind and returns its
// canonical form, the one the BlockSet keys by:
//   - ip: an IPv4 or IPv6 address (no zone; an IPv4-mapped one as IPv4),
//     as netip writes it (2001:db8::7);
//   - iprange: a CIDR range, with the bits past its length cleared
//     (10.1.2.3/8 is 10.0.0.0/8; an IPv4-mapped range as IPv4);
//   - api: a base path: starts with /, no trailing / (but /), no spaces;
//   - application, user: not empty, at most MaxRuleKeyLength bytes, UTF-8
//     without control characters.
//
// Errors never quote the value.
func ParseBlockValue(kind BlockKind, value string) (string, error) {
	what := kind.String()
	switch {
	case value == "":
		return "", fmt.Errorf("%w: empty %s", ErrInvalidNotice, what)
	case len(value) > MaxRuleKeyLength:
		return "", fmt.Errorf("%w: %s of %d bytes is longer than %d", ErrInvalidNotice, what, len(value), MaxRuleKeyLength)
	case !utf8.ValidString(value):
		return "", fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidNotice, what)
	}
	for _, r := range value {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%w: %s contains a control character", ErrInvalidNotice, what)
		}
	}
	switch kind {
	case BlockIP:
		a, err := netip.ParseAddr(strings.TrimSpace(value))
		if err != nil || a.Zone() != "" {
			return "", fmt.Errorf("%w: ip is not an IP address", ErrInvalidNotice)
		}
		return a.Unmap().String(), nil
	case BlockIPRange:
		p, err := netip.ParsePrefix(strings.TrimSpace(value))
		if err != nil {
			return "", fmt.Errorf("%w: iprange is not a CIDR range such as 10.0.0.0/8", ErrInvalidNotice)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked().String(), nil
	case BlockAPI:
		if !strings.HasPrefix(value, "/") || strings.ContainsAny(value, " ?#") {
			return "", fmt.Errorf("%w: api is an API's base path, such as /petstore/v1", ErrInvalidNotice)
		}
		if len(value) > 1 {
			value = strings.TrimRight(value, "/")
			if value == "" {
				value = "/"
			}
		}
		return value, nil
	case BlockApplication, BlockUser:
		return value, nil
	}
	return "", fmt.Errorf("%w: no blocking condition type", ErrInvalidNotice)
}

// EncodeBlockNotice writes n as the message of docs/traffic.md ("How they
// travel"), ttl as a number of whole seconds (rounded up) inside the object
// when there is one:
//
//	{"blockingCondition":{"enabled":true,"ttl":3600,"type":"ip","value":"203.0.113.7"}}
func EncodeBlockNotice(n BlockNotice) []byte {
	c := map[string]any{"type": n.Kind.String(), "value": n.Value, "enabled": n.Enabled}
	if n.TTL > 0 && n.Enabled {
		c["ttl"] = int64((n.TTL + time.Second - 1) / time.Second)
	}
	b, err := json.Marshal(map[string]any{"blockingCondition": c})
	if err != nil {
		panic("revocation: cannot encode a blocking condition: " + err.Error())
	}
	return b
}

// ValidateBlockNotice checks a condition before it is published: a kind,
// and a value in its canonical form.
func ValidateBlockNotice(n BlockNotice) error {
	canon, err := ParseBlockValue(n.Kind, n.Value)
	if err != nil {
		return err
	}
	if canon != n.Value {
		return fmt.Errorf("%w: %s is not in its canonical form %s", ErrInvalidNotice, n.Kind, canon)
	}
	if n.TTL < 0 {
		return fmt.Errorf("%w: negative ttl", ErrInvalidNotice)
	}
	return nil
}

// BlockEtcdKey is the key of a condition under the blocking prefix (without
// it): <type>/<value, url.PathEscape'd>, as blocking/iprange/10.0.0.0%2F8.
func BlockEtcdKey(kind BlockKind, value string) string {
	return kind.String() + "/" + url.PathEscape(value)
}

// parseBlockEtcdKey reads a key under the blocking prefix (without it). The
// value must be in its canonical form: two keys naming one condition
// (10.0.0.0%2F8 and 10.1.2.3%2F8) would lift it when either is deleted.
func parseBlockEtcdKey(rel string) (BlockKind, string, error) {
	typ, escaped, ok := strings.Cut(rel, "/")
	kind := ParseBlockKind(typ)
	if !ok || kind == BlockNone {
		return BlockNone, "", fmt.Errorf("%w: a blocking key is <type>/<value>, type ip, iprange, application, user or api", ErrInvalidNotice)
	}
	value, err := url.PathUnescape(escaped)
	if err != nil {
		return BlockNone, "", fmt.Errorf("%w: the value is not URL-escaped", ErrInvalidNotice)
	}
	canon, err := ParseBlockValue(kind, value)
	if err != nil {
		return BlockNone, "", err
	}
	if canon != value {
		return BlockNone, "", fmt.Errorf("%w: write the key as %s", ErrInvalidNotice, BlockEtcdKey(kind, canon))
	}
	return kind, value, nil
}
