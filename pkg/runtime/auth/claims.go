package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// Claims are the claims of a validated token. A Claims may be shared by
// every request that presents the same token (it comes from the cache):
// treat it as read-only.
type Claims struct {
	Subject string // sub
	Issuer  string // iss
	JTI     string // jti: the key of revocation
	// Client is the client application the token was issued to, for
	// revocation rules: azp, else client_id, else WSO2's consumerKey, else
	// WSO2's application.id (a string or a number, as written); "" if none.
	Client string
	// Email is the email claim in lower case (revocation.NormalizeEmail),
	// for email revocation rules; "" when absent or not a string.
	Email string
	// Application is the application the token was issued to, for
	// throttling and blocking (docs/traffic.md): WSO2's application.id (a
	// string or a number, as written), else azp, else client_id; "" if none.
	Application string
	// ApplicationTier is WSO2's application.tier: the application policy
	// that throttles the token's application and user.
	ApplicationTier string
	KeyType         string    // keytype (WSO2): PRODUCTION (also when absent) or SANDBOX
	Audience        []string  // aud
	ExpiresAt       time.Time // exp
	IssuedAt        time.Time // iat, zero when absent
	NotBefore       time.Time // nbf, zero when absent
	Scopes          []string  // scope, split on spaces
	// SubscribedAPIs is the WSO2 subscribedAPIs claim.
	SubscribedAPIs []SubscribedAPI
	// Raw is the whole payload; numbers are json.Number, keeping their text.
	Raw map[string]any
}

// SubscribedAPI is one entry of the WSO2 subscribedAPIs claim.
type SubscribedAPI struct {
	Name    string
	Version string
	Context string
	// SubscriptionTier names the subscription policy that throttles the
	// application on this API.
	SubscriptionTier string
}

// Subscription is the entry of subscribedAPIs for the API named name at
// version (any version when version is empty), nil when there is none.
func (c *Claims) Subscription(name, version string) *SubscribedAPI {
	for i := range c.SubscribedAPIs {
		s := &c.SubscribedAPIs[i]
		if s.Name == name && (version == "" || s.Version == version) {
			return s
		}
	}
	return nil
}

// HasScopes reports whether the token holds every scope in required, as an
// OAuth2 security requirement lists the scopes that must all be granted.
func (c *Claims) HasScopes(required []string) bool { return holdsAll(c.Scopes, required) }

// holdsAll reports whether have holds every scope of required.
func holdsAll(have, required []string) bool {
	for _, r := range required {
		if !slices.Contains(have, r) {
			return false
		}
	}
	return true
}

// maxNumericDate is 9999-12-31T23:59:59Z. Larger dates are refused: past
// int64 seconds a float converts differently per CPU, so a huge exp could
// become "never expires" on one machine and "expired" on another.
const maxNumericDate = 253402300799

// decodeObject decodes a JSON object, refusing duplicate member names (a
// parser that keeps the first and one that keeps the last would disagree on
// the claims) and trailing data. Numbers stay json.Number. Names that are
// equal under case folding ("jti" and "JTI") are duplicates too: decoding
// into a Go struct, as the revocation tools do to find a token's jti and
// exp, matches names case-insensitively and keeps the last, so it would
// revoke another jti than the one this validator reads.
// decodeSegment decodes a base64url segment of a compact JWS (its header
// or payload) and the JSON object in it.
func decodeSegment(seg string) (map[string]any, error) {
	b, err := b64.DecodeString(seg)
	if err != nil {
		return nil, err
	}
	return decodeObject(b)
}

func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	m := map[string]any{}
	folded := map[string]struct{}{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("bad member name")
		}
		f := foldName(name)
		if _, dup := folded[f]; dup {
			return nil, errors.New("duplicate member")
		}
		folded[f] = struct{}{}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		m[name] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return m, nil
}

// foldName maps each rune to the smallest of its simple case folding orbit,
// so that two names are equal under Unicode case folding (encoding/json's
// field matching, which also folds the Kelvin sign to k and long s to s) if
// and only if their folded forms are equal.
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, s)
}

