package auth

import (
	"net/http"
	"net/url"
	"strings"
)

// Where an API key is (the apiKey scheme's in).
const (
	InHeader = "header"
	InQuery  = "query"
	InCookie = "cookie"
)

var (
	errTwoKeys   = invalid(ReasonMalformed, "More than one API key was given")
	errKeyEscape = invalid(ReasonMalformed, "The API key parameter is not URL-encoded correctly")
)

// APIKeyFromRequest takes the API key from the header, query parameter or
// cookie name (in: InHeader, InQuery, InCookie), as the definition's apiKey
// scheme places it. None (or an empty one) is missing credentials (900902);
// two are invalid, and so is one longer than MaxTokenSize, refused before
// it is read further (900901). Nothing of the key is in an error.
func APIKeyFromRequest(r *http.Request, in, name string) (string, *Error) {
	var vals []string
	switch in {
	case InHeader:
		vals = r.Header.Values(name)
	case InQuery:
		var e *Error
		if vals, e = queryValues(r.URL.RawQuery, name); e != nil {
			return "", e
		}
	case InCookie:
		for _, c := range r.CookiesNamed(name) {
			vals = append(vals, c.Value)
		}
	}
	key, e := onlyValue(vals, errTwoKeys)
	if e == nil && len(key) > MaxTokenSize {
		e = errTooLarge
	}
	return key, e
}

// queryValues returns the values of the parameter name in a raw query,
// each unescaped as a form value, in order. Unlike url.ParseQuery it reads
// no other parameter, and a bad escape in this one is an error.
func queryValues(raw, name string) ([]string, *Error) {
	var out []string
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(part, "=")
		if k != name {
			uk, err := url.QueryUnescape(k)
			if err != nil || uk != name {
				continue
			}
		}
		if len(v) > 3*MaxTokenSize {
			return nil, errTooLarge
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return nil, errKeyEscape
		}
		out = append(out, uv)
	}
	return out, nil
}

// RemoveQueryParam returns the raw query without the parameter name (as
// queryValues reads it), the rest kept as it was written, byte for byte.
func RemoveQueryParam(raw, name string) string {
	var b strings.Builder
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		k, _, _ := strings.Cut(part, "=")
		if k == name {
			continue
		}
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}
