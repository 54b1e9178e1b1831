package statuslist

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TokenType is the typ header of a Status List Token, and MediaType what
// the fetch asks for in Accept.
const (
	TokenType = "statuslist+jwt"
	MediaType = "application/statuslist+jwt"
)

// Token is what a Status List Token says, once its signature has been
// verified: the list, the URI it is the list of (sub), when it was issued,
// until when it may be used (exp, zero when absent) and how long it may be
// cached (ttl, zero when absent).
type Token struct {
	Subject   string
	IssuedAt  time.Time
	ExpiresAt time.Time
	TTL       time.Duration
	List      *List
}

// maxTTL bounds a ttl read from a list: a larger one is taken as this (the
// gateway refetches within a day whatever a list says).
const maxTTL = 24 * time.Hour

// ReadToken reads the claims of a Status List Token (its payload, decoded
// from JSON with numbers as json.Number, as a JWT library hands them over):
// sub (required, a URI), iat (required), exp and ttl (optional, positive
// numbers), status_list {bits, lst} (required).
func ReadToken(claims map[string]any) (*Token, error) {
	t := &Token{}
	sub, ok := claims["sub"].(string)
	if !ok || sub == "" {
		return nil, fmt.Errorf("%w: the Status List Token has no sub (the URI of the list)", ErrInvalid)
	}
	t.Subject = sub
	iat, ok, err := wholeNumber(claims, "iat")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: the Status List Token has no iat", ErrInvalid)
	}
	t.IssuedAt = time.Unix(iat, 0)
	if exp, ok, err := wholeNumber(claims, "exp"); err != nil {
		return nil, err
	} else if ok {
		t.ExpiresAt = time.Unix(exp, 0)
	}
	if ttl, ok, err := wholeNumber(claims, "ttl"); err != nil {
		return nil, err
	} else if ok {
		if ttl <= 0 {
			return nil, fmt.Errorf("%w: ttl must be a positive number of seconds", ErrInvalid)
		}
		t.TTL = time.Duration(min(ttl, int64(maxTTL/time.Second))) * time.Second
	}
	sl, ok := claims["status_list"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the Status List Token has no status_list object", ErrInvalid)
	}
	bits, ok, err := wholeNumber(sl, "bits")
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: status_list.bits must be 1, 2, 4 or 8", ErrInvalid)
	}
	lst, ok := sl["lst"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: status_list.lst must be a string", ErrInvalid)
	}
	if t.List, err = DecodeList(int(min(bits, 16)), lst); err != nil {
		return nil, err
	}
	return t, nil
}

// wholeNumber reads a claim that is a whole non-negative number (json.Number
// or float64); ok is false when it is absent.
func wholeNumber(m map[string]any, name string) (int64, bool, error) {
	v, present := m[name]
	if !present {
		return 0, false, nil
	}
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(n), 64); err != nil {
			return 0, false, fmt.Errorf("%w: %s is not a number", ErrInvalid, name)
		}
	case float64:
		f = n
	default:
		return 0, false, fmt.Errorf("%w: %s is not a number", ErrInvalid, name)
	}
	if math.IsNaN(f) || f < 0 || f > 1<<53 || f != math.Trunc(f) {
		return 0, false, fmt.Errorf("%w: %s is not a whole non-negative number", ErrInvalid, name)
	}
	return int64(f), true, nil
}

// Reference is a token's status claim: the entry idx of the list at uri.
type Reference struct {
	Index uint64
	URI   string
}

// MaxURILength bounds the uri of a reference.
const MaxURILength = 2048

// ReadReference reads the status claim of a token's payload (it is read on
// every request, and allocates nothing; the uri is checked as a URL when the
// list is fetched, Fetcher.Load):
//
//	"status": {"status_list": {"idx": 0, "uri": "https://..."}}
//
// ok is false when the token has no status claim, or a status claim
// without status_list (another mechanism, which the gateway does not
// check). A status_list that cannot be read is an error: the token names a
// list whose entry the gateway cannot find, and must not pass.
func ReadReference(claims map[string]any) (ref Reference, ok bool, err error) {
	st, err := object(claims, "status", "the status claim")
	if st == nil {
		return Reference{}, false, err
	}
	sl, err := object(st, "status_list", "status.status_list")
	if sl == nil {
		return Reference{}, false, err
	}
	idx, hasIdx, err := wholeNumber(sl, "idx")
	if err != nil || !hasIdx {
		return Reference{}, false, fmt.Errorf("%w: status.status_list.idx must be a whole number", ErrInvalid)
	}
	uri, _ := sl["uri"].(string)
	if uri == "" || len(uri) > MaxURILength {
		return Reference{}, false, fmt.Errorf("%w: status.status_list.uri must be a URL of at most %d bytes", ErrInvalid, MaxURILength)
	}
	return Reference{Index: uint64(idx), URI: uri}, true, nil
}

// object is the object m[key]: nil without error when it is absent, an
// error naming it as what when it is anything but an object.
func object(m map[string]any, key, what string) (map[string]any, error) {
	v, present := m[key]
	if !present {
		return nil, nil
	}
	o, isObj := v.(map[string]any)
	if !isObj {
		return nil, fmt.Errorf("%w: %s is not an object", ErrInvalid, what)
	}
	return o, nil
}

// checkURI refuses a uri that is not an absolute http(s) URL with a host,
// or carries user info or a fragment. Whether the gateway may fetch it is
// the Fetcher's other question (allowedHosts).
func checkURI(uri string) error {
	if uri == "" || len(uri) > MaxURILength {
		return fmt.Errorf("%w: status.status_list.uri must be a URL of at most %d bytes", ErrInvalid, MaxURILength)
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" || strings.ContainsAny(uri, " \t\r\n") {
		return fmt.Errorf("%w: status.status_list.uri is not an http(s) URL with a host", ErrInvalid)
	}
	return nil
}