// parseClaims reads the claims this package uses from the decoded payload,
// checking their types. Presence of sub and jti is checked by the caller
// after the signature, like exp and aud by the JWT library.
func parseClaims(m map[string]any) (*Claims, *Error) {
	c := &Claims{Raw: m, KeyType: "PRODUCTION"}
	var e *Error
	str := func(name string, dst *string) {
		v, ok := m[name]
		if !ok || e != nil {
			return
		}
		s, ok := v.(string)
		if !ok {
			e = invalid(ReasonBadClaim, "The "+name+" claim must be a string")
			return
		}
		*dst = s
	}
	date := func(name string, dst *time.Time) {
		v, ok := m[name]
		if !ok || e != nil {
			return
		}
		t, ok := numericDate(v)
		if !ok {
			e = invalid(ReasonBadClaim, "The "+name+" claim must be a number of seconds since 1970 before year 10000")
			return
		}
		*dst = t
	}
	str("iss", &c.Issuer)
	str("sub", &c.Subject)
	str("jti", &c.JTI)
	date("exp", &c.ExpiresAt)
	date("nbf", &c.NotBefore)
	date("iat", &c.IssuedAt)
	var kt string
	str("keytype", &kt)
	c.Client = clientOf(m)
	c.Application = applicationOf(m)
	if app, ok := m["application"].(map[string]any); ok {
		c.ApplicationTier, _ = app["tier"].(string)
	}
	if email, ok := m["email"].(string); ok {
		c.Email = revocation.NormalizeEmail(email)
	}
	if e != nil {
		return nil, e
	}
	if kt != "" {
		c.KeyType = strings.ToUpper(kt)
	}
	switch aud := m["aud"].(type) {
	case nil:
		if _, present := m["aud"]; present {
			return nil, notStrings("aud")
		}
	case string:
		c.Audience = []string{aud}
	default:
		if c.Audience, e = claimStrings("aud", aud); e != nil {
			return nil, e
		}
	}
	switch sc := m["scope"].(type) {
	case nil:
	case string:
		// RFC 6749 section 3.3: scopes are separated by spaces (%x20) and
		// hold no other white space. strings.Fields would also split on
		// tabs, line breaks and no-break spaces, and so grant scopes the
		// issuer never listed.
		for s := range strings.SplitSeq(sc, " ") {
			if s != "" {
				c.Scopes = append(c.Scopes, s)
			}
		}
	default:
		// Some issuers (and RFC 9068 drafts) send scopes as an array.
		if c.Scopes, e = claimStrings("scope", sc); e != nil {
			return nil, e
		}
	}
	if subs, ok := m["subscribedAPIs"].([]any); ok {
		for _, s := range subs {
			o, ok := s.(map[string]any)
			if !ok {
				continue
			}
			name, _ := o["name"].(string)
			version, _ := o["version"].(string)
			ctx, _ := o["context"].(string)
			tier, _ := o["subscriptionTier"].(string)
			c.SubscribedAPIs = append(c.SubscribedAPIs, SubscribedAPI{Name: name, Version: version, Context: ctx, SubscriptionTier: tier})
		}
	}
	return c, nil
}

// numericDate converts a JSON number of seconds (RFC 7519 NumericDate,
// fractions allowed) to a time, refusing negatives and huge values.
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// clientOf reads the client of a token: azp, else client_id, else
// consumerKey, else application.id; the first that is a non-empty string
// (application.id also a number, kept as written). Read once at validation,
// so that the request path's rule check allocates nothing.
func clientOf(m map[string]any) string {
	for _, name := range []string{"azp", "client_id", "consumerKey"} {
		if s, ok := m[name].(string); ok && s != "" {
			return s
		}
	}
	return applicationID(m)
}

// applicationOf reads the application of a token as docs/traffic.md
// defines it: application.id, else azp, else client_id.
func applicationOf(m map[string]any) string {
	if id := applicationID(m); id != "" {
		return id
	}
	for _, name := range []string{"azp", "client_id"} {
		if s, ok := m[name].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// applicationID is WSO2's application.id, a string or a number as written.
func applicationID(m map[string]any) string {
	if app, ok := m["application"].(map[string]any); ok {
		switch id := app["id"].(type) {
		case string:
			return id
		case json.Number:
			return id.String()
		}
	}
	return ""
}

// claimStrings is the value of a claim that is sent as an array of strings
// (aud, scope) when it is not one string: the strings, or the refusal naming
// the claim when v is anything else.
func claimStrings(name string, v any) ([]string, *Error) {
	list, ok := v.([]any)
	if !ok {
		return nil, notStrings(name)
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, notStrings(name)
		}
		out = append(out, s)
	}
	return out, nil
}

// notStrings refuses a claim that must be a string or an array of strings.
func notStrings(name string) *Error {
	return invalid(ReasonBadClaim, "The "+name+" claim must be a string or an array of strings")
}
