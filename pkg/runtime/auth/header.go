package auth

import (
	"net/http"
	"strings"
)

// onlyValue is the one value of a credential given in vals, trimmed: none,
// or an empty one, is errMissing; more than one is two.
func onlyValue(vals []string, two *Error) (string, *Error) {
	switch {
	case len(vals) == 0:
		return "", errMissing
	case len(vals) > 1:
		return "", two
	}
	if v := strings.TrimSpace(vals[0]); v != "" {
		return v, nil
	}
	return "", errMissing
}

// TokenFromRequest takes the bearer token from the header headerName
// (authConfig.authorizationHeader). No header, or an empty one, is missing
// credentials (900902); two headers, a scheme other than Bearer (compared
// case-insensitively, RFC 9110) or an empty token are invalid (900901).
func TokenFromRequest(h http.Header, headerName string) (string, *Error) {
	vals := h[headerName]
	if vals == nil {
		vals = h.Values(headerName) // not in canonical form as given
	}
	v, e := onlyValue(vals, errTwoHeaders)
	if e != nil {
		return "", e
	}
	scheme, tok := v, ""
	if i := strings.IndexAny(v, " \t"); i >= 0 {
		scheme, tok = v[:i], v[i+1:]
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", errBadScheme
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", errEmpty
	}
	return tok, nil
}
